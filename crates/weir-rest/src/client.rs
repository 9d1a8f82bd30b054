//! A blocking client of the REST API, used by the `weir` command. Do not call it
//! from inside an asynchronous runtime.

use crate::auth::BearerToken;
use crate::error::RestError;
use crate::model::{
    ErrorBody, JobDetail, JobOverview, JobsOverview, SavepointStatus, SavepointTriggerRequest, StopRequest,
    TriggerResponse, COMPLETED,
};
use reqwest::blocking::{Client, RequestBuilder};
use std::time::{Duration, Instant};

/// The address the `weir` command talks to by default (Flink's REST port).
pub const DEFAULT_ADDRESS: &str = "http://127.0.0.1:8081";

/// A client of one Weir process's REST API.
#[derive(Debug, Clone)]
pub struct RestClient {
    base: String,
    http: Client,
    token: Option<BearerToken>,
}

impl RestClient {
    /// A client of the server at `address` (`http://host:port`, or `host:port`).
    pub fn new(address: &str) -> Result<Self, RestError> {
        let address = address.trim().trim_end_matches('/');
        if address.is_empty() {
            return Err(RestError::Address {
                address: address.into(),
                reason: "empty".into(),
            });
        }
        let base = if address.contains("://") {
            address.to_string()
        } else {
            format!("http://{address}")
        };
        let http = Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| RestError::Unreachable {
                address: base.clone(),
                source: e,
            })?;
        Ok(RestClient {
            base,
            http,
            token: None,
        })
    }

    /// Sends `token` as `Authorization: Bearer <token>` with every request (for a
    /// server started with a token).
    pub fn with_token(mut self, token: BearerToken) -> Self {
        self.token = Some(token);
        self
    }

    /// The server's base URL.
    pub fn address(&self) -> &str {
        &self.base
    }

    fn send<T: serde::de::DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, RestError> {
        let request = match &self.token {
            Some(token) => request.bearer_auth(token.secret()),
            None => request,
        };
        let response = request.send().map_err(|e| RestError::Unreachable {
            address: self.base.clone(),
            source: e,
        })?;
        let status = response.status();
        let text = response.text().map_err(|e| RestError::Unreachable {
            address: self.base.clone(),
            source: e,
        })?;
        if !status.is_success() {
            let message = serde_json::from_str::<ErrorBody>(&text)
                .map(|body| body.errors.join("; "))
                .unwrap_or(text);
            return Err(RestError::Refused {
                address: self.base.clone(),
                status: status.as_u16(),
                message,
            });
        }
        serde_json::from_str(&text).map_err(|e| RestError::BadAnswer {
            address: self.base.clone(),
            reason: format!("{e} in {text:?}"),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Every job of the process.
    pub fn jobs(&self) -> Result<Vec<JobOverview>, RestError> {
        let overview: JobsOverview = self.send(self.http.get(self.url("/jobs/overview")))?;
        Ok(overview.jobs)
    }

    /// Job `id` in detail.
    pub fn job(&self, id: &str) -> Result<JobDetail, RestError> {
        self.send(self.http.get(self.url(&format!("/jobs/{id}"))))
    }

    /// Starts a savepoint of job `id` into `target` (the server's default when
    /// `None`); returns the request id.
    pub fn trigger_savepoint(&self, id: &str, target: Option<&str>) -> Result<String, RestError> {
        let request = SavepointTriggerRequest {
            target_directory: target.map(str::to_string),
            cancel_job: false,
        };
        let answer: TriggerResponse = self.send(
            self.http
                .post(self.url(&format!("/jobs/{id}/savepoints")))
                .json(&request),
        )?;
        Ok(answer.request_id)
    }

    /// Starts stopping job `id` with a savepoint into `target`; returns the
    /// request id.
    pub fn stop_with_savepoint(&self, id: &str, target: Option<&str>) -> Result<String, RestError> {
        let request = StopRequest {
            target_directory: target.map(str::to_string),
            drain: false,
        };
        let answer: TriggerResponse =
            self.send(self.http.post(self.url(&format!("/jobs/{id}/stop"))).json(&request))?;
        Ok(answer.request_id)
    }

    /// The status of savepoint request `request_id` of job `id`.
    pub fn savepoint_status(&self, id: &str, request_id: &str) -> Result<SavepointStatus, RestError> {
        self.send(self.http.get(self.url(&format!("/jobs/{id}/savepoints/{request_id}"))))
    }

    /// Polls savepoint request `request_id` until it completes (calling `waiting`
    /// with the time spent after every poll still in progress) and returns the
    /// savepoint's directory; an error if it failed or took longer than `timeout`.
    pub fn wait_for_savepoint(
        &self,
        id: &str,
        request_id: &str,
        timeout: Duration,
        mut waiting: impl FnMut(Duration),
    ) -> Result<String, RestError> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(20);
        loop {
            let status = self.savepoint_status(id, request_id)?;
            if status.status.id == COMPLETED {
                let outcome = status.operation.ok_or_else(|| RestError::BadAnswer {
                    address: self.base.clone(),
                    reason: "a completed savepoint without outcome".into(),
                })?;
                return match (outcome.location, outcome.failure_cause) {
                    (Some(location), _) => Ok(location),
                    (None, cause) => Err(RestError::SavepointFailed(
                        cause.unwrap_or_else(|| "no cause given".into()),
                    )),
                };
            }
            if started.elapsed() >= timeout {
                return Err(RestError::Timeout(timeout));
            }
            waiting(started.elapsed());
            // Polling a remote operation: there is nothing local to wait on.
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }

    /// Cancels job `id`.
    pub fn cancel(&self, id: &str) -> Result<(), RestError> {
        let _: serde_json::Value = self.send(self.http.patch(self.url(&format!("/jobs/{id}?mode=cancel"))))?;
        Ok(())
    }
}
