//! The `filesystem` SQL sink: a table's rows written as JSON lines into part
//! files of a directory, exactly once, through
//! [`weir_connector_filesystem`]'s [`FileSink`](weir_connector_filesystem::FileSink)
//! and its connector factory (so its option names and parsing are Flink's).
//!
//! ```sql
//! CREATE TABLE out (id BIGINT, name STRING, ts TIMESTAMP(3))
//! WITH ('connector' = 'filesystem', 'path' = 'file:///data/out', 'format' = 'json');
//! ```
//!
//! | option | default | meaning |
//! | --- | --- | --- |
//! | `path` | required | the directory of the part files (`/dir`, or `file:///dir`; created with the first part file) |
//! | `format` | required | `json` (insert-only queries) or `changelog-json` (any query) |
//! | `json.timestamp-format.standard` | `SQL` | `SQL` or `ISO-8601` (format `json`) |
//! | `changelog-json.timestamp-format.standard` | `SQL` | the same for `changelog-json` |
//! | `sink.rolling-policy.file-size` | `128MB` | close a part file at this size (checked after each batch of rows) |
//! | `sink.rolling-policy.rollover-interval` | `30 min` | close a part file at this age |
//! | `sink.rolling-policy.inactivity-interval` | off | close a part file that received nothing this long |
//!
//! Other options are errors naming them; `PARTITIONED BY` (and the
//! `partition.*`, `sink.partition-commit.*` options) are not supported yet.
//!
//! **Formats** ([`json_rows`](crate::json_rows)): `json` writes one object per
//! row, keys the table's column names (`{"id":1,"name":null,"ts":"2015-07-15
//! 00:00:04.123"}`); an updating query is refused when planned, as by Flink's
//! filesystem sink. `changelog-json` writes one object per change,
//! `{"data":{...},"op":"+I"}` with `op` one of `+I`, `-U`, `+U`, `-D`, and takes
//! every changelog. `TIMESTAMP` is written as Flink's JSON format writes it
//! (`'SQL'`: `"2015-07-15 00:00:04.123"`), `DECIMAL` as a JSON number, `NULL`
//! as `null`.
//!
//! **Layout** of `path`: each sink subtask writes its rows of a checkpoint
//! interval into hidden files `.part-<subtask>-<attempt>-<sequence>-<n>.<format>.inprogress`,
//! renamed `.pending` at the checkpoint barrier (pre-commit) and to their
//! visible names `part-<subtask>-<checkpoint>-<attempt>-<sequence>-<n>.<format>`
//! (`part-0-3-0-0-0.json`, `part-1-3-0-0-0.changelog-json`) when the checkpoint
//! completes; without checkpoints, when the input ends. `.part-<subtask>.committed`
//! files are the sink's bookkeeping. Readers must skip names starting with `.`
//! or `_` (Weir's file source, Flink, Spark and Hive do). A part file closes at
//! every checkpoint and by the rolling policy, so there is at least one file per
//! subtask and checkpoint interval with rows.
//!
//! **Guarantee**: exactly once with checkpoints. A restore commits the pending
//! files of its checkpoint again and deletes the hidden files written after
//! it, so the committed files hold every row once. Two tables must not share a
//! `path`, and a table is written by one `INSERT` of a job (another is an
//! error): their part files would collide.

use crate::json_rows::{JsonLayout, JsonRowsFormat};
use crate::options::{bad, option_error};
use crate::sql_rows::SqlRows;
use std::sync::Arc;
use weir_connector_api::options::Options;
use weir_connector_api::registry::Registry;
use weir_connector_filesystem::factory::FilesystemSinkFactory;
use weir_datastream::{DataStream, DataStreamSink};
use weir_sql::batch::RowBatch;
use weir_sql::connector::{ChangelogMode, SqlSink};
use weir_sql::error::SqlError;
use weir_sql::front::TableDef;

const CONNECTOR: &str = "filesystem";

/// The `filesystem` SQL sink.
#[derive(Debug, Clone, Copy, Default)]
pub struct FilesystemSqlSink;

/// The `format` option of `table`, trimmed and lower-case.
fn format_of(table: &TableDef) -> Option<String> {
    table.options.get("format").map(|f| f.trim().to_ascii_lowercase())
}

/// The registry the connector factory reads the options with: the
/// filesystem sink and the two JSON formats.
fn registry() -> Registry<SqlRows> {
    let mut registry = Registry::new();
    registry.register_format(Arc::new(JsonRowsFormat(JsonLayout::Rows)));
    registry.register_format(Arc::new(JsonRowsFormat(JsonLayout::Changelog)));
    registry.register_sink(Arc::new(FilesystemSinkFactory::<RowBatch>::new()));
    registry
}

/// `path` as a local path: `file:///dir` is `/dir`; other schemes are errors.
pub(crate) fn local_path(table: &TableDef, path: &str) -> Result<String, SqlError> {
    if let Some(rest) = path.strip_prefix("file://") {
        return match rest.starts_with('/') {
            true => Ok(rest.to_string()),
            false => Err(bad(
                table,
                "path",
                format!("'{path}' is not a local path: write 'file:///dir' or '/dir'"),
            )),
        };
    }
    match path.split_once("://") {
        Some((scheme, _)) if !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric()) => Err(bad(
            table,
            "path",
            format!("'{path}': the filesystem connector reads and writes local paths only, not '{scheme}://'"),
        )),
        _ => Ok(path.to_string()),
    }
}

/// Refuses what partitioned tables need: the sink writes one directory.
fn check_unpartitioned(table: &TableDef) -> Result<(), SqlError> {
    if !table.partitioned_by.is_empty() {
        return Err(SqlError::unsupported(
            format!(
                "PARTITIONED BY on table '{}' of the filesystem connector (yet): its rows go into one directory",
                table.name
            ),
            None,
        ));
    }
    match table
        .options
        .keys()
        .find(|k| k.as_str() == "partition.fields" || k.starts_with("sink.partition-commit."))
    {
        Some(key) => Err(bad(
            table,
            key,
            "partitions need PARTITIONED BY, which the filesystem SQL sink does not support yet",
        )),
        None => Ok(()),
    }
}

impl SqlSink for FilesystemSqlSink {
    fn name(&self) -> &'static str {
        CONNECTOR
    }

    /// `json` takes insert-only changelogs, `changelog-json` every one. A
    /// missing or unknown format is left to [`create_sink`](Self::create_sink),
    /// which names it.
    fn accepts(&self, table: &TableDef, mode: ChangelogMode) -> bool {
        mode == ChangelogMode::InsertOnly || format_of(table).as_deref() != Some(JsonLayout::Rows.name())
    }

    fn create_sink(
        &self,
        table: &TableDef,
        input: DataStream<RowBatch>,
        mode: ChangelogMode,
    ) -> Result<DataStreamSink, SqlError> {
        check_unpartitioned(table)?;
        if !self.accepts(table, mode) {
            return Err(SqlError::ChangelogMismatch {
                table: table.name.clone(),
                connector: CONNECTOR.to_string(),
                mode: mode.name(),
                hint: "format 'json' takes insert-only rows; 'changelog-json' writes updates".into(),
            });
        }
        let uid = format!("sink/{}", table.name);
        let taken = input
            .environment()
            .stream_graph("uids")
            .is_ok_and(|graph| graph.nodes.iter().any(|n| n.uid.as_deref() == Some(uid.as_str())));
        if taken {
            return Err(SqlError::Plan(format!(
                "table '{}' (connector 'filesystem') is written by another INSERT of this job: the part files of \
                 two writers of one directory would collide (UNION ALL the queries into one INSERT)",
                table.name
            )));
        }
        let mut options = Options::from_pairs(format!("filesystem sink '{}'", table.name), table.options.clone());
        if let Some(path) = table.options.get("path") {
            options = options.with("path", local_path(table, path)?);
        }
        let sink = registry()
            .sink(&table.schema, &options)
            .map_err(|e| option_error(table, CONNECTOR, e))?;
        Ok(input
            // A batch is written as its rows' lines; an empty one would be an
            // empty line.
            .filter(|batch: &RowBatch| batch.num_rows() > 0)
            .name(&format!("rows for '{}'", table.name))
            .add_sink(sink)
            .name(&format!("filesystem sink '{}'", table.name))
            .uid(&uid))
    }
}
