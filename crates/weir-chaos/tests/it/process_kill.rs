//! Real process death: the `weir-chaos-job` binary runs a stateful job with the
//! exactly-once file sink as a child process; the harness kills it with SIGKILL at
//! seeded moments (at random, right after a checkpoint completed and before the
//! sink committed it, during a restore), restarts it from the latest retained
//! checkpoint until the job finishes, and compares the committed output with the
//! oracle: nothing lost, nothing duplicated (at-least-once: nothing lost).
//!
//! One test per scenario, so that they run in parallel. Each makes at least
//! `WEIR_CHAOS_KILLS` kills (default 5; e.g. `WEIR_CHAOS_KILLS=100` for a long
//! run); `WEIR_CHAOS_SEED=<s>` reruns the round with seed `s` of the named test.
//! A failure prints the seed, every run of its round and the command to rerun it.

use std::time::Duration;
use weir::core::CheckpointMode;
use weir_chaos::{Backend, Budget, Harness, Rescale, Scenario};

/// Kills per test unless `WEIR_CHAOS_KILLS` says otherwise.
const DEFAULT_KILLS: u32 = 5;

fn run(scenario: Scenario) {
    let budget = match Budget::from_env(DEFAULT_KILLS) {
        Ok(budget) => budget,
        Err(e) => panic!("{e}"),
    };
    let harness = Harness::new(env!("CARGO_BIN_EXE_weir-chaos-job"));
    match harness.run(&scenario, budget) {
        Ok(summary) => {
            eprintln!("{summary}");
            assert!(
                budget.seed.is_some() || summary.total_kills() >= budget.kills,
                "{summary}: fewer kills than {}",
                budget.kills
            );
        }
        Err(failure) => panic!("{failure}"),
    }
}

#[test]
fn aligned_heap() {
    run(Scenario::new("aligned_heap", CheckpointMode::Aligned, Backend::Heap));
}

#[test]
fn unaligned_heap() {
    run(Scenario::new(
        "unaligned_heap",
        CheckpointMode::Unaligned,
        Backend::Heap,
    ));
}

#[test]
fn at_least_once_heap() {
    run(Scenario::new(
        "at_least_once_heap",
        CheckpointMode::AtLeastOnce,
        Backend::Heap,
    ));
}

#[test]
fn aligned_rocksdb_incremental() {
    run(Scenario::new(
        "aligned_rocksdb_incremental",
        CheckpointMode::Aligned,
        Backend::RocksDbIncremental,
    ));
}

#[test]
fn unaligned_rocksdb_incremental() {
    run(Scenario::new(
        "unaligned_rocksdb_incremental",
        CheckpointMode::Unaligned,
        Backend::RocksDbIncremental,
    ));
}

/// Every restart changes the parallelism (1 to 4): keyed state is cut by key
/// group, split and sink states are redistributed.
#[test]
fn rescale_aligned_heap() {
    run(Scenario::new("rescale_aligned_heap", CheckpointMode::Aligned, Backend::Heap).rescaling(&[1, 2, 3, 4]));
}

/// Rescaling restores of incremental RocksDB checkpoints read the key groups out
/// of the previous run's shared files.
#[test]
fn rescale_aligned_rocksdb_incremental() {
    run(Scenario::new(
        "rescale_aligned_rocksdb_incremental",
        CheckpointMode::Aligned,
        Backend::RocksDbIncremental,
    )
    .rescaling(&[1, 2, 3, 4]));
}

/// Unaligned checkpoints with in-flight data (channel state) restore only at
/// their own parallelism: scaling up, the runtime refuses another parallelism
/// with a clear error when a subtask had in-flight data (the harness then
/// restarts at the checkpoint's parallelism, as a user would) and restores when
/// none had. Either way the output stays exact.
#[test]
fn rescale_up_unaligned_heap_restores_or_refuses() {
    run(Scenario::new(
        "rescale_up_unaligned_heap_restores_or_refuses",
        CheckpointMode::Unaligned,
        Backend::Heap,
    )
    .rescaling_towards(Rescale::Up, &[1, 2, 3, 4]));
}

/// The same scaling down: in-flight data of the old subtasks that the new job
/// no longer has must not be dropped (it was, before the runtime checked every old
/// subtask's channel state and not only those whose index the new job still has;
/// it took a checkpoint whose in-flight data sat in those subtasks alone).
#[test]
fn rescale_down_unaligned_heap_restores_or_refuses() {
    let mut scenario = Scenario::new(
        "rescale_down_unaligned_heap_restores_or_refuses",
        CheckpointMode::Unaligned,
        Backend::Heap,
    )
    .rescaling_towards(Rescale::Down, &[1, 2, 3, 4]);
    // Faster, so that checkpoints hold in-flight data more often.
    scenario.records = 100_000;
    scenario.rate = 100_000.0;
    scenario.interval = Duration::from_millis(20);
    run(scenario);
}

/// Kills after every source finished, so restarts restore checkpoints taken at
/// the end of the input (the final checkpoint among them): the finished sources
/// must not start over.
#[test]
fn restarts_after_the_end_of_input() {
    let mut scenario = Scenario::new(
        "restarts_after_the_end_of_input",
        CheckpointMode::Aligned,
        Backend::Heap,
    )
    .killing_after_end_of_input();
    scenario.kills_per_round = 2;
    run(scenario);
}
