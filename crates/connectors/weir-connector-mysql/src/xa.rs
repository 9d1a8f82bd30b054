//! The exactly-once sink: XA two-phase commit on MySQL/MariaDB.
//!
//! Each checkpoint interval's rows of one writer form one XA transaction whose
//! id (gid) is deterministic: `weir.<sink id>.<writer index>.<checkpoint id>`.
//! At the checkpoint barrier the writer runs `XA START`, the batched upserts, an
//! insert of a *commit marker* row (the gid) into the marker table, `XA END` and
//! `XA PREPARE`; the gid is stored in the checkpoint. When the checkpoint
//! completes, `XA COMMIT` makes the rows visible.
//!
//! A prepared XA transaction survives the client's disconnect and a server
//! restart (checked on MariaDB 10.11: another connection lists it in
//! `XA RECOVER` and commits it), so after a crash the restored job commits the
//! gids of its newest completed checkpoint from a new connection. The commit is
//! idempotent: a gid that `XA COMMIT` no longer knows (`XAER_NOTA`) was either
//! committed or rolled back, and the marker row, written in the same transaction,
//! tells which: present means committed (nothing to do), absent means rolled
//! back, which is an error (the rows of a completed checkpoint are lost; only
//! someone else's `XA ROLLBACK` can cause it).
//!
//! After a restore, `clean_up` rolls back the prepared gids of this sink that no
//! completed checkpoint covers (the restored ones were committed just before),
//! only those of writers `w` with `w % parallelism == index`, so that a restore at
//! another parallelism never rolls back what another subtask is committing.
//!
//! The rows of an interval are held in memory until the barrier (the gid names
//! the checkpoint, which is known only then) and sent in batched multi-row
//! statements inside the transaction. A prepared transaction holds its row locks
//! until it commits: a later checkpoint's transaction that writes the same keys
//! waits for that commit.

use crate::connection::{codes, quote_ident, server_code, MySqlConfig};
use crate::error::MySqlError;
use crate::upsert::{Row, RowFn, Target};
use mysql::prelude::Queryable;
use mysql::Conn;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use weir_connector_api::transactional::{TransactionContext, TransactionalSink};
use weir_connector_api::BoxError;

/// The default table of commit markers.
pub const DEFAULT_MARKER_TABLE: &str = "weir_xa_commits";

/// A pre-committed (prepared) XA transaction, as stored in checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct XaPending {
    /// The XA transaction id.
    pub gid: String,
    /// The writer (subtask index) that prepared it.
    pub writer: u32,
    /// The checkpoint whose barrier prepared it.
    pub checkpoint_id: u64,
}

/// The rows of one writer since its last checkpoint barrier.
pub struct XaTransaction {
    rows: Vec<Row>,
}

/// What `XA COMMIT` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitOutcome {
    /// Committed now.
    Committed,
    /// Committed before (the marker row is there).
    AlreadyCommitted,
    /// Rolled back (no marker row).
    RolledBack,
}

/// An exactly-once sink through XA transactions; wrap it in
/// [`ExactlyOnce`](weir_connector_api::transactional::ExactlyOnce).
pub struct MySqlXaSink<T> {
    config: MySqlConfig,
    target: Target,
    to_row: RowFn<T>,
    max_rows: usize,
    sink_id: String,
    marker_table: String,
    pool: Mutex<Vec<Conn>>,
    tables_ready: AtomicBool,
    /// Gids prepared by this sink object and not yet committed, with the job
    /// attempt that prepared them.
    prepared_here: Mutex<HashMap<String, u32>>,
}

impl<T> MySqlXaSink<T> {
    /// Writes the values of `columns` that `to_row` makes of each record into
    /// `table`, exactly once; `sink_id` (letters, digits, `_`, `-`; at most 32)
    /// names this sink's XA transactions and must be unique among the sinks
    /// writing to the same server.
    pub fn new(
        config: MySqlConfig,
        sink_id: &str,
        table: impl Into<String>,
        columns: &[&str],
        to_row: impl Fn(&T) -> Row + Send + Sync + 'static,
    ) -> Result<Self, MySqlError> {
        let valid = !sink_id.is_empty()
            && sink_id.len() <= 32
            && sink_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            return Err(MySqlError::Config {
                connector: config.connector.clone(),
                reason: format!("sink id '{sink_id}' must be 1 to 32 letters, digits, '_' or '-'"),
            });
        }
        Ok(MySqlXaSink {
            config,
            target: Target {
                table: table.into(),
                columns: columns.iter().map(|c| c.to_string()).collect(),
            },
            to_row: Arc::new(to_row),
            max_rows: 500,
            sink_id: sink_id.to_string(),
            marker_table: DEFAULT_MARKER_TABLE.to_string(),
            pool: Mutex::new(Vec::new()),
            tables_ready: AtomicBool::new(false),
            prepared_here: Mutex::new(HashMap::new()),
        })
    }

    /// Rows per multi-row statement inside a transaction (default 500).
    pub fn with_max_rows(mut self, rows: usize) -> Self {
        self.max_rows = rows.max(1);
        self
    }

    /// The table of commit markers (default `weir_xa_commits`, created if
    /// missing). It keeps one small row per committed transaction; rows of
    /// checkpoints older than the retained ones may be deleted.
    pub fn with_marker_table(mut self, table: impl Into<String>) -> Self {
        self.marker_table = table.into();
        self
    }

    /// The gid of writer `writer`'s transaction at checkpoint `checkpoint_id`.
    pub fn gid(&self, writer: u32, checkpoint_id: u64) -> String {
        format!("weir.{}.{writer}.{checkpoint_id}", self.sink_id)
    }

    /// The writer index of one of this sink's gids.
    fn writer_of(&self, gid: &str) -> Option<u32> {
        self.parse_gid(gid).map(|(writer, _)| writer)
    }

    /// The writer index and checkpoint id of one of this sink's gids.
    fn parse_gid(&self, gid: &str) -> Option<(u32, u64)> {
        let rest = gid
            .strip_prefix("weir.")?
            .strip_prefix(self.sink_id.as_str())?
            .strip_prefix('.')?;
        let (writer, checkpoint) = rest.split_once('.')?;
        Some((writer.parse().ok()?, checkpoint.parse().ok()?))
    }

    /// Runs `op` on a pooled connection, as [`MySqlConfig::with_retries`] does.
    fn with_conn<R>(
        &self,
        what: &str,
        table: Option<&str>,
        op: impl FnMut(&mut Conn) -> Result<R, mysql::Error>,
    ) -> Result<R, MySqlError> {
        let mut conn = self.pool.lock().ok().and_then(|mut p| p.pop());
        let result = self.config.with_retries(&mut conn, what, table, op);
        if let (Ok(_), Some(conn)) = (&result, conn) {
            if let Ok(mut pool) = self.pool.lock() {
                pool.push(conn);
            }
        }
        result
    }

    /// Checks the target table and creates the marker table if missing.
    pub fn prepare_tables(&self) -> Result<(), MySqlError> {
        let create = format!(
            "CREATE TABLE IF NOT EXISTS {} (gid VARCHAR(64) NOT NULL PRIMARY KEY, sink VARCHAR(32) NOT NULL, \
             writer INT NOT NULL, checkpoint_id BIGINT NOT NULL, \
             committed_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP) ENGINE = InnoDB",
            quote_ident(&self.marker_table)
        );
        self.with_conn("creating the marker table", None, |conn| conn.query_drop(&create))?;
        let check = format!("SELECT 1 FROM {} LIMIT 0", quote_ident(&self.target.table));
        self.with_conn("checking the table", Some(&self.target.table), |conn| {
            conn.query_drop(&check)
        })
    }

    /// This sink's prepared (not yet committed or rolled back) gids.
    pub fn prepared_gids(&self) -> Result<Vec<String>, MySqlError> {
        let all = self.with_conn("listing prepared XA transactions", None, |conn| {
            conn.query::<(i64, i64, i64, Vec<u8>), _>("XA RECOVER")
        })?;
        Ok(all
            .into_iter()
            .filter_map(|(_, _, _, data)| String::from_utf8(data).ok())
            .filter(|gid| self.writer_of(gid).is_some())
            .collect())
    }

    /// Commits a prepared transaction; idempotent (see the module documentation).
    pub fn commit_gid(&self, gid: &str) -> Result<CommitOutcome, MySqlError> {
        let commit = format!("XA COMMIT '{gid}'");
        let marker = format!("SELECT 1 FROM {} WHERE gid = ?", quote_ident(&self.marker_table));
        self.with_conn(&format!("committing XA transaction '{gid}'"), None, |conn| {
            match conn.query_drop(&commit) {
                Ok(()) => Ok(CommitOutcome::Committed),
                Err(e) if server_code(&e) == Some(codes::XAER_NOTA) => {
                    let found: Option<u8> = conn.exec_first(&marker, (gid,))?;
                    Ok(match found {
                        Some(_) => CommitOutcome::AlreadyCommitted,
                        None => CommitOutcome::RolledBack,
                    })
                }
                Err(e) => Err(e),
            }
        })
    }

    /// Rolls back a prepared transaction (an unknown gid is not an error).
    pub fn rollback_gid(&self, gid: &str) -> Result<(), MySqlError> {
        let rollback = format!("XA ROLLBACK '{gid}'");
        self.with_conn(
            &format!("rolling back XA transaction '{gid}'"),
            None,
            |conn| match conn.query_drop(&rollback) {
                Err(e) if server_code(&e) == Some(codes::XAER_NOTA) => Ok(()),
                other => other,
            },
        )
    }

    /// Prepares `rows` as the transaction `pending`.
    fn prepare(&self, pending: &XaPending, rows: &[Row]) -> Result<(), MySqlError> {
        let gid = &pending.gid;
        let marker = format!(
            "INSERT INTO {} (gid, sink, writer, checkpoint_id) VALUES (?, ?, ?, ?) \
             ON DUPLICATE KEY UPDATE committed_at = CURRENT_TIMESTAMP",
            quote_ident(&self.marker_table)
        );
        let what = format!(
            "preparing XA transaction '{gid}' ({} row(s) into '{}')",
            rows.len(),
            self.target.table
        );
        self.ensure_tables()?;
        let mut attempt = 0;
        // A fresh connection: after XA PREPARE, MariaDB keeps the prepared
        // transaction attached to its session until the session ends, so the
        // connection cannot be used for anything else afterwards.
        let mut conn = None;
        let result = self
            .config
            .with_retries(&mut conn, &what, Some(&self.target.table), |conn| {
                attempt += 1;
                if attempt > 1 {
                    // The connection was lost: an unprepared XA transaction is
                    // rolled back with it, but PREPARE may have gone through.
                    let prepared = conn.query::<(i64, i64, i64, Vec<u8>), _>("XA RECOVER")?;
                    if prepared.iter().any(|(_, _, _, data)| data == gid.as_bytes()) {
                        return Ok(());
                    }
                }
                if let Err(e) = conn.query_drop(format!("XA START '{gid}'")) {
                    if server_code(&e) != Some(codes::XAER_DUPID) {
                        return Err(e);
                    }
                    // A transaction of this gid is prepared already: a task of
                    // an earlier attempt that went on after its failover (only
                    // this writer may use the gid now). Roll it back, start over.
                    tracing::info!(connector = %self.config.connector, "rolling back the stale XA transaction '{gid}'");
                    match conn.query_drop(format!("XA ROLLBACK '{gid}'")) {
                        Err(e) if server_code(&e) != Some(codes::XAER_NOTA) => return Err(e),
                        _ => {}
                    }
                    conn.query_drop(format!("XA START '{gid}'"))?;
                }
                self.target.write(conn, rows, self.max_rows)?;
                conn.exec_drop(&marker, (gid, &self.sink_id, pending.writer, pending.checkpoint_id))?;
                conn.query_drop(format!("XA END '{gid}'"))?;
                conn.query_drop(format!("XA PREPARE '{gid}'"))
            });
        // Closing the connection detaches the prepared transaction (or, after a
        // failure, rolls back the unprepared one).
        drop(conn);
        result
    }

    /// After this attempt committed its transaction of checkpoint `checkpoint_id`:
    /// rolls back the prepared gids of this subtask's writers (the rescale rule)
    /// up to that checkpoint that this attempt did not prepare. They are left by
    /// tasks of an earlier attempt that were still preparing after the failover
    /// and its `clean_up`; no checkpoint covers them. (Not called while committing
    /// restored transactions, which this attempt did not prepare either.)
    fn sweep(&self, context: &TransactionContext, checkpoint_id: u64) -> Result<(), MySqlError> {
        let parallelism = context.info.parallelism.max(1);
        for gid in self.prepared_gids()? {
            let Some((writer, checkpoint)) = self.parse_gid(&gid) else {
                continue;
            };
            if writer as usize % parallelism != context.info.index || checkpoint > checkpoint_id {
                continue;
            }
            let ours = self
                .prepared_here
                .lock()
                .ok()
                .and_then(|p| p.get(&gid).copied())
                .is_some_and(|attempt| attempt == context.info.attempt);
            if !ours {
                tracing::info!(connector = %self.config.connector, "rolling back the stale XA transaction '{gid}'");
                self.rollback_gid(&gid)?;
            }
        }
        Ok(())
    }

    /// [`prepare_tables`](Self::prepare_tables), once per sink.
    fn ensure_tables(&self) -> Result<(), MySqlError> {
        if self.tables_ready.load(Ordering::Acquire) {
            return Ok(());
        }
        self.prepare_tables()?;
        self.tables_ready.store(true, Ordering::Release);
        Ok(())
    }
}

impl<T: Send + 'static> TransactionalSink<T> for MySqlXaSink<T> {
    type Transaction = XaTransaction;
    type Pending = XaPending;

    fn begin(&self, _context: &TransactionContext) -> Result<XaTransaction, BoxError> {
        Ok(XaTransaction { rows: Vec::new() })
    }

    fn write(
        &self,
        _context: &TransactionContext,
        transaction: &mut XaTransaction,
        value: T,
        _timestamp: Option<i64>,
    ) -> Result<(), BoxError> {
        let row = (self.to_row)(&value);
        self.target.check_row(&self.config.connector, &row)?;
        transaction.rows.push(row);
        Ok(())
    }

    fn pre_commit(
        &self,
        context: &TransactionContext,
        transaction: XaTransaction,
        checkpoint_id: u64,
    ) -> Result<Option<XaPending>, BoxError> {
        if transaction.rows.is_empty() {
            return Ok(None);
        }
        let writer = u32::try_from(context.info.index)?;
        let pending = XaPending {
            gid: self.gid(writer, checkpoint_id),
            writer,
            checkpoint_id,
        };
        self.prepare(&pending, &transaction.rows)?;
        if let Ok(mut prepared) = self.prepared_here.lock() {
            prepared.insert(pending.gid.clone(), context.info.attempt);
        }
        Ok(Some(pending))
    }

    fn commit(&self, context: &TransactionContext, pending: &XaPending) -> Result<(), BoxError> {
        match self.commit_gid(&pending.gid)? {
            CommitOutcome::Committed | CommitOutcome::AlreadyCommitted => {
                let prepared_in_this_attempt = self
                    .prepared_here
                    .lock()
                    .ok()
                    .and_then(|mut p| p.remove(&pending.gid))
                    .is_some_and(|attempt| attempt == context.info.attempt);
                if prepared_in_this_attempt {
                    self.sweep(context, pending.checkpoint_id)?;
                }
                Ok(())
            }
            CommitOutcome::RolledBack => Err(MySqlError::RolledBack {
                connector: self.config.connector.clone(),
                address: self.config.address.clone(),
                gid: pending.gid.clone(),
                marker_table: self.marker_table.clone(),
            }
            .into()),
        }
    }

    fn abort(&self, _context: &TransactionContext, _transaction: XaTransaction) -> Result<(), BoxError> {
        // Nothing reached the server before the barrier.
        Ok(())
    }

    fn clean_up(&self, context: &TransactionContext) -> Result<(), BoxError> {
        self.ensure_tables()?;
        let parallelism = context.info.parallelism.max(1);
        for gid in self.prepared_gids()? {
            let Some(writer) = self.writer_of(&gid) else { continue };
            if writer as usize % parallelism == context.info.index {
                tracing::info!(
                    connector = %self.config.connector,
                    "rolling back XA transaction '{gid}', which no completed checkpoint covers"
                );
                self.rollback_gid(&gid)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gids_name_sink_writer_and_checkpoint() {
        let config = MySqlConfig::new("mysql sink 't'", "mysql://root@127.0.0.1:1/x").unwrap();
        let sink = MySqlXaSink::<u32>::new(config.clone(), "orders", "t", &["a"], |_| vec![]).unwrap();
        assert_eq!(sink.gid(3, 17), "weir.orders.3.17");
        assert_eq!(sink.writer_of("weir.orders.3.17"), Some(3));
        assert_eq!(sink.writer_of("weir.orders2.3.17"), None);
        assert_eq!(sink.writer_of("weir.orders.x.17"), None);
        assert!(MySqlXaSink::<u32>::new(config, "bad id'", "t", &["a"], |_| vec![]).is_err());
    }
}
