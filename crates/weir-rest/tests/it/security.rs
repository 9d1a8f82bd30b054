//! The REST API's protections, against real servers: no listening on a
//! non-loopback address without a token; with a token, bearer authentication on
//! every path; job ids matched in full; savepoints written only below the allowed
//! directories.

#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{errors, json_answer, numbers_job, refused, PATIENCE, TOKEN};
use reqwest::blocking::Client;
use weir_rest::{BearerToken, JobRegistry, RestClient, RestError, RestOptions, RestServer};

#[test]
fn a_non_loopback_address_needs_a_token() {
    for bind in ["0.0.0.0:0", "[::]:0"] {
        match RestServer::start(bind, JobRegistry::new()) {
            Err(RestError::Insecure { address }) => assert!(!address.ends_with(":0"), "{address}"),
            // A machine without IPv6 cannot bind `[::]` at all.
            Err(RestError::Bind { .. }) if bind.starts_with('[') => {}
            other => panic!("{bind}: expected a refusal, got {other:?}"),
        }
    }
    let e = RestServer::start("0.0.0.0:0", JobRegistry::new())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("without a bearer token") && e.contains("not a loopback address"),
        "{e}"
    );

    // With a token it serves, and demands the token.
    let options = RestOptions::new("0.0.0.0:0").with_token(BearerToken::new(TOKEN).unwrap());
    let server = RestServer::start_with(&options, JobRegistry::new()).unwrap();
    let url = format!("http://127.0.0.1:{}", server.address().port());
    let (status, headers, body) = json_answer(Client::new().get(format!("{url}/jobs/overview")).send().unwrap());
    assert_eq!(status, 401);
    assert_eq!(headers["www-authenticate"], "Bearer");
    assert!(errors(&body).contains("needs a bearer token"), "{body}");
    let client = RestClient::new(&url)
        .unwrap()
        .with_token(BearerToken::new(TOKEN).unwrap());
    assert!(client.jobs().unwrap().is_empty());

    // Loopback needs no token.
    let server = RestServer::start("127.0.0.1:0", JobRegistry::new()).unwrap();
    assert!(RestClient::new(&server.url()).unwrap().jobs().unwrap().is_empty());
}

#[test]
fn with_a_token_every_path_needs_it() {
    let savepoints = tempfile::tempdir().unwrap();
    let registry = JobRegistry::new().with_default_savepoint_dir(savepoints.path());
    let job = numbers_job(true);
    registry.register(job.handle());
    let options = RestOptions::new("127.0.0.1:0").with_token(BearerToken::new(TOKEN).unwrap());
    let server = RestServer::start_with(&options, registry).unwrap();
    let url = server.url();
    let id = job.job_id();
    let http = Client::new();
    let requests = || {
        vec![
            http.get(format!("{url}/jobs/overview")),
            http.get(format!("{url}/jobs/{id}")),
            http.post(format!("{url}/jobs/{id}/savepoints")),
            http.post(format!("{url}/jobs/{id}/stop")),
            http.get(format!("{url}/jobs/{id}/savepoints/0123")),
            http.patch(format!("{url}/jobs/{id}?mode=cancel")),
            http.get(format!("{url}/no/such/path")),
            http.delete(format!("{url}/jobs/overview")),
        ]
    };
    for (what, token) in [
        ("no token", None),
        ("a wrong token", Some("wrong-token-0123456789abcdef")),
    ] {
        for request in requests() {
            let request = match token {
                Some(token) => request.bearer_auth(token),
                None => request,
            };
            let (status, headers, body) = json_answer(request.send().unwrap());
            assert_eq!(status, 401, "{what}: {body}");
            assert_eq!(headers["www-authenticate"], "Bearer");
        }
    }
    // Nothing happened: the job runs, no savepoint was written.
    assert_eq!(job.status().name(), "RUNNING");
    assert_eq!(std::fs::read_dir(savepoints.path()).map(|d| d.count()).unwrap_or(0), 0);
    let without = RestClient::new(&url).unwrap();
    let (status, message) = refused(without.jobs());
    assert_eq!(status, 401);
    assert!(message.contains("needs a bearer token"), "{message}");

    // The client with the token does everything.
    let client = RestClient::new(&url)
        .unwrap()
        .with_token(BearerToken::new(TOKEN).unwrap());
    assert_eq!(client.jobs().unwrap()[0].jid, id);
    let request = client.trigger_savepoint(id, None).unwrap();
    let location = client.wait_for_savepoint(id, &request, PATIENCE, |_| {}).unwrap();
    assert!(std::path::Path::new(&location).join("_metadata").is_file());
    client.cancel(id).unwrap();
    assert!(job.wait().is_err());
}

#[test]
fn job_ids_must_be_given_in_full() {
    let savepoints = tempfile::tempdir().unwrap();
    let registry = JobRegistry::new().with_default_savepoint_dir(savepoints.path());
    let job = numbers_job(true);
    registry.register(job.handle());
    let server = RestServer::start("127.0.0.1:0", registry).unwrap();
    let client = RestClient::new(&server.url()).unwrap();
    let id = job.job_id();
    for prefix in [&id[..4], &id[..8], &id[..31]] {
        let (status, message) = refused(client.job(prefix));
        assert_eq!(status, 404, "{prefix}");
        assert!(message.contains(&format!("no job with id '{prefix}'")), "{message}");
        assert_eq!(refused(client.trigger_savepoint(prefix, None)).0, 404);
        assert_eq!(refused(client.stop_with_savepoint(prefix, None)).0, 404);
        assert_eq!(refused(client.cancel(prefix)).0, 404);
    }
    assert_eq!(refused(client.job(&id.to_uppercase())).0, 404);
    assert_eq!(client.job(id).unwrap().state, "RUNNING");
    assert_eq!(std::fs::read_dir(savepoints.path()).map(|d| d.count()).unwrap_or(0), 0);
    client.cancel(id).unwrap();
    assert!(job.wait().is_err());
}

#[test]
fn savepoint_targets_outside_the_allowed_directories_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let default = dir.path().join("savepoints");
    let extra = dir.path().join("extra");
    let registry = JobRegistry::new()
        .with_default_savepoint_dir(&default)
        .allow_savepoint_dir(&extra);
    let job = numbers_job(true);
    registry.register(job.handle());
    let server = RestServer::start("127.0.0.1:0", registry).unwrap();
    let client = RestClient::new(&server.url()).unwrap();
    let id = job.job_id();

    let elsewhere = dir.path().join("elsewhere");
    let climbing = default.join("..").join("elsewhere");
    for (target, expected) in [
        (elsewhere.to_str().unwrap().to_string(), 403),
        ("/".to_string(), 403),
        (format!("{}-sibling", default.display()), 403),
        ("s3://bucket/savepoints".to_string(), 403),
        (climbing.to_str().unwrap().to_string(), 400),
        ("relative/savepoints".to_string(), 400),
    ] {
        let (status, message) = refused(client.trigger_savepoint(id, Some(&target)));
        assert_eq!(status, expected, "{target}: {message}");
        let (status, _) = refused(client.stop_with_savepoint(id, Some(&target)));
        assert_eq!(status, expected, "{target}");
        if expected == 403 {
            assert!(
                message.contains("not below an allowed savepoint directory"),
                "{message}"
            );
            assert!(message.contains(default.to_str().unwrap()), "{message}");
        }
    }
    // Nothing was written, and the job still runs.
    assert!(!elsewhere.exists());
    assert!(!default.exists() || std::fs::read_dir(&default).unwrap().count() == 0);
    assert_eq!(client.job(id).unwrap().state, "RUNNING");

    // Below the allowed directories is fine.
    for target in [default.join("manual"), extra.clone()] {
        let request = client.trigger_savepoint(id, Some(target.to_str().unwrap())).unwrap();
        let location = client.wait_for_savepoint(id, &request, PATIENCE, |_| {}).unwrap();
        assert!(location.starts_with(target.to_str().unwrap()), "{location}");
    }
    let request = client.stop_with_savepoint(id, None).unwrap();
    let location = client.wait_for_savepoint(id, &request, PATIENCE, |_| {}).unwrap();
    assert!(location.starts_with(default.to_str().unwrap()), "{location}");
    job.wait().unwrap();
}

#[test]
fn without_a_savepoint_directory_no_target_is_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let job = numbers_job(true);
    let registry = JobRegistry::new();
    registry.register(job.handle());
    let server = RestServer::start("127.0.0.1:0", registry).unwrap();
    let client = RestClient::new(&server.url()).unwrap();
    let target = dir.path().join("savepoints");
    let (status, message) = refused(client.trigger_savepoint(job.job_id(), Some(target.to_str().unwrap())));
    assert_eq!(status, 403);
    assert!(message.contains("without a savepoint directory"), "{message}");
    let (status, _) = refused(client.trigger_savepoint(job.job_id(), None));
    assert_eq!(status, 400);
    assert!(!target.exists());
}
