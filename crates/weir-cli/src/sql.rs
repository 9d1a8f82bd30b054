//! `weir sql -f job.sql` and `weir run job.sql`: run a Flink-dialect SQL script
//! (`weir sql` without `-f` opens the interactive shell, see [`crate::shell`]).
//!
//! DDL, `SET`, `SHOW`, `DESCRIBE` and `EXPLAIN` run at once and print their results;
//! the script's `INSERT`s and queries form one job, which runs to its end (bounded
//! sources) or until Ctrl-C: the first Ctrl-C stops it (with a savepoint when
//! `--savepoint-dir` is given; resume with `--restore`), a second one cancels it.

use crate::job_args::{JobArgs, SetupError};
use crate::restart::describe;
use crate::shell::{self, ShellError, ShellOptions};
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir::prelude::*;
use weir_sql::connectors::builtin;
use weir_sql::script::SqlSession;

/// Options of `weir sql`.
#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The SQL script to run (statements separated by `;`); without it, an
    /// interactive shell reads statements (from standard input when it is not a
    /// terminal).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Print the job's plan before running it.
    #[arg(long)]
    pub explain: bool,
    /// The shell's history file (default: `.weir_sql_history` in the home
    /// directory).
    #[arg(long, value_name = "FILE", env = "WEIR_SQL_HISTORY")]
    pub history: Option<PathBuf>,
    /// Keep no history of the shell's statements (wins over --history).
    #[arg(long)]
    pub no_history: bool,
    #[command(flatten)]
    pub job: JobArgs,
}

/// Options of `weir run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The SQL script to run.
    pub file: PathBuf,
    /// Print the job's plan before running it.
    #[arg(long)]
    pub explain: bool,
    #[command(flatten)]
    pub job: JobArgs,
}

impl From<RunArgs> for SqlArgs {
    fn from(args: RunArgs) -> Self {
        SqlArgs {
            file: Some(args.file),
            explain: args.explain,
            history: None,
            no_history: true,
            job: args.job,
        }
    }
}

/// Errors of `weir sql`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqlCliError {
    /// The script could not be read.
    #[error("cannot read the SQL script {path}: {source}")]
    Read {
        /// The script.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A statement of the script is wrong or unsupported.
    #[error("{path}: {source}")]
    Sql {
        /// The script.
        path: PathBuf,
        /// What is wrong, with line and column.
        source: weir_sql::SqlError,
    },
    /// Options that cannot be used as given.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The job failed or was cancelled.
    #[error("{0}{1}")]
    Job(WeirError, String),
    /// The interactive shell ended with an error.
    #[error(transparent)]
    Shell(#[from] ShellError),
}

/// The shell's history file: `--history`, none with `--no-history`, else
/// `.weir_sql_history` in the home directory (none, with a warning, without one).
fn history_file(args: &SqlArgs) -> Option<PathBuf> {
    if args.no_history {
        return None;
    }
    if let Some(path) = &args.history {
        return Some(path.clone());
    }
    match std::env::home_dir() {
        Some(home) if !home.as_os_str().is_empty() => Some(home.join(".weir_sql_history")),
        _ => {
            eprintln!("warning: no home directory: the shell keeps no history (see --history)");
            None
        }
    }
}

/// Runs the script of `args`, or the shell without one.
pub fn run(args: SqlArgs) -> Result<(), SqlCliError> {
    let Some(file) = args.file.clone() else {
        let history = if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            history_file(&args)
        } else {
            None
        };
        return Ok(shell::run(ShellOptions {
            job: &args.job,
            explain: args.explain,
            history,
        })?);
    };
    let text = std::fs::read_to_string(&file).map_err(|source| SqlCliError::Read {
        path: file.clone(),
        source,
    })?;
    let env = StreamExecutionEnvironment::new();
    let strategy = args.job.configure(&env)?;
    let mut connectors = builtin();
    weir_sql_connectors::register(&mut connectors);
    let mut session = SqlSession::new(connectors);
    let outcome = session.run_script(&env, &text).map_err(|source| SqlCliError::Sql {
        path: file.clone(),
        source,
    })?;
    for line in &outcome.messages {
        println!("{line}");
    }
    if outcome.sinks == 0 {
        return Ok(());
    }
    let name = format!("weir sql {}", file.display());
    if args.explain {
        println!(
            "{}",
            env.explain(&name).map_err(|e| SqlCliError::Job(e, String::new()))?
        );
    }
    let interrupts = Arc::new(AtomicU8::new(0));
    let handler_interrupts = interrupts.clone();
    if let Err(e) = ctrlc::set_handler(move || {
        handler_interrupts.fetch_add(1, Ordering::SeqCst);
    }) {
        tracing::warn!("cannot install the Ctrl-C handler ({e}); stop the job with a signal");
    }
    let client = env
        .execute_async(&name)
        .map_err(|e| SqlCliError::Job(e, String::new()))?;
    println!("running {name} (parallelism {})", env.parallelism());
    if let Some(dir) = client.checkpoint_dir() {
        println!("checkpoints go to {}", dir.display());
    }
    let _ = std::io::stdout().flush();
    let mut handled = 0;
    while !client.is_finished() {
        // Polls the job a few times a second for Ctrl-C.
        std::thread::sleep(Duration::from_millis(50));
        let now = interrupts.load(Ordering::SeqCst);
        if now == handled {
            continue;
        }
        if handled == 0 {
            match &args.job.savepoint_dir {
                Some(dir) => {
                    println!("stopping with a savepoint into {}", dir.display());
                    match client.stop_with_savepoint(dir) {
                        Ok(savepoint) => println!("savepoint written: {} (resume with --restore)", savepoint.display()),
                        Err(e) => println!("the savepoint failed ({e}); stopping without one"),
                    }
                }
                None => {
                    println!("stopping: the sources end, what was read is still processed (Ctrl-C again to cancel)");
                    client.stop();
                }
            }
        } else {
            println!("cancelling");
            client.cancel();
        }
        handled = now;
    }
    let handle = client.handle();
    match client.wait() {
        Ok(result) => {
            println!(
                "finished in {:.2}s: {} checkpoints completed, {} restarts",
                result.elapsed.as_secs_f64(),
                result.checkpoints.len(),
                result.restarts
            );
            if let Some(savepoint) = &result.savepoint {
                println!("stopped with savepoint {} (resume with --restore)", savepoint.display());
            }
            Ok(())
        }
        Err(e) => {
            let restarts = handle.restarts();
            let context = if restarts > 0 {
                format!(" (after {restarts} restarts, restart strategy {})", describe(&strategy))
            } else {
                String::new()
            };
            Err(SqlCliError::Job(e, context))
        }
    }
}
