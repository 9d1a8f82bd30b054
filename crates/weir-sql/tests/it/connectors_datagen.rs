//! The `datagen` source connector: sequences give each value once at any
//! parallelism and end the table, random values keep to their options and depend
//! only on the row's position, and bad options are errors naming the option.
#![allow(clippy::unwrap_used)]

use crate::script::{drain, Collect};
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::concat_batches;
use arrow::datatypes::{Decimal128Type, Int32Type, Int64Type, TimestampMillisecondType};
use std::sync::Arc;
use weir_datastream::StreamExecutionEnvironment;
use weir_sql::connectors::builtin;
use weir_sql::error::SqlError;
use weir_sql::front::{Catalog, TableDef};
use weir_sql::script::SqlSession;

fn table(ddl: &str) -> TableDef {
    let mut catalog = Catalog::new();
    catalog.apply_script(ddl).unwrap();
    catalog.table("t").unwrap().clone()
}

fn try_read(table: &TableDef, parallelism: usize) -> Result<RecordBatch, SqlError> {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism);
    let stream = builtin().source(table)?.create_source(&env, table, None)?;
    let out = stream.collect();
    env.execute("datagen source").unwrap();
    let batches: Vec<RecordBatch> = out.take().into_iter().map(|b| b.0).collect();
    Ok(concat_batches(&table.schema, &batches).unwrap())
}

fn read(table: &TableDef, parallelism: usize) -> RecordBatch {
    try_read(table, parallelism).unwrap()
}

const MIXED: &str = "CREATE TABLE t (
  id BIGINT, small INT, price DECIMAL(6, 2), flag BOOLEAN, note VARCHAR, code STRING,
  ratio DOUBLE, at TIMESTAMP(3)
) WITH (
  'connector' = 'datagen', 'rows-per-second' = '1000000',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '3000',
  'fields.small.min' = '-5', 'fields.small.max' = '5', 'fields.small.null-rate' = '0.25',
  'fields.price.min' = '1.50', 'fields.price.max' = '2.00',
  'fields.note.length' = '7',
  'fields.code.length' = '4', 'fields.code.var-len' = 'true',
  'fields.ratio.min' = '0', 'fields.ratio.max' = '1',
  'fields.at.max-past' = '1 min'
)";

#[test]
fn a_sequence_gives_each_value_once_and_ends_the_table() {
    let t = table(MIXED);
    for parallelism in [1, 3] {
        let batch = read(&t, parallelism);
        let mut ids: Vec<i64> = batch.column(0).as_primitive::<Int64Type>().values().to_vec();
        ids.sort_unstable();
        assert_eq!(ids, (1..=3000).collect::<Vec<_>>(), "parallelism {parallelism}");
    }
}

#[test]
fn number_of_rows_bounds_a_random_table() {
    let t = table(
        "CREATE TABLE t (v INT) WITH ('connector' = 'datagen', 'number-of-rows' = '1234', 'rows-per-second' = '1000000')",
    );
    assert_eq!(read(&t, 2).num_rows(), 1234);
}

#[test]
fn random_values_keep_to_their_options() {
    let t = table(MIXED);
    let before = weir_core::processing_time_now();
    let batch = read(&t, 2);
    let after = weir_core::processing_time_now();
    let small = batch.column(1).as_primitive::<Int32Type>();
    let nulls = small.null_count();
    // 3 000 rows at a null rate of 0.25: about 750.
    assert!((500..1000).contains(&nulls), "{nulls} nulls");
    assert!(small.iter().flatten().all(|v| (-5..=5).contains(&v)));
    assert_eq!(
        small.iter().flatten().collect::<std::collections::BTreeSet<_>>().len(),
        11,
        "every value of -5..=5 appears"
    );
    let price = batch.column(2).as_primitive::<Decimal128Type>();
    assert!(price.iter().flatten().all(|v| (150..=200).contains(&v)));
    let flags = batch.column(3).as_boolean();
    let trues = flags.true_count();
    assert!((1000..2000).contains(&trues), "{trues} of 3000 true");
    let note = batch.column(4).as_string::<i32>();
    assert!(note
        .iter()
        .flatten()
        .all(|s| s.len() == 7 && s.chars().all(|c| c.is_ascii_hexdigit())));
    let code = batch.column(5).as_string::<i32>();
    let lengths: std::collections::BTreeSet<usize> = code.iter().flatten().map(str::len).collect();
    assert_eq!(lengths, [1, 2, 3, 4].into_iter().collect());
    let ratio = batch.column(6).as_primitive::<arrow::datatypes::Float64Type>();
    assert!(ratio.iter().flatten().all(|v| (0.0..1.0).contains(&v)));
    let at = batch.column(7).as_primitive::<TimestampMillisecondType>();
    assert_eq!(at.null_count(), 0);
    assert!(at.iter().flatten().all(|v| v >= before - 60_000 && v <= after));
}

#[test]
fn random_values_depend_only_on_the_row_position() {
    // What a restored job relies on: the rows a position gives are the same at any
    // parallelism and in any run.
    let t = table(MIXED);
    let sorted = |batch: RecordBatch| {
        let ids = batch.column(0).as_primitive::<Int64Type>().clone();
        let mut order: Vec<usize> = (0..batch.num_rows()).collect();
        order.sort_by_key(|i| ids.value(*i));
        let indices = arrow::array::UInt32Array::from(order.iter().map(|i| *i as u32).collect::<Vec<_>>());
        // Without the clock's column.
        let columns: Vec<_> = batch.columns()[..7]
            .iter()
            .map(|c| arrow::compute::take(c, &indices, None).unwrap())
            .collect();
        columns
    };
    let one = sorted(read(&t, 1));
    let three = sorted(read(&t, 3));
    for (a, b) in one.iter().zip(&three) {
        assert_eq!(a.as_ref(), b.as_ref());
    }
}

#[test]
fn a_query_reads_the_generated_rows() {
    let collect = Collect::default();
    let mut connectors = builtin();
    connectors.register_sink(Arc::new(collect.clone()));
    let mut session = SqlSession::new(connectors);
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2);
    let script = "
CREATE TABLE n (id INT, label STRING) WITH (
  'connector' = 'datagen', 'rows-per-second' = '1000000',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '100',
  'fields.label.kind' = 'sequence', 'fields.label.start' = '11', 'fields.label.end' = '1000'
);
CREATE TABLE out (total BIGINT, rows_ BIGINT, longest INT) WITH ('connector' = 'collect');
INSERT INTO out SELECT SUM(id), COUNT(*), MAX(CHAR_LENGTH(label)) FROM n;
";
    session.run_script(&env, script).unwrap();
    env.execute("datagen query").unwrap();
    let rows = drain(&collect);
    // The shorter sequence (100 rows) ends the table: labels 11..=110.
    assert!(rows.iter().any(|r| r.ends_with("[5050, 100, 3]")), "{rows:?}");
}

#[test]
fn bad_options_are_errors_naming_the_option() {
    let cases = [
        ("'fields.v.kind' = 'fibonacci'", "fields.v.kind", "not a kind"),
        ("'fields.w.min' = '1'", "fields.w.min", "no physical column 'w'"),
        ("'fields.v.colour' = 'red'", "fields.v.colour", "unknown option"),
        ("'rows-per-second' = '0'", "rows-per-second", "positive"),
        ("'rows-per-second' = 'fast'", "rows-per-second", "not a valid value"),
        (
            "'fields.v.kind' = 'sequence', 'fields.v.start' = '1'",
            "fields.v.start",
            "both start and end",
        ),
        (
            "'fields.v.kind' = 'sequence', 'fields.v.start' = '5', 'fields.v.end' = '1'",
            "fields.v.end",
            "before start",
        ),
        (
            "'fields.v.length' = '3'",
            "fields.v.length",
            "not an option of number fields",
        ),
        (
            "'fields.v.min' = '9', 'fields.v.max' = '1'",
            "fields.v.max",
            "min <= max",
        ),
        ("'fields.v.max' = '99999999999'", "fields.v.max", "range of Int32"),
        ("'fields.v.null-rate' = '2'", "fields.v.null-rate", "between 0 and 1"),
        ("'fields.v.start' = '1'", "fields.v.start", "sequence fields"),
    ];
    for (options, option, message) in cases {
        let t = table(&format!(
            "CREATE TABLE t (v INT) WITH ('connector' = 'datagen', {options})"
        ));
        let error = try_read(&t, 1).unwrap_err().to_string();
        assert!(
            error.contains(&format!("table 't': option '{option}': ")) && error.contains(message),
            "{options}: {error}"
        );
    }
    let t = table("CREATE TABLE t (v ARRAY<INT>) WITH ('connector' = 'datagen')");
    let error = try_read(&t, 1).unwrap_err().to_string();
    assert!(error.contains("not supported by the datagen connector"), "{error}");
}
