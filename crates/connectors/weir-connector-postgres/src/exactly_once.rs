//! The exactly-once sink: two-phase commit with PostgreSQL's prepared
//! transactions.
//!
//! Each subtask writes a checkpoint interval's rows into one transaction. At the
//! barrier of checkpoint `c` the transaction inserts a commit marker row and is
//! prepared as `PREPARE TRANSACTION '<prefix>-<writer>-<c>'` (a deterministic
//! global id); the id is stored in the checkpoint. When the checkpoint completes,
//! `COMMIT PREPARED` makes the rows visible. A commit is idempotent: if the
//! prepared transaction no longer exists, its marker row (keyed by the gid, with a
//! random nonce also kept in the checkpoint) tells whether it was committed (the
//! marker is visible) or rolled back (it is not: an error, as the rows are lost). At start-up and after a restore the sink rolls back the
//! prepared transactions under its prefix that no restored checkpoint covers.
//!
//! Rows of one transaction stay locked until its commit. So that a writer never
//! waits for its own prepared transaction (which it commits only when the task
//! handles the checkpoint's completion), rows are kept in memory while a prepared
//! transaction of the writer is not committed, and a keyed table's transaction
//! still prepared at the next barrier (an aborted checkpoint) is committed then,
//! ahead of its checkpoint; other transactions holding a lock longer than
//! `sink.lock-timeout` fail the job (write each key from one subtask).

use crate::builder::PostgresSinkBuilder;
use crate::connection::ConnectionOptions;
use crate::error::{describe, is_connection_error, PostgresError};
use crate::table::{resolve, ResolvedTable, RowChange, RowMapper, TableSpec, WriteMode};
use crate::value::SqlValue;
use parking_lot::Mutex;
use postgres::error::SqlState;
use postgres::{Client, Statement};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use weir_connector_api::transactional::{TransactionContext, TransactionalSink};
use weir_connector_api::BoxError;

/// A prepared transaction, as stored in checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreparedTransaction {
    /// Its global transaction id, `<prefix>-<writer>-<checkpoint>`.
    pub gid: String,
    /// The subtask that wrote it.
    pub writer: u32,
    /// The checkpoint at whose barrier it was prepared.
    pub checkpoint: u64,
    /// Rows written into it (after merging rows of one key within a batch).
    pub rows: u64,
    /// A random number also stored in its commit marker: a marker of an earlier
    /// job that used the same id (a job started afresh counts checkpoints from 1
    /// again) does not count as this transaction's.
    pub nonce: i64,
}

/// A random number (the standard library's per-process random hash keys, mixed
/// with the time and the gid).
fn nonce(gid: &str) -> i64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    gid.hash(&mut hasher);
    std::time::SystemTime::now().hash(&mut hasher);
    std::process::id().hash(&mut hasher);
    hasher.finish() as i64
}

/// An open transaction of one subtask: buffered rows and, once the first batch is
/// written, a connection with the transaction begun.
pub struct OpenTransaction {
    connection: Option<Connection>,
    begun: bool,
    buffer: Vec<Vec<SqlValue>>,
    rows: u64,
    table: Option<ResolvedTable>,
}

struct Connection {
    client: Client,
    write: Statement,
}

/// The exactly-once sink (see [`PostgresSinkBuilder::exactly_once`]).
pub struct PostgresTransactionalSink<T> {
    connection: ConnectionOptions,
    spec: TableSpec,
    mapper: RowMapper<T>,
    max_rows: usize,
    prefix: String,
    marker_table: String,
    lock_timeout: Duration,
    marker_retention: u64,
    /// The table, once looked up (with the server checked and the marker table made).
    table: Mutex<Option<ResolvedTable>>,
    /// Idle connections.
    pool: Mutex<Vec<Connection>>,
    /// Prepared, not yet committed transactions per subtask.
    outstanding: Mutex<HashMap<usize, HashSet<String>>>,
}

/// `'text'`, with quotes doubled.
fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

impl<T> PostgresTransactionalSink<T> {
    pub(crate) fn new(
        builder: PostgresSinkBuilder<T>,
        connection: ConnectionOptions,
        mapper: RowMapper<T>,
    ) -> Result<Self, PostgresError> {
        let prefix = builder
            .transaction_prefix
            .unwrap_or_else(|| format!("weir-{}", builder.spec.table));
        // Room for "-<writer>-<checkpoint>" within PostgreSQL's 200 bytes.
        if prefix.is_empty() || prefix.len() > 150 {
            return Err(connection.config_error(format!(
                "the transaction id prefix must have 1 to 150 bytes, '{prefix}' has {}",
                prefix.len()
            )));
        }
        Ok(PostgresTransactionalSink {
            connection,
            spec: builder.spec,
            mapper,
            max_rows: builder.max_rows,
            prefix,
            marker_table: builder.marker_table,
            lock_timeout: builder.lock_timeout,
            marker_retention: builder.marker_retention,
            table: Mutex::new(None),
            pool: Mutex::new(Vec::new()),
            outstanding: Mutex::new(HashMap::new()),
        })
    }

    /// The global transaction id of `writer`'s transaction of `checkpoint`.
    pub fn gid(&self, writer: u32, checkpoint: u64) -> String {
        format!("{}-{writer}-{checkpoint}", self.prefix)
    }

    /// The (writer, checkpoint) of a global transaction id under this sink's prefix.
    fn parse_gid(&self, gid: &str) -> Option<(u32, u64)> {
        let rest = gid.strip_prefix(&self.prefix)?.strip_prefix('-')?;
        let (writer, checkpoint) = rest.split_once('-')?;
        Some((writer.parse().ok()?, checkpoint.parse().ok()?))
    }

    /// Checks the server, makes the marker table and looks the table up (once).
    fn table(&self, client: &mut Client) -> Result<ResolvedTable, PostgresError> {
        let mut table = self.table.lock();
        if let Some(table) = &*table {
            return Ok(table.clone());
        }
        let statement_error = |what: &str, e: &postgres::Error| self.connection.statement_error(what, e);
        let row = client
            .query_one("SELECT current_setting('max_prepared_transactions')::int", &[])
            .map_err(|e| statement_error("reading max_prepared_transactions", &e))?;
        let max_prepared: i32 = row
            .try_get(0)
            .map_err(|e| statement_error("reading max_prepared_transactions", &e))?;
        if max_prepared == 0 {
            return Err(PostgresError::PreparedTransactionsDisabled {
                connector: self.connection.connector().to_string(),
                address: self.connection.address(),
            });
        }
        let create = format!(
            "CREATE TABLE IF NOT EXISTS {} (gid text PRIMARY KEY, sink text NOT NULL, writer integer NOT NULL, \
             checkpoint_id bigint NOT NULL, rows bigint NOT NULL, nonce bigint NOT NULL, \
             prepared_at timestamptz NOT NULL DEFAULT now())",
            self.marker_table
        );
        if let Err(e) = client.batch_execute(&create) {
            // Another process may have created it at the same moment.
            let raced = e.code() == Some(&SqlState::UNIQUE_VIOLATION) || e.code() == Some(&SqlState::DUPLICATE_TABLE);
            if !raced {
                return Err(statement_error(
                    &format!("creating the commit marker table {}", self.marker_table),
                    &e,
                ));
            }
        }
        let resolved = resolve(client, &self.connection, &self.spec, WriteMode::UpsertOrInsert)?;
        *table = Some(resolved.clone());
        Ok(resolved)
    }

    /// An idle connection, or a new one (retried as configured).
    fn connection(&self) -> Result<Connection, PostgresError> {
        loop {
            let Some(mut connection) = self.pool.lock().pop() else {
                break;
            };
            if !connection.client.is_closed() && connection.client.is_valid(Duration::from_secs(5)).is_ok() {
                return Ok(connection);
            }
        }
        let mut client = self.connection.connect()?;
        let table = self.table(&mut client)?;
        let write = table.prepare(&mut client, &self.connection)?;
        Ok(Connection { client, write })
    }

    fn give_back(&self, connection: Connection) {
        if !connection.client.is_closed() {
            self.pool.lock().push(connection);
        }
    }

    fn has_outstanding(&self, subtask: usize) -> bool {
        self.outstanding.lock().get(&subtask).is_some_and(|set| !set.is_empty())
    }

    /// Begins the transaction on a connection if not yet done; a connection found
    /// dead before anything was written in it is replaced.
    fn ensure_begun(&self, transaction: &mut OpenTransaction) -> Result<(), BoxError> {
        if transaction.begun {
            return Ok(());
        }
        let begin = format!(
            "BEGIN; SET LOCAL lock_timeout = '{}ms'",
            self.lock_timeout.as_millis().min(i32::MAX as u128)
        );
        let mut retries = 0;
        loop {
            let mut connection = match transaction.connection.take() {
                Some(connection) => connection,
                None => self.connection()?,
            };
            match connection.client.batch_execute(&begin) {
                Ok(()) => {
                    transaction.connection = Some(connection);
                    transaction.begun = true;
                    return Ok(());
                }
                Err(e) if is_connection_error(&e) && retries < self.connection.max_retries() => {
                    retries += 1;
                    std::thread::sleep(self.connection.backoff(retries));
                }
                Err(e) => return Err(self.connection.statement_error("beginning a transaction", &e).into()),
            }
        }
    }

    /// Writes the buffered rows into the open transaction. Any failure fails the
    /// job: the transaction is lost with its connection, and the job restarts from
    /// the last checkpoint.
    fn write_buffer(&self, transaction: &mut OpenTransaction) -> Result<(), BoxError> {
        if transaction.buffer.is_empty() {
            return Ok(());
        }
        self.ensure_begun(transaction)?;
        let table = transaction.table.as_ref().ok_or("the table was not looked up")?;
        table.dedupe(&mut transaction.buffer);
        let connection = transaction
            .connection
            .as_mut()
            .ok_or("the transaction has no connection")?;
        match table.write(&mut connection.client, &connection.write, &transaction.buffer) {
            Ok(_) => {
                transaction.rows += transaction.buffer.len() as u64;
                transaction.buffer.clear();
                Ok(())
            }
            Err(e) => {
                let what = format!(
                    "writing {} rows into {} in a transaction (the job restarts from its last checkpoint; \
                     nothing is lost)",
                    transaction.buffer.len(),
                    table.name
                );
                let mut error = self.connection.statement_error(what, &e).to_string();
                if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) {
                    error.push_str(&format!(
                        "; a row stayed locked by another transaction for longer than sink.lock-timeout ({:?}): \
                         write each key from one subtask (key the stream by the table's key before the sink)",
                        self.lock_timeout
                    ));
                }
                transaction.connection = None;
                Err(error.into())
            }
        }
    }

    /// Upsert mode, at a barrier while this subtask still has prepared transactions
    /// (their checkpoint was aborted, or its completion not yet handled): their
    /// rows are locked, and writing the same keys now would wait for a commit that
    /// only this subtask can make after this barrier. So they are committed now,
    /// ahead of their checkpoint (their later commit finds them committed). The
    /// effect stays exactly once for deterministic upserts: should the job restore
    /// an earlier checkpoint, the replay writes the same values again.
    fn commit_own_early(&self, context: &TransactionContext, transaction: &OpenTransaction) -> Result<(), BoxError> {
        let keyed = transaction.table.as_ref().is_some_and(|t| !t.key.is_empty());
        if !keyed || transaction.begun {
            return Ok(());
        }
        let own: Vec<String> = match self.outstanding.lock().get(&context.info.index) {
            Some(set) if !set.is_empty() => set.iter().cloned().collect(),
            _ => return Ok(()),
        };
        let mut connection = self.connection()?;
        for gid in own {
            match connection
                .client
                .batch_execute(&format!("COMMIT PREPARED {}", quote_literal(&gid)))
            {
                // Gone: committed or rolled back meanwhile; its commit tells which.
                Ok(()) => {}
                Err(e) if e.code() == Some(&SqlState::UNDEFINED_OBJECT) => {}
                Err(e) => {
                    return Err(self
                        .connection
                        .statement_error(
                            format!("committing prepared transaction '{gid}' ahead of its checkpoint"),
                            &e,
                        )
                        .into())
                }
            }
            tracing::info!(
                "{}: committed '{gid}' ahead of its checkpoint (subtask {} needs its rows unlocked)",
                self.connection.connector(),
                context.info.index
            );
            for set in self.outstanding.lock().values_mut() {
                set.remove(&gid);
            }
        }
        self.give_back(connection);
        Ok(())
    }

    /// Whether the marker of `gid` is visible (its transaction committed).
    fn marker_visible(&self, client: &mut Client, pending: &PreparedTransaction) -> Result<bool, postgres::Error> {
        let sql = format!("SELECT 1 FROM {} WHERE gid = $1 AND nonce = $2", self.marker_table);
        Ok(client.query_opt(&sql, &[&pending.gid, &pending.nonce])?.is_some())
    }

    /// The gids of this sink's prepared transactions.
    fn prepared(&self, client: &mut Client) -> Result<Vec<String>, postgres::Error> {
        let rows = client.query(
            "SELECT gid FROM pg_prepared_xacts WHERE database = current_database() AND starts_with(gid, $1)",
            &[&format!("{}-", self.prefix)],
        )?;
        rows.iter().map(|row| row.try_get(0)).collect()
    }

    /// The prepared transactions of this sink now on the server, as (writer,
    /// checkpoint, gid), sorted.
    pub fn prepared_transactions(&self) -> Result<Vec<(u32, u64, String)>, PostgresError> {
        let mut connection = self.connection()?;
        let gids = self
            .prepared(&mut connection.client)
            .map_err(|e| self.connection.statement_error("listing prepared transactions", &e))?;
        self.give_back(connection);
        let mut found: Vec<(u32, u64, String)> = gids
            .into_iter()
            .filter_map(|gid| self.parse_gid(&gid).map(|(w, c)| (w, c, gid)))
            .collect();
        found.sort();
        Ok(found)
    }
}

impl<T: Send + 'static> TransactionalSink<T> for PostgresTransactionalSink<T> {
    type Transaction = OpenTransaction;
    type Pending = PreparedTransaction;

    fn begin(&self, _context: &TransactionContext) -> Result<OpenTransaction, BoxError> {
        Ok(OpenTransaction {
            connection: None,
            begun: false,
            buffer: Vec::new(),
            rows: 0,
            table: None,
        })
    }

    fn write(
        &self,
        context: &TransactionContext,
        transaction: &mut OpenTransaction,
        value: T,
        _timestamp: Option<i64>,
    ) -> Result<(), BoxError> {
        let table = match &transaction.table {
            Some(table) => table,
            None => {
                // Look the table up (and check the server) before the first row.
                let connection = self.connection()?;
                transaction.connection = Some(connection);
                let table = self.table.lock().clone().ok_or("the table was not looked up")?;
                transaction.table.insert(table)
            }
        };
        let mut changes = Vec::with_capacity(1);
        self.mapper.changes_of(&value, &table.column_names, &mut changes)?;
        for change in changes {
            match change {
                RowChange::Upsert(row) => transaction.buffer.push(row),
                RowChange::Delete(_) => {
                    return Err(self
                        .connection
                        .config_error("the exactly-once sink does not delete rows: use the upsert sink")
                        .into())
                }
            }
        }
        if transaction.buffer.len() >= self.max_rows && !self.has_outstanding(context.info.index) {
            self.write_buffer(transaction)?;
        }
        Ok(())
    }

    fn pre_commit(
        &self,
        context: &TransactionContext,
        mut transaction: OpenTransaction,
        checkpoint_id: u64,
    ) -> Result<Option<PreparedTransaction>, BoxError> {
        if transaction.buffer.is_empty() && !transaction.begun {
            if let Some(connection) = transaction.connection.take() {
                self.give_back(connection);
            }
            return Ok(None);
        }
        self.commit_own_early(context, &transaction)?;
        self.write_buffer(&mut transaction)?;
        let writer = u32::try_from(context.info.index).map_err(|_| "subtask index beyond u32")?;
        let gid = self.gid(writer, checkpoint_id);
        let mut connection = transaction
            .connection
            .take()
            .ok_or("the transaction has no connection")?;
        let client = &mut connection.client;
        // A marker of an earlier job with the same gid is replaced (in this
        // transaction, so only if it commits).
        let marker = format!(
            "INSERT INTO {} (gid, sink, writer, checkpoint_id, rows, nonce) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (gid) DO UPDATE SET sink = EXCLUDED.sink, writer = EXCLUDED.writer, \
             checkpoint_id = EXCLUDED.checkpoint_id, rows = EXCLUDED.rows, nonce = EXCLUDED.nonce, prepared_at = now()",
            self.marker_table
        );
        let nonce = nonce(&gid);
        let expired = format!(
            "DELETE FROM {} WHERE sink = $1 AND writer = $2 AND checkpoint_id < $3",
            self.marker_table
        );
        let writer_i32 = i32::try_from(writer).map_err(|_| "subtask index beyond i32")?;
        let checkpoint_i64 = i64::try_from(checkpoint_id).map_err(|_| "checkpoint id beyond i64")?;
        let rows_i64 = i64::try_from(transaction.rows).unwrap_or(i64::MAX);
        let oldest_kept = checkpoint_i64.saturating_sub(i64::try_from(self.marker_retention).unwrap_or(i64::MAX));
        let prepared = client
            .execute(
                &marker,
                &[&gid, &self.prefix, &writer_i32, &checkpoint_i64, &rows_i64, &nonce],
            )
            .and_then(|_| client.execute(&expired, &[&self.prefix, &writer_i32, &oldest_kept]))
            .and_then(|_| client.batch_execute(&format!("PREPARE TRANSACTION {}", quote_literal(&gid))));
        if let Err(e) = prepared {
            // The transaction is rolled back with its connection (or, if PREPARE
            // went through unseen, by the clean-up after the restart).
            return Err(self
                .connection
                .statement_error(
                    format!(
                        "preparing transaction '{gid}' at checkpoint {checkpoint_id} (the job restarts from its \
                         last checkpoint; nothing is lost)"
                    ),
                    &e,
                )
                .into());
        }
        self.give_back(connection);
        self.outstanding
            .lock()
            .entry(context.info.index)
            .or_default()
            .insert(gid.clone());
        Ok(Some(PreparedTransaction {
            gid,
            writer,
            checkpoint: checkpoint_id,
            rows: transaction.rows,
            nonce,
        }))
    }

    fn commit(&self, _context: &TransactionContext, pending: &PreparedTransaction) -> Result<(), BoxError> {
        let mut retries = 0;
        loop {
            let mut connection = self.connection()?;
            let result = connection
                .client
                .batch_execute(&format!("COMMIT PREPARED {}", quote_literal(&pending.gid)));
            let outcome = match result {
                Ok(()) => Ok(true),
                // Not prepared (any more): committed before if its marker is
                // visible, else rolled back.
                Err(e) if e.code() == Some(&SqlState::UNDEFINED_OBJECT) => {
                    self.marker_visible(&mut connection.client, pending)
                }
                Err(e) => Err(e),
            };
            match outcome {
                Ok(true) => {
                    self.give_back(connection);
                    for set in self.outstanding.lock().values_mut() {
                        set.remove(&pending.gid);
                    }
                    return Ok(());
                }
                Ok(false) => {
                    return Err(PostgresError::TransactionLost {
                        connector: self.connection.connector().to_string(),
                        address: self.connection.address(),
                        gid: pending.gid.clone(),
                        checkpoint: pending.checkpoint,
                    }
                    .into())
                }
                Err(e) if is_connection_error(&e) && retries < self.connection.max_retries() => {
                    retries += 1;
                    tracing::warn!(
                        "{} at {}: connection lost committing '{}' ({}); retrying",
                        self.connection.connector(),
                        self.connection.address(),
                        pending.gid,
                        describe(&e)
                    );
                    std::thread::sleep(self.connection.backoff(retries));
                }
                Err(e) => {
                    return Err(self
                        .connection
                        .statement_error(
                            format!(
                                "committing prepared transaction '{}' (checkpoint {})",
                                pending.gid, pending.checkpoint
                            ),
                            &e,
                        )
                        .into())
                }
            }
        }
    }

    fn abort(&self, _context: &TransactionContext, mut transaction: OpenTransaction) -> Result<(), BoxError> {
        if let Some(mut connection) = transaction.connection.take() {
            if transaction.begun {
                // A failed rollback closes the connection, which rolls back too.
                if connection.client.batch_execute("ROLLBACK").is_err() {
                    return Ok(());
                }
            }
            self.give_back(connection);
        }
        Ok(())
    }

    fn clean_up(&self, context: &TransactionContext) -> Result<(), BoxError> {
        // What this subtask prepared in an earlier attempt of this process is
        // resolved now: committed from the restored checkpoint, or rolled back by
        // the clean-up of the subtask that owns its writer.
        self.outstanding.lock().remove(&context.info.index);
        let mut connection = self.connection()?;
        let gids = self
            .prepared(&mut connection.client)
            .map_err(|e| self.connection.statement_error("listing prepared transactions", &e))?;
        let parallelism = context.info.parallelism.max(1);
        let mut rolled_back = Vec::new();
        for gid in gids {
            let Some((writer, _checkpoint)) = self.parse_gid(&gid) else {
                continue;
            };
            if writer as usize % parallelism != context.info.index {
                continue;
            }
            match connection
                .client
                .batch_execute(&format!("ROLLBACK PREPARED {}", quote_literal(&gid)))
            {
                Ok(()) => rolled_back.push(gid),
                // Gone meanwhile (committed or rolled back by someone else).
                Err(e) if e.code() == Some(&SqlState::UNDEFINED_OBJECT) => {}
                Err(e) => {
                    return Err(self
                        .connection
                        .statement_error(format!("rolling back leftover prepared transaction '{gid}'"), &e)
                        .into())
                }
            }
        }
        if !rolled_back.is_empty() {
            tracing::info!(
                "{} at {}: rolled back {} prepared transaction(s) of earlier runs that no checkpoint covers: {:?}",
                self.connection.connector(),
                self.connection.address(),
                rolled_back.len(),
                rolled_back
            );
        }
        self.give_back(connection);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gids_are_deterministic_and_parse_back() {
        let builder =
            PostgresSinkBuilder::<u32>::new(ConnectionOptions::new("postgres://u@h/d", "t").unwrap(), "orders");
        let connection = builder.connection.clone();
        let sink =
            PostgresTransactionalSink::new(builder, connection, RowMapper::new(|v: &u32| vec![(*v).into()])).unwrap();
        assert_eq!(sink.gid(3, 17), "weir-orders-3-17");
        assert_eq!(sink.parse_gid("weir-orders-3-17"), Some((3, 17)));
        assert_eq!(sink.parse_gid("weir-orders-x-3-17"), None);
        assert_eq!(sink.parse_gid("weir-orders2-3-17"), None);
        assert_eq!(quote_literal("a'b"), "'a''b'");
    }
}
