//! [`PostgresSink`]: the typed way to configure the upsert and exactly-once sinks.

use crate::connection::ConnectionOptions;
use crate::error::PostgresError;
use crate::exactly_once::PostgresTransactionalSink;
use crate::table::{RowMapper, TableSpec};
use crate::upsert::PostgresUpsertSink;
use std::time::Duration;
use weir_connector_api::transactional::ExactlyOnce;

/// Default rows buffered before a batch is written (`sink.buffer-flush.max-rows`).
pub const DEFAULT_MAX_ROWS: usize = 500;
/// Default longest time rows stay buffered while the task is idle
/// (`sink.buffer-flush.interval`).
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(1);
/// Default table of commit markers of the exactly-once sink.
pub const DEFAULT_MARKER_TABLE: &str = "weir_commit_markers";
/// Default longest wait for a row lock in the exactly-once sink (`sink.lock-timeout`).
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(60);
/// Default number of checkpoints for which a writer's commit markers are kept.
pub const DEFAULT_MARKER_RETENTION: u64 = 100;

/// Entry point of the PostgreSQL sinks.
///
/// ```no_run
/// use weir_connector_postgres::{PostgresSink, RowMapper, SqlValue};
///
/// struct Total { customer: i64, amount: f64 }
///
/// let sink = PostgresSink::builder("postgres://weir@127.0.0.1:5432/weir", "totals")
///     .unwrap()
///     .columns(["customer", "amount"])
///     .row(RowMapper::new(|t: &Total| vec![t.customer.into(), t.amount.into()]))
///     .upsert()
///     .unwrap();
/// # let _ = sink;
/// ```
pub struct PostgresSink;

impl PostgresSink {
    /// A sink writing `table` of the database at `url` (a libpq connection string
    /// or `postgres://` URI; see [`ConnectionOptions`]).
    pub fn builder<T>(url: &str, table: &str) -> Result<PostgresSinkBuilder<T>, PostgresError> {
        let connection = ConnectionOptions::new(url, format!("postgres sink '{table}'"))?;
        Ok(PostgresSinkBuilder::new(connection, table))
    }
}

/// Configures a PostgreSQL sink; [`upsert`](Self::upsert) or
/// [`exactly_once`](Self::exactly_once) builds it.
pub struct PostgresSinkBuilder<T> {
    pub(crate) connection: ConnectionOptions,
    pub(crate) spec: TableSpec,
    pub(crate) mapper: Option<RowMapper<T>>,
    pub(crate) max_rows: usize,
    pub(crate) flush_interval: Duration,
    pub(crate) max_retries: u32,
    pub(crate) transaction_prefix: Option<String>,
    pub(crate) marker_table: String,
    pub(crate) lock_timeout: Duration,
    pub(crate) marker_retention: u64,
    pub(crate) insert_without_key: bool,
}

impl<T> PostgresSinkBuilder<T> {
    /// A sink writing `table` through `connection`.
    pub fn new(connection: ConnectionOptions, table: &str) -> Self {
        PostgresSinkBuilder {
            connection,
            spec: TableSpec {
                table: table.to_string(),
                columns: None,
                key_columns: None,
            },
            mapper: None,
            max_rows: DEFAULT_MAX_ROWS,
            flush_interval: DEFAULT_FLUSH_INTERVAL,
            max_retries: 3,
            transaction_prefix: None,
            marker_table: DEFAULT_MARKER_TABLE.to_string(),
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            marker_retention: DEFAULT_MARKER_RETENTION,
            insert_without_key: false,
        }
    }

    /// How records become rows (required).
    pub fn row(mut self, mapper: RowMapper<T>) -> Self {
        self.mapper = Some(mapper);
        self
    }

    /// The columns written, in the order of the mapper's values (required with
    /// [`RowMapper::new`]; with [`RowMapper::serde`] the default is all the
    /// table's columns).
    pub fn columns<S: Into<String>>(mut self, columns: impl IntoIterator<Item = S>) -> Self {
        self.spec.columns = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// The columns of the conflict key (default: the table's primary key; there
    /// must be a unique index on exactly these columns).
    pub fn key_columns<S: Into<String>>(mut self, columns: impl IntoIterator<Item = S>) -> Self {
        self.spec.key_columns = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// Rows buffered before a batch is written (default 500, at least 1).
    pub fn buffer_max_rows(mut self, rows: usize) -> Self {
        self.max_rows = rows.max(1);
        self
    }

    /// Longest time rows stay buffered while the task is idle (upsert sink; default 1 s).
    pub fn buffer_flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = interval;
        self
    }

    /// Times a batch of the upsert sink is written again after its connection was
    /// lost (each time on a new connection, itself retried as configured in the
    /// [`ConnectionOptions`]); default 3.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The connection's retries: `retries` attempts more after a failed one, the
    /// first after `delay`, each further one after twice the previous delay.
    pub fn connection_retries(mut self, retries: u32, delay: Duration) -> Self {
        self.connection = self.connection.retries(retries, delay);
        self
    }

    /// Logs in as `user` and `password` instead of the URL's.
    pub fn credentials(mut self, user: &str, password: &str) -> Self {
        self.connection = self.connection.user(user).password(password);
        self
    }

    /// Exactly-once sink: the prefix of its global transaction ids,
    /// `<prefix>-<writer>-<checkpoint>` (default `weir-<table>`). It must differ
    /// between sinks writing one database: on start-up a sink rolls back the
    /// prepared transactions under its prefix that no restored checkpoint covers.
    pub fn transaction_prefix(mut self, prefix: &str) -> Self {
        self.transaction_prefix = Some(prefix.to_string());
        self
    }

    /// Exactly-once sink: the table of commit markers (default
    /// `weir_commit_markers`, created when missing).
    pub fn marker_table(mut self, table: &str) -> Self {
        self.marker_table = table.to_string();
        self
    }

    /// Exactly-once sink: longest wait for a row lock held by another transaction
    /// before the job fails (default 60 s).
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// Exactly-once sink: commit markers older than this many checkpoints of a
    /// writer are deleted (default 100).
    pub fn marker_retention(mut self, checkpoints: u64) -> Self {
        self.marker_retention = checkpoints.max(1);
        self
    }

    /// Upsert sink: when there are no key columns (none given, and the table has
    /// no primary key), insert rows instead of refusing the table. Plain inserts
    /// are at-least-once: rows replayed after a failure are inserted again.
    pub fn insert_without_key(mut self, insert: bool) -> Self {
        self.insert_without_key = insert;
        self
    }

    fn check(&self) -> Result<RowMapper<T>, PostgresError> {
        let mapper = self
            .mapper
            .clone()
            .ok_or_else(|| self.connection.config_error("no row mapper: call .row(RowMapper::...)"))?;
        if !mapper.by_name() && self.spec.columns.is_none() {
            return Err(self
                .connection
                .config_error("a positional row mapper (RowMapper::new) needs the column list (.columns([...]))"));
        }
        Ok(mapper)
    }

    /// The idempotent upsert sink (at-least-once delivery, exactly-once effect for
    /// deterministic rows): batches of `INSERT ... ON CONFLICT (key) DO UPDATE`,
    /// written when full, when idle and at each checkpoint barrier.
    pub fn upsert(self) -> Result<PostgresUpsertSink<T>, PostgresError> {
        let mapper = self.check()?;
        let connection = self
            .connection
            .clone()
            .with_connector(format!("postgres upsert sink '{}'", self.spec.table));
        Ok(PostgresUpsertSink::new(self, connection, mapper))
    }

    /// The exactly-once sink: one transaction per checkpoint interval and subtask,
    /// prepared (`PREPARE TRANSACTION`) at the barrier, committed (`COMMIT
    /// PREPARED`) when the checkpoint completes. Rows upsert when the table has a
    /// key, else they are inserted.
    pub fn exactly_once(self) -> Result<ExactlyOnce<T, PostgresTransactionalSink<T>>, PostgresError>
    where
        T: Send + 'static,
    {
        Ok(ExactlyOnce::new(self.transactional()?))
    }

    /// The exactly-once sink's [`TransactionalSink`](weir_connector_api::transactional::TransactionalSink)
    /// itself (to wrap, e.g. for tests; [`exactly_once`](Self::exactly_once) wraps it in [`ExactlyOnce`]).
    pub fn transactional(self) -> Result<PostgresTransactionalSink<T>, PostgresError> {
        let mapper = self.check()?;
        let connection = self
            .connection
            .clone()
            .with_connector(format!("postgres exactly-once sink '{}'", self.spec.table));
        PostgresTransactionalSink::new(self, connection, mapper)
    }
}
