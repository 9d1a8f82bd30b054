//! The REST API over real jobs: overview and detail, savepoints (given and default
//! directory, failures), stop with savepoint, cancel, and the errors of bad
//! requests.

#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{numbers_job, refused, PATIENCE};
use weir::prelude::*;
use weir_rest::{JobRegistry, RestClient, RestError, RestServer};

#[test]
fn jobs_savepoints_stop_and_errors() {
    let savepoints = tempfile::tempdir().unwrap();
    let registry = JobRegistry::new()
        .with_default_savepoint_dir(savepoints.path().join("default"))
        .allow_savepoint_dir(savepoints.path());
    let job = numbers_job(true);
    let plain = numbers_job(false);
    registry.register(job.handle());
    registry.register(plain.handle());
    let server = RestServer::start("127.0.0.1:0", registry).unwrap();
    let client = RestClient::new(&server.url()).unwrap();

    let jobs = client.jobs().unwrap();
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0].jid, job.job_id());
    assert_eq!(jobs[0].state, "RUNNING");
    let detail = client.job(job.job_id()).unwrap();
    assert_eq!(detail.name, "numbers");
    assert_eq!(detail.vertices.len(), job.vertex_reports().len());
    assert!(detail.checkpoint_directory.is_some());

    // A savepoint into a given directory, then into the default one.
    let target = savepoints.path().join("given");
    let request = client
        .trigger_savepoint(job.job_id(), Some(target.to_str().unwrap()))
        .unwrap();
    let location = client
        .wait_for_savepoint(job.job_id(), &request, PATIENCE, |_| {})
        .unwrap();
    assert!(location.starts_with(target.to_str().unwrap()), "{location}");
    assert!(std::path::Path::new(&location).join("_metadata").is_file());
    let request = client.trigger_savepoint(job.job_id(), None).unwrap();
    let location = client
        .wait_for_savepoint(job.job_id(), &request, PATIENCE, |_| {})
        .unwrap();
    assert!(location.contains("default"), "{location}");

    // Refusals with their reasons.
    let (status, message) = refused(client.trigger_savepoint(plain.job_id(), None));
    assert_eq!(status, 400);
    assert!(message.contains("does not take checkpoints"), "{message}");
    let (status, message) = refused(client.job("feedbeef"));
    assert_eq!(status, 404);
    assert!(message.contains("no job with id 'feedbeef'"), "{message}");
    let (status, message) = refused(client.savepoint_status(job.job_id(), "nope"));
    assert_eq!(status, 404);
    assert!(message.contains("no savepoint request 'nope'"), "{message}");
    let http = reqwest::blocking::Client::new();
    let malformed = http
        .post(format!("{}/jobs/{}/savepoints", server.url(), job.job_id()))
        .body("{\"target-directory\": 7}")
        .send()
        .unwrap();
    assert_eq!(malformed.status().as_u16(), 400);
    assert!(malformed.text().unwrap().contains("malformed request body"));
    let drain = http
        .post(format!("{}/jobs/{}/stop", server.url(), job.job_id()))
        .body("{\"drain\": true}")
        .send()
        .unwrap();
    assert_eq!(drain.status().as_u16(), 400);
    let nowhere = http.get(format!("{}/nowhere", server.url())).send().unwrap();
    assert_eq!(nowhere.status().as_u16(), 404);

    // A savepoint that cannot be written fails with the cause; the job runs on.
    let blocker = savepoints.path().join("a-file");
    std::fs::write(&blocker, b"not a directory").unwrap();
    let request = client
        .trigger_savepoint(job.job_id(), Some(blocker.join("below").to_str().unwrap()))
        .unwrap();
    match client.wait_for_savepoint(job.job_id(), &request, PATIENCE, |_| {}) {
        Err(RestError::SavepointFailed(cause)) => assert!(cause.contains("a-file"), "{cause}"),
        other => panic!("expected a failed savepoint, got {other:?}"),
    }
    assert_eq!(client.job(job.job_id()).unwrap().state, "RUNNING");

    // Stop with a savepoint: the job finishes with it.
    let request = client.stop_with_savepoint(job.job_id(), None).unwrap();
    let location = client
        .wait_for_savepoint(job.job_id(), &request, PATIENCE, |_| {})
        .unwrap();
    let result = job.wait().unwrap();
    assert_eq!(result.savepoint.map(|p| p.display().to_string()), Some(location));
    assert_eq!(client.jobs().unwrap()[0].state, "FINISHED");
    let (status, _) = refused(client.trigger_savepoint(&jobs[0].jid, None));
    assert_eq!(status, 409);

    // Cancel.
    client.cancel(plain.job_id()).unwrap();
    assert!(matches!(plain.wait(), Err(WeirError::Cancelled)));
    assert_eq!(client.job(&jobs[1].jid).unwrap().state, "CANCELED");
}
