//! Process kills: a job reading files and writing partitioned files runs as a
//! child process (this test binary, re-executed) and is killed with SIGKILL at
//! seeded points: while reading, right after a checkpoint completed and before a
//! sink subtask committed it, and while restoring before the restored
//! transactions were committed. Each restart resumes from the newest completed
//! checkpoint at another parallelism. At the end the committed files hold every
//! input line exactly once, every partition has its `_SUCCESS` file and no
//! hidden part is left.
//!
//! The child prints a marker line at each such point and waits for the parent's
//! reply, so the parent kills it exactly there. `WEIR_FILES_KILL_SEED=<n>` picks
//! the first seed (default 1), `WEIR_FILES_KILL_ROUNDS=<n>` the number of rounds
//! (default 3). `killed_avro_jobs_commit_every_record_exactly_once` runs the same
//! with Avro container files as input (`AvroSource`, positions mid-block),
//! `WEIR_FILES_KILL_AVRO_ROUNDS` rounds (default 1).
#![allow(clippy::unwrap_used, missing_docs)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use weir::connector_api::sink::{Sink, SinkContext, SinkWriter};
use weir::connector_api::source::{PollStatus, ReaderContext, Source, SourceOutput, SourceReader};
use weir::prelude::*;
use weir_connector_api::format::{FormatError, FormatErrorKind, Utf8Text};
use weir_connector_api::source::Boundedness;
use weir_connector_filesystem::sink::{LineFormat, Partition, PartitionCommit};
use weir_connector_filesystem::{AvroSource, FileSink, FileSource};

const CHILD: &str = "WEIR_FILES_KILL_CHILD";
const FILES: u64 = 4;
const PER_FILE: u64 = 5_000;

/// Prints a marker and waits for the parent's reply.
fn announce(lock: &Mutex<()>, marker: &str) -> Result<(), BoxError> {
    let _guard = lock.lock().unwrap_or_else(|p| p.into_inner());
    let mut out = std::io::stdout().lock();
    writeln!(out, "MARK {marker}").and_then(|()| out.flush())?;
    let mut reply = String::new();
    if std::io::stdin().lock().read_line(&mut reply)? == 0 {
        return Err("the parent went away".into());
    }
    Ok(())
}

struct Marked<S> {
    inner: S,
    lock: Arc<Mutex<()>>,
}

impl<T: Send + 'static, S: Source<T>> Source<T> for Marked<S> {
    fn boundedness(&self) -> Boundedness {
        self.inner.boundedness()
    }
    fn state_distribution(&self) -> weir::connector_api::source::SplitStateDistribution {
        self.inner.state_distribution()
    }
    fn create_reader(&self, context: &ReaderContext) -> Result<Box<dyn SourceReader<T>>, BoxError> {
        Ok(Box::new(MarkedReader {
            inner: self.inner.create_reader(context)?,
            lock: self.lock.clone(),
            polls: 0,
        }))
    }
}

struct MarkedReader<T> {
    inner: Box<dyn SourceReader<T>>,
    lock: Arc<Mutex<()>>,
    polls: u64,
}

impl<T: Send> SourceReader<T> for MarkedReader<T> {
    fn poll_next(&mut self, output: &mut SourceOutput<'_, T>) -> Result<PollStatus, BoxError> {
        self.polls += 1;
        if self.polls.is_multiple_of(2) {
            announce(&self.lock, "read")?;
        }
        self.inner.poll_next(output)
    }
    fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        self.inner.snapshot_state(checkpoint_id)
    }
    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<(), BoxError> {
        self.inner.notify_checkpoint_complete(checkpoint_id)
    }
}

impl<T: Send + 'static, S: Sink<T>> Sink<T> for Marked<S> {
    fn create_writer(&self, context: &SinkContext) -> Result<Box<dyn SinkWriter<T>>, BoxError> {
        if context.restored.as_ref().is_some_and(|r| !r.is_empty()) {
            announce(&self.lock, &format!("restoring {}", context.info.index))?;
        }
        Ok(Box::new(MarkedWriter {
            inner: self.inner.create_writer(context)?,
            lock: self.lock.clone(),
        }))
    }
}

struct MarkedWriter<T> {
    inner: Box<dyn SinkWriter<T>>,
    lock: Arc<Mutex<()>>,
}

impl<T> SinkWriter<T> for MarkedWriter<T> {
    fn write(&mut self, value: T, timestamp: Option<i64>) -> Result<(), BoxError> {
        self.inner.write(value, timestamp)
    }
    fn flush(&mut self) -> Result<(), BoxError> {
        self.inner.flush()
    }
    fn finish(&mut self) -> Result<(), BoxError> {
        self.inner.finish()
    }
    fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        self.inner.snapshot_state(checkpoint_id)
    }
    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<(), BoxError> {
        announce(&self.lock, &format!("committing {checkpoint_id}"))?;
        self.inner.notify_checkpoint_complete(checkpoint_id)
    }
    fn notify_checkpoint_aborted(&mut self, checkpoint_id: u64) -> Result<(), BoxError> {
        self.inner.notify_checkpoint_aborted(checkpoint_id)
    }
}

fn number(bytes: &[u8], out: &mut Vec<u64>) -> Result<(), FormatError> {
    let text = std::str::from_utf8(bytes).map_err(|e| FormatError::new(FormatErrorKind::Syntax, e.to_string()))?;
    out.push(
        text.parse()
            .map_err(|e| FormatError::new(FormatErrorKind::Type, format!("not a number: {e}")))?,
    );
    Ok(())
}

/// A record of the Avro input files.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Number {
    n: i64,
}

const NUMBER_SCHEMA: &str = r#"{"type": "record", "name": "Number", "fields": [{"name": "n", "type": "long"}]}"#;

fn partition_of(line: &str) -> Partition {
    let i: u64 = line.parse().unwrap_or(0);
    Partition::new(format!("bucket={}", i / 2_000))
}

/// The child job (runs only when re-executed by the parent).
#[test]
fn child_job() {
    let Ok(dir) = std::env::var(CHILD) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let parallelism: usize = std::env::var("WEIR_FILES_KILL_PARALLELISM").unwrap().parse().unwrap();
    let split_size: u64 = std::env::var("WEIR_FILES_KILL_SPLIT").unwrap().parse().unwrap();
    let lock = Arc::new(Mutex::new(()));
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism)
        .enable_checkpointing(Duration::from_millis(10))
        .set_checkpoint_dir(dir.join("checkpoints"))
        .set_restart_strategy(RestartStrategy::None);
    if let Ok(restore) = std::env::var("WEIR_FILES_KILL_RESTORE") {
        env.restore_from(restore);
    }
    let sink = FileSink::builder(dir.join("out"), LineFormat::new("txt", || Utf8Text))
        .partition_by(|line: &String, _| partition_of(line))
        .partition_commit(PartitionCommit::default())
        .build()
        .unwrap();
    let lines = if std::env::var("WEIR_FILES_KILL_AVRO").is_ok() {
        let source = AvroSource::<Number>::builder([dir.join("input")])
            .split_size(split_size)
            .batch_records(16)
            .build()
            .unwrap();
        env.add_source(Marked {
            inner: source.into_source(),
            lock: lock.clone(),
        })
        .uid("source")
        .map(|i: Number| format!("{:06}", i.n))
        .uid("format")
    } else {
        let source = FileSource::lines([dir.join("input")], || number)
            .split_size(split_size)
            .batch_lines(16)
            .build()
            .unwrap();
        env.add_source(Marked {
            inner: source.into_source(),
            lock: lock.clone(),
        })
        .uid("source")
        .map(|i: u64| format!("{i:06}"))
        .uid("format")
    };
    lines.add_sink(Marked { inner: sink, lock }).uid("files");
    if let Err(e) = env.execute("files-kill") {
        eprintln!("child job failed: {e}");
        std::process::exit(3);
    }
}

/// The newest job directory with a completed checkpoint.
fn newest_checkpoint(dir: &Path) -> Option<PathBuf> {
    let mut jobs: Vec<PathBuf> = std::fs::read_dir(dir.join("checkpoints"))
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|job| {
            std::fs::read_dir(job)
                .map(|entries| entries.flatten().any(|e| e.path().join("_metadata").is_file()))
                .unwrap_or(false)
        })
        .collect();
    jobs.sort_by_key(|job| {
        job.file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.rsplit('-').next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    });
    jobs.pop()
}

struct Output {
    lines: Vec<String>,
    partitions: Vec<String>,
    succeeded: Vec<String>,
    leftovers: Vec<PathBuf>,
}

fn read_output(base: &Path) -> Output {
    let mut out = Output {
        lines: Vec::new(),
        partitions: Vec::new(),
        succeeded: Vec::new(),
        leftovers: Vec::new(),
    };
    for partition in std::fs::read_dir(base).unwrap().flatten() {
        let name = partition.file_name().to_string_lossy().to_string();
        if !partition.path().is_dir() || name.starts_with('.') {
            if name.starts_with(".part-") && !name.ends_with(".committed") {
                out.leftovers.push(partition.path());
            }
            continue;
        }
        out.partitions.push(name.clone());
        for file in std::fs::read_dir(partition.path()).unwrap().flatten() {
            let file_name = file.file_name().to_string_lossy().to_string();
            if file_name == "_SUCCESS" {
                out.succeeded.push(name.clone());
            } else if file_name.starts_with('.') {
                out.leftovers.push(file.path());
            } else {
                let text = std::fs::read_to_string(file.path()).unwrap();
                out.lines.extend(text.lines().map(String::from));
            }
        }
    }
    out.lines.sort();
    out.partitions.sort();
    out.succeeded.sort();
    out
}

fn round(seed: u64, avro: bool) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input");
    std::fs::create_dir_all(&input).unwrap();
    let mut expected = Vec::new();
    for file in 0..FILES {
        let numbers = file * PER_FILE..(file + 1) * PER_FILE;
        expected.extend(numbers.clone().map(|i| format!("{i:06}")));
        if avro {
            // Blocks of about 1 KiB (some 300 records), half of the files deflated.
            let schema = apache_avro::Schema::parse_str(NUMBER_SCHEMA).unwrap();
            let codec = if file % 2 == 0 {
                apache_avro::Codec::Null
            } else {
                apache_avro::Codec::Deflate(Default::default())
            };
            let mut writer = apache_avro::Writer::builder()
                .schema(&schema)
                .writer(Vec::new())
                .codec(codec)
                .block_size(1 << 10)
                .build()
                .unwrap();
            for i in numbers {
                writer.append_ser(Number { n: i as i64 }).unwrap();
            }
            std::fs::write(input.join(format!("part-{file}.avro")), writer.into_inner().unwrap()).unwrap();
        } else {
            let text: String = numbers.map(|i| format!("{i}\n")).collect();
            std::fs::write(input.join(format!("part-{file}.txt")), text).unwrap();
        }
    }
    expected.sort();
    let split_size = if avro {
        rng.u64(500..8_000)
    } else {
        rng.u64(2_000..40_000)
    };
    let kills = rng.usize(4..8);
    let mut killed = Vec::new();
    for run in 0..kills + 20 {
        let parallelism = rng.usize(1..4);
        let restore = newest_checkpoint(dir.path());
        // Kill at the n-th marker of a seeded kind.
        // Kill at the n-th marker of a seeded kind ("restoring" only when there
        // is something to restore).
        let kill_at = (run < kills).then(|| match rng.u8(0..10) {
            0..=4 => ("read", rng.usize(0..120)),
            5..=7 => ("committing", rng.usize(0..3)),
            _ if restore.is_some() => ("restoring", rng.usize(0..parallelism)),
            _ => ("committing", 0),
        });
        // libtest knows the child by its path in this binary: `process_kill::child_job`.
        let module = module_path!().split_once("::").map_or("", |(_, path)| path);
        let child_name = format!("{module}::child_job");
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args([child_name.as_str(), "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD, dir.path())
            .env("WEIR_FILES_KILL_PARALLELISM", parallelism.to_string())
            .env("WEIR_FILES_KILL_SPLIT", split_size.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(restore) = &restore {
            command.env("WEIR_FILES_KILL_RESTORE", restore);
        }
        if avro {
            command.env("WEIR_FILES_KILL_AVRO", "1");
        }
        let mut child = command.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut markers = 0;
        let mut was_killed = None;
        for line in stdout.lines() {
            let Ok(line) = line else { break };
            // The test harness may have printed "test child_job ... " before it.
            let Some((_, marker)) = line.split_once("MARK ") else {
                continue;
            };
            if let Some((kind, n)) = kill_at {
                if marker.starts_with(kind) {
                    if markers == n {
                        child.kill().unwrap();
                        was_killed = Some(marker.to_string());
                        break;
                    }
                    markers += 1;
                }
            }
            if stdin.write_all(b"go\n").and_then(|()| stdin.flush()).is_err() {
                break;
            }
        }
        let status = child.wait().unwrap();
        match was_killed {
            Some(marker) => killed.push(format!("run {run} at p={parallelism}: at '{marker}'")),
            None => {
                assert!(
                    status.success(),
                    "seed {seed}: run {run} failed ({status}); kills so far: {killed:?}"
                );
                break;
            }
        }
    }
    println!("seed {seed} (avro: {avro}): split size {split_size}, killed {killed:?}");
    let output = read_output(&dir.path().join("out"));
    assert_eq!(output.lines.len(), expected.len(), "seed {seed}: kills {killed:?}");
    assert!(output.lines == expected, "seed {seed}: lines differ; kills {killed:?}");
    assert_eq!(
        output.succeeded, output.partitions,
        "seed {seed}: _SUCCESS files; kills {killed:?}"
    );
    assert_eq!(output.partitions.len(), (FILES * PER_FILE / 2_000) as usize);
    assert!(
        output.leftovers.is_empty(),
        "seed {seed}: leftovers {:?}",
        output.leftovers
    );
}

#[test]
fn killed_jobs_commit_every_line_exactly_once() {
    if std::env::var(CHILD).is_ok() {
        return;
    }
    let first: u64 = std::env::var("WEIR_FILES_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let rounds: u64 = std::env::var("WEIR_FILES_KILL_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    for seed in first..first + rounds {
        round(seed, false);
    }
}

#[test]
fn killed_avro_jobs_commit_every_record_exactly_once() {
    if std::env::var(CHILD).is_ok() {
        return;
    }
    let first: u64 = std::env::var("WEIR_FILES_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let rounds: u64 = std::env::var("WEIR_FILES_KILL_AVRO_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    for seed in first..first + rounds {
        round(seed, true);
    }
}
