//! The `print` sink connector (rows as `+I[...]` lines on standard output, prefixed
//! with the subtask as `N> ` at parallelism above 1, as Flink's) and the `blackhole`
//! sink connector (discards everything; for benchmarks). Both take every changelog.

use crate::batch::RowBatch;
use crate::connector::{ChangelogMode, SqlSink};
use crate::error::SqlError;
use crate::front::TableDef;
use crate::rows::format_rows;
use serde::{Deserialize, Serialize};
use weir_datastream::{DataStream, DataStreamSink};

/// A printed line (its `Debug` form is the line itself, for the print sink).
#[derive(Clone, Serialize, Deserialize)]
pub struct Line(pub String);

impl std::fmt::Debug for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Refuses any option but `connector`, for connectors that take none.
fn no_options(table: &TableDef, connector: &str) -> Result<(), SqlError> {
    match table.options.keys().find(|k| k.as_str() != "connector") {
        Some(unknown) => Err(SqlError::BadOption {
            table: table.name.clone(),
            option: unknown.clone(),
            message: format!("unknown option of the {connector} connector (it takes none)"),
        }),
        None => Ok(()),
    }
}

/// The `print` connector.
pub struct PrintConnector;

impl SqlSink for PrintConnector {
    fn name(&self) -> &'static str {
        "print"
    }

    fn accepts(&self, _: &TableDef, _: ChangelogMode) -> bool {
        true
    }

    fn create_sink(
        &self,
        table: &TableDef,
        input: DataStream<RowBatch>,
        _: ChangelogMode,
    ) -> Result<DataStreamSink, SqlError> {
        no_options(table, self.name())?;
        Ok(input
            .flat_map(|batch: RowBatch| match format_rows(&batch) {
                Ok(lines) => lines.into_iter().map(Line).collect::<Vec<_>>(),
                Err(e) => vec![Line(format!("(row not printable: {e})"))],
            })
            .name(&format!("format '{}'", table.name))
            .print()
            .name(&format!("print '{}'", table.name)))
    }
}

/// The `blackhole` connector.
pub struct BlackholeConnector;

impl SqlSink for BlackholeConnector {
    fn name(&self) -> &'static str {
        "blackhole"
    }

    fn accepts(&self, _: &TableDef, _: ChangelogMode) -> bool {
        true
    }

    fn create_sink(
        &self,
        table: &TableDef,
        input: DataStream<RowBatch>,
        _: ChangelogMode,
    ) -> Result<DataStreamSink, SqlError> {
        Ok(input.discard().name(&format!("blackhole '{}'", table.name)))
    }
}
