//! `weir list`, `weir savepoint`, `weir stop` and `weir cancel`: control a job
//! running in another Weir process through its REST API.

use crate::serve::token;
use crate::values;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;
use weir_rest::{RestClient, RestError, DEFAULT_ADDRESS};

/// Where the job's process serves its REST API, and its token.
#[derive(Debug, Args)]
pub struct Address {
    /// The REST API of the Weir process running the job (printed when it starts).
    #[arg(long, short = 'm', env = "WEIR_ADDRESS", default_value = DEFAULT_ADDRESS)]
    address: String,
    /// The bearer token the process demands (when it was started with a token).
    #[arg(long, env = "WEIR_REST_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Read the bearer token from the first line of this file (takes precedence
    /// over --token and WEIR_REST_TOKEN).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
}

impl Address {
    fn client(&self) -> Result<RestClient, ControlError> {
        let client = RestClient::new(&self.address)?;
        Ok(match token(self.token.as_deref(), self.token_file.as_deref())? {
            Some(token) => client.with_token(token),
            None => client,
        })
    }
}

/// Errors of `weir list`, `savepoint`, `stop` and `cancel`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// The REST API refused or failed.
    #[error(transparent)]
    Rest(#[from] RestError),
    /// The server demands a token that was not given or is wrong.
    #[error("{source} (give the token of the job's process with --token, --token-file or WEIR_REST_TOKEN)")]
    Token {
        /// The refusal.
        source: RestError,
    },
    /// The process does not let savepoints go where they were asked to.
    #[error(
        "{source} (a `weir demo` accepts savepoints only below its --savepoint-dir and \
         --allow-savepoint-dir directories)"
    )]
    Forbidden {
        /// The refusal.
        source: RestError,
    },
    /// The process went away before it said how the savepoint ended.
    #[error(
        "the job's process stopped answering before it reported the savepoint's outcome \
         (the savepoint may still have been written, below {target}): {source}"
    )]
    Vanished {
        /// Where the savepoint was to go.
        target: String,
        /// The transport error.
        source: RestError,
    },
    /// A target directory that cannot be named to the server.
    #[error("bad target directory '{0}': {1}")]
    Target(String, String),
}

impl ControlError {
    fn from_rest(error: RestError) -> Self {
        match error {
            RestError::Refused { status: 401, .. } => ControlError::Token { source: error },
            RestError::Refused { status: 403, .. } => ControlError::Forbidden { source: error },
            other => ControlError::Rest(other),
        }
    }
}

/// Options of `weir savepoint`.
#[derive(Debug, Args)]
pub struct SavepointArgs {
    /// The job's id (all 32 digits, as `weir list` and `weir demo` print it).
    job_id: String,
    /// Directory or `s3://` prefix to write the savepoint below (default: the
    /// process's savepoint directory, `weir demo --savepoint-dir`). The process
    /// accepts only its savepoint directory and its --allow-savepoint-dir ones, or
    /// directories below them.
    target_directory: Option<String>,
    /// Give up waiting after this long (the savepoint may still complete).
    #[arg(long, default_value = "10min", value_parser = values::timeout)]
    timeout: Duration,
    #[command(flatten)]
    address: Address,
}

/// Options of `weir stop`.
#[derive(Debug, Args)]
pub struct StopArgs {
    /// The job's id (all 32 digits, as `weir list` and `weir demo` print it).
    job_id: String,
    /// Directory or `s3://` prefix to write the final savepoint below (default: the
    /// process's savepoint directory). As for `weir savepoint`, only the process's
    /// allowed directories are accepted.
    #[arg(long, short = 'p')]
    savepoint_path: Option<String>,
    /// Give up waiting after this long (the stop may still complete).
    #[arg(long, default_value = "10min", value_parser = values::timeout)]
    timeout: Duration,
    #[command(flatten)]
    address: Address,
}

/// Options of `weir cancel`.
#[derive(Debug, Args)]
pub struct CancelArgs {
    /// The job's id (all 32 digits, as `weir list` and `weir demo` print it).
    job_id: String,
    #[command(flatten)]
    address: Address,
}

/// A local target as an absolute path (the server resolves nothing against this
/// terminal's working directory); remote prefixes as given.
fn absolute_target(target: Option<&str>) -> Result<Option<String>, ControlError> {
    let Some(target) = target.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if target.contains("://") {
        return Ok(Some(target.to_string()));
    }
    let absolute = std::path::absolute(target).map_err(|e| ControlError::Target(target.into(), e.to_string()))?;
    let text = absolute
        .to_str()
        .ok_or_else(|| ControlError::Target(target.into(), "not valid UTF-8".into()))?;
    Ok(Some(text.to_string()))
}

/// `weir list`: the jobs of a Weir process.
pub fn list(address: Address) -> Result<(), ControlError> {
    let client = address.client()?;
    let jobs = client.jobs().map_err(ControlError::from_rest)?;
    if jobs.is_empty() {
        println!("no jobs at {}", client.address());
        return Ok(());
    }
    println!(
        "{:<32}  {:<9}  {:>10}  {:>8}  {:>11}  name",
        "job id", "state", "duration", "restarts", "checkpoints"
    );
    for job in jobs {
        println!(
            "{:<32}  {:<9}  {:>9.1}s  {:>8}  {:>11}  {}",
            job.jid,
            job.state,
            job.duration as f64 / 1000.0,
            job.restarts,
            job.checkpoints_completed,
            job.name
        );
    }
    Ok(())
}

/// Waits for a savepoint request, showing that it is still going.
fn wait(client: &RestClient, job_id: &str, request: &str, timeout: Duration) -> Result<String, RestError> {
    let mut shown = Duration::ZERO;
    let result = client.wait_for_savepoint(job_id, request, timeout, |elapsed| {
        if elapsed >= shown + Duration::from_secs(2) {
            shown = elapsed;
            eprint!("\rwaiting for the savepoint ({}s)", elapsed.as_secs());
            let _ = std::io::stderr().flush();
        }
    });
    if shown > Duration::ZERO {
        eprintln!();
    }
    result
}

/// `weir savepoint <job> [dir]`: takes a savepoint of a running job.
pub fn savepoint(args: SavepointArgs) -> Result<(), ControlError> {
    let client = args.address.client()?;
    let target = absolute_target(args.target_directory.as_deref())?;
    let request = client
        .trigger_savepoint(&args.job_id, target.as_deref())
        .map_err(ControlError::from_rest)?;
    println!("triggered a savepoint of job {} (request {request})", args.job_id);
    let location = wait(&client, &args.job_id, &request, args.timeout).map_err(ControlError::from_rest)?;
    println!("savepoint completed: {location}");
    Ok(())
}

/// `weir stop <job> [--savepoint-path dir]`: stops a job with a savepoint.
pub fn stop(args: StopArgs) -> Result<(), ControlError> {
    let client = args.address.client()?;
    let target = absolute_target(args.savepoint_path.as_deref())?;
    let request = client
        .stop_with_savepoint(&args.job_id, target.as_deref())
        .map_err(ControlError::from_rest)?;
    println!("stopping job {} with a savepoint (request {request})", args.job_id);
    let _ = std::io::stdout().flush();
    let location = wait(&client, &args.job_id, &request, args.timeout).map_err(|e| match e {
        RestError::Unreachable { .. } => ControlError::Vanished {
            target: target.unwrap_or_else(|| "the process's savepoint directory".into()),
            source: e,
        },
        other => ControlError::from_rest(other),
    })?;
    println!("job stopped; savepoint: {location}");
    Ok(())
}

/// `weir cancel <job>`: cancels a job.
pub fn cancel(args: CancelArgs) -> Result<(), ControlError> {
    let client = args.address.client()?;
    client.cancel(&args.job_id).map_err(ControlError::from_rest)?;
    println!("cancelled job {}", args.job_id);
    Ok(())
}
