//! Finished sources stay finished: a source that has consumed its input is
//! recorded as such in every checkpoint (its empty split list is still a state),
//! and so is a task whose input has ended (its operators already emitted what they
//! held at the end of input).
//!
//! * Restoring a completed job from its final checkpoint emits nothing again: no
//!   record is read twice, and no operator's end-of-input output (a function's
//!   `finish`) is emitted twice. For collection, sequence, generator and text-file
//!   sources; aligned and unaligned; heap and RocksDB; at the same and at another
//!   parallelism (also when the restore names the checkpoint base directory of
//!   the earlier run).
//! * A failure after one of two sources finished does not replay the finished one:
//!   the committed output of an exactly-once sink equals the oracle.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{assert_same_lines, committed_lines, rocksdb_dir, run_with_watchdog};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir_connectors::{CollectHandle, GeneratorSource};
use weir_core::{BoxError, CheckpointMode, RestartStrategy, RocksDbOptions, StateBackendConfig, SubtaskInfo};
use weir_datastream::functions::{Context, KeyedContext, KeyedProcessFunction, ProcessFunction};
use weir_datastream::{Collector, DataStream, StreamExecutionEnvironment, ValueStateDescriptor};
use weir_state::{OperatorStateStore, Redistribution};

const RECORDS: u64 = 2_000;

#[derive(Debug, Clone, Copy)]
enum Kind {
    Collection,
    Sequence,
    Generator,
    TextFile,
}

const KINDS: [Kind; 4] = [Kind::Collection, Kind::Sequence, Kind::Generator, Kind::TextFile];

fn source(env: &StreamExecutionEnvironment, kind: Kind, dir: &Path) -> DataStream<u64> {
    let stream = match kind {
        Kind::Collection => env.from_collection(0..RECORDS),
        Kind::Sequence => env.from_sequence(0, RECORDS as i64 - 1).map(|i| i as u64),
        Kind::Generator => env.add_source(GeneratorSource::new(|i| i).with_count(RECORDS)),
        Kind::TextFile => {
            let path = dir.join("input.txt");
            if !path.exists() {
                let text: String = (0..RECORDS).map(|i| format!("{i}\n")).collect();
                std::fs::write(&path, text).unwrap();
            }
            env.read_text_file(path).map(|line| line.parse::<u64>().unwrap())
        }
    };
    stream.uid("source")
}

/// Passes records on as `r <n>`, counts them in operator state, and emits
/// `tally <subtask> <count>` when its input ends.
#[derive(Clone, Default)]
struct Tally {
    subtask: usize,
    count: u64,
}

impl ProcessFunction<u64, String> for Tally {
    fn open(&mut self, subtask: &SubtaskInfo) -> Result<(), BoxError> {
        self.subtask = subtask.index;
        Ok(())
    }
    fn initialize_state(&mut self, state: &mut OperatorStateStore) -> Result<(), BoxError> {
        self.count = state.list::<u64>("count", Redistribution::EvenSplit)?.iter().sum();
        Ok(())
    }
    fn process_element(
        &mut self,
        value: u64,
        _: &mut Context<'_>,
        out: &mut Collector<'_, String>,
    ) -> Result<(), BoxError> {
        self.count += 1;
        out.collect(format!("r {value}"));
        Ok(())
    }
    fn finish(&mut self, out: &mut Collector<'_, String>) -> Result<(), BoxError> {
        out.collect(format!("tally {} {}", self.subtask, self.count));
        Ok(())
    }
    fn snapshot_state(&mut self, _: u64, state: &mut OperatorStateStore) -> Result<(), BoxError> {
        *state.list::<u64>("count", Redistribution::EvenSplit)? = vec![self.count];
        Ok(())
    }
}

/// Numbers every distinct line: `<line> #<how often it was seen>` (keyed state).
#[derive(Clone)]
struct Occurrences {
    seen: ValueStateDescriptor<u64>,
}

impl KeyedProcessFunction<String, String, String> for Occurrences {
    fn process_element(
        &mut self,
        line: String,
        ctx: &mut KeyedContext<'_, String>,
        out: &mut Collector<'_, String>,
    ) -> Result<(), BoxError> {
        let n = ctx.value(&self.seen)?.update(|n| n.copied().unwrap_or(0) + 1)?;
        out.collect(format!("{line} #{n}"));
        Ok(())
    }
}

fn occurrences() -> Occurrences {
    Occurrences {
        seen: ValueStateDescriptor::new("seen"),
    }
}

fn env(parallelism: usize, mode: CheckpointMode, rocksdb: bool, dir: &Path) -> StreamExecutionEnvironment {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism)
        .enable_checkpointing(Duration::from_millis(5))
        .set_checkpoint_mode(mode)
        .set_checkpoint_dir(dir.join("checkpoints"))
        .set_restart_strategy(RestartStrategy::None);
    if rocksdb {
        env.set_state_backend(StateBackendConfig::RocksDb(RocksDbOptions {
            local_dir: rocksdb_dir(dir),
            memory_budget: 16 << 20,
            ..Default::default()
        }));
    }
    env
}

fn counting_job(env: &StreamExecutionEnvironment, kind: Kind, dir: &Path) -> CollectHandle<String> {
    source(env, kind, dir)
        .process(Tally::default())
        .uid("tally")
        .key_by(|line: &String| line.clone())
        .process(occurrences())
        .uid("occurrences")
        .collect()
}

fn restore_of_a_finished_job_emits_nothing(
    kind: Kind,
    mode: CheckpointMode,
    rocksdb: bool,
    restore_parallelism: usize,
) {
    let label = format!("{kind:?} {mode:?} rocksdb={rocksdb} p=2->{restore_parallelism}");
    run_with_watchdog(label.clone(), move |dir| {
        let first = env(2, mode, rocksdb, &dir.join("run1"));
        let out = counting_job(&first, kind, dir);
        let result = first.execute("finished").unwrap();
        let mut lines = out.take();
        lines.sort();
        let tallies: Vec<&String> = lines.iter().filter(|l| l.starts_with("tally")).collect();
        assert_eq!(tallies.len(), 2, "{label}: {tallies:?}");
        let total: u64 = tallies
            .iter()
            .map(|l| l.split(' ').nth(2).unwrap().parse::<u64>().unwrap())
            .sum();
        assert_eq!(total, RECORDS, "{label}: {tallies:?}");
        let mut expected: Vec<String> = (0..RECORDS).map(|i| format!("r {i} #1")).collect();
        expected.extend(tallies.iter().map(|t| t.to_string()));
        expected.sort();
        assert_same_lines(&label, &lines, &expected);
        assert!(tallies.iter().all(|t| t.ends_with(" #1")), "{label}: {tallies:?}");

        // The final checkpoint of the completed job: nothing left to do. (The
        // rescaling runs name the base checkpoint directory, whose newest run is
        // the one above.)
        let checkpoints = match restore_parallelism {
            2 => result.checkpoint_dir.unwrap(),
            _ => dir.join("run1").join("checkpoints"),
        };
        let second = env(restore_parallelism, mode, rocksdb, &dir.join("run2"));
        second.restore_from(&checkpoints);
        let out = counting_job(&second, kind, dir);
        let result = second.execute("finished").unwrap();
        assert!(result.restored_from.is_some(), "{label}");
        let again = out.take();
        assert!(
            again.is_empty(),
            "{label}: the restored finished job emitted {} records again, e.g. {:?}",
            again.len(),
            &again[..again.len().min(5)]
        );
    });
}

#[test]
fn restoring_a_finished_job_emits_nothing_heap() {
    for kind in KINDS {
        for mode in [CheckpointMode::Aligned, CheckpointMode::Unaligned] {
            restore_of_a_finished_job_emits_nothing(kind, mode, false, 2);
        }
    }
}

#[test]
fn restoring_a_finished_job_emits_nothing_rocksdb() {
    for kind in KINDS {
        for mode in [CheckpointMode::Aligned, CheckpointMode::Unaligned] {
            restore_of_a_finished_job_emits_nothing(kind, mode, true, 2);
        }
    }
}

#[test]
fn restoring_a_finished_job_at_another_parallelism_emits_nothing() {
    for kind in KINDS {
        restore_of_a_finished_job_emits_nothing(kind, CheckpointMode::Aligned, false, 3);
    }
    restore_of_a_finished_job_emits_nothing(Kind::Generator, CheckpointMode::Aligned, true, 1);
}

/// Fails once (in the first attempt), on the first record after every subtask saw
/// two checkpoints complete since all of source `a`'s records went through.
#[derive(Clone)]
struct FailAfterAFinished {
    a_seen: Arc<AtomicU64>,
    completions_after: Arc<AtomicU64>,
    attempt: u32,
}

const A_RECORDS: u64 = 300;
const B_RECORDS: u64 = 6_000;

impl ProcessFunction<String, String> for FailAfterAFinished {
    fn open(&mut self, subtask: &SubtaskInfo) -> Result<(), BoxError> {
        self.attempt = subtask.attempt;
        Ok(())
    }
    fn process_element(
        &mut self,
        line: String,
        _: &mut Context<'_>,
        out: &mut Collector<'_, String>,
    ) -> Result<(), BoxError> {
        if self.attempt == 0 {
            if line.starts_with('a') {
                self.a_seen.fetch_add(1, Ordering::SeqCst);
            } else if self.completions_after.load(Ordering::SeqCst) >= 4 {
                return Err("planned failure after source a finished".into());
            }
        }
        out.collect(line);
        Ok(())
    }
    fn notify_checkpoint_complete(&mut self, _: u64) -> Result<(), BoxError> {
        if self.a_seen.load(Ordering::SeqCst) == A_RECORDS {
            self.completions_after.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
}

fn failure_after_one_source_finished(mode: CheckpointMode, rocksdb: bool) {
    let label = format!("two sources {mode:?} rocksdb={rocksdb}");
    run_with_watchdog(label.clone(), move |dir| {
        let env = env(2, mode, rocksdb, dir);
        env.set_restart_strategy(RestartStrategy::FixedDelay {
            attempts: 3,
            delay: Duration::ZERO,
        });
        let a = env
            .from_collection((0..A_RECORDS).collect::<Vec<_>>())
            .uid("a")
            .map(|i| format!("a {i}"))
            .uid("a-lines");
        let b = env
            .add_source(
                GeneratorSource::new(|i| i)
                    .with_count(B_RECORDS)
                    .with_rate_limit(20_000.0),
            )
            .uid("b")
            .map(|i| format!("b {i}"))
            .uid("b-lines");
        let out = dir.join("out");
        a.union(&b)
            .process(FailAfterAFinished {
                a_seen: Arc::new(AtomicU64::new(0)),
                completions_after: Arc::new(AtomicU64::new(0)),
                attempt: 0,
            })
            .uid("fail")
            .key_by(|line: &String| line.clone())
            .process(occurrences())
            .uid("occurrences")
            .sink_to_files(&out)
            .uid("sink");
        let result = env.execute("two sources").unwrap();
        assert_eq!(result.restarts, 1, "{label}: the planned failure did not happen");
        let (committed, hidden) = committed_lines(&out);
        let mut expected: Vec<String> = (0..A_RECORDS)
            .map(|i| format!("a {i} #1"))
            .chain((0..B_RECORDS).map(|i| format!("b {i} #1")))
            .collect();
        expected.sort();
        assert_same_lines(&label, &committed, &expected);
        assert!(hidden.is_empty(), "{label}: leftover files {hidden:?}");
    });
}

#[test]
fn a_failure_after_one_of_two_sources_finished_does_not_replay_it() {
    for mode in [CheckpointMode::Aligned, CheckpointMode::Unaligned] {
        for rocksdb in [false, true] {
            failure_after_one_source_finished(mode, rocksdb);
        }
    }
}
