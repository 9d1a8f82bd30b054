//! Connection settings shared by the source and the sink.

use std::time::Duration;

pub use weir_connector_api::retry::redact_url as redact;
pub use weir_connector_api::retry::{Backoff, RetryPolicy};

/// Client options for `url`. async-nats does not use the credentials of a URL
/// (`nats://user:password@host`), so they are given as options here.
pub(crate) fn client_options(url: &str) -> async_nats::ConnectOptions {
    let options = async_nats::ConnectOptions::new().connection_timeout(Duration::from_secs(5));
    match url.parse::<async_nats::ServerAddr>() {
        Ok(address) if address.has_user_pass() => options.user_and_password(
            address.username().unwrap_or_default().to_string(),
            address.password().unwrap_or_default().to_string(),
        ),
        _ => options,
    }
}
