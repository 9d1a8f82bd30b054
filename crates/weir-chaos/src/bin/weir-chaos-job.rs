//! `weir-chaos-job`: the job the process-kill harness runs as a child process (see
//! the `weir_chaos` crate). Prints marker lines on standard output, logs on
//! standard error; exits 0 once the job finished, 1 when it failed, 2 on bad
//! options.

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use weir::core::CheckpointMode;
use weir_chaos::{Backend, JobOptions};

/// A stateful exactly-once job for process-kill tests.
#[derive(Debug, Parser)]
#[command(name = "weir-chaos-job", version)]
struct Args {
    /// Directory under which each run creates its job directory of checkpoints.
    #[arg(long)]
    checkpoint_dir: PathBuf,
    /// Time between checkpoints (e.g. 50ms).
    #[arg(long, default_value = "50ms", value_parser = humantime::parse_duration)]
    interval: Duration,
    /// Checkpoint mode: aligned, unaligned or at-least-once.
    #[arg(long, default_value = "aligned")]
    mode: CheckpointMode,
    /// State backend: heap, rocksdb or rocksdb-incremental.
    #[arg(long, default_value = "heap")]
    state_backend: Backend,
    /// Directory of the RocksDB instances (default: the system's temporary directory).
    #[arg(long)]
    rocksdb_dir: Option<PathBuf>,
    /// Parallelism of every operator (must divide --keys).
    #[arg(short, long, default_value_t = 2)]
    parallelism: usize,
    /// Start from this job directory's newest valid checkpoint (or this checkpoint).
    #[arg(long)]
    restore_from: Option<PathBuf>,
    /// Output directory of the exactly-once file sink.
    #[arg(long)]
    output: PathBuf,
    /// Number of input records.
    #[arg(long, default_value_t = 20_000)]
    records: u64,
    /// Number of keys.
    #[arg(long, default_value_t = 600)]
    keys: u64,
    /// Records per second of the whole source (0: unlimited).
    #[arg(long, default_value_t = 10_000.0)]
    rate: f64,
    /// Wait for a line on standard input after each marker that waits.
    #[arg(long)]
    interactive: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let options = JobOptions {
        checkpoint_dir: args.checkpoint_dir,
        interval: args.interval,
        mode: args.mode,
        backend: args.state_backend,
        rocksdb_dir: args.rocksdb_dir,
        parallelism: args.parallelism,
        restore_from: args.restore_from,
        output: args.output,
        records: args.records,
        keys: args.keys,
        rate: args.rate,
        interactive: args.interactive,
    };
    if let Err(e) = options.validate() {
        eprintln!("weir-chaos-job: {e}");
        return ExitCode::from(2);
    }
    match weir_chaos::job::run(&options) {
        Ok(result) => {
            eprintln!(
                "weir-chaos-job: finished in {:?}, {} checkpoints{}",
                result.elapsed,
                result.checkpoints.len(),
                result
                    .restored_from
                    .map(|p| format!(", restored from {}", p.display()))
                    .unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("weir-chaos-job: {e}");
            ExitCode::FAILURE
        }
    }
}
