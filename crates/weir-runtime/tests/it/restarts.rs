//! Restarts say what they do: each restart is logged at WARN with its cause and
//! delay (and kept in the job's restart history), and a job whose restart strategy
//! is used up fails with "restart strategy exhausted after N restarts; last failure:
//! …", not with a bare task failure.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use crate::common::log_capture;
use std::time::Duration;
use tracing::Level;
use weir_core::{RestartStrategy, WeirError};
use weir_datastream::{Collector, StreamExecutionEnvironment};

/// A job whose operator fails on every record of every attempt, with `cause`.
fn always_failing(cause: &'static str, strategy: RestartStrategy) -> (WeirError, Vec<weir_runtime::RestartRecord>) {
    common::run_with_watchdog(format!("always failing: {cause}"), move |_| {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(1).set_restart_strategy(strategy);
        env.from_sequence(1, 10)
            .process_fn(move |_: i64, _, _: &mut Collector<'_, i64>| Err(cause.into()))
            .name("doomed")
            .discard();
        let client = env.execute_async("always failing").unwrap();
        let handle = client.handle();
        let error = client.wait().unwrap_err();
        (error, handle.restart_history())
    })
}

#[test]
fn an_exhausted_restart_strategy_fails_the_job_saying_so() {
    log_capture::install();
    let (error, history) = always_failing(
        "disk full (exhausted test)",
        RestartStrategy::FixedDelay {
            attempts: 2,
            delay: Duration::from_millis(1),
        },
    );
    let message = error.to_string();
    assert!(
        message.starts_with("restart strategy exhausted after 2 restarts; last failure: ")
            && message.contains("doomed")
            && message.contains("disk full (exhausted test)"),
        "{message}"
    );
    match error {
        WeirError::RestartsExhausted { restarts, last } => {
            assert_eq!(restarts, 2);
            assert!(matches!(*last, WeirError::TaskFailed { ref operator, .. } if operator == "doomed"));
        }
        other => panic!("{other:?}"),
    }

    // Each restart: at WARN, with its cause and its delay.
    let warnings = log_capture::lines_containing(Level::WARN, "disk full (exhausted test)");
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    for (n, warning) in warnings.iter().enumerate() {
        assert!(
            warning.contains(&format!("restart {} of at most 2", n + 1)) && warning.contains("1ms"),
            "{warning}"
        );
    }
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].restart, 2);
    assert_eq!(history[1].delay, Duration::from_millis(1));
    assert!(history[1].cause.contains("disk full (exhausted test)"));
}

#[test]
fn without_a_restart_strategy_the_failure_is_reported_as_it_is() {
    let (error, history) = always_failing("no restarts wanted", RestartStrategy::None);
    assert!(
        matches!(error, WeirError::TaskFailed { ref cause, .. } if cause.contains("no restarts wanted")),
        "{error}"
    );
    assert!(history.is_empty());
}
