//! A failing or panicking user function fails the job with the operator's name,
//! subtask and cause; nothing hangs; cancellation and stop end jobs cleanly.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir::prelude::*;

fn task_failure(result: Result<JobResult, WeirError>) -> (String, usize, usize, String) {
    match result {
        Err(WeirError::TaskFailed {
            operator,
            subtask,
            parallelism,
            cause,
        }) => (operator, subtask, parallelism, cause),
        other => panic!("expected a task failure, got {other:?}"),
    }
}

#[test]
fn panicking_map_fails_the_job_with_operator_subtask_and_cause() {
    let result = common::no_hang("panicking map", || {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(2);
        env.from_sequence(0, 999)
            .map(|n| {
                if n == 700 {
                    panic!("boom at {n}");
                }
                n
            })
            .name("exploding map")
            .discard();
        env.execute("panics")
    });
    let (operator, subtask, parallelism, cause) = task_failure(result);
    assert_eq!(operator, "exploding map");
    assert_eq!(subtask, 1, "700 is in the second half of the sequence");
    assert_eq!(parallelism, 2);
    assert!(cause.contains("boom at 700"), "{cause}");
    let message = WeirError::TaskFailed {
        operator,
        subtask,
        parallelism,
        cause,
    }
    .to_string();
    assert!(message.contains("'exploding map' (subtask 1 of 2)"), "{message}");
}

#[test]
fn error_returned_by_a_function_downstream_of_a_shuffle_fails_the_job() {
    let result = common::no_hang("erroring process", || {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(3).set_buffer_size(8).set_channel_capacity(1);
        env.from_sequence(0, 1_000_000)
            .shuffle()
            .process_fn(|n: i64, _, out: &mut Collector<'_, i64>| {
                if n == 12_345 {
                    return Err(format!("cannot handle {n}").into());
                }
                out.collect(n);
                Ok(())
            })
            .name("picky")
            .discard();
        env.execute("errors")
    });
    let (operator, _, parallelism, cause) = task_failure(result);
    assert_eq!(operator, "picky");
    assert_eq!(parallelism, 3);
    assert!(cause.contains("cannot handle 12345"), "{cause}");
}

#[test]
fn failure_in_a_chained_downstream_operator_is_attributed_to_it() {
    let result = common::no_hang("chained failure", || {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(1);
        env.from_sequence(0, 100)
            .flat_map(|n| vec![n, n + 1])
            .name("fan")
            .filter(|n| {
                assert!(*n < 50, "too big: {n}");
                true
            })
            .name("strict filter")
            .discard();
        env.execute("attribution")
    });
    let (operator, subtask, _, cause) = task_failure(result);
    assert_eq!(operator, "strict filter");
    assert_eq!(subtask, 0);
    assert!(cause.contains("too big: 50"), "{cause}");
}

#[test]
fn failure_while_the_source_is_blocked_by_backpressure_does_not_hang() {
    let result = common::no_hang("blocked source", || {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(2).set_buffer_size(4).set_channel_capacity(1);
        env.add_source(GeneratorSource::new(|i| i))
            .name("endless")
            .rebalance()
            .map(|i: u64| {
                if i == 10_000 {
                    panic!("stop here");
                }
                i
            })
            .name("fails eventually")
            .discard();
        env.execute("blocked")
    });
    let (operator, _, _, cause) = task_failure(result);
    assert_eq!(operator, "fails eventually");
    assert!(cause.contains("stop here"));
}

#[test]
fn sink_that_cannot_open_its_file_fails_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "not a directory").unwrap();
    let target = blocker.join("out.txt");
    let shown = target.display().to_string();
    let result = common::no_hang("bad sink path", move || {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(1);
        env.from_sequence(1, 10).write_as_text(target).name("text out");
        env.execute("bad sink")
    });
    let (operator, _, _, cause) = task_failure(result);
    assert_eq!(operator, "text out");
    assert!(cause.contains(&shown), "{cause}");
}

#[test]
fn missing_input_file_fails_with_the_path() {
    let result = common::no_hang("missing input", || {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(2);
        env.read_text_file("/no/such/input.txt").name("input").discard();
        env.execute("missing")
    });
    let (operator, _, _, cause) = task_failure(result);
    assert_eq!(operator, "input");
    assert!(cause.contains("/no/such/input.txt"), "{cause}");
}

#[test]
fn custom_partitioner_out_of_range_fails_the_job() {
    let result = common::no_hang("bad partitioner", || {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(2);
        env.from_sequence(1, 100)
            .name("numbers")
            .partition_custom(|_: &i64, n| n + 5, |v| *v)
            .discard();
        env.execute("bad partitioner")
    });
    let (operator, _, _, cause) = task_failure(result);
    assert_eq!(operator, "numbers");
    assert!(cause.contains("chose channel 7"), "{cause}");
}

#[test]
fn cancel_ends_an_unbounded_job() {
    common::no_hang("cancel", || {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(2);
        let out = env
            .add_source(GeneratorSource::new(|i| i))
            .key_by(|i| i % 10)
            .reduce(|a, b| a + b)
            .collect();
        let client = env.execute_async("endless").unwrap();
        while out.len() < 1_000 {
            std::thread::yield_now();
        }
        client.cancel();
        assert!(matches!(client.wait(), Err(WeirError::Cancelled)));
    });
}

#[test]
fn stop_drains_an_unbounded_job_without_losing_records() {
    common::no_hang("stop", || {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(2).set_buffer_timeout(Duration::from_millis(5));
        let generated = Arc::new(AtomicU64::new(0));
        let counter = generated.clone();
        let out = env
            .add_source(GeneratorSource::new(move |i| {
                counter.fetch_add(1, Ordering::Relaxed);
                i
            }))
            .rebalance()
            .map(|i| i * 2)
            .collect();
        let client = env.execute_async("endless").unwrap();
        while out.len() < 10_000 {
            std::thread::yield_now();
        }
        client.stop();
        let result = client.wait().unwrap();
        let received = out.take();
        assert_eq!(
            received.len() as u64,
            generated.load(Ordering::Relaxed),
            "records lost on stop"
        );
        assert_eq!(result.vertices[0].records_in, received.len() as u64);
        let mut sorted = received;
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(
            sorted.len() as u64,
            generated.load(Ordering::Relaxed),
            "duplicates on stop"
        );
    });
}
