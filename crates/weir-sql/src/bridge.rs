//! Tables from DataStreams and DataStreams from tables (Flink's
//! `fromDataStream`, `toDataStream`, `toChangelogStream`).
//!
//! A DataStream of a Rust type becomes a table whose columns are the type's fields:
//! the type's Arrow schema is traced from its serde implementation
//! ([`serde_arrow`]), records are collected into Arrow batches of up to
//! [`ROWS_PER_BATCH`] rows (a partial batch is sent before every watermark, every
//! checkpoint barrier, when output buffers are flushed and at the end of input, so
//! nothing waits and nothing is held across a checkpoint). The table is a
//! temporary table of the session (`connector` = `datastream`) that queries and
//! `INSERT`s of the same job read; [`StreamSchema`] adds what the type cannot say:
//! a column of each record's timestamp, computed columns, a watermark (or the
//! stream's own, `SOURCE_WATERMARK()`), a primary key.
//!
//! A query's result ([`Table`]) becomes a DataStream of a Rust type whose fields
//! are read from the result columns of the same names
//! ([`Table::to_data_stream`], insert-only results), or a stream of [`Change`]s
//! carrying each row's kind ([`Table::to_changelog_stream`], any result).

use std::any::type_name;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int8Array, RecordBatch, TimestampMillisecondArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, FieldRef, SchemaRef};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_arrow::schema::{SchemaLike, TracingOptions};
use weir_core::{Data, StreamRecord, Watermark, WatermarkStatus, NO_TIMESTAMP};
use weir_datastream::custom::{Input, Operator};
use weir_datastream::{Collector, DataStream, StreamExecutionEnvironment, StreamHandle};
use weir_runtime::failure::{fail, OperatorMeta};

use crate::batch::{kind_field, RowBatch, RowKind};
use crate::connector::ChangelogMode;
use crate::error::SqlError;
use crate::front::types::{flink_type_name, LTZ_TIME_ZONE};
use crate::front::TableDef;
use crate::job::PlannedQuery;

/// The `connector` option of tables made from DataStreams.
pub const DATASTREAM_CONNECTOR: &str = "datastream";

/// The most rows a batch made from a DataStream's records holds.
pub const ROWS_PER_BATCH: usize = 1024;

/// One change of a changelog stream: a row and what kind of change it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change<T> {
    /// `+I`, `-U`, `+U` or `-D`.
    pub kind: RowKind,
    /// The row.
    pub row: T,
}

impl<T> Change<T> {
    /// A change of `kind`.
    pub fn new(kind: RowKind, row: T) -> Self {
        Change { kind, row }
    }

    /// A `+I` change.
    pub fn insert(row: T) -> Self {
        Change::new(RowKind::Insert, row)
    }
}

/// What a table made from a DataStream has besides the columns of the stream's
/// type (Flink's `Schema` of `fromDataStream`).
#[derive(Debug, Clone, Default)]
pub struct StreamSchema {
    rowtime: Option<String>,
    clauses: Vec<String>,
}

impl StreamSchema {
    /// Only the columns of the stream's type.
    pub fn new() -> Self {
        StreamSchema::default()
    }

    /// Adds a `TIMESTAMP_LTZ(3)` column `name` holding each record's timestamp
    /// (NULL for records without one), after the type's columns: Flink's
    /// `columnByMetadata("rowtime", ...)`.
    pub fn record_timestamp(mut self, name: &str) -> Self {
        self.rowtime = Some(name.to_string());
        self
    }

    /// Whether the table has a column of the record timestamps.
    pub fn has_record_timestamp(&self) -> bool {
        self.rowtime.is_some()
    }

    /// Adds a computed column: `name AS expression` (SQL text over the other
    /// columns).
    pub fn column_by_expression(mut self, name: &str, expression: &str) -> Self {
        self.clauses.push(format!("`{name}` AS {expression}"));
        self
    }

    /// Declares `column` the event time, with watermarks computed by `expression`
    /// (SQL text, e.g. `ts - INTERVAL '1' SECOND`) or taken from the stream itself
    /// with `SOURCE_WATERMARK()`.
    pub fn watermark(mut self, column: &str, expression: &str) -> Self {
        self.clauses.push(format!("WATERMARK FOR `{column}` AS {expression}"));
        self
    }

    /// Declares the primary key (`PRIMARY KEY (...) NOT ENFORCED`).
    pub fn primary_key(mut self, columns: &[&str]) -> Self {
        let columns: Vec<String> = columns.iter().map(|c| format!("`{c}`")).collect();
        self.clauses
            .push(format!("PRIMARY KEY ({}) NOT ENFORCED", columns.join(", ")));
        self
    }
}

/// A DataStream bound to a table name for the queries of one job.
#[derive(Clone)]
pub struct StreamTable {
    /// The table's rows: its physical columns, the kind column last when the
    /// stream is a changelog.
    pub stream: StreamHandle<RowBatch>,
    /// Insert-only or retract.
    pub mode: ChangelogMode,
}

/// The tables made from DataStreams, by table name.
#[derive(Clone, Default)]
pub struct StreamTables {
    tables: HashMap<String, StreamTable>,
    /// Whether a table whose stream belongs to another environment reads nothing
    /// rather than being an error.
    placeholders: bool,
}

impl StreamTables {
    /// No tables.
    pub fn new() -> Self {
        StreamTables::default()
    }

    /// The table of that name.
    pub fn get(&self, name: &str) -> Option<&StreamTable> {
        self.tables.get(name)
    }

    /// Binds `table` to `name`.
    pub fn insert(&mut self, name: &str, table: StreamTable) {
        self.tables.insert(name.to_string(), table);
    }

    /// Forgets the table of that name.
    pub fn remove(&mut self, name: &str) -> Option<StreamTable> {
        self.tables.remove(name)
    }

    /// These tables for a job planned only to be explained (`EXPLAIN`), on an
    /// environment of its own: each reads nothing there.
    pub fn placeholders(&self) -> StreamTables {
        StreamTables {
            tables: self.tables.clone(),
            placeholders: true,
        }
    }

    /// The rows of table `def` for a job on `env`: the bound stream when it
    /// belongs to `env`; an empty stream of `env` for [`placeholders`](Self::placeholders);
    /// an error otherwise.
    pub(crate) fn rows(
        &self,
        env: &StreamExecutionEnvironment,
        def: &TableDef,
    ) -> Result<Option<(DataStream<RowBatch>, ChangelogMode)>, SqlError> {
        let Some(table) = self.tables.get(&def.name) else {
            return Ok(None);
        };
        if let Some(stream) = env.stream(&table.stream) {
            return Ok(Some((stream, table.mode)));
        }
        if self.placeholders {
            let stream = env
                .from_collection(Vec::<RowBatch>::new())
                .name(&format!("DataStream table {}", def.name));
            return Ok(Some((stream, table.mode)));
        }
        Err(SqlError::Plan(format!(
            "table '{}' is made from a DataStream of another job (another environment, or a job \
             already executed): a query can read it only in the job of that stream",
            def.name
        )))
    }
}

/// The Arrow fields of `T`'s serde form, in types Weir's SQL has: strings,
/// binaries and lists not `Large`, unsigned integers widened to signed ones
/// (`u64` as `BIGINT`), enums without data as strings.
pub fn fields_of<T: Serialize + DeserializeOwned>() -> Result<Vec<FieldRef>, SqlError> {
    let options = TracingOptions::default()
        .strings_as_large_utf8(false)
        .bytes_as_large_binary(false)
        .sequence_as_large_list(false)
        .enums_without_data_as_strings(true)
        .allow_null_fields(true);
    let fields = Vec::<FieldRef>::from_type::<T>(options).map_err(|e| {
        SqlError::Plan(format!(
            "the columns of {} cannot be derived from its serde form: {e}",
            type_name::<T>()
        ))
    })?;
    Ok(fields.iter().map(|f| Arc::new(sql_field(f))).collect())
}

fn sql_field(field: &Field) -> Field {
    field.clone().with_data_type(sql_type(field.data_type()))
}

fn sql_type(data_type: &DataType) -> DataType {
    match data_type {
        DataType::UInt8 => DataType::Int16,
        DataType::UInt16 => DataType::Int32,
        DataType::UInt32 | DataType::UInt64 => DataType::Int64,
        DataType::Float16 => DataType::Float32,
        DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
        DataType::Dictionary(_, value) => sql_type(value),
        DataType::LargeBinary | DataType::BinaryView => DataType::Binary,
        DataType::Struct(fields) => DataType::Struct(fields.iter().map(|f| sql_field(f)).collect()),
        DataType::List(item) | DataType::LargeList(item) => DataType::List(Arc::new(sql_field(item))),
        other => other.clone(),
    }
}

/// The `CREATE TEMPORARY TABLE` statement of a table `name` of columns `fields`
/// with `schema`'s additions.
pub(crate) fn table_ddl(name: &str, fields: &[FieldRef], schema: &StreamSchema) -> Result<String, SqlError> {
    if fields.is_empty() {
        return Err(SqlError::Plan(format!(
            "table '{name}': the stream's type has no fields (a struct with named fields makes the columns)"
        )));
    }
    let mut columns: Vec<String> = fields
        .iter()
        .map(|f| format!("`{}` {}", f.name(), flink_type_name(f.data_type(), f.is_nullable())))
        .collect();
    if let Some(rowtime) = &schema.rowtime {
        columns.push(format!("`{rowtime}` TIMESTAMP_LTZ(3)"));
    }
    columns.extend(schema.clauses.iter().cloned());
    Ok(format!(
        "CREATE TEMPORARY TABLE `{name}` ({}) WITH ('connector' = '{DATASTREAM_CONNECTOR}')",
        columns.join(", ")
    ))
}

/// Collects records of `I`, each a row of type `T` with its kind, into batches of
/// a table's physical columns.
struct RowsOf<I, T> {
    meta: OperatorMeta,
    /// The serde form of `T`.
    fields: Vec<FieldRef>,
    /// The table's physical columns (then the kind column for a changelog).
    schema: SchemaRef,
    /// Whether the last physical column is the record timestamp.
    rowtime: bool,
    /// Whether batches carry the kind column.
    changelog: bool,
    split: fn(I) -> (T, RowKind),
    rows: Vec<T>,
    kinds: Vec<i8>,
    times: Vec<Option<i64>>,
    _input: PhantomData<fn(I)>,
}

impl<I, T: Serialize> RowsOf<I, T> {
    fn batch(&mut self) -> Result<RecordBatch, SqlError> {
        let values = serde_arrow::to_record_batch(&self.fields, &self.rows)
            .map_err(|e| SqlError::Plan(format!("a {} as a row: {e}", type_name::<T>())))?;
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        for (column, field) in values.columns().iter().zip(self.schema.fields()) {
            columns.push(cast(column, field.data_type())?);
        }
        if self.rowtime {
            let times = TimestampMillisecondArray::from(std::mem::take(&mut self.times));
            columns.push(Arc::new(times.with_timezone(LTZ_TIME_ZONE)));
        }
        if self.changelog {
            columns.push(Arc::new(Int8Array::from(std::mem::take(&mut self.kinds))));
        }
        self.rows.clear();
        self.times.clear();
        self.kinds.clear();
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }

    fn emit(&mut self, out: &mut dyn Input<RowBatch>) {
        if self.rows.is_empty() {
            return;
        }
        match self.batch() {
            Ok(batch) => out.process(StreamRecord::new(RowBatch(batch))),
            Err(e) => fail(&self.meta, format!("records to rows: {e}")),
        }
    }
}

impl<I: Send, T: Serialize + Send> Operator<I, RowBatch> for RowsOf<I, T> {
    fn process(&mut self, record: StreamRecord<I>, out: &mut dyn Input<RowBatch>) {
        let (row, kind) = (self.split)(record.value);
        self.rows.push(row);
        if self.changelog {
            self.kinds.push(kind as i8);
        }
        if self.rowtime {
            self.times.push(Some(record.timestamp).filter(|t| *t != NO_TIMESTAMP));
        }
        if self.rows.len() >= ROWS_PER_BATCH {
            self.emit(out);
        }
    }

    fn watermark(&mut self, watermark: Watermark, out: &mut dyn Input<RowBatch>) {
        self.emit(out);
        out.process_watermark(watermark);
    }

    fn status(&mut self, status: WatermarkStatus, out: &mut dyn Input<RowBatch>) {
        self.emit(out);
        out.process_status(status);
    }

    fn end_input(&mut self, out: &mut dyn Input<RowBatch>) {
        self.emit(out);
    }

    fn flush(&mut self, out: &mut dyn Input<RowBatch>) {
        self.emit(out);
    }

    fn before_barrier(&mut self, _checkpoint_id: u64, out: &mut dyn Input<RowBatch>) {
        self.emit(out);
    }
}

/// `stream`'s records as batches of `def`'s physical columns (the kind column
/// last when `changelog`), each record split by `split` into its row and kind.
pub(crate) fn rows_of<I: Data, T: Serialize + Send + 'static>(
    stream: &DataStream<I>,
    def: &TableDef,
    fields: Vec<FieldRef>,
    rowtime: bool,
    changelog: bool,
    split: fn(I) -> (T, RowKind),
) -> DataStream<RowBatch> {
    let mut schema = def.schema.as_ref().clone();
    if changelog {
        let mut columns: Vec<FieldRef> = schema.fields().iter().cloned().collect();
        columns.push(Arc::new(kind_field()));
        schema = arrow::datatypes::Schema::new(columns);
    }
    let schema = Arc::new(schema);
    // At the stream's parallelism, chained to it: the records of a subtask stay
    // in their order (a changelog's changes of a row must).
    let rows = stream.transform(&format!("DataStream to table {}", def.name), move |ctx| {
        Ok(RowsOf {
            meta: ctx.meta.clone(),
            fields: fields.clone(),
            schema: schema.clone(),
            rowtime,
            changelog,
            split,
            rows: Vec::new(),
            kinds: Vec::new(),
            times: Vec::new(),
            _input: PhantomData,
        })
    });
    match stream.parallelism() {
        Some(parallelism) => rows.set_parallelism(parallelism),
        None => rows,
    }
}

/// A query's result, to be turned into a DataStream (Flink's `Table` of
/// `sqlQuery`).
pub struct Table {
    planned: PlannedQuery,
}

impl Table {
    pub(crate) fn new(planned: PlannedQuery) -> Self {
        Table { planned }
    }

    /// The result's columns.
    pub fn schema(&self) -> &SchemaRef {
        &self.planned.schema
    }

    /// What the result is: insert-only, or updates (retract).
    pub fn mode(&self) -> ChangelogMode {
        self.planned.mode
    }

    /// The planned query (its stream of batches, its optimized logical plan).
    pub fn planned(&self) -> &PlannedQuery {
        &self.planned
    }

    /// The result as Arrow batches (the kind column last when it is updating).
    pub fn to_row_batches(&self) -> DataStream<RowBatch> {
        self.planned.stream.clone()
    }

    /// An insert-only result as a stream of `T`, each field of `T` read from the
    /// result column of its name (columns `T` has no field for are ignored). An
    /// updating result is an error: use [`to_changelog_stream`](Self::to_changelog_stream).
    pub fn to_data_stream<T: Data>(&self) -> Result<DataStream<T>, SqlError> {
        if self.planned.mode != ChangelogMode::InsertOnly {
            return Err(SqlError::Plan(format!(
                "to_data_stream::<{}>: the query's result is updating ({} changelog); \
                 use to_changelog_stream",
                type_name::<T>(),
                self.planned.mode.name()
            )));
        }
        let columns = self.columns_for::<T>()?;
        let what = format!("to_data_stream::<{}>", type_name::<T>());
        Ok(self
            .planned
            .stream
            .process_fn(move |b: RowBatch, _, out: &mut Collector<'_, T>| {
                for row in read_rows::<T>(&b, &columns, &what)? {
                    out.collect(row);
                }
                Ok(())
            })
            .name("Table to DataStream"))
    }

    /// The result as a stream of changes of `T` (`+I` only for an insert-only
    /// result), fields read as by [`to_data_stream`](Self::to_data_stream).
    pub fn to_changelog_stream<T: Data>(&self) -> Result<DataStream<Change<T>>, SqlError> {
        let columns = self.columns_for::<T>()?;
        let what = format!("to_changelog_stream::<{}>", type_name::<T>());
        Ok(self
            .planned
            .stream
            .process_fn(move |b: RowBatch, _, out: &mut Collector<'_, Change<T>>| {
                let rows = read_rows::<T>(&b, &columns, &what)?;
                for (index, row) in rows.into_iter().enumerate() {
                    out.collect(Change::new(b.kind(index), row));
                }
                Ok(())
            })
            .name("Table to changelog stream"))
    }

    /// The result columns `T`'s fields are read from, by name: an error naming a
    /// field without a column of its name.
    fn columns_for<T: Data>(&self) -> Result<Vec<usize>, SqlError> {
        let schema = &self.planned.schema;
        let fields = fields_of::<T>()?;
        fields
            .iter()
            .map(|f| {
                schema.index_of(f.name()).map_err(|_| {
                    let names: Vec<&str> = schema.fields().iter().map(|c| c.name().as_str()).collect();
                    SqlError::Plan(format!(
                        "{}: field '{}' is not a column of the query's result ({})",
                        type_name::<T>(),
                        f.name(),
                        names.join(", ")
                    ))
                })
            })
            .collect()
    }
}

/// The rows of `batch` as `T`s, from the columns at `columns`.
fn read_rows<T: DeserializeOwned>(
    batch: &RowBatch,
    columns: &[usize],
    what: &str,
) -> Result<Vec<T>, weir_core::BoxError> {
    let projected = batch.batch().project(columns).map_err(|e| format!("{what}: {e}"))?;
    Ok(serde_arrow::from_record_batch::<Vec<T>>(&projected).map_err(|e| format!("{what}: {e}"))?)
}
