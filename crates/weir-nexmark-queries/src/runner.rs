//! Runs a query over generated events and measures it the way the Flink Nexmark
//! harness does: events per second and events per CPU-second of the whole process,
//! generator included.

use crate::output::QueryOutput;
use crate::source::NexmarkSource;
use crate::NexmarkError;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir::prelude::*;
use weir_nexmark::{Event, NexmarkConfig};

/// The allowed lateness of events before the watermark, as Flink's Nexmark DDL
/// declares it (`WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND`).
pub const WATERMARK_DELAY: Duration = Duration::from_secs(4);

/// A Nexmark query by number (0 to 22).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Query(u8);

impl Query {
    /// Every query, q0 to q22.
    pub fn all() -> impl Iterator<Item = Query> {
        (0..=22).map(Query)
    }

    /// Query `number`, if there is one.
    pub fn new(number: u8) -> Result<Query, NexmarkError> {
        if number <= 22 {
            Ok(Query(number))
        } else {
            Err(NexmarkError::UnknownQuery(number.to_string()))
        }
    }

    /// Its number.
    pub fn number(self) -> u8 {
        self.0
    }
}

impl std::fmt::Display for Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "q{}", self.0)
    }
}

impl std::str::FromStr for Query {
    type Err = NexmarkError;

    /// `q7`, `Q7` or `7`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let digits = text.trim().trim_start_matches(['q', 'Q']);
        digits
            .parse::<u8>()
            .ok()
            .and_then(|n| Query::new(n).ok())
            .ok_or_else(|| NexmarkError::UnknownQuery(text.to_string()))
    }
}

/// How to run a query.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The query.
    pub query: Query,
    /// The generator's configuration (`num_events` events; 0 runs without end).
    pub config: NexmarkConfig,
    /// Parallelism of every operator.
    pub parallelism: usize,
    /// Emit at most this many events per second in total (the benchmark's TPS).
    pub rate_limit: Option<f64>,
    /// Where the rows go.
    pub output: QueryOutput,
    /// Read the events from this JSON-lines file (or directory, or glob) written
    /// by `weir nexmark generate` instead of generating them (`config` and
    /// `rate_limit` are then not used).
    pub input: Option<PathBuf>,
}

/// The one-line result of a run (`weir nexmark run` prints it as JSON).
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The query, e.g. `q5`.
    pub query: String,
    /// Events generated.
    pub events: u64,
    /// Parallelism.
    pub parallelism: usize,
    /// Wall time of the job, seconds.
    pub wall_seconds: f64,
    /// CPU time of the whole process during the job (all threads), seconds.
    pub cpu_seconds: f64,
    /// Events per wall second.
    pub events_per_second: f64,
    /// Events per CPU-second: the Flink harness's throughput per core.
    pub events_per_cpu_second: f64,
}

/// The stream of generated events with event time and watermarks.
pub fn events(env: &StreamExecutionEnvironment, source: NexmarkSource) -> DataStream<Event> {
    env.from_source(source, event_time(), "nexmark").uid("nexmark-source")
}

fn event_time() -> WatermarkStrategy<Event> {
    WatermarkStrategy::for_bounded_out_of_orderness(WATERMARK_DELAY)
        .with_timestamp_assigner(|event: &Event, _| event.date_time())
}

/// Builds the job of `options` in `env`; returns the collected rows' handle for
/// [`QueryOutput::Collect`].
pub fn build(
    env: &StreamExecutionEnvironment,
    options: &RunOptions,
) -> Result<Option<CollectHandle<String>>, NexmarkError> {
    build_counting(env, options, Arc::default())
}

/// [`build`], counting the events read from [`RunOptions::input`] in `decoded`.
fn build_counting(
    env: &StreamExecutionEnvironment,
    options: &RunOptions,
    decoded: Arc<AtomicU64>,
) -> Result<Option<CollectHandle<String>>, NexmarkError> {
    let events = match &options.input {
        Some(path) => {
            let source = crate::file_events::file_source(
                path,
                crate::file_events::fields_read_by(options.query.number()),
                decoded,
            )
            .map_err(|e| NexmarkError::Input(e.to_string()))?;
            env.from_source(source.into_source(), event_time(), "nexmark file")
                .uid("nexmark-source")
        }
        None => {
            let mut source = NexmarkSource::new(options.config.clone())?;
            if let Some(rate) = options.rate_limit {
                source = source.with_rate_limit(rate);
            }
            events(env, source)
        }
    };
    crate::queries::attach(options.query.number(), &events, &options.output)
}

/// Runs `options` to the end; returns the measurements and, for
/// [`QueryOutput::Collect`], the rows as JSON lines.
pub fn run(options: &RunOptions) -> Result<(RunReport, Vec<String>), NexmarkError> {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(options.parallelism.max(1));
    let decoded = Arc::new(AtomicU64::new(0));
    let handle = build_counting(&env, options, decoded.clone())?;
    let report = execute_measured(&env, options.query, || match options.input {
        Some(_) => decoded.load(Ordering::Relaxed),
        None => options.config.num_events,
    })?;
    Ok((report, handle.map(|h| h.take()).unwrap_or_default()))
}

/// Executes the job built in `env` for `query` and measures it: wall time, CPU
/// time of the whole process, and `events()` (asked once the job has ended) per
/// second and per CPU-second. The DataStream runner and `weir nexmark run --sql`
/// both measure this way.
pub fn execute_measured(
    env: &StreamExecutionEnvironment,
    query: Query,
    events: impl FnOnce() -> u64,
) -> Result<RunReport, NexmarkError> {
    let cpu = cpu_time::ProcessTime::try_now().ok();
    let started = Instant::now();
    env.execute(&format!("nexmark {query}"))?;
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu.map(|c| c.elapsed().as_secs_f64()).unwrap_or(f64::NAN);
    let events = events();
    Ok(RunReport {
        query: query.to_string(),
        events,
        parallelism: env.parallelism(),
        wall_seconds: wall,
        cpu_seconds: cpu,
        events_per_second: events as f64 / wall.max(1e-9),
        events_per_cpu_second: events as f64 / cpu.max(1e-9),
    })
}
