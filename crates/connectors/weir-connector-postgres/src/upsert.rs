//! The idempotent upsert sink: at-least-once delivery of batches of `INSERT ...
//! ON CONFLICT (key) DO UPDATE`, so replayed records after a failure overwrite
//! their rows with the same values (exactly-once effect for deterministic rows).

use crate::builder::PostgresSinkBuilder;
use crate::connection::ConnectionOptions;
use crate::error::is_connection_error;
use crate::table::{resolve, ResolvedTable, RowChange, RowMapper, TableSpec, WriteMode};
use crate::value::SqlValue;
use postgres::{Client, Statement};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_connector_api::sink::{Sink, SinkContext, SinkWriter};
use weir_connector_api::BoxError;

struct Settings<T> {
    connection: ConnectionOptions,
    spec: TableSpec,
    mapper: RowMapper<T>,
    max_rows: usize,
    flush_interval: Duration,
    max_retries: u32,
    mode: WriteMode,
}

/// The upsert sink (see [`PostgresSinkBuilder::upsert`]).
pub struct PostgresUpsertSink<T> {
    settings: Arc<Settings<T>>,
}

impl<T> PostgresUpsertSink<T> {
    pub(crate) fn new(builder: PostgresSinkBuilder<T>, connection: ConnectionOptions, mapper: RowMapper<T>) -> Self {
        PostgresUpsertSink {
            settings: Arc::new(Settings {
                connection,
                spec: builder.spec,
                mapper,
                max_rows: builder.max_rows,
                flush_interval: builder.flush_interval,
                max_retries: builder.max_retries,
                mode: if builder.insert_without_key {
                    WriteMode::UpsertOrInsert
                } else {
                    WriteMode::Upsert
                },
            }),
        }
    }
}

impl<T: Send + 'static> Sink<T> for PostgresUpsertSink<T> {
    fn create_writer(&self, _context: &SinkContext) -> Result<Box<dyn SinkWriter<T>>, BoxError> {
        let settings = self.settings.clone();
        // Connect now: a server that is down, wrong credentials or a missing table
        // fail the job at its start with the connector's error.
        let mut client = settings.connection.connect()?;
        let table = resolve(&mut client, &settings.connection, &settings.spec, settings.mode)?;
        let statements = Statements::prepare(&table, &mut client, &settings.connection)?;
        Ok(Box::new(UpsertWriter {
            settings,
            connection: Some((client, statements)),
            table,
            buffer: Vec::new(),
            oldest: None,
        }))
    }
}

/// The prepared statements of a connection.
struct Statements {
    write: Statement,
    delete: Option<Statement>,
}

impl Statements {
    fn prepare(table: &ResolvedTable, client: &mut Client, options: &ConnectionOptions) -> Result<Self, BoxError> {
        Ok(Statements {
            write: table.prepare(client, options)?,
            delete: table.prepare_delete(client, options)?,
        })
    }
}

/// Writes `changes` (deduplicated by key): the upserts in one statement, the
/// deletes in another (distinct keys, so their order does not matter).
fn write_changes(
    table: &ResolvedTable,
    client: &mut Client,
    statements: &Statements,
    changes: &[RowChange],
) -> Result<(), postgres::Error> {
    let mut upserts: Vec<&[SqlValue]> = Vec::with_capacity(changes.len());
    let mut deletes: Vec<&[SqlValue]> = Vec::new();
    for change in changes {
        match change {
            RowChange::Upsert(row) => upserts.push(row),
            RowChange::Delete(row) => deletes.push(row),
        }
    }
    if !upserts.is_empty() {
        table.write(client, &statements.write, &upserts)?;
    }
    if let Some(delete) = &statements.delete {
        if !deletes.is_empty() {
            table.delete(client, delete, &deletes)?;
        }
    }
    Ok(())
}

struct UpsertWriter<T> {
    settings: Arc<Settings<T>>,
    connection: Option<(Client, Statements)>,
    table: ResolvedTable,
    buffer: Vec<RowChange>,
    /// When the oldest buffered row arrived.
    oldest: Option<Instant>,
}

impl<T> UpsertWriter<T> {
    /// Writes the buffer; a lost connection is replaced and the batch written
    /// again (it is idempotent), up to `max_retries` times.
    fn write_buffer(&mut self) -> Result<(), BoxError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        self.table.dedupe_changes(&mut self.buffer);
        let settings = &self.settings;
        let mut retries = 0;
        loop {
            let (client, statements) = match &mut self.connection {
                Some(connection) => connection,
                None => {
                    let mut client = settings.connection.connect()?;
                    let statements = Statements::prepare(&self.table, &mut client, &settings.connection)?;
                    self.connection.insert((client, statements))
                }
            };
            match write_changes(&self.table, client, statements, &self.buffer) {
                Ok(_) => break,
                Err(e) if is_connection_error(&e) && retries < settings.max_retries => {
                    retries += 1;
                    tracing::warn!(
                        "{} at {}: connection lost while upserting {} rows ({}); reconnecting (retry {retries} of {})",
                        settings.connection.connector(),
                        settings.connection.address(),
                        self.buffer.len(),
                        crate::error::describe(&e),
                        settings.max_retries
                    );
                    self.connection = None;
                    std::thread::sleep(settings.connection.backoff(retries));
                }
                Err(e) => {
                    if is_connection_error(&e) {
                        self.connection = None;
                    }
                    return Err(settings
                        .connection
                        .statement_error(
                            format!("upserting {} rows into {}", self.buffer.len(), self.table.name),
                            &e,
                        )
                        .into());
                }
            }
        }
        self.buffer.clear();
        self.oldest = None;
        Ok(())
    }
}

impl<T: Send> SinkWriter<T> for UpsertWriter<T> {
    fn write(&mut self, value: T, _timestamp: Option<i64>) -> Result<(), BoxError> {
        let from = self.buffer.len();
        self.settings
            .mapper
            .changes_of(&value, &self.table.column_names, &mut self.buffer)?;
        if self.table.key.is_empty() && self.buffer[from..].iter().any(|c| matches!(c, RowChange::Delete(_))) {
            self.buffer.truncate(from);
            return Err(self
                .settings
                .connection
                .config_error(format!(
                    "cannot delete rows of {}: it has no key (a primary key, or sink.key-columns)",
                    self.table.name
                ))
                .into());
        }
        if self.buffer.len() == from {
            return Ok(());
        }
        self.oldest.get_or_insert_with(Instant::now);
        if self.buffer.len() >= self.settings.max_rows {
            self.write_buffer()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), BoxError> {
        if self
            .oldest
            .is_some_and(|at| at.elapsed() >= self.settings.flush_interval)
        {
            self.write_buffer()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), BoxError> {
        self.write_buffer()
    }

    fn snapshot_state(&mut self, _checkpoint_id: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        // Everything before the barrier is in the table before the checkpoint
        // counts: a restore replays only records after it.
        self.write_buffer()?;
        Ok(Vec::new())
    }
}
