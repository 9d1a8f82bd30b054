//! Cancellation never hangs: a task that does not stop within the task
//! cancellation timeout after a cancel (by the user, or of an attempt during
//! failover) fails the job with an error naming it, and its thread is abandoned;
//! user code that loops can see the cancellation flag and stop in time.
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
use weir_connectors::GeneratorSource;
use weir_core::{RestartStrategy, WeirError};
use weir_datastream::{Collector, StreamExecutionEnvironment};

const TIMEOUT: Duration = Duration::from_millis(300);

/// Runs `test` on its own thread; fails if it does not end within a minute (the
/// bug: a job whose operator never returns hangs forever on cancel).
fn within_a_minute<R: Send + 'static>(label: &str, test: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(test());
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(result) => result,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{label}: cancelling the job hung"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{label}: the test panicked (see above)"),
    }
}

fn await_flag(flag: &AtomicBool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !flag.load(Ordering::SeqCst) {
        assert!(
            Instant::now() < deadline,
            "the operator was not reached within a minute"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Never returns (and burns no CPU while it does not).
fn never_return() -> ! {
    loop {
        std::thread::park();
    }
}

#[test]
fn a_map_that_never_returns_fails_the_cancelled_job_naming_it() {
    let error = within_a_minute("stuck map", || {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(1).set_task_cancellation_timeout(TIMEOUT);
        let entered = Arc::new(AtomicBool::new(false));
        let flag = entered.clone();
        env.add_source(GeneratorSource::new(|i| i))
            .name("numbers")
            .map(move |i| {
                if i == 100 {
                    flag.store(true, Ordering::SeqCst);
                    never_return();
                }
                i
            })
            .name("stuck map")
            .discard();
        let client = env.execute_async("stuck").unwrap();
        await_flag(&entered);
        client.cancel();
        client.wait().unwrap_err()
    });
    let message = error.to_string();
    match error {
        WeirError::TaskStuck {
            operator,
            subtask,
            parallelism,
            timeout,
            ..
        } => {
            assert!(operator.contains("stuck map"), "{message}");
            assert_eq!((subtask, parallelism, timeout), (0, 1, TIMEOUT));
        }
        other => panic!("expected the stuck task to be named, got {other:?}"),
    }
    assert!(message.contains("the job was cancelled"), "{message}");
}

#[test]
fn a_loop_that_checks_the_cancellation_flag_stops_in_time() {
    let result = within_a_minute("looping function", || {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(2)
            .set_task_cancellation_timeout(Duration::from_secs(30));
        let entered = Arc::new(AtomicBool::new(false));
        let flag = entered.clone();
        env.add_source(GeneratorSource::new(|i| i))
            .process_fn(move |i: u64, ctx, out: &mut Collector<'_, u64>| {
                if i >= 10 {
                    // Long-running work that watches for cancellation.
                    flag.store(true, Ordering::SeqCst);
                    while !ctx.subtask().is_cancelled() {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    return Ok(());
                }
                out.collect(i);
                Ok(())
            })
            .name("patient loop")
            .discard();
        let client = env.execute_async("patient").unwrap();
        await_flag(&entered);
        client.cancel();
        client.wait()
    });
    assert!(matches!(result, Err(WeirError::Cancelled)), "{result:?}");
}

#[test]
fn a_task_stuck_during_failover_fails_the_job_naming_it_and_the_failure() {
    let error = within_a_minute("stuck during failover", || {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(2)
            .set_task_cancellation_timeout(TIMEOUT)
            .set_restart_strategy(RestartStrategy::FixedDelay {
                attempts: 5,
                delay: Duration::ZERO,
            });
        let stuck = Arc::new(AtomicBool::new(false));
        let flag = stuck.clone();
        env.add_source(GeneratorSource::new(|i| i))
            .process_fn(move |i: u64, ctx, out: &mut Collector<'_, u64>| {
                if ctx.subtask_index() == 1 && i > 100 {
                    flag.store(true, Ordering::SeqCst);
                    never_return();
                }
                if ctx.subtask_index() == 0 && i > 100 && flag.load(Ordering::SeqCst) {
                    return Err("planned failure".into());
                }
                out.collect(i);
                Ok(())
            })
            .name("half stuck")
            .discard();
        env.execute("half stuck").unwrap_err()
    });
    let message = error.to_string();
    match &error {
        WeirError::TaskStuck { operator, subtask, .. } => {
            assert!(operator.contains("half stuck") && *subtask == 1, "{message}");
        }
        other => panic!("expected the stuck task to be named, got {other:?}"),
    }
    assert!(message.contains("planned failure"), "{message}");
}
