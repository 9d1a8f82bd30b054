//! How SQL tables meet connectors: a [`SqlSource`] turns a table into a stream of
//! [`RowBatch`]es of its physical columns, a [`SqlSink`] writes a query's result
//! stream into a table. Both are found by the table's `connector` option in a
//! [`SqlConnectors`] registry.

use crate::batch::RowBatch;
use crate::error::SqlError;
use crate::front::TableDef;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use weir_datastream::{DataStream, DataStreamSink, StreamExecutionEnvironment};

/// What a query's result stream carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangelogMode {
    /// Only `+I` rows (batches without the kind column).
    InsertOnly,
    /// `+I`, `-U`, `+U`, `-D` rows (batches with the kind column last).
    Retract,
    /// `+I`, `+U`, `-D` rows keyed by an upsert key (no `-U`).
    Upsert,
}

impl ChangelogMode {
    /// Short name for EXPLAIN and errors.
    pub fn name(self) -> &'static str {
        match self {
            ChangelogMode::InsertOnly => "insert-only",
            ChangelogMode::Retract => "retract",
            ChangelogMode::Upsert => "upsert",
        }
    }
}

/// Reads a table.
pub trait SqlSource: Send + Sync {
    /// The connector's name (`nexmark`, `datagen`, `filesystem`).
    fn name(&self) -> &'static str;

    /// The changelog the table's rows are. Insert-only (the default): batches of
    /// the table's columns. Retract (`debezium-json`): `+I`, `-U`, `+U`, `-D` rows,
    /// each batch with the kind column ([`KIND_COLUMN`](crate::batch::KIND_COLUMN))
    /// last. Upsert (`upsert-kafka`): `+I`/`+U`/`-D` rows keyed by the table's
    /// PRIMARY KEY, the kind column last, a `-D` needing only its key columns (the
    /// others may be null); the planner keeps the last row of each key to make
    /// the retract changelog operators downstream take (`ChangelogNormalize`).
    /// The changes of a key must come in order from one subtask of a stream at
    /// the job's parallelism (as a Kafka partition's), since the SQL operators
    /// after the source run at that parallelism and a stream of another one is
    /// redistributed round-robin. Errors for bad options, as
    /// [`create_source`](SqlSource::create_source).
    fn changelog_mode(&self, table: &TableDef) -> Result<ChangelogMode, SqlError> {
        let _ = table;
        Ok(ChangelogMode::InsertOnly)
    }

    /// A stream of the table's physical columns, only those at `projection` (indexes
    /// into `table.physical`, in that order) when given, followed by the kind
    /// column when the table is a changelog ([`changelog_mode`](SqlSource::changelog_mode)).
    /// Unknown or bad options are errors naming the table and the option.
    fn create_source(
        &self,
        env: &StreamExecutionEnvironment,
        table: &TableDef,
        projection: Option<&[usize]>,
    ) -> Result<DataStream<RowBatch>, SqlError>;

    /// As [`create_source`](SqlSource::create_source), told which fields of its
    /// struct (`ROW`) columns the query reads: a source may leave the others null
    /// (nullable fields only) instead of filling them. The default fills them all.
    fn create_pruned_source(
        &self,
        env: &StreamExecutionEnvironment,
        table: &TableDef,
        projection: Option<&[usize]>,
        reads: &ReadFields,
    ) -> Result<DataStream<RowBatch>, SqlError> {
        let _ = reads;
        self.create_source(env, table, projection)
    }
}

/// The fields of a table's struct columns a query reads, by column name. A column
/// read as a whole, or not mentioned, has all its fields read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadFields {
    whole: HashSet<String>,
    partial: HashMap<String, BTreeSet<String>>,
}

impl ReadFields {
    /// Every field of every column is read.
    pub fn all() -> Self {
        ReadFields::default()
    }

    /// Notes that `column` is read as a whole.
    pub fn read_whole(&mut self, column: &str) {
        self.whole.insert(column.to_string());
    }

    /// Notes that `column` is a struct column of which no field is read (yet).
    pub fn read_no_field(&mut self, column: &str) {
        self.partial.entry(column.to_string()).or_default();
    }

    /// Notes that `column.field` is read.
    pub fn read_field(&mut self, column: &str, field: &str) {
        self.partial
            .entry(column.to_string())
            .or_default()
            .insert(field.to_string());
    }

    /// Whether the query may read `column.field`.
    pub fn reads(&self, column: &str, field: &str) -> bool {
        if self.whole.contains(column) {
            return true;
        }
        self.partial.get(column).is_none_or(|fields| fields.contains(field))
    }
}

/// Writes into a table.
pub trait SqlSink: Send + Sync {
    /// The connector's name (`print`, `blackhole`, `filesystem`).
    fn name(&self) -> &'static str;

    /// The changelog modes the connector accepts, for the planning error when a
    /// query produces another.
    fn accepts(&self, table: &TableDef, mode: ChangelogMode) -> bool;

    /// Writes `input` (batches of the table's physical columns, plus the kind column
    /// unless `mode` is insert-only) into the table.
    fn create_sink(
        &self,
        table: &TableDef,
        input: DataStream<RowBatch>,
        mode: ChangelogMode,
    ) -> Result<DataStreamSink, SqlError>;
}

/// Loads a whole table for a lookup join: the table's physical columns, in batches.
pub type LookupLoad = Arc<dyn Fn() -> Result<Vec<arrow::array::RecordBatch>, SqlError> + Send + Sync>;

/// Reads a table for lookup joins (`JOIN t FOR SYSTEM_TIME AS OF b.proc_time AS s
/// ON ...`): as Flink's filesystem lookup source, each task of the join loads the
/// whole table when it starts and looks rows up in memory.
pub trait SqlLookupSource: Send + Sync {
    /// The connector's name (`filesystem`).
    fn name(&self) -> &'static str;

    /// Checks the table's options now (at planning) and returns what loads its rows,
    /// called by each task of the join when it starts (a failure then fails the job).
    fn lookup_loader(&self, table: &TableDef) -> Result<LookupLoad, SqlError>;
}

/// SQL connectors by name.
#[derive(Clone, Default)]
pub struct SqlConnectors {
    sources: BTreeMap<&'static str, Arc<dyn SqlSource>>,
    sinks: BTreeMap<&'static str, Arc<dyn SqlSink>>,
    lookups: BTreeMap<&'static str, Arc<dyn SqlLookupSource>>,
}

impl SqlConnectors {
    /// No connectors.
    pub fn new() -> Self {
        SqlConnectors::default()
    }

    /// Adds a source connector (replacing one of the same name).
    pub fn register_source(&mut self, source: Arc<dyn SqlSource>) {
        self.sources.insert(source.name(), source);
    }

    /// Adds a sink connector (replacing one of the same name).
    pub fn register_sink(&mut self, sink: Arc<dyn SqlSink>) {
        self.sinks.insert(sink.name(), sink);
    }

    /// Adds a lookup source connector (replacing one of the same name).
    pub fn register_lookup(&mut self, lookup: Arc<dyn SqlLookupSource>) {
        self.lookups.insert(lookup.name(), lookup);
    }

    /// The lookup source connector of `table`.
    pub fn lookup(&self, table: &TableDef) -> Result<&Arc<dyn SqlLookupSource>, SqlError> {
        let name = table.connector().unwrap_or_default();
        self.lookups.get(name).ok_or_else(|| SqlError::UnknownConnector {
            table: table.name.clone(),
            connector: name.to_string(),
            role: "lookup source",
            known: self.lookups.keys().map(|k| k.to_string()).collect(),
        })
    }

    /// The source connector of `table`.
    pub fn source(&self, table: &TableDef) -> Result<&Arc<dyn SqlSource>, SqlError> {
        let name = table.connector().unwrap_or_default();
        self.sources.get(name).ok_or_else(|| SqlError::UnknownConnector {
            table: table.name.clone(),
            connector: name.to_string(),
            role: "source",
            known: self.sources.keys().map(|k| k.to_string()).collect(),
        })
    }

    /// The sink connector of `table`.
    pub fn sink(&self, table: &TableDef) -> Result<&Arc<dyn SqlSink>, SqlError> {
        let name = table.connector().unwrap_or_default();
        self.sinks.get(name).ok_or_else(|| SqlError::UnknownConnector {
            table: table.name.clone(),
            connector: name.to_string(),
            role: "sink",
            known: self.sinks.keys().map(|k| k.to_string()).collect(),
        })
    }
}

/// `base`, or `base#2`, `base#3`, ... when an operator of `env` already has that uid:
/// a table read by several `INSERT`s of one job gets one source per read, each with
/// a uid of its own (stable across runs of the same script, so restores find them).
pub fn unique_uid(env: &StreamExecutionEnvironment, base: &str) -> String {
    let taken: std::collections::HashSet<String> = env
        .stream_graph("uids")
        .map(|g| g.nodes.into_iter().filter_map(|n| n.uid).collect())
        .unwrap_or_default();
    if !taken.contains(base) {
        return base.to_string();
    }
    (2..)
        .map(|n| format!("{base}#{n}"))
        .find(|uid| !taken.contains(uid))
        .unwrap_or_else(|| base.to_string())
}
