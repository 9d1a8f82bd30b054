//! `weir nexmark run --sql`: the Nexmark queries as Flink's SQL texts (see
//! `weir_nexmark_queries::sql`), planned by Weir's SQL layer and measured as the
//! DataStream versions are.
//!
//! The runner sets the `datagen` table's options from the generator flags (events,
//! rates, proportions, seed, rate limit) and points each query's sink table
//! `nexmark_qN` either at the `blackhole` (as the Flink texts declare it) or, with
//! `--output-dir`, at a `filesystem` sink writing the changelog as
//! `changelog-json` lines into `DIR/qN.jsonl/` for `weir nexmark compare`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use weir::prelude::StreamExecutionEnvironment;
use weir_nexmark::NexmarkConfig;
use weir_nexmark_queries::{execute_measured, sql, NexmarkError, Query, RunReport};
use weir_sql::connectors::builtin;
use weir_sql::datafusion::arrow::array::{Array, AsArray, Int64Array};
use weir_sql::datafusion::arrow::datatypes::DataType;
use weir_sql::datafusion::logical_expr::{create_udf, ColumnarValue, ScalarUDF, Volatility};
use weir_sql::front::{parse_script, Statement};
use weir_sql::script::SqlSession;
use weir_sql::SqlError;

/// Errors of a SQL run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqlRunError {
    /// The query's SQL could not be planned.
    #[error("{query}: {source}")]
    Sql {
        /// The query.
        query: Query,
        /// Why.
        source: SqlError,
    },
    /// q13's side table could not be written.
    #[error("q13: cannot write the side input file: {0}")]
    SideInput(std::io::Error),
    /// The job failed.
    #[error(transparent)]
    Run(#[from] NexmarkError),
}

/// How a SQL query runs.
pub struct SqlRun<'a> {
    /// The query.
    pub query: Query,
    /// The generator's settings.
    pub config: &'a NexmarkConfig,
    /// Parallelism of every operator.
    pub parallelism: usize,
    /// Events per second in total, if limited.
    pub rate_limit: Option<f64>,
    /// Where the rows go: a directory (`changelog-json` part files), or nowhere.
    pub output: Option<&'a Path>,
}

/// The `datagen` options for `config` (Flink's option names).
fn datagen_options(config: &NexmarkConfig, rate_limit: Option<f64>) -> BTreeMap<String, String> {
    let mut options: BTreeMap<String, String> = [
        ("connector", "nexmark".to_string()),
        ("events.num", config.num_events.to_string()),
        ("first-event.rate", config.first_event_rate.to_string()),
        ("next-event.rate", config.next_event_rate.to_string()),
        ("person.proportion", config.person_proportion.to_string()),
        ("auction.proportion", config.auction_proportion.to_string()),
        ("bid.proportion", config.bid_proportion.to_string()),
        ("seed", config.seed.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if let Some(rate) = rate_limit {
        options.insert("rate-limit".into(), rate.to_string());
    }
    options
}

/// The sink options: the blackhole, or changelog-json files under `output`.
fn sink_options(output: Option<&Path>) -> BTreeMap<String, String> {
    let options = match output {
        None => vec![("connector", "blackhole".to_string())],
        Some(path) => vec![
            ("connector", "filesystem".to_string()),
            ("path", path.display().to_string()),
            ("format", "changelog-json".to_string()),
        ],
    };
    options.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Plans `run.query` into `env`: the DDL and the query's text, with the source and
/// sink options replaced.
///
/// q13's side table is written as Flink's `side_input.txt` (rows `i,i` for `i` in
/// `0..10000`) into a temporary directory, returned to be kept until the job ends.
pub fn plan(env: &StreamExecutionEnvironment, run: &SqlRun<'_>) -> Result<Option<tempfile::TempDir>, SqlRunError> {
    let sql_error = |source| SqlRunError::Sql {
        query: run.query,
        source,
    };
    let mut connectors = builtin();
    weir_sql_connectors::register(&mut connectors);
    let mut session = SqlSession::new(connectors);
    session.register_function(COUNT_CHAR_CLASS, count_char());
    let script = format!("{}\n{}", sql::DDL, sql::text(run.query));
    let mut statements = parse_script(&script).map_err(sql_error)?;
    let sink = sql::sink_table(run.query);
    let mut side_dir = None;
    for parsed in &mut statements {
        if let Statement::CreateTable(create) = &mut parsed.statement {
            let table = &mut create.table;
            if table.name == "datagen" {
                table.options = datagen_options(run.config, run.rate_limit);
            } else if table.name == sink {
                table.options = sink_options(run.output);
                // The blackhole and the file sink take no partitions (q10's `dt`, `hm`).
                table.partitioned_by.clear();
            } else if table.name == "side_input" {
                let (dir, options) = side_input_table().map_err(SqlRunError::SideInput)?;
                table.options = options;
                side_dir = Some(dir);
            }
        }
    }
    env.set_parallelism(run.parallelism.max(1));
    session.run_statements(env, statements).map_err(sql_error)?;
    Ok(side_dir)
}

/// q13's side table: Flink's `side_input.txt` written into a new temporary
/// directory, and the `filesystem` options reading it.
fn side_input_table() -> Result<(tempfile::TempDir, BTreeMap<String, String>), std::io::Error> {
    let dir = tempfile::Builder::new().prefix("weir-nexmark-side-input").tempdir()?;
    let path = dir.path().join("side_input.txt");
    let text: String = weir_nexmark_queries::queries::q13::side_input()
        .iter()
        .enumerate()
        .map(|(key, value)| format!("{key},{value}\n"))
        .collect();
    std::fs::write(&path, text)?;
    let options = [
        ("connector", "filesystem".to_string()),
        ("path", path.display().to_string()),
        ("format", "csv".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Ok((dir, options))
}

/// The class name q14's `CREATE FUNCTION count_char AS '...'` names.
pub const COUNT_CHAR_CLASS: &str = "com.github.nexmark.flink.udf.CountChar";

/// Nexmark's UDF `count_char(s, c)`: how often the first character of `c` occurs in
/// `s` (0 when either is NULL or `c` is empty), as the Flink Nexmark repository's
/// `CountChar`.
pub fn count_char() -> ScalarUDF {
    create_udf(
        "count_char",
        vec![DataType::Utf8, DataType::Utf8],
        DataType::Int64,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let (Some(text), Some(chars)) = (arrays.first(), arrays.get(1)) else {
                return Err(weir_sql::datafusion::error::DataFusionError::Plan(
                    "count_char takes two arguments".into(),
                ));
            };
            let (Some(text), Some(chars)) = (text.as_string_opt::<i32>(), chars.as_string_opt::<i32>()) else {
                return Err(weir_sql::datafusion::error::DataFusionError::Plan(
                    "count_char takes two VARCHAR arguments".into(),
                ));
            };
            let counts: Int64Array = (0..text.len())
                .map(|i| {
                    let wanted = (!chars.is_null(i)).then(|| chars.value(i).chars().next()).flatten();
                    Some(match (text.is_null(i), wanted) {
                        (false, Some(c)) => text.value(i).chars().filter(|x| *x == c).count() as i64,
                        _ => 0,
                    })
                })
                .collect();
            Ok(ColumnarValue::Array(Arc::new(counts)))
        }),
    )
}

/// Plans and runs `run`, measured as `weir nexmark run` measures the DataStream
/// versions.
pub fn run(run: &SqlRun<'_>) -> Result<RunReport, SqlRunError> {
    let env = StreamExecutionEnvironment::new();
    let _side_input = plan(&env, run)?;
    Ok(execute_measured(&env, run.query, || run.config.num_events)?)
}
