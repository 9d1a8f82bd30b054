//! Bearer-token authentication: the token a server demands on every request and
//! a client sends with each.

use crate::error::{ApiError, RestError};
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::path::Path;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The fewest characters a token may have.
pub const MIN_TOKEN_LEN: usize = 16;

/// A shared secret that every request presents as `Authorization: Bearer <token>`.
/// Printable ASCII without spaces, at least [`MIN_TOKEN_LEN`] characters (e.g. the
/// output of `openssl rand -hex 32`). Its `Debug` form does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken(Arc<str>);

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

impl BearerToken {
    /// Checks `token` and wraps it.
    pub fn new(token: impl Into<String>) -> Result<Self, RestError> {
        let token = token.into();
        if token.is_empty() {
            return Err(RestError::Token("the token is empty".into()));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(RestError::Token(
                "a token may hold only printable ASCII characters, no spaces".into(),
            ));
        }
        if token.len() < MIN_TOKEN_LEN {
            return Err(RestError::Token(format!(
                "the token has {} characters; use at least {MIN_TOKEN_LEN} (e.g. `openssl rand -hex 32`)",
                token.len()
            )));
        }
        Ok(BearerToken(token.into()))
    }

    /// Reads a token from the first line of `path` (surrounding whitespace, such as
    /// the final newline, is ignored). On Unix, warns when others may read the file.
    pub fn from_file(path: &Path) -> Result<Self, RestError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| RestError::Token(format!("cannot read the token file '{}': {e}", path.display())))?;
        #[cfg(unix)]
        if let Ok(metadata) = std::fs::metadata(path) {
            use std::os::unix::fs::PermissionsExt;
            if metadata.permissions().mode() & 0o077 != 0 {
                tracing::warn!(
                    "the token file '{}' may be read by other users (chmod 600 it)",
                    path.display()
                );
            }
        }
        let first_line = text.lines().next().unwrap_or_default();
        Self::new(first_line.trim()).map_err(|e| match e {
            RestError::Token(reason) => RestError::Token(format!("{reason} (in '{}')", path.display())),
            other => other,
        })
    }

    /// The secret itself.
    pub(crate) fn secret(&self) -> &str {
        &self.0
    }

    /// Whether an `Authorization` header value presents this token (compared in
    /// constant time).
    fn admits(&self, authorization: Option<&HeaderValue>) -> bool {
        let Some(value) = authorization.and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let Some((scheme, presented)) = value.trim().split_once(' ') else {
            return false;
        };
        scheme.eq_ignore_ascii_case("bearer") && bool::from(presented.trim().as_bytes().ct_eq(self.0.as_bytes()))
    }
}

/// Middleware: lets a request through only if it presents `token`; otherwise 401
/// (with `WWW-Authenticate: Bearer` and the JSON error body).
pub(crate) async fn require_token(State(token): State<BearerToken>, request: Request, next: Next) -> Response {
    let authorization = request.headers().get(AUTHORIZATION);
    if token.admits(authorization) {
        return next.run(request).await;
    }
    let message = if authorization.is_some() {
        "the bearer token is wrong"
    } else {
        "this Weir REST API needs a bearer token: send 'Authorization: Bearer <token>'"
    };
    let mut response = ApiError::Unauthorized(message.into()).into_response();
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_checked() {
        assert!(BearerToken::new("").is_err());
        assert!(BearerToken::new("short")
            .unwrap_err()
            .to_string()
            .contains("at least 16"));
        assert!(BearerToken::new("with a space inside it").is_err());
        let token = BearerToken::new("0123456789abcdef").unwrap();
        assert_eq!(format!("{token:?}"), "BearerToken(<redacted>)");
        let header = |s: &str| HeaderValue::from_str(s).ok();
        assert!(token.admits(header("Bearer 0123456789abcdef").as_ref()));
        assert!(token.admits(header("bearer 0123456789abcdef").as_ref()));
        assert!(!token.admits(header("Bearer 0123456789abcdeF").as_ref()));
        assert!(!token.admits(header("Bearer 0123456789abcdef0").as_ref()));
        assert!(!token.admits(header("Basic 0123456789abcdef").as_ref()));
        assert!(!token.admits(header("0123456789abcdef").as_ref()));
        assert!(!token.admits(None));
    }

    #[test]
    fn a_token_file_holds_the_token_on_its_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "0123456789abcdef\n").unwrap();
        assert_eq!(BearerToken::from_file(&path).unwrap().secret(), "0123456789abcdef");
        std::fs::write(&path, "\n").unwrap();
        let e = BearerToken::from_file(&path).unwrap_err().to_string();
        assert!(e.contains("empty") && e.contains("token"), "{e}");
        let e = BearerToken::from_file(&dir.path().join("missing"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot read the token file"), "{e}");
    }
}
