//! The `weir` command.
//!
//! `weir demo` runs Weir's demo job (a live word count over a generated stream) in
//! this process with embedded defaults, serving the REST API; `weir list`,
//! `weir savepoint`, `weir stop` and `weir cancel` control such a job from another
//! terminal; `weir nexmark` generates the Nexmark benchmark's events and runs its
//! queries; `weir sql` runs SQL scripts or an interactive SQL shell. Later
//! subcommands (submit) plug in here.

mod console;
mod control;
mod demo;
mod error_chain;
mod job_args;
mod nexmark;
mod nexmark_sql;
mod restart;
mod serve;
mod shell;
mod shell_commands;
mod shell_jobs;
mod shell_query;
mod shell_split;
mod shell_table;
mod sql;
mod values;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Weir: stream processing with exactly-once state.
#[derive(Debug, Parser)]
#[command(name = "weir", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the demo job: a live word count over a generated stream of sentences.
    Demo(Box<demo::DemoArgs>),
    /// List the jobs of a running Weir process.
    List(control::Address),
    /// Take a savepoint of a running job.
    Savepoint(control::SavepointArgs),
    /// Stop a running job with a savepoint (resume it with `--restore`).
    Stop(control::StopArgs),
    /// Cancel a running job at once.
    Cancel(control::CancelArgs),
    /// Run a SQL script (Flink dialect): its DDL, then its INSERTs and queries as
    /// one job; without `-f`, an interactive SQL shell.
    Sql(Box<sql::SqlArgs>),
    /// Run a SQL script, as `weir sql -f FILE`.
    Run(Box<sql::RunArgs>),
    /// The Nexmark benchmark: generate its events, run its queries.
    #[command(subcommand)]
    Nexmark(nexmark::NexmarkCommand),
}

fn main() -> ExitCode {
    console::init();
    let cli = Cli::parse();
    let result: Result<(), Box<dyn std::error::Error>> = match cli.command {
        Command::Demo(args) => demo::run(*args).map_err(Into::into),
        Command::List(address) => control::list(address).map_err(Into::into),
        Command::Savepoint(args) => control::savepoint(args).map_err(Into::into),
        Command::Stop(args) => control::stop(args).map_err(Into::into),
        Command::Cancel(args) => control::cancel(args).map_err(Into::into),
        Command::Sql(args) => sql::run(*args).map_err(Into::into),
        Command::Run(args) => sql::run((*args).into()).map_err(Into::into),
        Command::Nexmark(command) => nexmark::run_command(command).map_err(Into::into),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", error_chain::error_chain(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}
