//! The options every job run from the command line shares (`weir demo`, `weir
//! sql`): parallelism, checkpoints, savepoints, restore, state backend and restarts,
//! and how they configure an environment.

use crate::restart::RestartArgs;
use crate::values;
use clap::Args;
use std::time::Duration;
use weir::prelude::*;

/// Options of a job: parallelism, checkpoints, state, restore, restarts.
#[derive(Debug, Args)]
pub struct JobArgs {
    /// Parallel subtasks of every operator, at least 1 (default: number of CPU
    /// cores).
    #[arg(long, short, value_parser = values::positive_usize)]
    pub parallelism: Option<usize>,
    /// Take a checkpoint this often (from 1ms to 1day, e.g. `1s`, `500ms`);
    /// failures then restart the job from the last checkpoint. Without it the job
    /// takes no checkpoints, and the checkpoint and savepoint options are refused.
    #[arg(long, value_parser = values::interval)]
    pub checkpoint_interval: Option<Duration>,
    /// How checkpoints handle barriers: aligned (default), unaligned or
    /// at-least-once.
    #[arg(long)]
    pub checkpoint_mode: Option<CheckpointMode>,
    /// Where each run keeps its checkpoints (default: the system's temporary
    /// directory): a local directory or `s3://bucket/prefix` (credentials and
    /// endpoint from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
    /// AWS_ENDPOINT, AWS_ALLOW_HTTP). Needs --checkpoint-interval.
    #[arg(long)]
    pub checkpoint_dir: Option<std::path::PathBuf>,
    /// Start from a savepoint directory, a retained checkpoint (`chk-<n>`), or a
    /// run's checkpoint directory (its newest valid checkpoint); the parallelism and
    /// the state backend may differ from the run that wrote it. The checkpoint it
    /// starts from is printed.
    #[arg(long)]
    pub restore: Option<std::path::PathBuf>,
    /// Let --restore drop state of operators this job no longer has.
    #[arg(long)]
    pub allow_non_restored_state: bool,
    /// Where keyed state lives: `heap` (default) or `rocksdb` (embedded, on local
    /// disk, for state larger than memory).
    #[arg(long, default_value = "heap")]
    pub state_backend: String,
    /// Directory for RocksDB instances (default: the system's temporary directory).
    #[arg(long)]
    pub rocksdb_dir: Option<std::path::PathBuf>,
    /// Memory for RocksDB's block cache and write buffers together, in MiB.
    #[arg(long, default_value_t = 256)]
    pub rocksdb_memory_mib: usize,
    /// On Ctrl-C, stop with a savepoint into this directory or `s3://` prefix
    /// (instead of draining); also the default (and an allowed) target of `weir
    /// savepoint` and `weir stop`. Needs --checkpoint-interval. Resume with
    /// --restore <the printed directory>.
    #[arg(long)]
    pub savepoint_dir: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub restart: RestartArgs,
}

impl Default for JobArgs {
    fn default() -> Self {
        JobArgs {
            parallelism: None,
            checkpoint_interval: None,
            checkpoint_mode: None,
            checkpoint_dir: None,
            restore: None,
            allow_non_restored_state: false,
            state_backend: "heap".into(),
            rocksdb_dir: None,
            rocksdb_memory_mib: 256,
            savepoint_dir: None,
            restart: RestartArgs::default(),
        }
    }
}

/// Options that cannot be used as given.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// Options that do not fit together.
    #[error("{0}")]
    Usage(String),
    /// A setting the runtime refuses (state backend, memory budget).
    #[error(transparent)]
    Job(#[from] WeirError),
}

impl JobArgs {
    /// Refuses options that would be silently ignored.
    pub fn check(&self) -> Result<(), SetupError> {
        if self.checkpoint_interval.is_some() {
            return Ok(());
        }
        let needs_interval = [
            (
                self.checkpoint_dir.is_some(),
                "--checkpoint-dir",
                "checkpoints are only taken with an interval",
            ),
            (
                self.checkpoint_mode.is_some(),
                "--checkpoint-mode",
                "checkpoints are only taken with an interval",
            ),
            (
                self.restore.is_some(),
                "--restore",
                "a restored job keeps taking checkpoints",
            ),
            (
                self.savepoint_dir.is_some(),
                "--savepoint-dir",
                "savepoints are taken as checkpoints",
            ),
        ];
        for (given, option, why) in needs_interval {
            if given {
                return Err(SetupError::Usage(format!(
                    "{option} needs --checkpoint-interval: {why} (e.g. --checkpoint-interval 1s)"
                )));
            }
        }
        Ok(())
    }

    /// Checks the options and configures `env` with them; returns the restart
    /// strategy set.
    pub fn configure(&self, env: &StreamExecutionEnvironment) -> Result<RestartStrategy, SetupError> {
        self.check()?;
        if let Some(p) = self.parallelism {
            env.set_parallelism(p);
        }
        if let Some(interval) = self.checkpoint_interval {
            env.enable_checkpointing(interval)
                .set_checkpoint_mode(self.checkpoint_mode.unwrap_or_default());
        }
        if let Some(dir) = &self.checkpoint_dir {
            env.set_checkpoint_dir(dir);
        }
        if let Some(path) = &self.restore {
            env.restore_from(path)
                .set_allow_non_restored_state(self.allow_non_restored_state);
        }
        let strategy = self
            .restart
            .strategy(self.checkpoint_interval.is_some())
            .map_err(SetupError::Usage)?;
        env.set_restart_strategy(strategy.clone());
        let mut backend = StateBackendConfig::parse(&self.state_backend)?;
        if let StateBackendConfig::RocksDb(options) = &mut backend {
            if let Some(dir) = &self.rocksdb_dir {
                options.local_dir = dir.clone();
            }
            options.memory_budget = self.rocksdb_memory_mib.saturating_mul(1 << 20);
        }
        backend.validate()?;
        env.set_state_backend(backend);
        Ok(strategy)
    }
}
