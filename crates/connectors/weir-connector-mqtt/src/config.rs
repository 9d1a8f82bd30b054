//! Connection settings shared by the source and the sink.

pub use weir_connector_api::retry::redact_url as redact;
pub use weir_connector_api::retry::{Backoff, RetryPolicy};

/// The parts of an `mqtt://[user[:password]@]host[:port]` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// The host.
    pub host: String,
    /// The port (default 1883).
    pub port: u16,
    /// User name and password, if given.
    pub credentials: Option<(String, String)>,
}

impl Address {
    /// Splits `url`; the error says what is wrong (without the password).
    pub fn parse(url: &str) -> Result<Address, String> {
        let rest = url
            .strip_prefix("mqtt://")
            .or_else(|| url.strip_prefix("tcp://"))
            .ok_or_else(|| format!("'{}' is not an mqtt:// URL", redact(url)))?;
        let rest = rest.trim_end_matches('/');
        let (credentials, host_port) = match rest.rsplit_once('@') {
            Some((user_info, host_port)) => {
                let (user, password) = user_info.split_once(':').unwrap_or((user_info, ""));
                (Some((user.to_string(), password.to_string())), host_port)
            }
            None => (None, rest),
        };
        let (host, port) = match host_port.rsplit_once(':') {
            Some((host, port)) => (
                host,
                port.parse()
                    .map_err(|_| format!("'{}': bad port '{port}'", redact(url)))?,
            ),
            None => (host_port, 1883),
        };
        if host.is_empty() {
            return Err(format!("'{}' names no host", redact(url)));
        }
        Ok(Address {
            host: host.to_string(),
            port,
            credentials,
        })
    }
}

#[cfg(test)]
mod address_tests {
    use super::*;

    #[test]
    fn urls_split() {
        let a = Address::parse("mqtt://u:p@127.0.0.1:11883").unwrap();
        assert_eq!((a.host.as_str(), a.port), ("127.0.0.1", 11883));
        assert_eq!(a.credentials, Some(("u".into(), "p".into())));
        assert_eq!(Address::parse("mqtt://h").unwrap().port, 1883);
        assert!(Address::parse("http://h").is_err());
        assert!(!Address::parse("mqtt://u:secret@h:x").unwrap_err().contains("secret"));
    }
}
