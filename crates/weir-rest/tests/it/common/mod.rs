//! Jobs and helpers shared by the REST API's tests.

#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;
use weir::prelude::*;
use weir_rest::RestError;

/// How long a test waits for something that should take well under a second.
pub const PATIENCE: Duration = Duration::from_secs(120);

/// A token long enough to be accepted.
pub const TOKEN: &str = "test-token-0123456789abcdef";

/// An endless job counting numbers at 20 000 per second, taking checkpoints every
/// 50 ms when `checkpointing`.
pub fn numbers_job(checkpointing: bool) -> JobClient {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2);
    if checkpointing {
        env.enable_checkpointing(Duration::from_millis(50));
        env.set_checkpoint_dir(tempfile::tempdir().unwrap().keep());
    }
    env.add_source(GeneratorSource::new(|i| i).with_rate_limit(20_000.0))
        .name("numbers")
        .uid("numbers")
        .key_by(|n: &u64| n % 10)
        .sum(|n| n)
        .uid("sum")
        .add_sink(DiscardingSink)
        .name("nowhere");
    env.execute_async("numbers").unwrap()
}

/// The status and message of a refused request.
pub fn refused(result: Result<impl std::fmt::Debug, RestError>) -> (u16, String) {
    match result {
        Err(RestError::Refused { status, message, .. }) => (status, message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A raw answer: status, headers and the body parsed as JSON (panics if it is not
/// JSON: every answer of the API is).
pub fn json_answer(response: reqwest::blocking::Response) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().unwrap();
    let content_type = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        content_type.starts_with("application/json"),
        "{status} answered with content type '{content_type}': {text:?}"
    );
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: {e} in {text:?}"));
    (status, headers, body)
}

/// The messages of an error body `{"errors": [..]}`, joined.
pub fn errors(body: &serde_json::Value) -> String {
    let errors = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors in {body}"));
    assert!(!errors.is_empty(), "{body}");
    errors
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("; ")
}
