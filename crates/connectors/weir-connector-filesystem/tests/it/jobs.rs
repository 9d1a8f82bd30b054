//! The file source and sink in running jobs: injected failures, restores at other
//! parallelisms, partitions with `_SUCCESS` files, monitoring, bad records.
//!
//! `WEIR_FILE_JOBS_SEED=<n>` picks the first seed (default 1).
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Once};
use std::time::Duration;
use weir::prelude::*;
use weir_connector_api::bad_record::BadRecordPolicy;
use weir_connector_api::format::{FormatError, FormatErrorKind, Utf8Text};
use weir_connector_filesystem::sink::{CommitTrigger, LineFormat, Partition, PartitionCommit, RollingPolicy};
use weir_connector_filesystem::{FileSink, FileSource};

const FILES: u64 = 5;
const PER_FILE: u64 = 6_000;
/// Event time of record `i`: one record every 10 s, so an hour holds 360.
const STEP_MS: i64 = 10_000;

fn quiet_injected_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| info.payload().downcast_ref::<&str>().copied())
                .unwrap_or("");
            if !message.contains("injected fault") {
                default(info);
            }
        }));
    });
}

fn with_watchdog<R: Send + 'static>(label: String, job: impl FnOnce(&Path) -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let dir = tempfile::tempdir().unwrap();
        let _ = tx.send(job(dir.path()));
    });
    match rx.recv_timeout(Duration::from_secs(300)) {
        Ok(result) => result,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{label}: the job hung"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{label}: the job panicked (see above)"),
    }
}

/// Input files of numbered lines (CRLF in some, no final newline in one).
fn write_input(dir: &Path) -> Vec<String> {
    std::fs::create_dir_all(dir.join("nested")).unwrap();
    let mut all = Vec::new();
    for file in 0..FILES {
        let ending = if file % 2 == 0 { "\n" } else { "\r\n" };
        let mut text = String::new();
        for i in file * PER_FILE..(file + 1) * PER_FILE {
            text.push_str(&format!("{i}{ending}"));
            all.push(format!("{i:06}"));
        }
        if file == 3 {
            text.truncate(text.len() - ending.len());
        }
        let sub = if file % 2 == 0 { "" } else { "nested/" };
        std::fs::write(dir.join(format!("{sub}input-{file}.txt")), text).unwrap();
    }
    all.sort();
    all
}

fn number(bytes: &[u8], out: &mut Vec<u64>) -> Result<(), FormatError> {
    let text = std::str::from_utf8(bytes).map_err(|e| FormatError::new(FormatErrorKind::Syntax, e.to_string()))?;
    out.push(
        text.parse()
            .map_err(|e| FormatError::new(FormatErrorKind::Type, format!("not a number: {e}")))?,
    );
    Ok(())
}

/// Fails once per attempt after a seeded number of records, for the first
/// `failures` attempts.
#[derive(Clone)]
struct Gate {
    failures: u32,
    after: u64,
    seen: Arc<AtomicU64>,
    attempt: u32,
}

impl ProcessFunction<u64, String> for Gate {
    fn open(&mut self, subtask: &weir::core::SubtaskInfo) -> Result<(), BoxError> {
        self.attempt = subtask.attempt;
        Ok(())
    }

    fn process_element(
        &mut self,
        i: u64,
        _: &mut Context<'_>,
        out: &mut Collector<'_, String>,
    ) -> Result<(), BoxError> {
        let n = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        if self.attempt < self.failures && n == self.after * (self.attempt as u64 + 1) {
            panic!("injected fault in attempt {}", self.attempt);
        }
        out.collect(format!("{i:06}"));
        Ok(())
    }
}

/// The committed lines below `dir` by partition, the hidden leftovers, and the
/// partitions holding a `_SUCCESS` file.
struct Output {
    lines: BTreeMap<String, Vec<String>>,
    leftovers: Vec<PathBuf>,
    succeeded: Vec<String>,
}

fn read_output(base: &Path) -> Output {
    fn walk(base: &Path, dir: &Path, out: &mut Output) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().to_string();
            let path = entry.path();
            let partition = dir.strip_prefix(base).unwrap().display().to_string();
            if path.is_dir() {
                if name != ".weir-partitions" {
                    walk(base, &path, out);
                }
            } else if name == "_SUCCESS" {
                out.succeeded.push(partition);
            } else if name.starts_with(".part-") && name.ends_with(".committed") {
            } else if name.starts_with('.') {
                out.leftovers.push(path);
            } else {
                let text = std::fs::read_to_string(&path).unwrap();
                out.lines
                    .entry(partition)
                    .or_default()
                    .extend(text.lines().map(String::from));
            }
        }
    }
    let mut out = Output {
        lines: BTreeMap::new(),
        leftovers: Vec::new(),
        succeeded: Vec::new(),
    };
    walk(base, base, &mut out);
    out.succeeded.sort();
    out
}

#[allow(clippy::too_many_arguments)]
fn run(seed: u64, run: u32, parallelism: usize, restore: Option<&Path>, dir: &Path, last: bool) -> Option<PathBuf> {
    let mut rng = fastrand::Rng::with_seed(seed * 13 + run as u64);
    let failures = 2;
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism)
        .set_buffer_size(32)
        .set_channel_capacity(2)
        .enable_checkpointing(Duration::from_millis(5))
        .set_retained_checkpoints(3)
        .set_checkpoint_dir(dir.join(format!("checkpoints-{run}")))
        .set_restart_strategy(RestartStrategy::FixedDelay {
            attempts: if last { 100 } else { failures - 1 },
            delay: Duration::ZERO,
        });
    if let Some(restore) = restore {
        env.restore_from(restore);
    }
    let source = FileSource::lines([dir.join("input")], || number)
        .split_size(rng.u64(300..6_000))
        .batch_lines(rng.usize(1..64))
        .read_size(rng.usize(64..4096))
        .build()
        .unwrap();
    let sink = FileSink::builder(dir.join("out"), LineFormat::new("txt", || Utf8Text))
        .rolling(RollingPolicy {
            max_part_bytes: rng.u64(50..5_000),
            ..RollingPolicy::default()
        })
        .partition_by(|_, timestamp| Partition::hourly(timestamp.unwrap_or(0)))
        .partition_commit(PartitionCommit {
            trigger: CommitTrigger::PartitionTime,
            ..PartitionCommit::default()
        })
        .build()
        .unwrap();
    env.add_source(source.into_source())
        .uid("source")
        .assign_timestamps_and_watermarks(
            WatermarkStrategy::for_monotonous_timestamps().with_timestamp_assigner(|i: &u64, _| *i as i64 * STEP_MS),
        )
        .uid("timestamps")
        .process(Gate {
            failures,
            after: rng.u64(2_000..12_000),
            seen: Arc::new(AtomicU64::new(0)),
            attempt: 0,
        })
        .uid("gate")
        .add_sink(sink)
        .uid("files");
    let label = format!("seed {seed} run {run} at parallelism {parallelism}");
    let client = env.execute_async("files to files").unwrap();
    let handle = client.handle();
    match (client.wait(), last) {
        (Ok(_), true) => {}
        (Err(e), true) => panic!("{label}: the last run failed: {e}"),
        (Ok(_), false) => {}
        (Err(e), false) => assert!(e.to_string().contains("injected fault"), "{label}: {e}"),
    }
    handle.latest_checkpoint()
}

/// Files to partitioned files with failures, restored at 3 -> 2 -> 4: every line
/// is committed exactly once, in its hour's partition, every partition gets its
/// `_SUCCESS` file, and no hidden part is left.
#[test]
fn files_to_partitioned_files_exactly_once_across_failures_and_rescales() {
    quiet_injected_panics();
    let first = std::env::var("WEIR_FILE_JOBS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1u64);
    for seed in first..first + 3 {
        with_watchdog(format!("files seed {seed}"), move |dir| {
            println!("seed {seed} (WEIR_FILE_JOBS_SEED)");
            let expected = write_input(&dir.join("input"));
            let a = run(seed, 1, 3, None, dir, false);
            // A run that completed no checkpoint leaves the previous one the latest.
            let b = run(seed, 2, 2, a.as_deref(), dir, false).or(a.clone());
            run(seed, 3, 4, b.as_deref(), dir, true);
            let output = read_output(&dir.join("out"));
            println!(
                "seed {seed}: restored from {a:?}, then {b:?}; {} partitions",
                output.lines.len()
            );
            let mut all: Vec<String> = output.lines.values().flatten().cloned().collect();
            all.sort();
            assert_eq!(all.len(), expected.len(), "seed {seed}: lines committed");
            assert_eq!(all, expected, "seed {seed}: every line exactly once");
            for (partition, lines) in &output.lines {
                for line in lines {
                    let i: i64 = line.parse().unwrap();
                    assert_eq!(&Partition::hourly(i * STEP_MS).path, partition, "seed {seed}");
                }
            }
            let partitions: Vec<String> = output.lines.keys().cloned().collect();
            assert_eq!(output.succeeded, partitions, "seed {seed}: _SUCCESS in every partition");
            assert!(
                output.leftovers.is_empty(),
                "seed {seed}: leftovers {:?}",
                output.leftovers
            );
        });
    }
}

/// A monitored directory: a file renamed into it while the job runs is read.
#[test]
fn monitoring_picks_up_a_file_added_while_running() {
    with_watchdog("monitoring".into(), |dir| {
        let input = dir.join("input");
        std::fs::create_dir_all(&input).unwrap();
        std::fs::write(input.join("a.txt"), "1\n2\n3\n").unwrap();
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(2).set_buffer_timeout(Duration::from_millis(1));
        let source = FileSource::lines([&input], || number)
            .monitor(Duration::from_millis(10))
            .build()
            .unwrap();
        let seen = env.add_source(source.into_source()).collect();
        let client = env.execute_async("monitor").unwrap();
        while seen.len() < 3 {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::fs::write(input.join(".b.txt.writing"), "4\n5\n").unwrap();
        std::fs::rename(input.join(".b.txt.writing"), input.join("b.txt")).unwrap();
        while seen.len() < 5 {
            std::thread::sleep(Duration::from_millis(5));
        }
        client.handle().cancel();
        let _ = client.wait();
        let mut values = seen.take();
        values.sort();
        assert_eq!(values, vec![1, 2, 3, 4, 5]);
    });
}

/// Bad records in a job: `fail` names the file and line; `skip` counts them.
#[test]
fn bad_record_policies_in_a_job() {
    with_watchdog("bad records".into(), |dir| {
        let path = dir.join("numbers.txt");
        std::fs::write(&path, "1\n2\nzwei\n3\n").unwrap();
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(2);
        let source = FileSource::lines([&path], || number).split_size(3).build().unwrap();
        env.add_source(source.into_source()).discard();
        let error = env.execute("strict").unwrap_err().to_string();
        assert!(
            error.contains(&format!("{}, line 3 (byte offset 4)", path.display())) && error.contains("zwei"),
            "{error}"
        );

        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(2);
        let source = FileSource::lines([&path], || number)
            .split_size(3)
            .bad_records(BadRecordPolicy::Skip)
            .build()
            .unwrap();
        let handler = source.bad_records();
        let values = env.add_source(source.into_source()).collect();
        env.execute("lenient").unwrap();
        let mut values = values.take();
        values.sort();
        assert_eq!(values, vec![1, 2, 3]);
        assert_eq!(handler.skipped(), 1);
    });
}
