//! Lookup sources: values read by key, for lookup joins. Put them behind
//! [`CachedLookup`](weir_connector_api::lookup::CachedLookup) to cache values
//! (`lookup_many` asks for all missing keys in one round trip).

use crate::connection::RedisConfig;
use redis::Connection;
use std::collections::BTreeMap;
use std::fmt::Display;
use std::sync::Mutex;
use weir_connector_api::lookup::LookupSource;
use weir_connector_api::BoxError;

/// The connection of a lookup source, re-opened when lost.
struct Shared {
    config: RedisConfig,
    prefix: String,
    conn: Mutex<Option<Connection>>,
}

impl Shared {
    fn run<R>(&self, what: &str, op: impl FnMut(&mut Connection) -> redis::RedisResult<R>) -> Result<R, BoxError> {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| format!("{}: connection lock poisoned", self.config.connector))?;
        Ok(self.config.with_retries(&mut conn, what, op)?)
    }

    fn key(&self, key: &impl Display) -> String {
        format!("{}{key}", self.prefix)
    }
}

/// String values: `GET prefix+key`, `MGET` for several keys.
pub struct RedisLookup {
    shared: Shared,
}

impl RedisLookup {
    /// Reads `GET prefix + key`.
    pub fn new(config: RedisConfig, prefix: impl Into<String>) -> Self {
        RedisLookup {
            shared: Shared {
                config,
                prefix: prefix.into(),
                conn: Mutex::new(None),
            },
        }
    }
}

impl<K: Display> LookupSource<K, String> for RedisLookup {
    fn lookup(&self, key: &K) -> Result<Option<String>, BoxError> {
        let key = self.shared.key(key);
        self.shared
            .run(&format!("GET '{key}'"), |conn| redis::cmd("GET").arg(&key).query(conn))
    }

    fn lookup_many(&self, keys: &[K]) -> Result<Vec<Option<String>>, BoxError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = keys.iter().map(|k| self.shared.key(k)).collect();
        self.shared.run(&format!("MGET of {} key(s)", keys.len()), |conn| {
            redis::cmd("MGET").arg(&keys).query(conn)
        })
    }
}

/// Hashes: `HGETALL prefix+key` (an empty hash is absent), pipelined for several
/// keys.
pub struct RedisHashLookup {
    shared: Shared,
}

impl RedisHashLookup {
    /// Reads `HGETALL prefix + key`.
    pub fn new(config: RedisConfig, prefix: impl Into<String>) -> Self {
        RedisHashLookup {
            shared: Shared {
                config,
                prefix: prefix.into(),
                conn: Mutex::new(None),
            },
        }
    }
}

type Hash = BTreeMap<String, String>;

impl<K: Display> LookupSource<K, Hash> for RedisHashLookup {
    fn lookup(&self, key: &K) -> Result<Option<Hash>, BoxError> {
        let key = self.shared.key(key);
        let hash: Hash = self.shared.run(&format!("HGETALL '{key}'"), |conn| {
            redis::cmd("HGETALL").arg(&key).query(conn)
        })?;
        Ok((!hash.is_empty()).then_some(hash))
    }

    fn lookup_many(&self, keys: &[K]) -> Result<Vec<Option<Hash>>, BoxError> {
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.cmd("HGETALL").arg(self.shared.key(key));
        }
        let hashes: Vec<Hash> = self
            .shared
            .run(&format!("HGETALL of {} key(s)", keys.len()), |conn| pipe.query(conn))?;
        Ok(hashes.into_iter().map(|h| (!h.is_empty()).then_some(h)).collect())
    }
}
