//! The REST server: an `axum` router over a [`JobRegistry`], served on its own
//! thread with a single-threaded Tokio runtime.
//!
//! Endpoints (Flink's paths and field names):
//!
//! | method and path                          | what it does                                  |
//! |------------------------------------------|-----------------------------------------------|
//! | `GET /jobs/overview`                     | every job: id, name, state, duration, ...     |
//! | `GET /jobs/{id}`                         | one job with its vertices and checkpoints     |
//! | `POST /jobs/{id}/savepoints`             | trigger a savepoint (`target-directory`, `cancel-job`) |
//! | `POST /jobs/{id}/stop`                   | stop with a savepoint (`targetDirectory`)     |
//! | `GET /jobs/{id}/savepoints/{request-id}` | a savepoint's status and location             |
//! | `PATCH /jobs/{id}?mode=cancel`           | cancel the job                                |
//!
//! Job ids are matched exactly (all 32 digits). Every error answer, including 401,
//! 404 for unknown paths, 405 and 413, has the body `{"errors": ["..."]}`. With a
//! token ([`RestOptions::with_token`]) every request must present it; without one
//! the server listens only on loopback addresses.

use crate::auth::{require_token, BearerToken};
use crate::error::{ApiError, RestError};
use crate::model::{ErrorBody, SavepointTriggerRequest, StopRequest, TriggerResponse};
use crate::options::RestOptions;
use crate::registry::JobRegistry;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::thread::JoinHandle;

/// The largest request body the server reads (its bodies are small JSON objects).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let body = ErrorBody {
            errors: vec![self.to_string()],
        };
        (status, Json(body)).into_response()
    }
}

/// Parses a JSON request body; an empty body is the type's default.
fn body<T: serde::de::DeserializeOwned + Default>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::BadRequest(format!("malformed request body: {e}")))
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// Turns every error answer that is not already JSON (405 from the router, 413 and
/// other extractor rejections) into the `{"errors": [..]}` body, keeping its status
/// and headers (such as `Allow`).
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(response.headers()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_string())
        .unwrap_or_default();
    let reason = status.canonical_reason().unwrap_or("error").to_lowercase();
    let mut message = if text.is_empty() { reason } else { text };
    if status == StatusCode::METHOD_NOT_ALLOWED {
        if let Some(allowed) = parts.headers.get(ALLOW).and_then(|v| v.to_str().ok()) {
            message = format!("{message} (this path allows {allowed})");
        }
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        message = format!("{message} (request bodies are limited to {MAX_BODY_BYTES} bytes)");
    }
    let mut json = (status, Json(ErrorBody { errors: vec![message] })).into_response();
    for (name, value) in &parts.headers {
        if name != CONTENT_TYPE && name != CONTENT_LENGTH {
            json.headers_mut().insert(name.clone(), value.clone());
        }
    }
    json
}

/// The endpoints, wrapped (as one service, so that the wrappers see every answer
/// complete, `Allow` headers included) in the token check and the JSON errors.
fn router(registry: JobRegistry, token: Option<BearerToken>) -> Router {
    let api = Router::new()
        .route("/jobs/overview", get(jobs_overview))
        .route("/jobs/{id}", get(job_detail).patch(job_patch))
        .route("/jobs/{id}/savepoints", post(trigger_savepoint))
        .route("/jobs/{id}/savepoints/{request}", get(savepoint_status))
        .route("/jobs/{id}/stop", post(stop_job))
        .fallback(|| async { ApiError::NotFound("no such endpoint".into()) })
        .with_state(registry)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    let mut app = Router::new().fallback_service(api);
    if let Some(token) = token {
        app = app.layer(axum::middleware::from_fn_with_state(token, require_token));
    }
    app.layer(axum::middleware::map_response(json_errors))
}

async fn jobs_overview(State(registry): State<JobRegistry>) -> impl IntoResponse {
    Json(crate::model::JobsOverview {
        jobs: registry.overview(),
    })
}

async fn job_detail(
    State(registry): State<JobRegistry>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    registry.detail(&id).map(Json)
}

async fn job_patch(
    State(registry): State<JobRegistry>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<impl IntoResponse, ApiError> {
    match query.get("mode").map(String::as_str) {
        Some("cancel") | None => {
            registry.cancel(&id)?;
            Ok((StatusCode::ACCEPTED, Json(serde_json::json!({}))))
        }
        Some(other) => Err(ApiError::BadRequest(format!(
            "unknown mode '{other}' (only 'cancel' is supported)"
        ))),
    }
}

async fn trigger_savepoint(
    State(registry): State<JobRegistry>,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let request: SavepointTriggerRequest = body(&bytes)?;
    let request_id = registry.start_savepoint(&id, request.target_directory, request.cancel_job)?;
    Ok((StatusCode::ACCEPTED, Json(TriggerResponse { request_id })))
}

async fn stop_job(
    State(registry): State<JobRegistry>,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let request: StopRequest = body(&bytes)?;
    if request.drain {
        return Err(ApiError::BadRequest(
            "stop with drain is not supported: Weir stops with a savepoint without draining".into(),
        ));
    }
    let request_id = registry.start_savepoint(&id, request.target_directory, true)?;
    Ok((StatusCode::ACCEPTED, Json(TriggerResponse { request_id })))
}

async fn savepoint_status(
    State(registry): State<JobRegistry>,
    Path((id, request)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    registry.savepoint_status(&id, &request).map(Json)
}

/// A port of a bind address: a number from 0 to 65535.
fn port(text: &str, bind: &str) -> Result<u16, RestError> {
    let bad = |reason: String| RestError::Address {
        address: bind.to_string(),
        reason,
    };
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(format!("the port '{text}' is not a number")));
    }
    text.parse::<u16>()
        .map_err(|_| bad(format!("the port {text} is out of range (0-65535)")))
}

/// Binds the first free port of `bind` (`host:port` or `host:first-last`).
fn listen(bind: &str) -> Result<TcpListener, RestError> {
    let bad = |reason: &str| RestError::Address {
        address: bind.to_string(),
        reason: reason.to_string(),
    };
    let (host, ports) = bind.rsplit_once(':').ok_or_else(|| bad("expected host:port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let (first, last) = match ports.split_once('-') {
        Some((first, last)) => (first, last),
        None => (ports, ports),
    };
    let first = port(first, bind)?;
    let last = port(last, bind)?;
    if host.is_empty() {
        return Err(bad("the host is missing (e.g. 127.0.0.1:8081)"));
    }
    if last < first {
        return Err(bad("the port range is empty"));
    }
    let mut failure = None;
    for port in first..=last {
        match TcpListener::bind((host, port)) {
            Ok(listener) => return Ok(listener),
            Err(e) => failure = Some(e),
        }
    }
    Err(RestError::Bind {
        address: bind.to_string(),
        source: failure.unwrap_or_else(|| std::io::Error::other("no port tried")),
    })
}

/// A running REST server; stops when dropped.
pub struct RestServer {
    address: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for RestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestServer").field("address", &self.address).finish()
    }
}

impl RestServer {
    /// Serves `registry` on `bind` without a token: `host:port` (port 0 picks a
    /// free one) or `host:first-last`, the first free port of the range (like
    /// Flink's `rest.bind-port: 8081-8090`). `host` must be a loopback address
    /// ([`RestError::Insecure`] otherwise); see [`start_with`](Self::start_with).
    pub fn start(bind: &str, registry: JobRegistry) -> Result<Self, RestError> {
        Self::start_with(&RestOptions::new(bind), registry)
    }

    /// Serves `registry` as `options` say. Without a token, an address that is not
    /// a loopback address is refused ([`RestError::Insecure`]) before any request
    /// is served.
    pub fn start_with(options: &RestOptions, registry: JobRegistry) -> Result<Self, RestError> {
        let listener = listen(&options.bind)?;
        let address = listener.local_addr().map_err(RestError::Start)?;
        if options.token.is_none() && !address.ip().is_loopback() {
            return Err(RestError::Insecure {
                address: address.to_string(),
            });
        }
        listener.set_nonblocking(true).map_err(RestError::Start)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(RestError::Start)?;
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = router(registry, options.token.clone());
        let thread = std::thread::Builder::new()
            .name("weir-rest".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => listener,
                        Err(e) => {
                            tracing::error!("the REST server cannot listen on {address}: {e}");
                            return;
                        }
                    };
                    let served = axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = stopped.await;
                        })
                        .await;
                    if let Err(e) = served {
                        tracing::error!("the REST server on {address} stopped: {e}");
                    }
                });
            })
            .map_err(RestError::Start)?;
        Ok(RestServer {
            address,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The server's base URL, e.g. `http://127.0.0.1:8081`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }
}

impl Drop for RestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_addresses_are_checked() {
        for bad in ["8081", "localhost:http", "127.0.0.1:9-3", "127.0.0.1:70000", ":8081"] {
            let e = listen(bad).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(e.contains(&format!("bad REST address '{bad}'")), "{bad}: {e}");
        }
        let e = listen(":99999").err().unwrap().to_string();
        assert!(e.contains("the port 99999 is out of range (0-65535)"), "{e}");
        let e = listen("127.0.0.1:http").err().unwrap().to_string();
        assert!(e.contains("the port 'http' is not a number"), "{e}");
        let taken = listen("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let e = listen(&format!("127.0.0.1:{port}")).err().unwrap().to_string();
        assert!(e.contains("cannot listen on"), "{e}");
    }

    #[test]
    fn a_port_range_takes_the_first_free_port() {
        let taken = listen("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        if port == u16::MAX {
            return;
        }
        // The next port may be taken by someone else; then the range is exhausted.
        match listen(&format!("127.0.0.1:{port}-{}", port + 1)) {
            Ok(listener) => assert_eq!(listener.local_addr().unwrap().port(), port + 1),
            Err(e) => assert!(e.to_string().contains("cannot listen"), "{e}"),
        }
    }
}
