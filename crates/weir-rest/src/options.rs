//! How a [`RestServer`](crate::RestServer) is served: where it listens and the token
//! it demands.

use crate::auth::BearerToken;

/// The default bind address: the first free port of Flink's REST port range on
/// the loopback interface.
pub const DEFAULT_BIND: &str = "127.0.0.1:8081-8090";

/// Where a [`RestServer`](crate::RestServer) listens and whether it demands a
/// bearer token.
///
/// Without a token the server only listens on a loopback address (127.0.0.0/8,
/// `::1`): anyone who can reach the API can stop and cancel jobs and take
/// savepoints, so binding another address without a token is refused. With a
/// token every request, on every path, must present it.
#[derive(Debug, Clone)]
pub struct RestOptions {
    pub(crate) bind: String,
    pub(crate) token: Option<BearerToken>,
}

impl RestOptions {
    /// Listens on `bind`: `host:port` (port 0 picks a free one) or
    /// `host:first-last`, the first free port of the range (like Flink's
    /// `rest.bind-port: 8081-8090`).
    pub fn new(bind: impl Into<String>) -> Self {
        RestOptions {
            bind: bind.into(),
            token: None,
        }
    }

    /// Demands `token` as `Authorization: Bearer <token>` on every request.
    pub fn with_token(mut self, token: BearerToken) -> Self {
        self.token = Some(token);
        self
    }

    /// The bind address as given.
    pub fn bind(&self) -> &str {
        &self.bind
    }

    /// Whether requests must present a token.
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }
}

impl Default for RestOptions {
    fn default() -> Self {
        Self::new(DEFAULT_BIND)
    }
}
