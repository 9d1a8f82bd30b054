//! `weir demo`: a live word count over a generated stream.
//!
//! generator (sentences) -> flat_map (words) -> key_by(word) -> rolling count ->
//! live table sink. The generator is deterministic (the same index always yields the
//! same sentence) and skewed like natural text, so a few words dominate.

use crate::job_args::{JobArgs, SetupError};
use crate::restart::describe;
use crate::serve::{serve, RestArgs};
use crate::{console, values};
use clap::Args;
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use weir::prelude::*;
use weir::runtime::sink::{Sink, SinkWriter};

/// Options of `weir demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Sentences to generate (8 words each); the job ends when they are counted.
    #[arg(long, default_value_t = 5_000_000, value_parser = values::positive_count, conflicts_with = "unbounded")]
    sentences: u64,
    /// Generate without end; stop with Ctrl-C (a second Ctrl-C cancels at once).
    #[arg(long)]
    unbounded: bool,
    /// Limit the generator to this many sentences per second (a positive number;
    /// leave it out for no limit).
    #[arg(long, value_parser = values::rate)]
    rate: Option<f64>,
    /// Number of words to show in the live table and the final one (at least 1).
    #[arg(long, default_value_t = 8, value_parser = values::positive_usize)]
    top: usize,
    /// Print the job's plan (chains, parallelism, partitioning) before running it.
    #[arg(long)]
    explain: bool,
    #[command(flatten)]
    job: JobArgs,
    #[command(flatten)]
    rest: RestArgs,
    /// For tests: every attempt of the job fails when it generates this sentence.
    #[arg(long, hide = true, value_name = "SENTENCE")]
    fail_at: Option<u64>,
}

const VOCABULARY: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "this",
    "are",
    "or",
    "his",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "had",
    "they",
    "you",
    "were",
    "stream",
    "their",
    "one",
    "all",
    "we",
    "can",
    "her",
    "has",
    "there",
    "been",
    "if",
    "more",
    "when",
    "will",
    "would",
    "who",
    "so",
    "no",
    "state",
    "window",
    "barrier",
    "checkpoint",
    "weir",
    "river",
    "water",
    "flow",
    "record",
    "event",
    "time",
    "key",
    "value",
    "operator",
    "task",
    "channel",
    "buffer",
    "source",
    "sink",
    "job",
];

/// A splitmix64 step: a well-mixed, deterministic function of `x`.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Sentence number `index`: eight words, skewed towards the front of the vocabulary.
fn sentence(index: u64) -> String {
    let mut words = Vec::with_capacity(8);
    for position in 0..8 {
        let u = (mix(index * 8 + position) >> 11) as f64 / (1u64 << 53) as f64;
        let rank = ((u * u * u) * VOCABULARY.len() as f64) as usize;
        words.push(VOCABULARY[rank.min(VOCABULARY.len() - 1)]);
    }
    words.join(" ")
}

type Table = Arc<Mutex<HashMap<String, u64>>>;

/// Keeps the latest count of every word in a table the display thread reads.
struct LiveTable {
    table: Table,
}

struct LiveTableWriter {
    table: Table,
    pending: HashMap<String, u64>,
    /// The latest count of every word this writer has seen (or restored): its
    /// checkpointed state, so that a restored job shows the counts it resumes from
    /// (a finished job's restore emits nothing new).
    latest: HashMap<String, u64>,
    writes: u64,
}

impl SinkWriter<(String, u64)> for LiveTableWriter {
    fn write(&mut self, (word, count): (String, u64), _: Option<i64>) -> Result<(), BoxError> {
        self.latest.insert(word.clone(), count);
        self.pending.insert(word, count);
        self.writes += 1;
        if self.writes.is_multiple_of(4096) {
            self.publish()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), BoxError> {
        self.publish()
    }

    /// One element per word: `word \t count`.
    fn snapshot_state(&mut self, _checkpoint_id: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        Ok(self
            .latest
            .iter()
            .map(|(word, count)| format!("{word}\t{count}").into_bytes())
            .collect())
    }
}

impl LiveTableWriter {
    fn publish(&mut self) -> Result<(), BoxError> {
        let mut table = self.table.lock().map_err(|_| "the live table lock is poisoned")?;
        for (word, count) in self.pending.drain() {
            table.insert(word, count);
        }
        Ok(())
    }

    /// Takes over the counts of a restored checkpoint. After a rescale several
    /// writers' elements may name the same word; counts only grow, so the largest
    /// is the latest.
    fn restore(&mut self, elements: &[Vec<u8>]) -> Result<(), BoxError> {
        for element in elements {
            let text = std::str::from_utf8(element).map_err(|e| format!("restored live table entry: {e}"))?;
            let (word, count) = text
                .rsplit_once('\t')
                .ok_or_else(|| format!("restored live table entry without a count: {text:?}"))?;
            let count: u64 = count
                .parse()
                .map_err(|e| format!("restored live table entry {text:?}: {e}"))?;
            let latest = self.latest.entry(word.to_string()).or_insert(0);
            *latest = (*latest).max(count);
        }
        let mut table = self.table.lock().map_err(|_| "the live table lock is poisoned")?;
        for (word, &count) in &self.latest {
            let shown = table.entry(word.clone()).or_insert(0);
            *shown = (*shown).max(count);
        }
        Ok(())
    }
}

impl Sink<(String, u64)> for LiveTable {
    fn create_writer(
        &self,
        context: &weir::runtime::sink::SinkContext,
    ) -> Result<Box<dyn SinkWriter<(String, u64)>>, BoxError> {
        let mut writer = LiveTableWriter {
            table: self.table.clone(),
            pending: HashMap::new(),
            latest: HashMap::new(),
            writes: 0,
        };
        if let Some(restored) = &context.restored {
            writer.restore(restored)?;
        }
        Ok(Box::new(writer))
    }
}

fn top_words(table: &Table, n: usize) -> Vec<(String, u64)> {
    let Ok(table) = table.lock() else {
        return Vec::new();
    };
    let mut words: Vec<(String, u64)> = table.iter().map(|(w, c)| (w.clone(), *c)).collect();
    words.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    words.truncate(n);
    words
}

fn human(n: f64) -> String {
    if n >= 1e9 {
        format!("{:.2} G", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.2} M", n / 1e6)
    } else if n >= 1e3 {
        format!("{:.1} k", n / 1e3)
    } else {
        format!("{n:.0}")
    }
}

/// What a demo run counted.
struct Outcome {
    /// Words that reached the counter.
    words: u64,
    /// Final count per word.
    counts: HashMap<String, u64>,
    /// Wall time of the job.
    elapsed: Duration,
}

/// Errors of `weir demo`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// The job could not start, failed or was cancelled.
    #[error(transparent)]
    Job(#[from] WeirError),
    /// Options that do not fit together or that the runtime refuses.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The REST API could not be served where the user asked.
    #[error("cannot serve the REST API: {source}{hint}")]
    Rest {
        /// Why.
        source: weir_rest::RestError,
        /// What to do about it.
        hint: &'static str,
    },
    /// The job kept failing until the restart strategy allowed no more restarts.
    #[error("the job failed for good after {restarts} restart{plural} (restart strategy {strategy})")]
    GaveUp {
        /// Restarts made.
        restarts: u32,
        /// "s" or "".
        plural: &'static str,
        /// The strategy, described.
        strategy: String,
        /// The last failure, as the runtime reports it.
        #[source]
        source: Box<WeirError>,
    },
}

impl From<weir_rest::RestError> for DemoError {
    fn from(source: weir_rest::RestError) -> Self {
        let hint = match source {
            weir_rest::RestError::Insecure { .. } => {
                "; give one with --rest-token-file, WEIR_REST_TOKEN or --rest-token, or bind to 127.0.0.1"
            }
            weir_rest::RestError::Bind { .. } => " (choose another --rest-bind, or --no-rest)",
            _ => "",
        };
        DemoError::Rest { source, hint }
    }
}

/// Runs the demo job, shows its results live, then prints the final counts.
pub fn run(args: DemoArgs) -> Result<(), DemoError> {
    let top = args.top;
    let outcome = run_job(args)?;
    let elapsed = outcome.elapsed.as_secs_f64();
    println!(
        "finished in {elapsed:.2}s: {} words counted ({}/s), {} distinct",
        human(outcome.words as f64),
        human(outcome.words as f64 / elapsed.max(1e-9)),
        outcome.counts.len()
    );
    println!("{:>12}  word", "count");
    let mut words: Vec<(&String, &u64)> = outcome.counts.iter().collect();
    words.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    for (word, count) in words.into_iter().take(top) {
        println!("{count:>12}  {word}");
    }
    Ok(())
}

fn run_job(args: DemoArgs) -> Result<Outcome, DemoError> {
    let env = StreamExecutionEnvironment::new();
    let strategy = args.job.configure(&env)?;
    let fail_at = args.fail_at;
    let mut generator = GeneratorSource::new(move |i| {
        if fail_at.is_some_and(|n| i >= n) {
            panic!("injected failure at sentence {i} (--fail-at)");
        }
        sentence(i)
    });
    if !args.unbounded {
        generator = generator.with_count(args.sentences);
    }
    if let Some(rate) = args.rate {
        generator = generator.with_rate_limit(rate);
    }
    let table: Table = Arc::new(Mutex::new(HashMap::new()));
    env.add_source(generator)
        .name("sentences")
        .uid("sentences")
        .flat_map(|s: String| s.split(' ').map(|w| (w.to_string(), 1u64)).collect::<Vec<_>>())
        .name("split")
        .uid("split")
        .key_by(|(word, _)| word.clone())
        .sum(|(_, n)| n)
        .name("count")
        .uid("count")
        .add_sink(LiveTable { table: table.clone() })
        .name("live table")
        .uid("live-table");
    if args.explain {
        println!("{}", env.explain("weir demo: live word count")?);
    }

    let interrupts = Arc::new(AtomicU8::new(0));
    let handler_interrupts = interrupts.clone();
    if let Err(e) = ctrlc::set_handler(move || {
        handler_interrupts.fetch_add(1, Ordering::SeqCst);
    }) {
        tracing::warn!("cannot install the Ctrl-C handler ({e}); stop the demo with a signal");
    }

    // Listen first: an address that cannot be served stops the demo before its job
    // starts.
    let rest = serve(&args.rest, args.job.savepoint_dir.as_deref())?;
    let mode = if args.unbounded {
        "unbounded; Ctrl-C stops".to_string()
    } else {
        format!("{} sentences", human(args.sentences as f64))
    };
    println!(
        "weir demo: live word count over generated sentences ({mode}, parallelism {})",
        env.parallelism()
    );
    if strategy != RestartStrategy::None {
        println!("on failure: restart ({})", describe(&strategy));
    }
    let _ = std::io::stdout().flush();
    let client = env.execute_async("weir demo: live word count")?;
    if let Some(dir) = client.checkpoint_dir() {
        println!("checkpoints go to {}", dir.display());
    }
    if let Some(served) = &rest {
        served.announce(
            &client,
            args.job.savepoint_dir.is_some(),
            !args.rest.allow_savepoint_dir.is_empty(),
        );
    }
    let started = Instant::now();
    let mut handled_interrupts = 0;
    let mut next_report = started + Duration::from_secs(1);
    let words_counted = |client: &JobClient| -> u64 {
        client
            .vertex_reports()
            .iter()
            .find(|v| v.name.starts_with("count"))
            .map(|v| v.records_in)
            .unwrap_or(0)
    };
    while !client.is_finished() {
        std::thread::sleep(Duration::from_millis(50));
        // The console prints each restart with its cause from the runtime's log;
        // should a restart not have been logged that way, say at least that it
        // happened.
        while console::restarts_shown() < client.restarts() {
            console::count_restart_shown();
            println!("restart: the job restarts (restart {})", console::restarts_shown());
        }
        let interrupts_now = interrupts.load(Ordering::SeqCst);
        if interrupts_now != handled_interrupts {
            if handled_interrupts == 0 {
                match &args.job.savepoint_dir {
                    Some(dir) => {
                        println!("stopping with a savepoint into {}", dir.display());
                        let savepoint = client.stop_with_savepoint(dir)?;
                        println!("savepoint written: {} (resume with --restore)", savepoint.display());
                    }
                    None => {
                        println!("stopping: the generator ends, everything already generated is still counted (Ctrl-C again to cancel)");
                        client.stop();
                    }
                }
            } else {
                println!("cancelling");
                client.cancel();
            }
            handled_interrupts = interrupts_now;
        }
        if Instant::now() >= next_report {
            next_report += Duration::from_secs(1);
            let elapsed = started.elapsed().as_secs_f64();
            let words = words_counted(&client);
            let top: Vec<String> = top_words(&table, args.top)
                .into_iter()
                .map(|(w, c)| format!("{w} {}", human(c as f64)))
                .collect();
            println!(
                "[{elapsed:6.1}s] {} words counted ({}/s) | {}",
                human(words as f64),
                human(words as f64 / elapsed.max(1e-9)),
                top.join(" · ")
            );
            let _ = std::io::stdout().flush();
        }
    }
    let handle = client.handle();
    let latest = client.latest_checkpoint();
    let result = client.wait();
    // A client that stopped the job (or took a savepoint) over the REST API is
    // still to learn how that ended: serve it before going away.
    if let Some(served) = &rest {
        served.linger();
    }
    let result = match result {
        Ok(result) => result,
        Err(WeirError::Cancelled) => return Err(WeirError::Cancelled.into()),
        Err(source) => {
            let restarts = handle.restarts();
            if restarts == 0 {
                return Err(source.into());
            }
            return Err(DemoError::GaveUp {
                restarts,
                plural: if restarts == 1 { "" } else { "s" },
                strategy: describe(&strategy),
                source: Box::new(source),
            });
        }
    };
    if !result.checkpoints.is_empty() || result.restarts > 0 {
        println!(
            "{} checkpoints completed, {} failed, {} restarts{}",
            result.checkpoints.len(),
            result.failed_checkpoints,
            result.restarts,
            latest.map(|p| format!("; latest: {}", p.display())).unwrap_or_default()
        );
    }
    if let Some(restored) = &result.restored_from {
        if result.restarts == 0 {
            println!("restored from {}", restored.display());
        } else {
            println!("the last attempt started from {}", restored.display());
        }
    }
    if let Some(savepoint) = &result.savepoint {
        println!("stopped with savepoint {} (resume with --restore)", savepoint.display());
    }
    let words = result
        .vertices
        .iter()
        .find(|v| v.name.starts_with("count"))
        .map(|v| v.records_in)
        .unwrap_or(0);
    let counts = table.lock().map(|t| t.clone()).unwrap_or_default();
    Ok(Outcome {
        words,
        counts,
        elapsed: result.elapsed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tempfile_dir() -> std::path::PathBuf {
        std::env::temp_dir().join(format!("weir-demo-test-{}", std::process::id()))
    }

    #[test]
    fn sentences_are_deterministic_and_skewed() {
        assert_eq!(sentence(42), sentence(42));
        assert_eq!(sentence(7).split(' ').count(), 8);
        let mut counts = HashMap::new();
        for i in 0..2_000 {
            for w in sentence(i).split(' ') {
                *counts.entry(w.to_string()).or_insert(0) += 1;
            }
        }
        assert!(counts["the"] > counts.get("job").copied().unwrap_or(0) * 5);
    }

    fn args(state_backend: &str) -> DemoArgs {
        DemoArgs {
            sentences: 5_000,
            unbounded: false,
            rate: None,
            top: 3,
            explain: true,
            job: JobArgs {
                parallelism: Some(2),
                checkpoint_interval: Some(Duration::from_millis(10)),
                checkpoint_mode: Some(CheckpointMode::Unaligned),
                checkpoint_dir: Some(tempfile_dir()),
                state_backend: state_backend.into(),
                rocksdb_dir: Some(tempfile_dir()),
                rocksdb_memory_mib: 16,
                ..JobArgs::default()
            },
            rest: RestArgs {
                rest_bind: Some("127.0.0.1:0".into()),
                ..RestArgs::default()
            },
            fail_at: None,
        }
    }

    #[test]
    fn demo_counts_every_word_on_both_backends() {
        let mut expected: HashMap<String, u64> = HashMap::new();
        for i in 0..5_000 {
            for w in sentence(i).split(' ') {
                *expected.entry(w.to_string()).or_insert(0) += 1;
            }
        }
        for backend in ["heap", "rocksdb"] {
            let outcome = run_job(args(backend)).unwrap();
            assert_eq!(outcome.words, 40_000, "{backend}");
            assert_eq!(outcome.counts, expected, "{backend}");
        }
    }

    #[test]
    fn bad_backend_settings_are_named() {
        let e = run_job(args("disk")).err().unwrap().to_string();
        assert!(e.contains("'disk'"), "{e}");
        let mut tiny = args("rocksdb");
        tiny.job.rocksdb_memory_mib = 1;
        let e = run_job(tiny).err().unwrap().to_string();
        assert!(e.contains("memory budget"), "{e}");
    }

    #[test]
    fn options_that_need_checkpoints_are_refused_without() {
        let mut no_checkpoints = args("heap");
        no_checkpoints.job.checkpoint_interval = None;
        no_checkpoints.job.checkpoint_mode = None;
        no_checkpoints.job.checkpoint_dir = None;
        let refused = |change: &dyn Fn(&mut DemoArgs)| {
            let mut args = args("heap");
            args.job.checkpoint_interval = None;
            args.job.checkpoint_mode = None;
            args.job.checkpoint_dir = None;
            change(&mut args);
            run_job(args).err().unwrap().to_string()
        };
        let e = refused(&|a| a.job.savepoint_dir = Some(tempfile_dir()));
        assert!(e.contains("--savepoint-dir needs --checkpoint-interval"), "{e}");
        let e = refused(&|a| a.job.checkpoint_dir = Some(tempfile_dir()));
        assert!(e.contains("--checkpoint-dir needs --checkpoint-interval"), "{e}");
        let e = refused(&|a| a.job.checkpoint_mode = Some(CheckpointMode::Unaligned));
        assert!(e.contains("--checkpoint-mode needs --checkpoint-interval"), "{e}");
        let e = refused(&|a| a.job.restore = Some(tempfile_dir()));
        assert!(e.contains("--restore needs --checkpoint-interval"), "{e}");
        // Without them the job runs.
        assert_eq!(run_job(no_checkpoints).unwrap().words, 40_000);
    }
}
