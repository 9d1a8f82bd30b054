//! What a job does when a failure finds its checkpoint storage damaged,
//! unavailable or full: it resumes from the newest checkpoint it can trust, retries
//! storage that is briefly unavailable, fails (naming the checkpoint and the
//! cause) rather than start over from empty state, and survives a checkpoint that
//! cannot be written as its tolerable failures say.
//!
//! Every test runs the same job: a source gated by the test (so that checkpoints
//! and the failure happen exactly between the records the test chooses) feeds a
//! step that fails once when armed, then totals per key in keyed state, emitted
//! when a key has seen all its records, so the output depends only on the input.
//! Checkpoints are taken only when the test asks (savepoints, which are
//! checkpoints `chk-<n>` of the run too); the damage or storage faults are
//! injected between them and the failure. Unavailable and full storage come from
//! `weir_checkpoint::faults::FaultInjection` (`faulty://` locations).
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{log_capture, run_with_watchdog};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_checkpoint::faults::{Fault, FaultInjection, FaultKind, Operation};
use weir_core::{BoxError, RestartStrategy, StorageRetry, WeirError};
use weir_datastream::functions::{Context, KeyedContext, KeyedProcessFunction, ProcessFunction};
use weir_datastream::{Collector, StreamExecutionEnvironment, ValueStateDescriptor};
use weir_runtime::source::{Boundedness, PollStatus, ReaderContext, Source, SourceOutput, SourceReader};
use weir_runtime::JobClient;

const EVENTS: u64 = 6_000;
const KEYS: u64 = 13;

/// Emits 0, 1, … up to what the gate allows (all of `EVENTS` in the end); its
/// position is checkpointed.
#[derive(Clone)]
struct GatedSource {
    gate: Arc<AtomicU64>,
    emitted: Arc<AtomicU64>,
}

struct GatedReader {
    next: u64,
    gate: Arc<AtomicU64>,
    emitted: Arc<AtomicU64>,
}

impl Source<u64> for GatedSource {
    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }

    fn max_parallelism(&self) -> Option<usize> {
        Some(1)
    }

    fn create_reader(&self, context: &ReaderContext) -> Result<Box<dyn SourceReader<u64>>, BoxError> {
        let next = match context.restored.as_ref().and_then(|splits| splits.first()) {
            Some(bytes) => u64::from_le_bytes(bytes.as_slice().try_into()?),
            None => 0,
        };
        Ok(Box::new(GatedReader {
            next,
            gate: self.gate.clone(),
            emitted: self.emitted.clone(),
        }))
    }
}

impl SourceReader<u64> for GatedReader {
    fn poll_next(&mut self, output: &mut SourceOutput<'_, u64>) -> Result<PollStatus, BoxError> {
        if self.next >= EVENTS {
            return Ok(PollStatus::Finished);
        }
        let allowed = self.gate.load(Ordering::SeqCst).min(EVENTS);
        if self.next >= allowed {
            return Ok(PollStatus::Pending {
                retry_at: Some(Instant::now() + Duration::from_millis(1)),
            });
        }
        let end = (self.next + 100).min(allowed);
        for i in self.next..end {
            output.collect(i);
        }
        self.next = end;
        self.emitted.fetch_max(end, Ordering::SeqCst);
        Ok(PollStatus::MoreAvailable)
    }

    fn snapshot_state(&mut self, _: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        Ok(vec![self.next.to_le_bytes().to_vec()])
    }
}

/// Fails at the first record after it is armed, in the first attempt only.
#[derive(Clone)]
struct FailWhenArmed {
    armed: Arc<AtomicBool>,
    attempt: u32,
}

impl ProcessFunction<u64, u64> for FailWhenArmed {
    fn open(&mut self, subtask: &weir_core::SubtaskInfo) -> Result<(), BoxError> {
        self.attempt = subtask.attempt;
        Ok(())
    }

    fn process_element(&mut self, v: u64, _: &mut Context<'_>, out: &mut Collector<'_, u64>) -> Result<(), BoxError> {
        if self.attempt == 0 && self.armed.load(Ordering::SeqCst) {
            return Err("planned failure".into());
        }
        out.collect(v);
        Ok(())
    }
}

fn expected_count(key: u64) -> u64 {
    EVENTS / KEYS + u64::from(key < EVENTS % KEYS)
}

/// Count and sum per key; emits `key count sum` once a key has seen all its records.
#[derive(Clone)]
struct Totals {
    state: ValueStateDescriptor<(u64, u64)>,
}

impl KeyedProcessFunction<u64, u64, String> for Totals {
    fn process_element(
        &mut self,
        i: u64,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Collector<'_, String>,
    ) -> Result<(), BoxError> {
        let key = *ctx.current_key();
        let mut state = ctx.value(&self.state)?;
        let (count, sum) = state.get()?.unwrap_or((0, 0));
        let (count, sum) = (count + 1, sum + i);
        state.set((count, sum))?;
        if count == expected_count(key) {
            out.collect(format!("{key} {count} {sum}"));
        }
        Ok(())
    }
}

fn oracle() -> Vec<String> {
    let mut totals: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for i in 0..EVENTS {
        let t = totals.entry(i % KEYS).or_default();
        t.0 += 1;
        t.1 += i;
    }
    let mut lines: Vec<String> = totals.into_iter().map(|(k, (c, s))| format!("{k} {c} {s}")).collect();
    lines.sort();
    lines
}

/// Retries quick enough for tests.
fn quick_retry(attempts: u32) -> StorageRetry {
    StorageRetry {
        attempts,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
    }
}

/// A running job and its controls.
struct Job {
    client: JobClient,
    gate: Arc<AtomicU64>,
    emitted: Arc<AtomicU64>,
    armed: Arc<AtomicBool>,
    output: weir_datastream::CollectHandle<String>,
    savepoints: PathBuf,
}

impl Job {
    /// Starts the job with its checkpoints under `checkpoints`; checkpoints are
    /// taken only when the test asks.
    fn start(checkpoints: &Path, savepoints: &Path, configure: impl FnOnce(&StreamExecutionEnvironment)) -> Job {
        let gate = Arc::new(AtomicU64::new(0));
        let emitted = Arc::new(AtomicU64::new(0));
        let armed = Arc::new(AtomicBool::new(false));
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(2)
            .enable_checkpointing(Duration::from_secs(3600))
            .set_checkpoint_dir(checkpoints)
            .set_checkpoint_storage_retry(quick_retry(3))
            .set_restart_strategy(RestartStrategy::FixedDelay {
                attempts: 3,
                delay: Duration::ZERO,
            });
        configure(&env);
        let output = env
            .add_source(GatedSource {
                gate: gate.clone(),
                emitted: emitted.clone(),
            })
            .uid("numbers")
            .process(FailWhenArmed {
                armed: armed.clone(),
                attempt: 0,
            })
            .uid("fail")
            .key_by(|i| i % KEYS)
            .process(Totals {
                state: ValueStateDescriptor::new("totals"),
            })
            .uid("totals")
            .collect();
        let client = env.execute_async("restore failover").unwrap();
        Job {
            client,
            gate,
            emitted,
            armed,
            output,
            savepoints: savepoints.to_path_buf(),
        }
    }

    /// Lets the source emit up to `n` records and waits until it has.
    fn emit_up_to(&self, n: u64) {
        self.gate.store(n, Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.emitted.load(Ordering::SeqCst) < n {
            assert!(!self.client.is_finished(), "the job ended early");
            assert!(Instant::now() < deadline, "the source did not reach {n} records");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Takes a checkpoint now (as a savepoint) and returns its `chk-<n>` directory.
    fn checkpoint(&self) -> PathBuf {
        let savepoint = self.client.trigger_savepoint(&self.savepoints).unwrap();
        let name = savepoint.file_name().unwrap().to_string_lossy().to_string();
        let id: u64 = name.split('-').nth(1).unwrap().parse().unwrap();
        self.client.checkpoint_dir().unwrap().join(format!("chk-{id}"))
    }

    /// Arms the failure and lets the rest of the input through; returns the
    /// job's outcome and its output.
    fn fail_and_finish(self) -> (Result<weir_runtime::JobResult, WeirError>, Vec<String>) {
        self.armed.store(true, Ordering::SeqCst);
        self.gate.store(EVENTS, Ordering::SeqCst);
        let result = self.client.wait();
        let mut lines = self.output.take();
        lines.sort();
        (result, lines)
    }
}

/// Flips a byte in the middle of every state file of the checkpoint in `dir`.
fn damage(dir: &Path) {
    let mut damaged = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "state") {
            let mut bytes = std::fs::read(&path).unwrap();
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x10;
            std::fs::write(&path, bytes).unwrap();
            damaged += 1;
        }
    }
    assert!(damaged > 0, "no state file in {}", dir.display());
}

#[test]
fn a_damaged_newest_checkpoint_is_skipped_for_the_previous_one_during_failover() {
    log_capture::install();
    run_with_watchdog("newest damaged".into(), |dir| {
        let job = Job::start(&dir.join("checkpoints"), &dir.join("savepoints"), |_| {});
        job.emit_up_to(EVENTS / 4);
        let first = job.checkpoint();
        job.emit_up_to(EVENTS / 2);
        let second = job.checkpoint();
        damage(&second);
        let (result, lines) = job.fail_and_finish();
        let result = result.unwrap();
        assert_eq!(result.restarts, 1);
        assert_eq!(result.restored_from.as_deref(), Some(first.as_path()));
        assert_eq!(lines, oracle());
        let logs = log_capture::text();
        let skipped = format!("skipping damaged checkpoint '{}'", second.display());
        assert!(logs.contains(&skipped), "no warning '{skipped}' in the log:\n{logs}");
        let restoring = format!("restoring from '{}'", first.display());
        assert!(logs.contains(&restoring), "no '{restoring}' in the log:\n{logs}");
    });
}

#[test]
fn a_lost_metadata_file_is_damage_and_the_previous_checkpoint_is_used() {
    run_with_watchdog("metadata lost".into(), |dir| {
        let job = Job::start(&dir.join("checkpoints"), &dir.join("savepoints"), |_| {});
        job.emit_up_to(EVENTS / 4);
        let first = job.checkpoint();
        job.emit_up_to(EVENTS / 2);
        let second = job.checkpoint();
        std::fs::remove_file(second.join("_metadata")).unwrap();
        let (result, lines) = job.fail_and_finish();
        let result = result.unwrap();
        assert_eq!(result.restored_from.as_deref(), Some(first.as_path()));
        assert_eq!(lines, oracle());
    });
}

/// Before: the master logged "no usable checkpoint" and restarted the job from
/// empty state, although it had completed two checkpoints.
#[test]
fn all_checkpoints_damaged_fail_the_job_instead_of_an_empty_restart() {
    run_with_watchdog("all damaged".into(), |dir| {
        let job = Job::start(&dir.join("checkpoints"), &dir.join("savepoints"), |_| {});
        job.emit_up_to(EVENTS / 4);
        let first = job.checkpoint();
        job.emit_up_to(EVENTS / 2);
        let second = job.checkpoint();
        damage(&first);
        damage(&second);
        let (result, _) = job.fail_and_finish();
        let e = result.unwrap_err().to_string();
        assert!(
            e.contains("cannot restart")
                && e.contains("all 2 completed checkpoints are damaged")
                && e.contains(&first.display().to_string())
                && e.contains("chk-2")
                && e.contains("checksum"),
            "{e}"
        );
    });
}

#[test]
fn transient_read_errors_during_failover_are_retried_and_the_restore_is_exact() {
    run_with_watchdog("transient unavailability".into(), |dir| {
        let storage = FaultInjection::local("failover-transient", &dir.join("store")).unwrap();
        let job = Job::start(
            &storage.location().join("checkpoints"),
            &dir.join("savepoints"),
            |env| {
                env.set_checkpoint_storage_retry(quick_retry(6));
            },
        );
        job.emit_up_to(EVENTS / 4);
        job.checkpoint();
        job.emit_up_to(EVENTS / 2);
        let second = job.checkpoint();
        // Every read fails, five times in a row, then storage is back.
        storage.inject(Fault::new(Operation::Read, FaultKind::Unavailable).times(5));
        storage.inject(Fault::new(Operation::List, FaultKind::Unavailable).times(2));
        let (result, lines) = job.fail_and_finish();
        let result = result.unwrap();
        assert_eq!(storage.injected(), 7);
        assert_eq!(result.restarts, 1);
        assert_eq!(result.restored_from.as_deref(), Some(second.as_path()));
        assert_eq!(lines, oracle());
    });
}

#[test]
fn transient_read_errors_while_tasks_read_their_state_are_retried() {
    run_with_watchdog("transient unavailability in tasks".into(), |dir| {
        let storage = FaultInjection::in_memory("failover-task-reads");
        let job = Job::start(
            &storage.location().join("checkpoints"),
            &dir.join("savepoints"),
            |env| {
                env.set_checkpoint_storage_retry(quick_retry(4));
            },
        );
        job.emit_up_to(EVENTS / 3);
        let first = job.checkpoint();
        // The tasks' reads of their sections fail three times in all (the
        // master's verification of whole files is not hit).
        storage.inject(
            Fault::new(Operation::ReadRange, FaultKind::Unavailable)
                .times(3)
                .on_paths_containing(".state"),
        );
        let (result, lines) = job.fail_and_finish();
        let result = result.unwrap();
        assert_eq!(storage.injected(), 3);
        assert_eq!(result.restored_from.as_deref(), Some(first.as_path()));
        assert_eq!(lines, oracle());
    });
}

/// Storage that stays unavailable is not damage: the job must neither fall back
/// to an older checkpoint nor start empty, but fail, naming checkpoint and cause.
#[test]
fn permanently_unavailable_storage_fails_the_job_naming_the_checkpoint() {
    run_with_watchdog("permanent unavailability".into(), |dir| {
        let storage = FaultInjection::in_memory("failover-permanent");
        let job = Job::start(&storage.location().join("checkpoints"), &dir.join("savepoints"), |_| {});
        job.emit_up_to(EVENTS / 4);
        job.checkpoint();
        job.emit_up_to(EVENTS / 2);
        let second = job.checkpoint();
        storage.inject(Fault::new(Operation::Read, FaultKind::Unavailable).on_paths_containing("chk-2"));
        let (result, lines) = job.fail_and_finish();
        let e = result.unwrap_err().to_string();
        assert!(
            e.contains("cannot restart")
                && e.contains(&second.display().to_string())
                && e.contains("storage unavailable")
                && e.contains("after 3 attempts"),
            "{e}"
        );
        assert!(lines.is_empty(), "the job must not have run to the end: {lines:?}");
    });
}

/// A checkpoint that cannot be written (no space left) is aborted; the job goes
/// on while the failures are tolerable, and fails over (restoring exactly from
/// the last completed checkpoint) when they are not.
#[test]
fn no_space_left_aborts_the_checkpoint_and_the_job_goes_on_or_fails_over_as_tolerated() {
    run_with_watchdog("no space left".into(), |dir| {
        // Tolerated: the job goes on, the next checkpoint completes.
        let storage = FaultInjection::in_memory("enospc-tolerated");
        let job = Job::start(
            &storage.location().join("checkpoints"),
            &dir.join("savepoints"),
            |env| {
                env.set_tolerable_checkpoint_failures(5);
            },
        );
        job.emit_up_to(EVENTS / 4);
        job.checkpoint();
        storage.inject(Fault::new(Operation::Write, FaultKind::NoSpace).on_paths_containing(".state"));
        let e = job.client.trigger_savepoint(&job.savepoints).unwrap_err().to_string();
        assert!(e.contains("No space left on device"), "{e}");
        storage.clear();
        job.emit_up_to(EVENTS / 2);
        let third = job.checkpoint();
        assert!(third.ends_with("chk-3"), "{}", third.display());
        job.gate.store(EVENTS, Ordering::SeqCst);
        let result = job.client.wait().unwrap();
        assert_eq!((result.restarts, result.failed_checkpoints), (0, 1));
        let mut lines = job.output.take();
        lines.sort();
        assert_eq!(lines, oracle());

        // Not tolerated: the job fails over to its last completed checkpoint.
        let storage = FaultInjection::in_memory("enospc-intolerable");
        let job = Job::start(
            &storage.location().join("checkpoints"),
            &dir.join("savepoints"),
            |env| {
                env.set_tolerable_checkpoint_failures(0);
            },
        );
        job.emit_up_to(EVENTS / 4);
        let first = job.checkpoint();
        job.emit_up_to(EVENTS / 2);
        storage.inject(Fault::new(Operation::Write, FaultKind::NoSpace).on_paths_containing("_metadata"));
        let e = job.client.trigger_savepoint(&job.savepoints).unwrap_err().to_string();
        assert!(e.contains("No space left on device"), "{e}");
        storage.clear();
        // The rest of the input only once the failed attempt is gone (its output
        // is not transactional).
        let deadline = Instant::now() + Duration::from_secs(120);
        while job.client.restarts() == 0 {
            assert!(Instant::now() < deadline, "the job did not fail over");
            std::thread::sleep(Duration::from_millis(1));
        }
        job.gate.store(EVENTS, Ordering::SeqCst);
        let result = job.client.wait().unwrap();
        assert_eq!(result.restarts, 1);
        assert_eq!(result.restored_from.as_deref(), Some(first.as_path()));
        let mut lines = job.output.take();
        lines.sort();
        assert_eq!(lines, oracle());
    });
}
