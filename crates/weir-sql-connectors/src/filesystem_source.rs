//! The `filesystem` SQL source and lookup source: a table read from CSV or JSON
//! lines files, through [`weir_connector_filesystem`]'s [`FileSource`] (byte-range
//! splits of the files, their positions in checkpoints).
//!
//! ```sql
//! CREATE TABLE bids (auction BIGINT, price DECIMAL(10, 2), ts TIMESTAMP(3),
//!     WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
//! WITH ('connector' = 'filesystem', 'path' = 'file:///data/bids', 'format' = 'csv');
//! ```
//!
//! | option | default | meaning |
//! | --- | --- | --- |
//! | `path` | required | a file, a directory (its files, recursively, in name order, but names starting with `.` or `_`) or a glob pattern; `/dir` or `file:///dir` (local only) |
//! | `format` | required | `csv`, `json` (JSON lines) or `debezium-json` (change events, one per line: the table is a retract changelog) |
//! | `csv.field-delimiter` | `,` | one character (`\t` for tab) |
//! | `csv.quote-character`, `csv.disable-quote-character`, `csv.escape-character` | `"`, `false`, none | quoting |
//! | `csv.allow-comments` | `false` | skip lines starting with `#` |
//! | `csv.null-literal` | none | a field of this text is `NULL` |
//! | `csv.ignore-parse-errors`, `json.ignore-parse-errors` | `false` | a field that does not parse is `NULL`, a line that does not parse is skipped |
//! | `json.timestamp-format.standard` | `SQL` | `SQL` (`2015-07-15 00:00:04.123`) or `ISO-8601` (`2015-07-15T00:00:04.123`) |
//! | `json.fail-on-missing-field` | `false` | a key missing from an object is an error instead of `NULL` |
//! | `debezium-json.ignore-parse-errors`, `debezium-json.timestamp-format.standard` | `false`, `SQL` | as for `json` |
//!
//! How values are read: [`text_rows`](crate::text_rows). A `debezium-json` file
//! is read whole by one subtask, so that its changes keep their order (the
//! changes of one key belong in one file: files are read in parallel).
//! The source is bounded:
//! it reads the files there when the job starts, once, and ends (its final
//! watermark fires the event-time windows still open); `source.monitor-interval`
//! is refused. A line that cannot be read fails the job naming the file, the
//! line number and why, unless `*.ignore-parse-errors`.
//!
//! **Restore**: the positions of the splits (byte offset and line of each file
//! range being read) are in the checkpoints, and rows are handed on in batches
//! that never straddle a checkpoint barrier; a job restored from a checkpoint or
//! savepoint reads on from there, so no row is read twice or lost (files must
//! not change in the meantime).
//!
//! **Lookup**: [`FilesystemSqlSource`] is also the table's
//! [`SqlLookupSource`]: each task of a lookup join loads the whole table (the
//! same files, options and parsing) into record batches when it starts.

use crate::filesystem::local_path;
use crate::options::{bad, json_settings, option_error};
use crate::text_rows::{Column, LineParser, ParserSpec, Row, RowBuffer, TextFormat};
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use weir_connector_api::bad_record::{snippet, BadRecordPolicy};
use weir_connector_api::format::{Deserializer, FormatError};
use weir_connector_api::options::Options;
use weir_connector_filesystem::{list_files, FileSource, FileSystemError};
use weir_core::BoxError;
use weir_datastream::{DataStream, StreamExecutionEnvironment};
use weir_format_csv::options::keys as csv_keys;
use weir_format_csv::CsvOptions;
use weir_sql::batch::RowBatch;
use weir_sql::connector::{unique_uid, ChangelogMode, LookupLoad, SqlLookupSource, SqlSource};
use weir_sql::error::SqlError;
use weir_sql::exec::output::with_kind;
use weir_sql::front::TableDef;
use weir_sql::source_batches::{to_batches, BATCH_ROWS};

const CONNECTOR: &str = "filesystem";

/// The `filesystem` SQL source (and lookup source) of CSV and JSON lines files.
#[derive(Debug, Clone, Copy, Default)]
pub struct FilesystemSqlSource;

/// Why loading a table for a lookup failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The files could not be listed.
    #[error("table '{table}': {source}")]
    List {
        /// The table.
        table: String,
        /// Why.
        source: FileSystemError,
    },
    /// A file could not be read.
    #[error("table '{table}': cannot read '{path}': {source}")]
    Read {
        /// The table.
        table: String,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line could not be parsed.
    #[error("table '{table}': cannot read '{path}', line {line}: {reason} (line: {text:?})")]
    Parse {
        /// The table.
        table: String,
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: u64,
        /// Why.
        reason: String,
        /// The beginning of the line.
        text: String,
    },
    /// The format's reader could not be made.
    #[error("table '{table}': {source}")]
    Format {
        /// The table.
        table: String,
        /// Why.
        source: FormatError,
    },
    /// The rows could not be made into a batch.
    #[error("table '{table}': {source}")]
    Batch {
        /// The table.
        table: String,
        /// Why.
        source: arrow::error::ArrowError,
    },
}

/// A table's files and how to read them, checked when the table is planned.
#[derive(Debug, Clone)]
struct FileTable {
    name: String,
    path: String,
    format: TextFormat,
    ignore_parse_errors: bool,
}

impl FileTable {
    /// The options of `table`, checked: a missing `path` or `format`, an unknown
    /// format or option, a bad value are errors naming the option.
    fn of(table: &TableDef) -> Result<FileTable, SqlError> {
        if !table.partitioned_by.is_empty() {
            return Err(SqlError::unsupported(
                format!(
                    "PARTITIONED BY on table '{}' read by the filesystem connector (yet)",
                    table.name
                ),
                None,
            ));
        }
        let options = Options::from_pairs(format!("filesystem source '{}'", table.name), table.options.clone());
        let error = |e| option_error(table, CONNECTOR, e);
        options.mark_read("connector");
        if options.get("source.monitor-interval").is_some() {
            return Err(bad(
                table,
                "source.monitor-interval",
                "not supported yet: the filesystem SQL source is bounded (it reads the files there when the job starts)",
            ));
        }
        let path = local_path(table, options.required("path").map_err(error)?)?;
        let format_name = options.required("format").map_err(error)?.trim().to_ascii_lowercase();
        let width = table.schema.fields().len();
        let (format, ignore) = match format_name.as_str() {
            "csv" => {
                for key in [
                    csv_keys::HEADER,
                    csv_keys::HEADER_FROM_FIRST_LINE,
                    csv_keys::WRITE_HEADER,
                ] {
                    if options.get(key).is_some() {
                        return Err(bad(
                            table,
                            key,
                            "not an option of the filesystem SQL source: CSV fields are the table's columns by position",
                        ));
                    }
                }
                let csv = CsvOptions::from_options(&options).map_err(error)?;
                let ignore = options.parse("csv.ignore-parse-errors", false).map_err(error)?;
                (TextFormat::Csv { options: csv, width }, ignore)
            }
            "json" => {
                let json = json_settings(table, CONNECTOR, &options, "json.", "json")?;
                (
                    TextFormat::Json {
                        timestamps: json.timestamps,
                        fail_on_missing_field: json.fail_on_missing_field,
                    },
                    json.ignore_parse_errors,
                )
            }
            "debezium-json" => {
                let json = json_settings(table, CONNECTOR, &options, "debezium-json.", "debezium-json")?;
                (
                    TextFormat::DebeziumJson {
                        timestamps: json.timestamps,
                    },
                    json.ignore_parse_errors,
                )
            }
            other => {
                let known = "[\"csv\", \"json\", \"debezium-json\"]";
                let message = format!("unknown format '{other}' of the filesystem source (known: {known})");
                return Err(bad(table, "format", message));
            }
        };
        options.check_all_read().map_err(error)?;
        Ok(FileTable {
            name: table.name.clone(),
            path,
            format,
            ignore_parse_errors: ignore,
        })
    }

    /// How to parse the columns at `positions` of `table`'s physical columns
    /// (a parser is made now, to check the format's options).
    fn spec(&self, table: &TableDef, positions: &[usize]) -> Result<ParserSpec, SqlError> {
        let columns = Column::of(table.schema.fields(), positions)
            .map_err(|e| SqlError::Plan(format!("table '{}' (connector 'filesystem'): {e}", table.name)))?;
        let spec = ParserSpec {
            format: self.format.clone(),
            columns,
            ignore_parse_errors: self.ignore_parse_errors,
        };
        spec.parser()
            .map_err(|e| SqlError::Plan(format!("table '{}' (connector 'filesystem'): {e}", table.name)))?;
        Ok(spec)
    }

    /// Every row of the files, in batches.
    fn load(&self, spec: &ParserSpec, schema: &SchemaRef) -> Result<Vec<RecordBatch>, LoadError> {
        let files = list_files(std::slice::from_ref(&self.path), false).map_err(|source| LoadError::List {
            table: self.name.clone(),
            source,
        })?;
        let mut parser = spec.parser().map_err(|source| LoadError::Format {
            table: self.name.clone(),
            source,
        })?;
        let mut rows = RowBuffer::new(schema.clone(), &spec.columns);
        let mut batches = Vec::new();
        for file in files {
            self.load_file(&file, &mut parser, &mut rows, &mut batches)?;
        }
        let last = rows.take_batch().map_err(|source| LoadError::Batch {
            table: self.name.clone(),
            source,
        })?;
        batches.extend(last);
        Ok(batches)
    }

    fn load_file(
        &self,
        path: &Path,
        parser: &mut LineParser,
        rows: &mut RowBuffer,
        batches: &mut Vec<RecordBatch>,
    ) -> Result<(), LoadError> {
        let read_error = |source| LoadError::Read {
            table: self.name.clone(),
            path: path.to_path_buf(),
            source,
        };
        let mut input = BufReader::new(File::open(path).map_err(read_error)?);
        let mut line = Vec::new();
        let mut parsed = Vec::with_capacity(1);
        let mut number = 0u64;
        loop {
            line.clear();
            if input.read_until(b'\n', &mut line).map_err(read_error)? == 0 {
                return Ok(());
            }
            number += 1;
            let text = line.strip_suffix(b"\n").unwrap_or(&line);
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            // Empty lines are skipped, as the source skips them.
            if text.is_empty() {
                continue;
            }
            match parser.deserialize(text, &mut parsed) {
                Ok(()) => {
                    for row in parsed.drain(..) {
                        rows.push(row);
                    }
                }
                Err(e) if self.ignore_parse_errors => {
                    tracing::warn!(
                        table = %self.name,
                        file = %path.display(),
                        line = number,
                        "skipped a line that cannot be read: {e}"
                    );
                }
                Err(e) => {
                    return Err(LoadError::Parse {
                        table: self.name.clone(),
                        path: path.to_path_buf(),
                        line: number,
                        reason: e.to_string(),
                        text: snippet(text),
                    })
                }
            }
            if rows.len() >= BATCH_ROWS {
                let batch = rows.take_batch().map_err(|source| LoadError::Batch {
                    table: self.name.clone(),
                    source,
                })?;
                batches.extend(batch);
            }
        }
    }
}

impl SqlSource for FilesystemSqlSource {
    fn name(&self) -> &'static str {
        CONNECTOR
    }

    /// Retract for `debezium-json`, else insert-only.
    fn changelog_mode(&self, table: &TableDef) -> Result<ChangelogMode, SqlError> {
        Ok(ChangelogMode::retract_if(FileTable::of(table)?.format.is_changelog()))
    }

    fn create_source(
        &self,
        env: &StreamExecutionEnvironment,
        table: &TableDef,
        projection: Option<&[usize]>,
    ) -> Result<DataStream<RowBatch>, SqlError> {
        let files = FileTable::of(table)?;
        let width = table.schema.fields().len();
        let all: Vec<usize> = (0..width).collect();
        let positions = projection.unwrap_or(&all);
        let spec = Arc::new(files.spec(table, positions)?);
        let schema = batch_schema(table, positions, files.format.is_changelog())?;
        let policy = match files.ignore_parse_errors {
            true => BadRecordPolicy::Skip,
            false => BadRecordPolicy::Fail,
        };
        let parsers = spec.clone();
        let mut source = FileSource::lines_with(
            [files.path.as_str()],
            Arc::new(move || -> Result<Box<dyn Deserializer<Row>>, BoxError> { Ok(Box::new(parsers.parser()?)) }),
        )
        .name(format!("filesystem source '{}'", table.name))
        .bad_records(policy);
        if files.format.is_changelog() {
            // A file of changes is read whole by one subtask, in order: byte
            // ranges read in parallel could apply a key's changes out of order.
            source = source.split_size(u64::MAX);
        }
        let source = source.build().map_err(|e| bad(table, "path", e.to_string()))?;
        let source_uid = unique_uid(env, &format!("source/{}", table.name));
        let rows = env
            .add_source(source.into_source())
            .name(&format!("filesystem source '{}'", table.name))
            .uid(&source_uid);
        Ok(row_batches(
            &rows,
            &format!("filesystem batches '{}'", table.name),
            &source_uid,
            schema,
            spec.row_columns(width),
        ))
    }
}

/// The schema of a source's batches: `table`'s physical columns at `positions`
/// and, for a changelog, the kind column.
pub(crate) fn batch_schema(table: &TableDef, positions: &[usize], changelog: bool) -> Result<SchemaRef, SqlError> {
    let schema = table.schema.project(positions)?;
    Ok(match changelog {
        true => with_kind(&schema),
        false => Arc::new(schema),
    })
}

/// The rows a source read (`rows`, of `columns`, with uid `source_uid`) in
/// batches of `schema` (the same columns), handed on before each checkpoint
/// barrier, watermark and at the end of the input.
pub(crate) fn row_batches(
    rows: &DataStream<Row>,
    name: &str,
    source_uid: &str,
    schema: SchemaRef,
    columns: Vec<Column>,
) -> DataStream<RowBatch> {
    to_batches(rows, name, move |_| Ok(RowBuffer::new(schema.clone(), &columns)))
        .uid(&source_uid.replacen("source/", "batches/", 1))
}

impl SqlLookupSource for FilesystemSqlSource {
    fn name(&self) -> &'static str {
        CONNECTOR
    }

    /// Checks the options and that the path finds files now; the loader reads
    /// every file (listed again when it runs) into batches of the table's
    /// physical columns. A line that cannot be read fails the load naming the
    /// file and the line, unless `*.ignore-parse-errors`.
    fn lookup_loader(&self, table: &TableDef) -> Result<LookupLoad, SqlError> {
        let files = FileTable::of(table)?;
        if files.format.is_changelog() {
            return Err(bad(
                table,
                "format",
                "a changelog format cannot be read as a lookup table (its files are loaded as rows)",
            ));
        }
        let all: Vec<usize> = (0..table.schema.fields().len()).collect();
        let spec = files.spec(table, &all)?;
        list_files(std::slice::from_ref(&files.path), false).map_err(|e| bad(table, "path", e.to_string()))?;
        let schema = table.schema.clone();
        Ok(Arc::new(move || {
            files.load(&spec, &schema).map_err(|e| SqlError::Plan(e.to_string()))
        }))
    }
}
