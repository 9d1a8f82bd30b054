//! Serves a running job's REST API, then uses it the way `weir savepoint` and
//! `weir stop` do: lists the job, takes a savepoint, stops the job with another.
//!
//! `cargo run --release -p weir-rest --example rest_api` (add `-- --wait` to keep
//! the job running until Ctrl-C, and try `curl http://127.0.0.1:8081/jobs/overview`).

use std::time::Duration;
use weir::prelude::*;
use weir_rest::{JobRegistry, RestClient, RestServer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2);
    env.enable_checkpointing(Duration::from_millis(200));
    let dir = std::env::temp_dir().join("weir-rest-example");
    env.set_checkpoint_dir(dir.join("checkpoints"));
    env.add_source(GeneratorSource::new(|i| i).with_rate_limit(100_000.0))
        .name("numbers")
        .uid("numbers")
        .key_by(|n: &u64| n % 100)
        .sum(|n| n)
        .uid("sum")
        .add_sink(DiscardingSink)
        .name("nowhere");
    let job = env.execute_async("rest example")?;

    let registry = JobRegistry::new().with_default_savepoint_dir(dir.join("savepoints"));
    registry.register(job.handle());
    let server = RestServer::start("127.0.0.1:8081-8090", registry)?;
    println!("REST API at {} (job {})", server.url(), job.job_id());

    let client = RestClient::new(&server.url())?;
    if std::env::args().any(|a| a == "--wait") {
        println!("try: curl {}/jobs/overview ; Ctrl-C ends", server.url());
        while !job.is_finished() {
            std::thread::sleep(Duration::from_millis(200));
        }
        return Ok(());
    }
    std::thread::sleep(Duration::from_millis(500));
    for overview in client.jobs()? {
        println!(
            "{} {} {} checkpoints",
            overview.jid, overview.state, overview.checkpoints_completed
        );
    }
    let request = client.trigger_savepoint(job.job_id(), None)?;
    let savepoint = client.wait_for_savepoint(job.job_id(), &request, Duration::from_secs(60), |_| {})?;
    println!("savepoint: {savepoint}");
    let request = client.stop_with_savepoint(job.job_id(), None)?;
    let last = client.wait_for_savepoint(job.job_id(), &request, Duration::from_secs(60), |_| {})?;
    let result = job.wait()?;
    println!("stopped with savepoint {last} after {:?}", result.elapsed);
    Ok(())
}
