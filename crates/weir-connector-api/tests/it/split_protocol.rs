//! The split protocol neither loses nor repeats records when barriers, polls,
//! split requests and restores at another parallelism interleave in any order.

#![allow(clippy::unwrap_used)]
use std::sync::Arc;
use weir_connector_api::split::testing::Harness;
use weir_connector_api::split::{SplitSourceAdapter, VecSplitSource};

fn data(rng: &mut fastrand::Rng) -> (Vec<Vec<u64>>, Vec<u64>) {
    let mut next = 0u64;
    let splits: Vec<Vec<u64>> = (0..rng.usize(0..12))
        .map(|_| {
            (0..rng.usize(0..40))
                .map(|_| {
                    next += 1;
                    next
                })
                .collect()
        })
        .collect();
    let all = (1..=next).collect();
    (splits, all)
}

/// One seeded scenario: run, take checkpoint 1 (maybe also 2) with barriers
/// interleaved with polls, fail, restore the last checkpoint at another
/// parallelism, run to the end. What readers emitted before their barrier plus
/// what the restored run emitted must be every record exactly once.
fn scenario(seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let (splits, all) = data(&mut rng);
    let batch = rng.usize(1..8);
    let source = VecSplitSource::new(splits).with_batch(batch);
    let source = if rng.bool() {
        source.assigning_up_front()
    } else {
        source
    };
    let adapter = Arc::new(SplitSourceAdapter::new("vec", source));
    let parallelism = rng.usize(1..5);
    let mut run = Harness::start(adapter.clone(), parallelism, 0, None).unwrap();
    let mut committed: Vec<u64> = Vec::new();
    let mut state: Option<Vec<Vec<u8>>> = None;
    let checkpoints = rng.u64(0..3);
    for checkpoint_id in 1..=checkpoints {
        for _ in 0..rng.usize(0..30) {
            run.poll(rng.usize(0..parallelism)).unwrap();
        }
        // Barriers reach the readers in a random order, with polls in between.
        let mut order: Vec<usize> = (0..parallelism).collect();
        rng.shuffle(&mut order);
        let mut before_barrier: Vec<u64> = Vec::new();
        let mut states = Vec::new();
        for index in order {
            // Readers past their barrier emit records of the next checkpoint: they
            // stay in their output until that barrier (or are lost on failure).
            for _ in 0..rng.usize(0..6) {
                run.poll(rng.usize(0..parallelism)).unwrap();
            }
            before_barrier.extend(run.take_records_of(index));
            states.extend(run.barrier(index, checkpoint_id).unwrap());
        }
        run.complete(checkpoint_id).unwrap();
        committed.extend(before_barrier);
        state = Some(states);
    }
    for _ in 0..rng.usize(0..20) {
        run.poll(rng.usize(0..parallelism)).unwrap();
    }
    // Failure: what was emitted after the last checkpoint is lost downstream.
    drop(run);
    let new_parallelism = rng.usize(1..5);
    let mut restored = Harness::start(adapter, new_parallelism, 1, state).unwrap();
    restored.run_to_end(100_000).unwrap();
    let mut seen = committed;
    seen.extend(restored.take_records());
    seen.sort_unstable();
    assert_eq!(
        seen, all,
        "seed {seed}: parallelism {parallelism} -> {new_parallelism}, {checkpoints} checkpoints"
    );
}

#[test]
fn exactly_once_across_interleavings_restores_and_rescales() {
    let base = std::env::var("WEIR_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_u64);
    for seed in base..base + 500 {
        scenario(seed);
    }
}

#[test]
fn readers_finish_and_nothing_is_read_twice_without_failures() {
    for parallelism in 1..5 {
        let splits: Vec<Vec<u32>> = (0..7).map(|s| (s * 100..s * 100 + 50).collect()).collect();
        let mut expected: Vec<u32> = splits.iter().flatten().copied().collect();
        let mut got =
            weir_connector_api::split::testing::drive(VecSplitSource::new(splits).with_batch(7), parallelism).unwrap();
        got.sort_unstable();
        expected.sort_unstable();
        assert_eq!(got, expected);
    }
}
