//! Every error answer of the REST API is JSON (`{"errors": [..]}`) with the right
//! status: unknown paths (404), wrong methods (405, with `Allow`), bodies too large
//! (413), malformed bodies and paths (400).

#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{errors, json_answer, numbers_job};
use reqwest::blocking::Client;
use weir_rest::server::MAX_BODY_BYTES;
use weir_rest::{JobRegistry, RestServer};

#[test]
fn every_error_answer_is_json() {
    let savepoints = tempfile::tempdir().unwrap();
    let registry = JobRegistry::new().with_default_savepoint_dir(savepoints.path());
    let job = numbers_job(true);
    registry.register(job.handle());
    let server = RestServer::start("127.0.0.1:0", registry).unwrap();
    let url = server.url();
    let id = job.job_id();
    let http = Client::new();

    let (status, _, body) = json_answer(http.get(format!("{url}/nowhere")).send().unwrap());
    assert_eq!(status, 404);
    assert!(errors(&body).contains("no such endpoint"), "{body}");

    for (request, allowed) in [
        (http.delete(format!("{url}/jobs/overview")), "GET"),
        (http.get(format!("{url}/jobs/{id}/stop")), "POST"),
        (http.put(format!("{url}/jobs/{id}")), "PATCH"),
    ] {
        let (status, headers, body) = json_answer(request.send().unwrap());
        assert_eq!(status, 405, "{body}");
        let allow = headers["allow"].to_str().unwrap();
        assert!(allow.contains(allowed), "{allow}");
        assert!(errors(&body).contains("method not allowed"), "{body}");
        assert!(errors(&body).contains(allowed), "{body}");
    }

    let huge = format!("{{\"target-directory\": \"{}\"}}", "x".repeat(MAX_BODY_BYTES));
    let (status, _, body) = json_answer(
        http.post(format!("{url}/jobs/{id}/savepoints"))
            .body(huge)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 413);
    assert!(errors(&body).contains(&MAX_BODY_BYTES.to_string()), "{body}");

    let (status, _, body) = json_answer(
        http.post(format!("{url}/jobs/{id}/savepoints"))
            .body("{\"target-directory\": 7}")
            .send()
            .unwrap(),
    );
    assert_eq!(status, 400);
    assert!(errors(&body).contains("malformed request body"), "{body}");

    let (status, _, body) = json_answer(http.get(format!("{url}/jobs/%FF%FE")).send().unwrap());
    assert!(status == 400 || status == 404, "{status}: {body}");

    let (status, _, body) = json_answer(http.patch(format!("{url}/jobs/{id}?mode=explode")).send().unwrap());
    assert_eq!(status, 400);
    assert!(errors(&body).contains("unknown mode 'explode'"), "{body}");

    // None of it touched the job.
    assert_eq!(job.status().name(), "RUNNING");
    job.cancel();
    assert!(job.wait().is_err());
}
