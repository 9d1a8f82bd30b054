//! Huge intervals and timeouts (`--checkpoint-interval 18446744073709551615s`,
//! `Duration::MAX` meaning "never") must not overflow where they are added to an
//! instant: the checkpoint interval, timeout, minimum pause and alignment timeout,
//! and the restart delay. Each used to panic the job master or a task thread.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::run_with_watchdog;
use std::time::{Duration, Instant};
use weir_core::{CheckpointMode, RestartStrategy, WeirError};
use weir_datastream::StreamExecutionEnvironment;

const HUGE: Duration = Duration::from_secs(u64::MAX);

/// 0..=999 summed per key (i % 10) over a keyed edge at parallelism 2, so tasks
/// align barriers from two channels.
fn build(env: &StreamExecutionEnvironment) -> weir_connectors::CollectHandle<(u64, u64)> {
    env.add_source(weir_connectors::GeneratorSource::new(|i| (i % 10, i)).with_count(1000))
        .key_by(|t| t.0)
        .sum(|t| &mut t.1)
        .collect()
}

fn finals(handle: &weir_connectors::CollectHandle<(u64, u64)>) -> Vec<(u64, u64)> {
    let mut last = std::collections::BTreeMap::new();
    for (k, sum) in handle.take() {
        let entry = last.entry(k).or_insert(0);
        *entry = sum.max(*entry);
    }
    last.into_iter().collect()
}

fn expected() -> Vec<(u64, u64)> {
    (0..10).map(|k| (k, (0..1000).filter(|i| i % 10 == k).sum())).collect()
}

fn env(dir: &std::path::Path, interval: Duration) -> StreamExecutionEnvironment {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2)
        .enable_checkpointing(interval)
        .set_checkpoint_dir(dir.join("checkpoints"))
        .set_restart_strategy(RestartStrategy::None);
    env
}

#[test]
fn a_huge_checkpoint_interval_timeout_and_alignment_timeout_do_not_overflow() {
    run_with_watchdog("huge interval".into(), |dir| {
        let env = env(dir, HUGE);
        env.set_checkpoint_timeout(HUGE)
            .set_checkpoint_mode(CheckpointMode::Aligned)
            .set_alignment_timeout(HUGE);
        let out = build(&env);
        let result = env.execute("huge interval").unwrap();
        assert_eq!(finals(&out), expected());
        // Only the final checkpoint: the interval never elapsed.
        assert_eq!(result.checkpoints.len(), 1);
    });
}

#[test]
fn a_huge_minimum_pause_does_not_overflow() {
    run_with_watchdog("huge pause".into(), |dir| {
        let env = env(dir, Duration::from_millis(1));
        env.set_min_pause_between_checkpoints(HUGE);
        env.add_source(
            weir_connectors::GeneratorSource::new(|i| i)
                .with_count(2_000)
                .with_rate_limit(20_000.0),
        )
        .discard();
        let client = env.execute_async("huge pause").unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while client.completed_checkpoints() < 1 && !client.is_finished() {
            assert!(Instant::now() < deadline, "no checkpoint within a minute");
            std::thread::sleep(Duration::from_millis(2));
        }
        let result = client.wait().unwrap();
        // The first periodic checkpoint (if the job ran long enough for it) and the
        // final one; the pause kept any other from starting.
        assert!((1..=2).contains(&result.checkpoints.len()), "{:?}", result.checkpoints);
    });
}

#[test]
fn a_huge_restart_delay_waits_until_cancelled() {
    run_with_watchdog("huge restart delay".into(), |dir| {
        let env = env(dir, Duration::from_millis(10));
        env.set_restart_strategy(RestartStrategy::FixedDelay {
            attempts: 3,
            delay: HUGE,
        });
        env.from_sequence(1, 10)
            .map(|i| if i == 5 { panic!("boom") } else { i })
            .discard();
        let client = env.execute_async("huge restart delay").unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while client.restarts() < 1 {
            assert!(!client.is_finished(), "{:?}", client.status());
            assert!(Instant::now() < deadline, "no restart within a minute");
            std::thread::sleep(Duration::from_millis(2));
        }
        client.cancel();
        assert!(matches!(client.wait(), Err(WeirError::Cancelled)));
    });
}

#[test]
fn an_exponential_backoff_up_to_the_largest_duration_does_not_panic() {
    let strategy = RestartStrategy::ExponentialBackoff {
        initial: HUGE,
        max: Duration::MAX,
        multiplier: 1e300,
        attempts: 10,
    };
    assert_eq!(strategy.delay_before(3), Some(Duration::MAX));
    assert_eq!(strategy.delay(3, 1), Some(Duration::MAX));
}
