//! The `connector = 'redis'` sink for a [`Registry`]: records are `(key, value)`
//! pairs of strings; options close to the Bahir Redis connector.
//!
//! | option | default | meaning |
//! | --- | --- | --- |
//! | `url` | `redis://` + `host`:`port` | `redis://[user:password@]host:port[/db]` |
//! | `host`, `port` | `127.0.0.1`, `6379` | instead of `url` |
//! | `password`, `database` | none, 0 | with `host` and `port` |
//! | `command` | `set` | `set` (`SET key value`) or `hset` (`HSET additional-key key value`) |
//! | `additional-key` | required for `hset` | the hash the fields go to |
//! | `key.prefix` | empty | prepended to every key |
//! | `key.ttl` | none | time to live of written keys (`10 min`) |
//! | `sink.buffer-flush.max-rows` | 1000 | writes per pipeline |
//! | `sink.buffer-flush.interval` | 1 s | longest wait of a buffered write while idle |
//! | `sink.max-retries` | 3 | retries of a pipeline on a new connection |
//! | `connection.max-retry-timeout` | 60 s | how long connecting is retried |

use crate::connection::RedisConfig;
use crate::sink::{RedisSink, RedisWrite};
use std::sync::Arc;
use std::time::Duration;
use weir_connector_api::options::Options;
use weir_connector_api::registry::{Registry, SinkFactory, Typed};
use weir_connector_api::sink::Sink;
use weir_connector_api::ConnectorError;

/// A record of the registry's Redis sink: key and value.
pub type KeyValue = (String, String);

/// Builds Redis sinks from string options (see the module documentation).
#[derive(Debug, Default, Clone, Copy)]
pub struct RedisSinkFactory;

impl SinkFactory<Typed<KeyValue>> for RedisSinkFactory {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn create_sink(
        &self,
        _schema: &(),
        options: &Options,
        _registry: &Registry<Typed<KeyValue>>,
    ) -> Result<Arc<dyn Sink<KeyValue>>, ConnectorError> {
        let url = match options.get("url") {
            Some(url) => url.to_string(),
            None => {
                let host = options.get("host").unwrap_or("127.0.0.1");
                let port: u16 = options.parse("port", 6379)?;
                let database: u32 = options.parse("database", 0)?;
                match options.get("password") {
                    Some(password) => format!("redis://:{password}@{host}:{port}/{database}"),
                    None => format!("redis://{host}:{port}/{database}"),
                }
            }
        };
        let config = RedisConfig::new(options.context(), &url)
            .map_err(|e| ConnectorError::Other(e.to_string()))?
            .with_max_retries(options.parse("sink.max-retries", 3u32)?)
            .with_max_retry_timeout(options.duration("connection.max-retry-timeout", Duration::from_secs(60))?);
        let prefix = options.get("key.prefix").unwrap_or("").to_string();
        let sink = match options.one_of("command", &["set", "hset"], "set")? {
            "hset" => {
                let hash = format!("{prefix}{}", options.required("additional-key")?);
                RedisSink::new(config, move |(k, v): &KeyValue| RedisWrite::hset(&hash, k, v))
            }
            _ => RedisSink::new(config, move |(k, v): &KeyValue| {
                RedisWrite::set(format!("{prefix}{k}"), v)
            }),
        };
        let mut sink = sink
            .with_max_buffered(options.parse("sink.buffer-flush.max-rows", 1_000usize)?)
            .with_flush_interval(options.duration("sink.buffer-flush.interval", Duration::from_secs(1))?);
        if options.get("key.ttl").is_some() {
            sink = sink.with_ttl(options.duration("key.ttl", Duration::ZERO)?);
        }
        Ok(Arc::new(sink))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_checked() {
        let mut registry = Registry::<Typed<KeyValue>>::new();
        registry.register_sink(Arc::new(RedisSinkFactory));
        let base = Options::new("redis sink 'prices'").with("connector", "redis");
        let error = registry
            .sink(&(), &base.clone().with("command", "hset"))
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("additional-key"), "{error}");
        let error = registry
            .sink(&(), &base.clone().with("key.tl", "5 s"))
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("key.tl"), "{error}");
        registry
            .sink(&(), &base.with("port", "16379").with("key.ttl", "5 s"))
            .unwrap();
    }
}
