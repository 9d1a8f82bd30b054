//! The job the harness kills: a replayable bounded generator, running counts and
//! sums per key in keyed state, and the exactly-once file sink.
//!
//! ```text
//! generator (ids 0..records, rate-limited) ─key_by(id % keys)─▶ running sums ─▶ FileSink
//! ```
//!
//! See [`crate::oracle`] for what it must write.

use crate::error::ChaosError;
use crate::hooks::{Control, MarkedSink, MarkedSource};
use crate::markers::Marker;
use crate::oracle::{value, OutputLine};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use weir::connectors::{FileSink, GeneratorSource};
use weir::core::{BoxError, CheckpointMode, RestartStrategy, RocksDbOptions, StateBackendConfig};
use weir::prelude::{
    Collector, ExactlyOnce, JobResult, KeyedContext, KeyedProcessFunction, StreamExecutionEnvironment,
    ValueStateDescriptor,
};

/// Name of the job (and prefix of its job directories).
pub const JOB_NAME: &str = "chaos";

/// Where keyed state lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// The heap backend.
    Heap,
    /// RocksDB with full snapshots.
    RocksDb,
    /// RocksDB with incremental checkpoints (shared files).
    RocksDbIncremental,
}

impl Backend {
    /// The name the job's `--state-backend` option takes.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Heap => "heap",
            Backend::RocksDb => "rocksdb",
            Backend::RocksDbIncremental => "rocksdb-incremental",
        }
    }
}

impl std::str::FromStr for Backend {
    type Err = ChaosError;
    fn from_str(s: &str) -> Result<Self, ChaosError> {
        match s {
            "heap" => Ok(Backend::Heap),
            "rocksdb" => Ok(Backend::RocksDb),
            "rocksdb-incremental" => Ok(Backend::RocksDbIncremental),
            other => Err(ChaosError::Option(format!(
                "unknown state backend '{other}': use heap, rocksdb or rocksdb-incremental"
            ))),
        }
    }
}

/// Everything the job is run with.
#[derive(Debug, Clone)]
pub struct JobOptions {
    /// Directory under which the run creates its job directory of checkpoints.
    pub checkpoint_dir: PathBuf,
    /// Time between checkpoints.
    pub interval: Duration,
    /// Barrier handling.
    pub mode: CheckpointMode,
    /// Where keyed state lives.
    pub backend: Backend,
    /// Where RocksDB instances live (default: the system's temporary directory).
    pub rocksdb_dir: Option<PathBuf>,
    /// Parallelism of every operator; must divide `keys`.
    pub parallelism: usize,
    /// A job directory (its newest valid checkpoint) or checkpoint to start from.
    pub restore_from: Option<PathBuf>,
    /// The sink's output directory.
    pub output: PathBuf,
    /// Number of input records.
    pub records: u64,
    /// Number of keys.
    pub keys: u64,
    /// Records per second of the whole source (0: unlimited).
    pub rate: f64,
    /// Wait for a reply on standard input after each marker that waits.
    pub interactive: bool,
}

impl JobOptions {
    /// Checks the options; the error names the bad one.
    pub fn validate(&self) -> Result<(), ChaosError> {
        if self.parallelism == 0 {
            return Err(ChaosError::Option("the parallelism must be at least 1".into()));
        }
        if self.keys == 0 || !self.keys.is_multiple_of(self.parallelism as u64) {
            return Err(ChaosError::Option(format!(
                "the number of keys ({}) must be a positive multiple of the parallelism ({}), so that all \
                 records of a key come from one source reader in order",
                self.keys, self.parallelism
            )));
        }
        if self.interval.is_zero() {
            return Err(ChaosError::Option("the checkpoint interval must be positive".into()));
        }
        if !(self.rate >= 0.0 && self.rate.is_finite()) {
            return Err(ChaosError::Option(format!(
                "the rate must be a non-negative number, got {}",
                self.rate
            )));
        }
        Ok(())
    }
}

/// Running count and sum per key; one output line per record.
#[derive(Clone)]
struct RunningSums {
    state: ValueStateDescriptor<(u64, u64)>,
}

impl KeyedProcessFunction<u64, u64, OutputLine> for RunningSums {
    fn process_element(
        &mut self,
        id: u64,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Collector<'_, OutputLine>,
    ) -> Result<(), BoxError> {
        let key = *ctx.current_key();
        let mut state = ctx.value(&self.state)?;
        let (count, sum) = state.get()?.unwrap_or((0, 0));
        let (count, sum) = (count + 1, sum + value(id));
        state.set((count, sum))?;
        out.collect(OutputLine { id, key, count, sum });
        Ok(())
    }
}

fn state_backend(options: &JobOptions) -> StateBackendConfig {
    let rocksdb = |incremental: bool| {
        let mut rocksdb = RocksDbOptions::default();
        if let Some(dir) = &options.rocksdb_dir {
            rocksdb.local_dir = dir.clone();
        }
        rocksdb.incremental_checkpoints = incremental;
        StateBackendConfig::RocksDb(rocksdb)
    };
    match options.backend {
        Backend::Heap => StateBackendConfig::Heap,
        Backend::RocksDb => rocksdb(false),
        Backend::RocksDbIncremental => rocksdb(true),
    }
}

/// Defines the job in `env`, announcing through `control`.
pub fn build(env: &StreamExecutionEnvironment, options: &JobOptions, control: &Arc<Control>) {
    env.set_parallelism(options.parallelism)
        .enable_checkpointing(options.interval)
        .set_checkpoint_mode(options.mode)
        .set_checkpoint_dir(options.checkpoint_dir.clone())
        .set_state_backend(state_backend(options))
        // The harness is the restart strategy: any failure ends the process.
        .set_restart_strategy(RestartStrategy::None);
    if let Some(from) = &options.restore_from {
        env.restore_from(from.clone());
    }
    let mut generator = GeneratorSource::new(|id| id).with_count(options.records);
    if options.rate > 0.0 {
        generator = generator.with_rate_limit(options.rate);
    }
    let keys = options.keys;
    env.add_source(MarkedSource::new(generator, control.clone()))
        .uid("ids")
        .key_by(move |id| id % keys)
        .process(RunningSums {
            state: ValueStateDescriptor::new("running"),
        })
        .uid("running-sums")
        .add_sink(MarkedSink::new(
            ExactlyOnce::new(FileSink::new(options.output.clone())),
            control.clone(),
        ))
        .uid("files");
}

/// Runs the job to its end, printing markers on standard output.
pub fn run(options: &JobOptions) -> Result<JobResult, ChaosError> {
    options.validate()?;
    let control = Control::new(options.interactive);
    let announce = |marker: Marker| control.announce(&marker).map_err(|e| ChaosError::Report(e.to_string()));
    announce(Marker::Started {
        parallelism: options.parallelism,
        restored: options.restore_from.is_some(),
    })?;
    let env = StreamExecutionEnvironment::new();
    build(&env, options, &control);
    let client = env.execute_async(JOB_NAME)?;
    if let Some(dir) = client.checkpoint_dir() {
        announce(Marker::CheckpointDir(dir.to_path_buf()))?;
    }
    let result = client.wait()?;
    announce(Marker::JobFinished)?;
    Ok(result)
}
