//! The upsert sink: at-least-once delivery with an idempotent effect.
//!
//! Rows are buffered and written in batched multi-row
//! `INSERT ... ON DUPLICATE KEY UPDATE` statements: when the buffer holds
//! `max_rows` rows, when the task is idle and the flush interval has passed, and
//! always at a checkpoint barrier and at the end of the input. A row replayed
//! after a failure overwrites itself (the table's primary or unique key decides
//! which row it is), so the table ends as if each row were written once.

use crate::connection::{quote_ident, MySqlConfig};
use crate::error::MySqlError;
use mysql::prelude::Queryable;
use mysql::{Conn, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_connector_api::sink::{Sink, SinkContext, SinkWriter};
use weir_connector_api::BoxError;

/// One row: the values of the configured columns, in order.
pub type Row = Vec<Value>;

/// Turns a record into a row.
pub type RowFn<T> = Arc<dyn Fn(&T) -> Row + Send + Sync>;

/// Where rows go: a table and its columns.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) table: String,
    pub(crate) columns: Vec<String>,
}

impl Target {
    /// `INSERT INTO t (a, b) VALUES (?, ?), ... ON DUPLICATE KEY UPDATE a = VALUES(a), ...`
    fn statement(&self, rows: usize) -> String {
        let columns: Vec<String> = self.columns.iter().map(|c| quote_ident(c)).collect();
        let one = format!("({})", vec!["?"; columns.len()].join(", "));
        let updates: Vec<String> = columns.iter().map(|c| format!("{c} = VALUES({c})")).collect();
        format!(
            "INSERT INTO {} ({}) VALUES {} ON DUPLICATE KEY UPDATE {}",
            quote_ident(&self.table),
            columns.join(", "),
            vec![one; rows].join(", "),
            updates.join(", ")
        )
    }

    /// Writes `rows` in statements of at most `max_rows` rows (and 65 535
    /// placeholders).
    pub(crate) fn write(&self, conn: &mut Conn, rows: &[Row], max_rows: usize) -> Result<(), mysql::Error> {
        let per_statement = max_rows.clamp(1, (65_535 / self.columns.len().max(1)).max(1));
        for chunk in rows.chunks(per_statement) {
            let params: Vec<Value> = chunk.iter().flatten().cloned().collect();
            conn.exec_drop(self.statement(chunk.len()), params)?;
        }
        Ok(())
    }

    pub(crate) fn check_row(&self, connector: &str, row: &Row) -> Result<(), BoxError> {
        if row.len() != self.columns.len() {
            return Err(format!(
                "{connector}: a record gave {} value(s) for the {} column(s) {:?} of '{}'",
                row.len(),
                self.columns.len(),
                self.columns,
                self.table
            )
            .into());
        }
        Ok(())
    }
}

/// An at-least-once sink with an idempotent effect: batched upserts
/// (`INSERT ... ON DUPLICATE KEY UPDATE`), flushed at every checkpoint barrier.
pub struct MySqlUpsertSink<T> {
    config: MySqlConfig,
    target: Target,
    to_row: RowFn<T>,
    max_rows: usize,
    flush_interval: Duration,
}

impl<T> MySqlUpsertSink<T> {
    /// Upserts into `table` the values of `columns` that `to_row` makes of each
    /// record. The table needs a primary or unique key among `columns`, so that a
    /// replayed row replaces itself.
    pub fn new(
        config: MySqlConfig,
        table: impl Into<String>,
        columns: &[&str],
        to_row: impl Fn(&T) -> Row + Send + Sync + 'static,
    ) -> Self {
        MySqlUpsertSink {
            config,
            target: Target {
                table: table.into(),
                columns: columns.iter().map(|c| c.to_string()).collect(),
            },
            to_row: Arc::new(to_row),
            max_rows: 500,
            flush_interval: Duration::from_secs(1),
        }
    }

    /// Rows buffered before a batch is written (default 500; Flink JDBC's
    /// `sink.buffer-flush.max-rows`).
    pub fn with_max_rows(mut self, rows: usize) -> Self {
        self.max_rows = rows.max(1);
        self
    }

    /// How long rows may wait in the buffer while the task is idle (default 1 s;
    /// Flink JDBC's `sink.buffer-flush.interval`). Barriers always flush.
    pub fn with_flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = interval;
        self
    }
}

impl<T: Send + 'static> Sink<T> for MySqlUpsertSink<T> {
    fn create_writer(&self, _context: &SinkContext) -> Result<Box<dyn SinkWriter<T>>, BoxError> {
        let mut conn = self.config.connect()?;
        self.config.check_table(&mut conn, &self.target.table)?;
        Ok(Box::new(UpsertWriter {
            config: self.config.clone(),
            target: self.target.clone(),
            to_row: self.to_row.clone(),
            max_rows: self.max_rows,
            flush_interval: self.flush_interval,
            conn: Some(conn),
            buffer: Vec::new(),
            last_flush: Instant::now(),
        }))
    }
}

struct UpsertWriter<T> {
    config: MySqlConfig,
    target: Target,
    to_row: RowFn<T>,
    max_rows: usize,
    flush_interval: Duration,
    conn: Option<Conn>,
    buffer: Vec<Row>,
    last_flush: Instant,
}

impl<T> UpsertWriter<T> {
    fn write_buffer(&mut self) -> Result<(), MySqlError> {
        self.last_flush = Instant::now();
        if self.buffer.is_empty() {
            return Ok(());
        }
        let what = format!("upserting {} row(s) into '{}'", self.buffer.len(), self.target.table);
        let (target, rows, max_rows) = (&self.target, &self.buffer, self.max_rows);
        self.config
            .with_retries(&mut self.conn, &what, Some(&target.table), |conn| {
                target.write(conn, rows, max_rows)
            })?;
        self.buffer.clear();
        Ok(())
    }
}

impl<T: Send> SinkWriter<T> for UpsertWriter<T> {
    fn write(&mut self, value: T, _timestamp: Option<i64>) -> Result<(), BoxError> {
        let row = (self.to_row)(&value);
        self.target.check_row(&self.config.connector, &row)?;
        self.buffer.push(row);
        if self.buffer.len() >= self.max_rows {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_shape() {
        let target = Target {
            table: "totals".into(),
            columns: vec!["id".into(), "n".into()],
        };
        assert_eq!(
            target.statement(2),
            "INSERT INTO `totals` (`id`, `n`) VALUES (?, ?), (?, ?) ON DUPLICATE KEY UPDATE `id` = VALUES(`id`), `n` = VALUES(`n`)"
        );
    }
}
