//! `weir list`, `weir savepoint`, `weir stop` and `weir cancel`: control a job
//! running in another Weir process through its REST API.

use clap::Args;
use std::io::Write;
use std::time::Duration;
use weir_rest::{RestClient, RestError, DEFAULT_ADDRESS};

/// Where the job's process serves its REST API.
#[derive(Debug, Args)]
pub struct Address {
    /// The REST API of the Weir process running the job (printed when it starts).
    #[arg(long, short = 'm', env = "WEIR_ADDRESS", default_value = DEFAULT_ADDRESS)]
    address: String,
}

/// Options of `weir savepoint`.
#[derive(Debug, Args)]
pub struct SavepointArgs {
    /// The job's id (or a unique prefix of at least four digits).
    job_id: String,
    /// Directory or `s3://` prefix to write the savepoint below (default: the
    /// process's default savepoint directory, e.g. `weir demo --savepoint-dir`).
    target_directory: Option<String>,
    /// Give up waiting after this long (the savepoint may still complete).
    #[arg(long, default_value = "10min", value_parser = humantime::parse_duration)]
    timeout: Duration,
    #[command(flatten)]
    address: Address,
}

/// Options of `weir stop`.
#[derive(Debug, Args)]
pub struct StopArgs {
    /// The job's id (or a unique prefix of at least four digits).
    job_id: String,
    /// Directory or `s3://` prefix to write the final savepoint below (default: the
    /// process's default savepoint directory).
    #[arg(long, short = 'p')]
    savepoint_path: Option<String>,
    /// Give up waiting after this long (the stop may still complete).
    #[arg(long, default_value = "10min", value_parser = humantime::parse_duration)]
    timeout: Duration,
    #[command(flatten)]
    address: Address,
}

/// Options of `weir cancel`.
#[derive(Debug, Args)]
pub struct CancelArgs {
    /// The job's id (or a unique prefix of at least four digits).
    job_id: String,
    #[command(flatten)]
    address: Address,
}

/// `weir list`: the jobs of a Weir process.
pub fn list(address: Address) -> Result<(), RestError> {
    let client = RestClient::new(&address.address)?;
    let jobs = client.jobs()?;
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
pub fn savepoint(args: SavepointArgs) -> Result<(), RestError> {
    let client = RestClient::new(&args.address.address)?;
    let request = client.trigger_savepoint(&args.job_id, args.target_directory.as_deref())?;
    println!("triggered a savepoint of job {} (request {request})", args.job_id);
    let location = wait(&client, &args.job_id, &request, args.timeout)?;
    println!("savepoint completed: {location}");
    Ok(())
}

/// `weir stop <job> [--savepoint-path dir]`: stops a job with a savepoint.
pub fn stop(args: StopArgs) -> Result<(), RestError> {
    let client = RestClient::new(&args.address.address)?;
    let request = client.stop_with_savepoint(&args.job_id, args.savepoint_path.as_deref())?;
    println!("stopping job {} with a savepoint (request {request})", args.job_id);
    let location = wait(&client, &args.job_id, &request, args.timeout)?;
    println!("job stopped; savepoint: {location}");
    Ok(())
}

/// `weir cancel <job>`: cancels a job.
pub fn cancel(args: CancelArgs) -> Result<(), RestError> {
    let client = RestClient::new(&args.address.address)?;
    client.cancel(&args.job_id)?;
    println!("cancelled job {}", args.job_id);
    Ok(())
}
