//! SQL queries planned by DataFusion and run as Weir dataflows over an in-test
//! source of hand-made batches: filters, projections, computed columns, TUMBLE and
//! HOP window aggregates at parallelism 1 and 2, and unsupported constructs.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, Int64Array, RecordBatch, TimestampMillisecondArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::util::display::array_value_to_string;
use weir_datastream::{DataStream, StreamExecutionEnvironment};
use weir_sql::batch::RowBatch;
use weir_sql::connector::{SqlConnectors, SqlSource};
use weir_sql::error::SqlError;
use weir_sql::front::{Catalog, Statement, TableDef};
use weir_sql::job::SqlJob;

pub const ROWS: i64 = 60;

/// The bids: row i has bidder i % 3, price (i * 7) % 50, time i * 500 ms.
pub fn bid(i: i64) -> (i64, i64, i64, i64) {
    (i, i % 3, (i * 7) % 50, i * 500)
}

/// A source of fixed batches of the table's physical columns.
pub struct TestSource {
    pub batches: Vec<RecordBatch>,
}

impl SqlSource for TestSource {
    fn name(&self) -> &'static str {
        "test"
    }

    fn create_source(
        &self,
        env: &StreamExecutionEnvironment,
        _table: &TableDef,
        _projection: Option<&[usize]>,
    ) -> Result<DataStream<RowBatch>, SqlError> {
        Ok(env.from_collection(self.batches.iter().cloned().map(RowBatch).collect::<Vec<_>>()))
    }
}

pub const DDL: &str = "CREATE TABLE bid (
    auction BIGINT,
    bidder BIGINT,
    price BIGINT,
    doubled AS price * 2,
    dateTime TIMESTAMP(3),
    WATERMARK FOR dateTime AS dateTime - INTERVAL '1' SECOND
) WITH ('connector' = 'test');";

pub fn setup(extra_ddl: &str) -> (Catalog, SqlConnectors) {
    let mut catalog = Catalog::new();
    catalog.apply_script(DDL).unwrap();
    if !extra_ddl.is_empty() {
        catalog.apply_script(extra_ddl).unwrap();
    }
    let table = catalog.table("bid").unwrap();
    let schema = table.schema.clone();
    let rows: Vec<_> = (0..ROWS).map(bid).collect();
    let batches = rows
        .chunks(7)
        .map(|chunk| {
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from(chunk.iter().map(|r| r.0).collect::<Vec<_>>())),
                    Arc::new(Int64Array::from(chunk.iter().map(|r| r.1).collect::<Vec<_>>())),
                    Arc::new(Int64Array::from(chunk.iter().map(|r| r.2).collect::<Vec<_>>())),
                    Arc::new(TimestampMillisecondArray::from(
                        chunk.iter().map(|r| r.3).collect::<Vec<_>>(),
                    )),
                ],
            )
            .unwrap()
        })
        .collect();
    let mut connectors = SqlConnectors::new();
    connectors.register_source(Arc::new(TestSource { batches }));
    (catalog, connectors)
}

pub fn query(sql: &str) -> Box<datafusion::sql::sqlparser::ast::Query> {
    match weir_sql::front::parse_statement(sql).unwrap().statement {
        Statement::Query(q) => q,
        other => panic!("not a query: {other:?}"),
    }
}

/// Rows as strings (timestamps as epoch milliseconds), sorted.
pub fn rows(batches: &[RowBatch]) -> Vec<Vec<String>> {
    let mut out = rows_in_order(batches);
    out.sort();
    out
}

/// Rows as strings (timestamps as epoch milliseconds), in batch order.
pub fn rows_in_order(batches: &[RowBatch]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for batch in batches {
        let batch = batch.batch();
        let columns: Vec<_> = batch
            .columns()
            .iter()
            .map(|c| match c.data_type() {
                DataType::Timestamp(_, _) => cast(c, &DataType::Int64).unwrap(),
                _ => c.clone(),
            })
            .collect();
        for row in 0..batch.num_rows() {
            out.push(
                columns
                    .iter()
                    .map(|c| {
                        if c.is_null(row) {
                            "NULL".into()
                        } else {
                            array_value_to_string(c, row).unwrap()
                        }
                    })
                    .collect(),
            );
        }
    }
    out
}

pub fn run(sql: &str, extra_ddl: &str, parallelism: usize) -> Vec<Vec<String>> {
    let (catalog, connectors) = setup(extra_ddl);
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism);
    let planned = SqlJob::plan_query(&env, &catalog, &connectors, &query(sql)).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let handle = planned.stream.collect();
    env.execute("sql test").unwrap();
    rows(&handle.take())
}

fn sorted(mut rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    rows.sort();
    rows
}

#[test]
fn filter_projection_and_computed_columns() {
    let got = run(
        "SELECT bidder, doubled, price + 1 AS p1, dateTime FROM bid WHERE price > 30 AND bidder <> 1",
        "",
        1,
    );
    let expected = sorted(
        (0..ROWS)
            .map(bid)
            .filter(|b| b.2 > 30 && b.1 != 1)
            .map(|b| {
                vec![
                    b.1.to_string(),
                    (b.2 * 2).to_string(),
                    (b.2 + 1).to_string(),
                    b.3.to_string(),
                ]
            })
            .collect(),
    );
    assert!(!expected.is_empty());
    assert_eq!(got, expected);
}

/// (bidder, start, end) -> (count, sum, max) by brute force.
fn windows(size: i64, slide: i64) -> Vec<Vec<String>> {
    let mut acc: BTreeMap<(i64, i64, i64), (i64, i64, i64)> = BTreeMap::new();
    for b in (0..ROWS).map(bid) {
        let mut start = b.3 - b.3.rem_euclid(slide);
        while start > b.3 - size {
            let e = acc.entry((b.1, start, start + size)).or_insert((0, 0, i64::MIN));
            e.0 += 1;
            e.1 += b.2;
            e.2 = e.2.max(b.2);
            start -= slide;
        }
    }
    sorted(
        acc.into_iter()
            .map(|((k, s, e), (c, sum, max))| [k, s, e, c, sum, max].iter().map(|v| v.to_string()).collect())
            .collect(),
    )
}

const TUMBLE: &str = "SELECT bidder, window_start, window_end, COUNT(*), SUM(price), MAX(price) \
    FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND)) \
    GROUP BY bidder, window_start, window_end";

const HOP: &str = "SELECT bidder, window_start, window_end, COUNT(*) AS c, SUM(price) AS s, MAX(price) AS m \
    FROM TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '5' SECOND, INTERVAL '10' SECOND)) \
    GROUP BY bidder, window_start, window_end";

#[test]
fn tumble_window_aggregate() {
    let expected = windows(10_000, 10_000);
    assert_eq!(expected.len(), 9);
    assert_eq!(run(TUMBLE, "", 1), expected);
}

#[test]
fn hop_window_aggregate() {
    assert_eq!(run(HOP, "", 1), windows(10_000, 5_000));
}

#[test]
fn window_aggregates_at_parallelism_two() {
    assert_eq!(run(TUMBLE, "", 2), windows(10_000, 10_000));
    assert_eq!(run(HOP, "", 2), windows(10_000, 5_000));
}

#[test]
fn window_over_a_view_with_a_filter() {
    let got = run(
        "SELECT window_start, COUNT(*) AS c FROM TABLE(TUMBLE(TABLE cheap, DESCRIPTOR(dateTime), INTERVAL '10' SECOND)) \
         GROUP BY window_start, window_end",
        "CREATE VIEW cheap AS SELECT * FROM bid WHERE price < 20;",
        2,
    );
    let mut expected: BTreeMap<i64, i64> = BTreeMap::new();
    for b in (0..ROWS).map(bid).filter(|b| b.2 < 20) {
        *expected.entry(b.3 - b.3 % 10_000).or_default() += 1;
    }
    let expected: Vec<Vec<String>> = sorted(
        expected
            .into_iter()
            .map(|(s, c)| vec![s.to_string(), c.to_string()])
            .collect(),
    );
    assert_eq!(got, expected);
}

#[test]
fn count_distinct_runs_as_two_window_aggregates() {
    let got = run(
        "SELECT window_start, COUNT(DISTINCT bidder) AS bidders, COUNT(DISTINCT price % 2) AS parities \
         FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND)) GROUP BY window_start, window_end",
        "",
        2,
    );
    let expected: Vec<Vec<String>> = (0..3)
        .map(|w| vec![(w * 10_000).to_string(), "3".into(), "2".into()])
        .collect();
    assert_eq!(got, expected);
    // A single COUNT(DISTINCT) is rewritten by DataFusion into a grouped aggregate
    // over a distinct one: two chained window aggregates.
    let got = run(
        "SELECT window_start, COUNT(DISTINCT bidder) AS bidders \
         FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND)) GROUP BY window_start, window_end",
        "",
        2,
    );
    let expected: Vec<Vec<String>> = (0..3).map(|w| vec![(w * 10_000).to_string(), "3".into()]).collect();
    assert_eq!(got, expected);
}

#[test]
fn unsupported_constructs_are_errors() {
    let (catalog, connectors) =
        setup("CREATE VIEW counts AS SELECT bidder, MAX(dateTime) AS dateTime FROM bid GROUP BY bidder;");
    let env = StreamExecutionEnvironment::new();
    for (sql, needle) in [
        (
            "SELECT a.bidder FROM bid a LEFT JOIN bid b ON a.auction < b.auction",
            "a join without an equality condition",
        ),
        (
            "SELECT window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE counts, DESCRIPTOR(dateTime), INTERVAL '10' SECOND)) GROUP BY window_start, window_end",
            "whose rows are updated",
        ),
        ("SELECT bidder FROM bid ORDER BY price", "ORDER BY without LIMIT"),
        ("SELECT bidder FROM bid OFFSET 3", "OFFSET without LIMIT"),
        (
            "SELECT window_start, SUM(DISTINCT price), COUNT(DISTINCT bidder) FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND)) GROUP BY window_start, window_end",
            "SUM(DISTINCT)",
        ),
        (
            "SELECT bidder, AVG(price) OVER (PARTITION BY bidder ORDER BY dateTime ROWS BETWEEN 10 PRECEDING AND 1 FOLLOWING) FROM bid",
            "an OVER window ending at 1 FOLLOWING",
        ),
    ] {
        match SqlJob::plan_query(&env, &catalog, &connectors, &query(sql)) {
            Err(e @ SqlError::Unsupported { .. }) => {
                assert!(e.to_string().contains(needle), "{sql}: {e}")
            }
            Err(e) => panic!("{sql}: not Unsupported: {e}"),
            Ok(_) => panic!("{sql}: planned"),
        }
    }
}

#[test]
fn cumulate_window_aggregate() {
    let got = run(
        "SELECT bidder, window_start, window_end, COUNT(*), SUM(price), MAX(price) \
         FROM TABLE(CUMULATE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '5' SECOND, INTERVAL '10' SECOND)) \
         GROUP BY bidder, window_start, window_end",
        "",
        2,
    );
    let mut acc: BTreeMap<(i64, i64, i64), (i64, i64, i64)> = BTreeMap::new();
    for b in (0..ROWS).map(bid) {
        let base = b.3 - b.3 % 10_000;
        for end in [base + 5_000, base + 10_000] {
            if b.3 < end {
                let e = acc.entry((b.1, base, end)).or_insert((0, 0, i64::MIN));
                e.0 += 1;
                e.1 += b.2;
                e.2 = e.2.max(b.2);
            }
        }
    }
    let expected = sorted(
        acc.into_iter()
            .map(|((k, s, e), (c, sum, max))| [k, s, e, c, sum, max].iter().map(|v| v.to_string()).collect())
            .collect(),
    );
    assert_eq!(got, expected);
}

/// Collects what is written into a table.
struct TestSink {
    rows: Arc<std::sync::Mutex<Vec<RowBatch>>>,
}

impl weir_sql::connector::SqlSink for TestSink {
    fn name(&self) -> &'static str {
        "test"
    }

    fn accepts(&self, _: &TableDef, mode: weir_sql::connector::ChangelogMode) -> bool {
        mode == weir_sql::connector::ChangelogMode::InsertOnly
    }

    fn create_sink(
        &self,
        _: &TableDef,
        input: DataStream<RowBatch>,
        _: weir_sql::connector::ChangelogMode,
    ) -> Result<weir_datastream::DataStreamSink, SqlError> {
        let rows = self.rows.clone();
        Ok(input
            .map(move |b: RowBatch| {
                rows.lock().unwrap().push(b);
            })
            .discard())
    }
}

#[test]
fn insert_into_a_table_casts_to_its_columns() {
    let (mut catalog, mut connectors) = setup("");
    catalog
        .apply_script("CREATE TABLE out (b INT, total BIGINT, w TIMESTAMP(3)) WITH ('connector' = 'test');")
        .unwrap();
    let collected = Arc::new(std::sync::Mutex::new(Vec::new()));
    connectors.register_sink(Arc::new(TestSink {
        rows: collected.clone(),
    }));
    let statements = catalog
        .apply_script(
            "INSERT INTO out SELECT bidder, SUM(price), window_start \
             FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND)) GROUP BY bidder, window_start, window_end",
        )
        .unwrap();
    let Statement::Insert(insert) = &statements[0].statement else {
        panic!("{:?}", statements[0].statement)
    };
    let env = StreamExecutionEnvironment::new();
    SqlJob::plan_insert(&env, &catalog, &connectors, insert).unwrap();
    env.execute("insert").unwrap();
    let batches = collected.lock().unwrap().clone();
    assert_eq!(batches[0].batch().schema(), catalog.table("out").unwrap().schema);
    let expected: Vec<Vec<String>> = windows(10_000, 10_000)
        .into_iter()
        .map(|r| vec![r[0].clone(), r[4].clone(), r[1].clone()])
        .collect();
    assert_eq!(rows(&batches), sorted(expected));
}
