//! The idempotent sink: deterministic keys, at-least-once delivery, an
//! idempotent effect.
//!
//! Each record becomes one write whose key (and hash field) is derived from the
//! record, `SET key value` or `HSET key field value`, optionally with a time to
//! live. Writes are buffered and sent in one pipeline when the buffer is full,
//! when the task is idle and the flush interval has passed, and always at a
//! checkpoint barrier and at the end of the input. A replayed record writes the
//! same key with the same value again, so once the replay has caught up, the
//! store holds what one failure-free run would have written.
//!
//! **Time travel during replay** (seed 002's lesson): the sink flushes more often
//! than checkpoints complete, so when a job fails, the store already holds values
//! newer than the checkpoint it restarts from. The replay then writes the older
//! values again: a key can go *back* to an earlier value for a while (a reader sees
//! a balance of 80, then 51, then 52, ... then 80 again), until the replay has
//! passed the point of the failure. Readers that cannot accept this need the
//! exactly-once sinks of a transactional store instead. Keys must be routed to one
//! subtask each (`key_by`), so that the last write of a key is well defined.

use crate::connection::RedisConfig;
use crate::error::RedisError;
use redis::Connection;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_connector_api::sink::{Sink, SinkContext, SinkWriter};
use weir_connector_api::BoxError;

/// One write to Redis, derived from one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisWrite {
    /// `SET key value`.
    Set {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// `HSET key field value`.
    HSet {
        /// The hash's key.
        key: String,
        /// The field.
        field: String,
        /// The value.
        value: String,
    },
}

impl RedisWrite {
    /// `SET key value`.
    pub fn set(key: impl Into<String>, value: impl Into<String>) -> Self {
        RedisWrite::Set {
            key: key.into(),
            value: value.into(),
        }
    }

    /// `HSET key field value`.
    pub fn hset(key: impl Into<String>, field: impl Into<String>, value: impl Into<String>) -> Self {
        RedisWrite::HSet {
            key: key.into(),
            field: field.into(),
            value: value.into(),
        }
    }
}

/// Makes the write of a record.
pub type WriteFn<T> = Arc<dyn Fn(&T) -> RedisWrite + Send + Sync>;

/// An at-least-once sink with an idempotent effect (see the module
/// documentation, including its time-travel caveat).
pub struct RedisSink<T> {
    config: RedisConfig,
    to_write: WriteFn<T>,
    ttl: Option<Duration>,
    max_buffered: usize,
    flush_interval: Duration,
}

impl<T> RedisSink<T> {
    /// Writes what `to_write` derives from each record.
    pub fn new(config: RedisConfig, to_write: impl Fn(&T) -> RedisWrite + Send + Sync + 'static) -> Self {
        RedisSink {
            config,
            to_write: Arc::new(to_write),
            ttl: None,
            max_buffered: 1_000,
            flush_interval: Duration::from_secs(1),
        }
    }

    /// Gives every written key a time to live (`SET ... PX`, `PEXPIRE` after
    /// `HSET`), renewed by each write.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Writes buffered before a pipeline is sent (default 1 000).
    pub fn with_max_buffered(mut self, writes: usize) -> Self {
        self.max_buffered = writes.max(1);
        self
    }

    /// How long writes may wait in the buffer while the task is idle (default
    /// 1 s). Barriers always flush.
    pub fn with_flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = interval;
        self
    }
}

impl<T: Send + 'static> Sink<T> for RedisSink<T> {
    fn create_writer(&self, _context: &SinkContext) -> Result<Box<dyn SinkWriter<T>>, BoxError> {
        let conn = self.config.connect()?;
        Ok(Box::new(RedisWriter {
            config: self.config.clone(),
            to_write: self.to_write.clone(),
            ttl_millis: self
                .ttl
                .map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX).max(1)),
            max_buffered: self.max_buffered,
            flush_interval: self.flush_interval,
            conn: Some(conn),
            buffer: Vec::new(),
            last_flush: Instant::now(),
        }))
    }
}

struct RedisWriter<T> {
    config: RedisConfig,
    to_write: WriteFn<T>,
    ttl_millis: Option<u64>,
    max_buffered: usize,
    flush_interval: Duration,
    conn: Option<Connection>,
    buffer: Vec<RedisWrite>,
    last_flush: Instant,
}

/// The pipeline of `writes`.
fn pipeline(writes: &[RedisWrite], ttl_millis: Option<u64>) -> redis::Pipeline {
    let mut pipe = redis::pipe();
    for write in writes {
        match write {
            RedisWrite::Set { key, value } => {
                let command = pipe.cmd("SET").arg(key).arg(value);
                if let Some(ttl) = ttl_millis {
                    command.arg("PX").arg(ttl);
                }
                command.ignore();
            }
            RedisWrite::HSet { key, field, value } => {
                pipe.cmd("HSET").arg(key).arg(field).arg(value).ignore();
                if let Some(ttl) = ttl_millis {
                    pipe.cmd("PEXPIRE").arg(key).arg(ttl).ignore();
                }
            }
        }
    }
    pipe
}

impl<T> RedisWriter<T> {
    fn write_buffer(&mut self) -> Result<(), RedisError> {
        self.last_flush = Instant::now();
        if self.buffer.is_empty() {
            return Ok(());
        }
        let pipe = pipeline(&self.buffer, self.ttl_millis);
        let what = format!("writing {} key(s)", self.buffer.len());
        self.config
            .with_retries(&mut self.conn, &what, |conn| pipe.query::<()>(conn))?;
        self.buffer.clear();
        Ok(())
    }
}

impl<T: Send> SinkWriter<T> for RedisWriter<T> {
    fn write(&mut self, value: T, _timestamp: Option<i64>) -> Result<(), BoxError> {
        self.buffer.push((self.to_write)(&value));
        if self.buffer.len() >= self.max_buffered {
            self.write_buffer()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), BoxError> {
        if self.last_flush.elapsed() >= self.flush_interval {
            self.write_buffer()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), BoxError> {
        Ok(self.write_buffer()?)
    }

    fn snapshot_state(&mut self, _checkpoint_id: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        self.write_buffer()?;
        Ok(Vec::new())
    }
}
