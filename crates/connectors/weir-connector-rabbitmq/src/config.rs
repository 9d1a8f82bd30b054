//! Connection settings shared by the source and the sink.

pub use weir_connector_api::retry::redact_url as redact;
pub use weir_connector_api::retry::{Backoff, RetryPolicy};
