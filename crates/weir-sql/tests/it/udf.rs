//! Rust aggregate functions (UDAFs) and table functions (`LATERAL TABLE`) in SQL:
//! UDAFs in GROUP BY over insert-only and updating input (retracting), in TUMBLE and
//! SESSION windows, restored from a checkpoint after a failure; table functions
//! in CROSS, comma and LEFT lateral joins, over updating input, `CROSS JOIN
//! UNNEST`; and the errors of functions used in the wrong place.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, ListArray, StringArray, StructArray};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, Field, Fields, Int64Type};
use arrow::util::display::array_value_to_string;
use datafusion::common::{Result as DfResult, ScalarValue};
use datafusion::logical_expr::{
    create_udaf, create_udf, Accumulator, AggregateUDF, ColumnarValue, ScalarUDF, Volatility,
};
use weir_datastream::StreamExecutionEnvironment;
use weir_sql::batch::RowKind;
use weir_sql::connector::{ChangelogMode, SqlConnectors};
use weir_sql::error::SqlError;
use weir_sql::front::Catalog;
use weir_sql::job::SqlJob;
use weir_sql::script::SqlSession;

use crate::plan_restart::{add_wal_sink, row, run_failing_once_with, Written, BATCHES, PER_BATCH};
use crate::plan_stream::{bid, query, rows, setup, ROWS};

// ---------------------------------------------------------------------------
// The functions.

/// `weighted_avg(value BIGINT, weight BIGINT) -> DOUBLE`: Σ value·weight / Σ weight,
/// over integer sums (exact, whatever the order); can take rows back.
#[derive(Debug, Default)]
struct WeightedAvg {
    sum: i64,
    weights: i64,
}

impl WeightedAvg {
    fn add(&mut self, values: &[ArrayRef], sign: i64) {
        let v = values[0].as_primitive::<Int64Type>();
        let w = values[1].as_primitive::<Int64Type>();
        for i in 0..v.len() {
            if v.is_valid(i) && w.is_valid(i) {
                self.sum += sign * v.value(i) * w.value(i);
                self.weights += sign * w.value(i);
            }
        }
    }
}

impl Accumulator for WeightedAvg {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        self.add(values, 1);
        Ok(())
    }
    fn retract_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        self.add(values, -1);
        Ok(())
    }
    fn supports_retract_batch(&self) -> bool {
        true
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        let sums = states[0].as_primitive::<Int64Type>();
        let weights = states[1].as_primitive::<Int64Type>();
        for i in 0..sums.len() {
            self.sum += sums.value(i);
            self.weights += weights.value(i);
        }
        Ok(())
    }
    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        Ok(vec![
            ScalarValue::Int64(Some(self.sum)),
            ScalarValue::Int64(Some(self.weights)),
        ])
    }
    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        Ok(ScalarValue::Float64(
            (self.weights != 0).then(|| self.sum as f64 / self.weights as f64),
        ))
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }
}

fn weighted_avg() -> AggregateUDF {
    create_udaf(
        "weighted_avg",
        vec![DataType::Int64, DataType::Int64],
        Arc::new(DataType::Float64),
        Volatility::Immutable,
        Arc::new(|_| Ok(Box::new(WeightedAvg::default()))),
        Arc::new(vec![DataType::Int64, DataType::Int64]),
    )
}

/// `longest(s STRING) -> STRING`: the longest string (the greatest of the longest);
/// cannot take rows back.
#[derive(Debug, Default)]
struct Longest(Option<String>);

impl Longest {
    fn offer(&mut self, s: &str) {
        let better = match &self.0 {
            None => true,
            Some(best) => (s.len(), s) > (best.len(), best.as_str()),
        };
        if better {
            self.0 = Some(s.to_string());
        }
    }
}

impl Accumulator for Longest {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        for s in values[0].as_string::<i32>().iter().flatten() {
            self.offer(s);
        }
        Ok(())
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        self.update_batch(states)
    }
    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::Utf8(self.0.clone())])
    }
    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        Ok(ScalarValue::Utf8(self.0.clone()))
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }
}

fn longest() -> AggregateUDF {
    create_udaf(
        "longest",
        vec![DataType::Utf8],
        Arc::new(DataType::Utf8),
        Volatility::Immutable,
        Arc::new(|_| Ok(Box::new(Longest::default()))),
        Arc::new(vec![DataType::Utf8]),
    )
}

fn word_fields() -> Fields {
    Fields::from(vec![
        Field::new("word", DataType::Utf8, false),
        Field::new("length", DataType::Int64, false),
    ])
}

/// `split_words(s STRING)`: a row `(word, length)` per space-separated word; none
/// for an empty string or NULL.
fn split_words() -> ScalarUDF {
    let element = Arc::new(Field::new("item", DataType::Struct(word_fields()), true));
    let returned = DataType::List(element.clone());
    create_udf(
        "split_words",
        vec![DataType::Utf8],
        returned,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let input = ColumnarValue::values_to_arrays(args)?;
            let strings = input[0].as_string::<i32>();
            let (mut words, mut lengths, mut offsets) = (Vec::new(), Vec::new(), vec![0i32]);
            for s in strings.iter() {
                for word in s.unwrap_or("").split_whitespace() {
                    words.push(word.to_string());
                    lengths.push(word.len() as i64);
                }
                offsets.push(words.len() as i32);
            }
            let rows = StructArray::new(
                word_fields(),
                vec![
                    Arc::new(StringArray::from(words)) as ArrayRef,
                    Arc::new(Int64Array::from(lengths)),
                ],
                None,
            );
            let list = ListArray::new(
                element.clone(),
                OffsetBuffer::new(offsets.into()),
                Arc::new(rows),
                Some(NullBuffer::from(
                    strings.iter().map(|s| s.is_some()).collect::<Vec<_>>(),
                )),
            );
            Ok(ColumnarValue::Array(Arc::new(list)))
        }),
    )
}

/// `digits(n BIGINT)`: one row (one column) per decimal digit of |n|.
fn digits() -> ScalarUDF {
    let element = Arc::new(Field::new("item", DataType::Int64, true));
    create_udf(
        "digits",
        vec![DataType::Int64],
        DataType::List(element.clone()),
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let input = ColumnarValue::values_to_arrays(args)?;
            let numbers = input[0].as_primitive::<Int64Type>();
            let (mut values, mut offsets) = (Vec::new(), vec![0i32]);
            for n in numbers.iter() {
                if let Some(n) = n {
                    values.extend(digits_of(n));
                }
                offsets.push(values.len() as i32);
            }
            let list = ListArray::new(
                element.clone(),
                OffsetBuffer::new(offsets.into()),
                Arc::new(Int64Array::from(values)),
                numbers.nulls().cloned(),
            );
            Ok(ColumnarValue::Array(Arc::new(list)))
        }),
    )
}

fn digits_of(n: i64) -> Vec<i64> {
    n.unsigned_abs()
        .to_string()
        .bytes()
        .map(|b| i64::from(b - b'0'))
        .collect()
}

/// The bid table with the functions registered.
fn catalog(extra_ddl: &str) -> (Catalog, SqlConnectors) {
    let (mut catalog, connectors) = setup(extra_ddl);
    register(&mut catalog);
    (catalog, connectors)
}

fn register(catalog: &mut Catalog) {
    catalog.register_aggregate_function("weighted", weighted_avg());
    catalog.register_aggregate_function("longest", longest());
    catalog.register_table_function("split_words", split_words()).unwrap();
    catalog.register_table_function("digits", digits()).unwrap();
}

// ---------------------------------------------------------------------------
// Running queries.

/// Runs a query over the bid table (parallelism `parallelism`); returns its
/// changelog and mode.
fn run_changes(sql: &str, parallelism: usize) -> (Vec<(RowKind, Vec<String>)>, ChangelogMode) {
    let (catalog, connectors) = catalog("");
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism);
    let planned = SqlJob::plan_query(&env, &catalog, &connectors, &query(sql)).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let handle = planned.stream.collect();
    env.execute("udf test").unwrap();
    let mut changes = Vec::new();
    for batch in handle.take() {
        changes.extend(weir_sql::rows::row_values(&batch).unwrap());
    }
    (changes, planned.mode)
}

/// The rows a changelog leaves, sorted; every retraction takes back a row that is
/// there.
fn materialize(changes: &[(RowKind, Vec<String>)]) -> Vec<Vec<String>> {
    let mut present: BTreeMap<Vec<String>, i64> = BTreeMap::new();
    for (kind, values) in changes {
        let n = present.entry(values.clone()).or_default();
        *n += if kind.is_addition() { 1 } else { -1 };
        assert!(*n >= 0, "{kind:?} of a row not present: {values:?}");
    }
    present
        .into_iter()
        .flat_map(|(row, n)| std::iter::repeat_n(row, n as usize))
        .collect()
}

fn plan_error(sql: &str) -> String {
    let (catalog, connectors) = catalog("");
    let env = StreamExecutionEnvironment::new();
    match SqlJob::plan_query(&env, &catalog, &connectors, &query(sql)) {
        Ok(_) => panic!("{sql}: planned without an error"),
        Err(e) => e.to_string(),
    }
}

/// A double as Arrow prints it.
fn double(v: f64) -> String {
    array_value_to_string(&Float64Array::from(vec![v]), 0).unwrap()
}

fn strings(row: &[&dyn ToString]) -> Vec<String> {
    row.iter().map(|v| v.to_string()).collect()
}

/// Rows to aggregate: `(value, weight, text)`.
type Aggregated = Vec<(i64, i64, String)>;

/// Weighted average and longest price text of rows `(value, weight, text)`.
fn expected_aggregates(rows: &[(i64, i64, String)]) -> (String, String) {
    let sum: i64 = rows.iter().map(|(v, w, _)| v * w).sum();
    let weights: i64 = rows.iter().map(|(_, w, _)| w).sum();
    let mut longest = Longest::default();
    for (_, _, s) in rows {
        longest.offer(s);
    }
    (double(sum as f64 / weights as f64), longest.0.unwrap())
}

// ---------------------------------------------------------------------------
// Aggregate functions.

#[test]
fn udafs_in_group_by_over_insert_only_rows() {
    let mut by_bidder: BTreeMap<i64, Aggregated> = BTreeMap::new();
    for (auction, bidder, price, _) in (0..ROWS).map(bid) {
        by_bidder
            .entry(bidder)
            .or_default()
            .push((price, auction % 4 + 1, price.to_string()));
    }
    let expected: Vec<Vec<String>> = by_bidder
        .iter()
        .map(|(bidder, rows)| {
            let (avg, longest) = expected_aggregates(rows);
            strings(&[bidder, &avg, &longest])
        })
        .collect();
    for parallelism in [1, 2] {
        let (log, mode) = run_changes(
            "SELECT bidder, weighted_avg(price, auction % 4 + 1), longest(CAST(price AS STRING)) \
             FROM bid GROUP BY bidder",
            parallelism,
        );
        assert_eq!(mode, ChangelogMode::Retract);
        assert_eq!(materialize(&log), expected, "parallelism {parallelism}");
        assert!(log.iter().any(|(k, _)| *k == RowKind::UpdateAfter));
    }
}

#[test]
fn a_retracting_udaf_over_an_updating_input() {
    // Per bidder totals (updated batch by batch), then their weighted average per
    // parity of the bidder: every updated total is taken back and added again.
    let mut totals: BTreeMap<i64, i64> = BTreeMap::new();
    for (_, bidder, price, _) in (0..ROWS).map(bid) {
        *totals.entry(bidder).or_default() += price;
    }
    let mut by_parity: BTreeMap<i64, Aggregated> = BTreeMap::new();
    for (bidder, total) in &totals {
        by_parity
            .entry(bidder % 2)
            .or_default()
            .push((*total, bidder + 1, String::new()));
    }
    let expected: Vec<Vec<String>> = by_parity
        .iter()
        .map(|(parity, rows)| strings(&[parity, &expected_aggregates(rows).0]))
        .collect();
    for parallelism in [1, 2] {
        let (log, _) = run_changes(
            "SELECT bidder % 2 AS parity, weighted_avg(total, bidder + 1) \
             FROM (SELECT bidder, SUM(price) AS total FROM bid GROUP BY bidder) \
             GROUP BY bidder % 2",
            parallelism,
        );
        assert_eq!(materialize(&log), expected, "parallelism {parallelism}");
        assert!(log.iter().any(|(k, _)| *k == RowKind::UpdateBefore));
    }
}

#[test]
fn a_udaf_without_retract_over_an_updating_input_is_a_planning_error() {
    let error = plan_error(
        "SELECT longest(CAST(total AS STRING)) \
         FROM (SELECT bidder, SUM(price) AS total FROM bid GROUP BY bidder)",
    );
    assert!(
        error.contains("aggregate function 'longest' cannot take back rows: the query's input is updating"),
        "{error}"
    );
}

fn windowed_expected(size_ms: i64, rows: impl Iterator<Item = (i64, i64, i64, i64)>) -> Vec<Vec<String>> {
    let mut windows: BTreeMap<(i64, i64), Aggregated> = BTreeMap::new();
    for (auction, bidder, price, time) in rows {
        windows
            .entry((bidder, time - time % size_ms))
            .or_default()
            .push((price, auction % 4 + 1, price.to_string()));
    }
    let mut expected: Vec<Vec<String>> = windows
        .iter()
        .map(|((bidder, start), rows)| {
            let (avg, longest) = expected_aggregates(rows);
            strings(&[bidder, start, &avg, &longest])
        })
        .collect();
    expected.sort();
    expected
}

#[test]
fn udafs_in_a_tumble_window_aggregate() {
    let expected = windowed_expected(10_000, (0..ROWS).map(bid));
    for parallelism in [1, 2] {
        let (catalog, connectors) = catalog("");
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(parallelism);
        let sql = "SELECT bidder, window_start, weighted_avg(price, auction % 4 + 1), \
                   longest(CAST(price AS STRING)) \
                   FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND)) \
                   GROUP BY bidder, window_start, window_end";
        let planned = SqlJob::plan_query(&env, &catalog, &connectors, &query(sql)).unwrap();
        assert_eq!(planned.mode, ChangelogMode::InsertOnly);
        let handle = planned.stream.collect();
        env.execute("udaf window").unwrap();
        assert_eq!(rows(&handle.take()), expected, "parallelism {parallelism}");
    }
}

#[test]
fn a_udaf_in_a_hop_window_aggregate() {
    let mut windows: BTreeMap<(i64, i64), Aggregated> = BTreeMap::new();
    for (auction, bidder, price, time) in (0..ROWS).map(bid) {
        let last = time - time % 5_000;
        for start in [last - 5_000, last] {
            windows
                .entry((bidder, start))
                .or_default()
                .push((price, auction % 4 + 1, price.to_string()));
        }
    }
    let mut expected: Vec<Vec<String>> = windows
        .iter()
        .map(|((bidder, start), rows)| strings(&[bidder, start, &expected_aggregates(rows).0]))
        .collect();
    expected.sort();
    let (catalog, connectors) = catalog("");
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2);
    let sql = "SELECT bidder, window_start, weighted_avg(price, auction % 4 + 1) \
               FROM TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '5' SECOND, INTERVAL '10' SECOND)) \
               GROUP BY bidder, window_start, window_end";
    let planned = SqlJob::plan_query(&env, &catalog, &connectors, &query(sql)).unwrap();
    let handle = planned.stream.collect();
    env.execute("udaf hop").unwrap();
    assert_eq!(rows(&handle.take()), expected);
}

#[test]
fn udafs_in_a_session_window_with_a_filter() {
    // A bidder bids every 1.5 s: one session per bidder with a 2 s gap.
    let mut by_bidder: BTreeMap<i64, Aggregated> = BTreeMap::new();
    for (auction, bidder, price, _) in (0..ROWS).map(bid) {
        if price > 10 {
            by_bidder
                .entry(bidder)
                .or_default()
                .push((price, auction % 4 + 1, price.to_string()));
        }
    }
    let expected: Vec<Vec<String>> = by_bidder
        .iter()
        .map(|(bidder, rows)| strings(&[bidder, &expected_aggregates(rows).0]))
        .collect();
    let (catalog, connectors) = catalog("");
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2);
    let sql = "SELECT bidder, weighted_avg(price, auction % 4 + 1) FILTER (WHERE price > 10) \
               FROM TABLE(SESSION(TABLE bid PARTITION BY bidder, DESCRIPTOR(dateTime), INTERVAL '2' SECOND)) \
               GROUP BY bidder, window_start, window_end";
    let planned = SqlJob::plan_query(&env, &catalog, &connectors, &query(sql)).unwrap();
    let handle = planned.stream.collect();
    env.execute("udaf session").unwrap();
    assert_eq!(rows(&handle.take()), expected);
}

#[test]
fn create_function_names_a_udaf_and_a_table_function() {
    let (catalog, connectors) = catalog("CREATE FUNCTION wavg AS 'weighted'; CREATE FUNCTION words AS 'split_words';");
    let env = StreamExecutionEnvironment::new();
    let sql = "SELECT bidder, wavg(price, 1) FROM bid GROUP BY bidder";
    let planned = SqlJob::plan_query(&env, &catalog, &connectors, &query(sql)).unwrap();
    let handle = planned.stream.collect();
    let sql = "SELECT t.id, T.w FROM (VALUES (1, 'a b')) AS t(id, s), LATERAL TABLE(words(t.s)) AS T(w, n)";
    let planned = SqlJob::plan_query(&env, &catalog, &connectors, &query(sql)).unwrap();
    let words = planned.stream.collect();
    env.execute("create function").unwrap();
    let mut changes = Vec::new();
    for batch in handle.take() {
        changes.extend(weir_sql::rows::row_values(&batch).unwrap());
    }
    let mut sums: BTreeMap<i64, i64> = BTreeMap::new();
    let mut counts: BTreeMap<i64, i64> = BTreeMap::new();
    for (_, bidder, price, _) in (0..ROWS).map(bid) {
        *sums.entry(bidder).or_default() += price;
        *counts.entry(bidder).or_default() += 1;
    }
    let expected: Vec<Vec<String>> = sums
        .iter()
        .map(|(b, s)| strings(&[b, &double(*s as f64 / counts[b] as f64)]))
        .collect();
    assert_eq!(materialize(&changes), expected);
    assert_eq!(rows(&words.take()), vec![vec!["1", "a"], vec!["1", "b"]]);
}

#[test]
fn a_udaf_in_a_bounded_over_window_takes_rows_back_out_of_the_frame() {
    // Each bid with the weighted average of its bidder's last three prices.
    let mut expected: Vec<Vec<String>> = (0..ROWS)
        .map(|j| {
            let frame: Aggregated = (0..=j)
                .rev()
                .step_by(3)
                .take(3)
                .map(|k| {
                    let (auction, _, price, _) = bid(k);
                    (price, auction % 4 + 1, String::new())
                })
                .collect();
            let sum: i64 = frame.iter().map(|(v, w, _)| v * w).sum();
            let weights: i64 = frame.iter().map(|(_, w, _)| w).sum();
            vec![j.to_string(), double(sum as f64 / weights as f64)]
        })
        .collect();
    expected.sort();
    for parallelism in [1, 2] {
        let (catalog, connectors) = catalog("");
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(parallelism);
        let sql = "SELECT auction, weighted_avg(price, auction % 4 + 1) OVER (PARTITION BY bidder \
                   ORDER BY dateTime ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) FROM bid";
        let planned = SqlJob::plan_query(&env, &catalog, &connectors, &query(sql)).unwrap();
        let handle = planned.stream.collect();
        env.execute("udaf over").unwrap();
        assert_eq!(rows(&handle.take()), expected, "parallelism {parallelism}");
    }
}

// ---------------------------------------------------------------------------
// Restores.

fn register_for_restore(catalog: &mut Catalog) {
    register(catalog);
}

fn restore_expected_rows() -> Vec<(i64, i64, i64, i64)> {
    (0..BATCHES as i64 * PER_BATCH).map(row).collect()
}

#[test]
fn a_udaf_window_aggregate_is_restored_after_a_failure() {
    let sql = "SELECT bidder, window_start, weighted_avg(price, auction % 4 + 1), \
               longest(CAST(price AS STRING)) \
               FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND)) \
               GROUP BY bidder, window_start, window_end";
    let got = run_failing_once_with(register_for_restore, sql, |env, planned| {
        let handle = planned.stream.collect();
        env.execute("udaf restart").unwrap();
        rows(&handle.take())
    });
    let expected = windowed_expected(10_000, restore_expected_rows().into_iter());
    // The collect sink is at-least-once: windows fired after the last completed
    // checkpoint are emitted again, identically.
    let mut distinct = got.clone();
    distinct.dedup();
    assert_eq!(distinct, expected);
}

#[test]
fn a_udaf_group_aggregate_is_restored_on_rocksdb_after_a_failure() {
    let sql = "SELECT bidder, weighted_avg(price, auction % 4 + 1), longest(CAST(price AS STRING)) \
               FROM bid GROUP BY bidder";
    let written = run_failing_once_with(register_for_restore, sql, |env, planned| {
        env.set_state_backend(weir_core::StateBackendConfig::rocksdb());
        let written = Written::default();
        add_wal_sink(planned.stream, &written);
        env.execute("udaf group restore").unwrap();
        let mut changes = Vec::new();
        for batch in written.lock().unwrap().values().flatten() {
            changes.extend(weir_sql::rows::row_values(batch).unwrap());
        }
        changes
    });
    // The uninterrupted result.
    let mut by_bidder: BTreeMap<i64, Aggregated> = BTreeMap::new();
    for (auction, bidder, price, _) in restore_expected_rows() {
        by_bidder
            .entry(bidder)
            .or_default()
            .push((price, auction % 4 + 1, price.to_string()));
    }
    let expected: Vec<Vec<String>> = by_bidder
        .iter()
        .map(|(bidder, rows)| {
            let (avg, longest) = expected_aggregates(rows);
            strings(&[bidder, &avg, &longest])
        })
        .collect();
    assert_eq!(materialize(&written), expected);
}

// ---------------------------------------------------------------------------
// Table functions.

const WORDS: &str = "(VALUES (1, 'a bb'), (2, ''), (3, CAST(NULL AS STRING)), (4, 'ccc')) AS t(id, s)";

fn run_rows(sql: &str) -> Vec<Vec<String>> {
    let (log, _) = run_changes(sql, 1);
    assert!(log.iter().all(|(k, _)| *k == RowKind::Insert), "{log:?}");
    let mut rows: Vec<Vec<String>> = log.into_iter().map(|(_, v)| v).collect();
    rows.sort();
    rows
}

fn table(rows: &[&[&str]]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|v| v.to_string()).collect()).collect();
    out.sort();
    out
}

#[test]
fn a_table_function_in_comma_and_cross_lateral_joins() {
    let expected = table(&[&["1", "a", "1"], &["1", "bb", "2"], &["4", "ccc", "3"]]);
    let comma = format!("SELECT t.id, T.w, T.n FROM {WORDS}, LATERAL TABLE(split_words(t.s)) AS T(w, n)");
    assert_eq!(run_rows(&comma), expected);
    let cross = format!("SELECT t.id, T.w, T.n FROM {WORDS} CROSS JOIN LATERAL TABLE(split_words(t.s)) AS T(w, n)");
    assert_eq!(run_rows(&cross), expected);
    let on_true = format!("SELECT t.id, T.w, T.n FROM {WORDS} JOIN LATERAL TABLE(split_words(t.s)) AS T(w, n) ON TRUE");
    assert_eq!(run_rows(&on_true), expected);
    // The function's own column names, a filter on them, and a column only the
    // call reads.
    let named = format!("SELECT t.id, word FROM {WORDS}, LATERAL TABLE(split_words(t.s)) WHERE length > 1");
    assert_eq!(run_rows(&named), table(&[&["1", "bb"], &["4", "ccc"]]));
}

#[test]
fn a_left_lateral_join_keeps_rows_that_produce_nothing() {
    let sql =
        format!("SELECT t.id, T.w, T.n FROM {WORDS} LEFT JOIN LATERAL TABLE(split_words(t.s)) AS T(w, n) ON TRUE");
    assert_eq!(
        run_rows(&sql),
        table(&[
            &["1", "a", "1"],
            &["1", "bb", "2"],
            &["2", "NULL", "NULL"],
            &["3", "NULL", "NULL"],
            &["4", "ccc", "3"],
        ])
    );
}

#[test]
fn a_table_function_of_one_column_over_a_table() {
    let expected: Vec<Vec<String>> = {
        let mut out: Vec<Vec<String>> = (0..ROWS)
            .map(bid)
            .flat_map(|(auction, _, price, _)| {
                digits_of(price)
                    .into_iter()
                    .map(move |d| vec![auction.to_string(), d.to_string()])
            })
            .collect();
        out.sort();
        out
    };
    let got = run_rows("SELECT auction, d FROM bid, LATERAL TABLE(digits(price)) AS T(d)");
    assert_eq!(got, expected);
    // Without an alias, the column is f0.
    let got = run_rows("SELECT auction, f0 FROM bid, LATERAL TABLE(digits(price))");
    assert_eq!(got, expected);
}

#[test]
fn a_table_function_over_an_updating_input_carries_the_row_kinds() {
    let mut totals: BTreeMap<i64, i64> = BTreeMap::new();
    for (_, bidder, price, _) in (0..ROWS).map(bid) {
        *totals.entry(bidder).or_default() += price;
    }
    let mut expected: Vec<Vec<String>> = totals
        .iter()
        .flat_map(|(bidder, total)| {
            digits_of(*total)
                .into_iter()
                .map(move |d| vec![bidder.to_string(), d.to_string()])
        })
        .collect();
    expected.sort();
    for parallelism in [1, 2] {
        let (log, mode) = run_changes(
            "SELECT s.bidder, T.d FROM (SELECT bidder, SUM(price) AS total FROM bid GROUP BY bidder) AS s, \
             LATERAL TABLE(digits(s.total)) AS T(d)",
            parallelism,
        );
        assert_eq!(mode, ChangelogMode::Retract);
        assert!(log.iter().any(|(k, _)| *k == RowKind::UpdateBefore));
        assert_eq!(materialize(&log), expected, "parallelism {parallelism}");
    }
}

#[test]
fn cross_join_unnest_of_an_array_column() {
    let sql = "SELECT t.id, u.x FROM (VALUES (1, make_array(1, 2)), (2, make_array(3))) AS t(id, arr) \
               CROSS JOIN UNNEST(t.arr) AS u(x)";
    assert_eq!(run_rows(sql), table(&[&["1", "1"], &["1", "2"], &["2", "3"]]));
}

#[test]
fn unnest_in_a_select_list() {
    let sql = "SELECT t.id, unnest(t.arr) AS x \
               FROM (VALUES (1, make_array(1, 2)), (2, make_array(3))) AS t(id, arr)";
    assert_eq!(run_rows(sql), table(&[&["1", "1"], &["1", "2"], &["2", "3"]]));
}

#[test]
fn functions_in_the_wrong_place_are_errors_naming_them() {
    let cases = [
        (
            format!("SELECT * FROM {WORDS}, LATERAL TABLE(nope(t.s)) AS T(w)"),
            "'nope' is not a table function",
        ),
        (
            format!("SELECT * FROM {WORDS}, LATERAL TABLE(upper(t.s)) AS T(w)"),
            "'upper' is not a table function",
        ),
        (
            format!("SELECT * FROM {WORDS}, LATERAL TABLE(longest(t.s)) AS T(w)"),
            "'longest' is not a table function",
        ),
        (
            format!("SELECT split_words(t.s) FROM {WORDS}"),
            "'split_words' is a table function, not a scalar function",
        ),
        (
            format!("SELECT * FROM {WORDS}, LATERAL TABLE(digits(t.s)) AS T(d)"),
            "digits",
        ),
        (
            "SELECT bidder, weighted_avg(CAST(price AS STRING), 'x') FROM bid GROUP BY bidder".to_string(),
            "weighted_avg",
        ),
        (
            "SELECT bidder, nope_agg(price) FROM bid GROUP BY bidder".to_string(),
            "nope_agg",
        ),
    ];
    for (sql, expected) in cases {
        let error = plan_error(&sql);
        assert!(error.contains(expected), "{sql}: {error}");
    }
}

#[test]
fn a_table_function_must_return_a_list() {
    let mut catalog = Catalog::new();
    let scalar = create_udf(
        "not_a_table",
        vec![DataType::Int64],
        DataType::Int64,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| Ok(args[0].clone())),
    );
    let error = catalog.register_table_function("not_a_table", scalar).unwrap_err();
    assert!(matches!(error, SqlError::Plan(_)));
    assert!(
        error.to_string().contains("table function 'not_a_table' returns Int64"),
        "{error}"
    );
}

#[test]
fn a_session_runs_a_script_with_both_kinds_of_functions() {
    let collect = crate::script::Collect::default();
    let mut connectors = weir_sql::connectors::builtin();
    connectors.register_sink(Arc::new(collect.clone()));
    let mut session = SqlSession::new(connectors);
    session.register_aggregate_function("my.Longest", longest());
    session.register_table_function("my.Words", split_words()).unwrap();
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(1);
    session
        .run_script(
            &env,
            "CREATE FUNCTION longest_word AS 'my.Longest';
             CREATE FUNCTION words AS 'my.Words';
             CREATE TABLE out (k INT, w STRING, n BIGINT) WITH ('connector' = 'collect');
             INSERT INTO out
             SELECT k, longest_word(T.w), COUNT(*)
             FROM (VALUES (1, 'x yyy zz'), (2, 'p'), (1, 'qqqq')) AS t(k, s),
                  LATERAL TABLE(words(t.s)) AS T(w, len)
             GROUP BY k;",
        )
        .unwrap();
    env.execute("session udfs").unwrap();
    let rows = crate::script::drain(&collect);
    assert!(
        rows.contains(&"+U[1, qqqq, 4]".to_string()) || rows.contains(&"+I[1, qqqq, 4]".to_string()),
        "{rows:?}"
    );
    assert!(rows.contains(&"+I[2, p, 1]".to_string()), "{rows:?}");
}
