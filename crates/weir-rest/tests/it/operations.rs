//! Savepoint operations outlive their job until a client has fetched their
//! outcome: the process of a job stopped with a savepoint waits for that (within a
//! grace period) before it stops serving, so `weir stop` learns where the savepoint
//! is.

#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{numbers_job, PATIENCE};
use std::time::Duration;
use weir_rest::{JobRegistry, RestClient, RestServer};

#[test]
fn a_stopped_jobs_savepoint_is_kept_until_fetched() {
    let savepoints = tempfile::tempdir().unwrap();
    let registry = JobRegistry::new().with_default_savepoint_dir(savepoints.path());
    let job = numbers_job(true);
    registry.register(job.handle());
    assert!(registry.wait_for_undelivered(Duration::ZERO), "nothing started yet");
    let server = RestServer::start("127.0.0.1:0", registry.clone()).unwrap();
    let client = RestClient::new(&server.url()).unwrap();

    let id = job.job_id().to_string();
    let request = client.stop_with_savepoint(&id, None).unwrap();
    let result = job.wait().unwrap();
    let written = result.savepoint.unwrap();
    // The job has ended; nobody has asked for the outcome yet.
    assert_eq!(registry.undelivered(), 1);
    assert!(!registry.wait_for_undelivered(Duration::from_millis(20)));

    // What a process does when its job ended: keep serving until delivered.
    let waiting = {
        let registry = registry.clone();
        std::thread::spawn(move || registry.wait_for_undelivered(PATIENCE))
    };
    let location = client.wait_for_savepoint(&id, &request, PATIENCE, |_| {}).unwrap();
    assert_eq!(location, written.display().to_string());
    assert!(waiting.join().unwrap());
    assert_eq!(registry.undelivered(), 0);
}

#[test]
fn a_savepoint_in_progress_is_undelivered() {
    let savepoints = tempfile::tempdir().unwrap();
    let registry = JobRegistry::new().with_default_savepoint_dir(savepoints.path());
    let job = numbers_job(true);
    registry.register(job.handle());
    let server = RestServer::start("127.0.0.1:0", registry.clone()).unwrap();
    let client = RestClient::new(&server.url()).unwrap();
    let request = client.trigger_savepoint(job.job_id(), None).unwrap();
    // Undelivered whether or not it has completed yet.
    assert_eq!(registry.undelivered(), 1);
    client
        .wait_for_savepoint(job.job_id(), &request, PATIENCE, |_| {})
        .unwrap();
    assert_eq!(registry.undelivered(), 0);
    job.cancel();
    assert!(job.wait().is_err());
}
