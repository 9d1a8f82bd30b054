//! # Redis connector for Weir
//!
//! * [`RedisSink`]: an idempotent sink with deterministic keys (`SET`/`HSET` of
//!   values derived from each record, pipelined, flushed at every checkpoint
//!   barrier, optional time to live): at-least-once delivery with an idempotent
//!   effect. Read [`sink`] for its *time travel* during replay: after a failure,
//!   keys go back to older values until the replay catches up.
//! * [`RedisLookup`] (`GET`, `MGET`) and [`RedisHashLookup`] (`HGETALL`): lookup
//!   sources, to be cached with
//!   [`CachedLookup`](weir_connector_api::lookup::CachedLookup).
//! * [`RedisSinkFactory`]: the `connector = 'redis'` sink of a
//!   [`Registry`](weir_connector_api::registry::Registry), with options close to
//!   the Bahir Redis connector.
//!
//! The client is the `redis` crate (synchronous connection, no default features).
//! Errors name the connector, the address (`host:port/db`, never the password) and
//! the cause; connecting is retried with backoff, pipelines are retried on a new
//! connection when the connection is lost.

pub mod connection;
pub mod error;
pub mod factory;
pub mod lookup;
pub mod sink;

pub use connection::RedisConfig;
pub use error::RedisError;
pub use factory::{KeyValue, RedisSinkFactory};
pub use lookup::{RedisHashLookup, RedisLookup};
pub use sink::{RedisSink, RedisWrite};
