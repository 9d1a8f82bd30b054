//! The seams SQL builds on: a custom keyed operator (`DataStream::transform` with
//! `custom::keyed_store`) fed through a partitioner that splits batches of keys by key
//! group (`partition_with` + `partitioner::splitting`). Every key lands in the subtask
//! owning its key group at every parallelism, and the operator's keyed state is
//! restored exactly once after a failure.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir::core::keygroup::{key_group_for_key, subtask_for_key};
use weir::datastream::custom::{keyed_store, Input, Operator, OperatorState};
use weir::prelude::*;
use weir::runtime::partitioner::{self, Partitioner, Selection, WriterContext};
use weir::state::KeyedStateStore;

const KEYS: i64 = 97;

/// Splits a batch of keys into one part per target subtask.
struct ByKeyGroupOfRows {
    max_parallelism: usize,
}

impl Partitioner<Vec<i64>> for ByKeyGroupOfRows {
    const SPLITS: bool = true;

    fn select(&mut self, _: &Vec<i64>, _: usize) -> Selection {
        Selection::All
    }

    fn split(
        &mut self,
        record: StreamRecord<Vec<i64>>,
        channels: usize,
        parts: &mut Vec<(usize, StreamRecord<Vec<i64>>)>,
    ) {
        let mut per_channel: Vec<Vec<i64>> = vec![Vec::new(); channels];
        for key in record.value {
            per_channel[subtask_for_key(&key, self.max_parallelism, channels)].push(key);
        }
        for (index, keys) in per_channel.into_iter().enumerate() {
            if !keys.is_empty() {
                parts.push((index, StreamRecord::with_timestamp(keys, record.timestamp)));
            }
        }
    }
}

/// Counts rows per key in keyed state; at the end of input emits
/// (subtask, key, count) for every key it saw.
struct CountPerKey {
    subtask: usize,
    store: KeyedStateStore<i64>,
    counts: ValueStateDescriptor<u64>,
    seen: Vec<i64>,
    /// Armed: fail once at the first record after a checkpoint completed.
    fail: Option<Arc<AtomicBool>>,
    checkpointed: bool,
}

impl Operator<Vec<i64>, (usize, i64, u64)> for CountPerKey {
    fn process(&mut self, record: StreamRecord<Vec<i64>>, _: &mut dyn Input<(usize, i64, u64)>) {
        if let (Some(fail), true) = (&self.fail, self.checkpointed) {
            if fail.swap(false, Ordering::SeqCst) {
                panic!("planned failure");
            }
        }
        for key in record.value {
            let current = self.store.key(key);
            self.store
                .value(&self.counts, &current)
                .unwrap()
                .update(|c| c.copied().unwrap_or(0) + 1)
                .unwrap();
        }
    }

    fn end_input(&mut self, out: &mut dyn Input<(usize, i64, u64)>) {
        self.seen = self
            .store
            .value_entries(&self.counts)
            .unwrap()
            .into_iter()
            .map(|(k, _)| *k.key())
            .collect();
        for key in std::mem::take(&mut self.seen) {
            let current = self.store.key(key);
            let count = self
                .store
                .value(&self.counts, &current)
                .unwrap()
                .get()
                .unwrap()
                .unwrap();
            out.process(StreamRecord::new((self.subtask, key, count)));
        }
    }

    fn notify_checkpoint_complete(&mut self, _: u64) {
        self.checkpointed = true;
    }

    fn snapshot(&mut self, _: u64) -> OperatorState {
        OperatorState {
            keyed: Some(self.store.snapshot()),
            operator: None,
        }
    }
}

fn run(
    env: &StreamExecutionEnvironment,
    batches: u64,
    parallelism: usize,
    fail: Option<Arc<AtomicBool>>,
) -> Vec<(usize, i64, u64)> {
    let counted = env
        .add_source(
            GeneratorSource::new(|i| (0..10).map(|j| ((i as i64) * 10 + j) % KEYS).collect::<Vec<i64>>())
                .with_count(batches)
                .with_rate_limit(400_000.0),
        )
        .uid("batches")
        .partition_with(partitioner::splitting(|c: &WriterContext| ByKeyGroupOfRows {
            max_parallelism: c.target_max_parallelism,
        }))
        .transform("count per key", move |ctx| {
            Ok(CountPerKey {
                subtask: ctx.info.index,
                store: keyed_store(ctx)?,
                counts: ValueStateDescriptor::new("counts"),
                seen: Vec::new(),
                fail: fail.clone().filter(|_| ctx.info.attempt == 0),
                checkpointed: false,
            })
        })
        .uid("count")
        .set_parallelism(parallelism)
        .collect();
    env.execute("custom operator").unwrap();
    counted.take()
}

fn check(results: &[(usize, i64, u64)], batches: u64, parallelism: usize) {
    let mut expected: BTreeMap<i64, u64> = BTreeMap::new();
    for row in 0..batches as i64 * 10 {
        *expected.entry(row % KEYS).or_default() += 1;
    }
    let mut got = BTreeMap::new();
    for &(subtask, key, count) in results {
        assert_eq!(
            subtask,
            subtask_for_key(&key, 128, parallelism),
            "key {key} (key group {}) in the wrong subtask",
            key_group_for_key(&key, 128)
        );
        assert!(got.insert(key, count).is_none(), "key {key} counted in two subtasks");
    }
    assert_eq!(got, expected, "per-key counts at parallelism {parallelism}");
}

#[test]
fn batches_split_by_key_group_reach_the_owning_subtask() {
    for parallelism in 1..=4 {
        let results = common::no_hang("split batches", move || {
            let env = StreamExecutionEnvironment::new();
            env.set_parallelism(2);
            run(&env, 2_000, parallelism, None)
        });
        check(&results, 2_000, parallelism);
    }
}

#[test]
fn a_custom_keyed_operator_is_restored_exactly_once_after_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = dir.path().join("checkpoints");
    let results = common::no_hang("custom operator restart", move || {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(2)
            .enable_checkpointing(Duration::from_millis(5))
            .set_checkpoint_dir(checkpoints)
            .set_restart_strategy(RestartStrategy::FixedDelay {
                attempts: 3,
                delay: Duration::from_millis(1),
            });
        let armed = Arc::new(AtomicBool::new(true));
        let results = run(&env, 40_000, 3, Some(armed.clone()));
        assert!(!armed.load(Ordering::SeqCst), "the planned failure never happened");
        results
    });
    check(&results, 40_000, 3);
}
