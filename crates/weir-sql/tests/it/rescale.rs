//! SQL jobs that fail and resume from their last checkpoint at another
//! parallelism: OVER windows (ROWS and RANGE), a window aggregate, an updating
//! aggregate, a Top-N and a temporal join with a versioned table. Their keyed state and timers are split by key group
//! among a different number of subtasks, the generator source's splits are
//! handed out again, and the exactly-once output (a write-ahead-log sink, one
//! batch per checkpoint, shared by both runs) is the changelog of the right
//! result: nothing lost, nothing twice.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use arrow::array::Int64Array;
use weir_connectors::GeneratorSource;
use weir_core::RestartStrategy;
use weir_datastream::{DataStream, StreamExecutionEnvironment};
use weir_sql::batch::RowBatch;
use weir_sql::connector::{SqlConnectors, SqlSource};
use weir_sql::error::SqlError;
use weir_sql::front::{Catalog, TableDef};
use weir_sql::job::SqlJob;

use crate::plan_restart::{add_wal_sink, bid_batch, row, Written, BATCHES, PER_BATCH};
use crate::plan_stream::{query, DDL};

const ROWS: i64 = BATCHES as i64 * PER_BATCH;
/// The first run fails at the first batch from this row on that comes after a
/// completed checkpoint.
const FAIL_FROM: i64 = 800 * PER_BATCH;

/// The `bid` rows of [`row`]; when `fail` is set, the run fails once (see
/// [`FAIL_FROM`]), after a checkpoint under the given directory completed.
struct BidSource {
    fail: Option<(Arc<AtomicBool>, PathBuf)>,
}

impl SqlSource for BidSource {
    fn name(&self) -> &'static str {
        "test"
    }

    fn create_source(
        &self,
        env: &StreamExecutionEnvironment,
        table: &TableDef,
        _projection: Option<&[usize]>,
    ) -> Result<DataStream<RowBatch>, SqlError> {
        let schema = table.schema.clone();
        let fail = self.fail.clone();
        Ok(env
            .add_source(
                GeneratorSource::new(move |i| bid_batch(&schema, i))
                    .with_count(BATCHES)
                    .with_rate_limit(10_000.0),
            )
            .uid(&format!("bids of {}", table.name))
            .map(move |b: RowBatch| {
                if let Some((armed, checkpoints)) = &fail {
                    let column = b.batch().column(0);
                    let first = column.as_any().downcast_ref::<Int64Array>().unwrap().value(0);
                    if first >= FAIL_FROM && restorable(checkpoints).is_some() && armed.swap(false, Ordering::SeqCst) {
                        panic!("planned failure");
                    }
                }
                b
            })
            .uid(&format!("{} fails once", table.name)))
    }
}

/// The job directory under `base` holding a completed checkpoint, if any.
fn restorable(base: &Path) -> Option<PathBuf> {
    std::fs::read_dir(base)
        .ok()?
        .flatten()
        .map(|job| job.path())
        .find(|job| {
            std::fs::read_dir(job).is_ok_and(|entries| {
                entries.flatten().any(|c| {
                    c.file_name().to_string_lossy().starts_with("chk-") && c.path().join("_metadata").is_file()
                })
            })
        })
}

/// Plans `sql` at `parallelism` into a write-ahead-log sink recording into
/// `written`, and runs it; the run's result.
fn run_once(
    extra_ddl: &str,
    sql: &str,
    parallelism: usize,
    checkpoints: &Path,
    restore: Option<&Path>,
    fail: Option<Arc<AtomicBool>>,
    written: &Written,
) -> Result<(), String> {
    let mut catalog = Catalog::new();
    catalog.apply_script(&format!("{DDL}\n{extra_ddl}")).unwrap();
    let mut connectors = SqlConnectors::new();
    connectors.register_source(Arc::new(BidSource {
        fail: fail.map(|armed| (armed, checkpoints.to_path_buf())),
    }));
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism)
        .enable_checkpointing(Duration::from_millis(5))
        .set_checkpoint_dir(checkpoints)
        .set_restart_strategy(RestartStrategy::None);
    if let Some(restore) = restore {
        env.restore_from(restore);
    }
    let planned = SqlJob::plan_query(&env, &catalog, &connectors, &query(sql)).unwrap();
    add_wal_sink(planned.stream, written);
    env.execute("sql rescale").map(|_| ()).map_err(|e| e.to_string())
}

/// Runs `sql` at parallelism `from` until its planned failure, then from its last
/// checkpoint at parallelism `to` to the end; the rows the written changelog
/// leaves, each with how often it is there (checked never to go below zero).
fn failed_and_rescaled(sql: &'static str, from: usize, to: usize) -> BTreeMap<Vec<String>, i64> {
    failed_and_rescaled_with("", sql, from, to)
}

/// [`failed_and_rescaled`] with `extra_ddl` (views) after the `bid` table.
fn failed_and_rescaled_with(
    extra_ddl: &'static str,
    sql: &'static str,
    from: usize,
    to: usize,
) -> BTreeMap<Vec<String>, i64> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let dir = tempfile::tempdir().unwrap();
        let (first, second) = (dir.path().join("first"), dir.path().join("second"));
        let written = Written::default();
        let armed = Arc::new(AtomicBool::new(true));
        let failed = run_once(extra_ddl, sql, from, &first, None, Some(armed.clone()), &written);
        assert!(!armed.load(Ordering::SeqCst), "the planned failure never happened");
        let message = failed.expect_err("the first run should fail");
        assert!(message.contains("planned failure"), "{message}");
        let job = restorable(&first).expect("no completed checkpoint to resume from");
        run_once(extra_ddl, sql, to, &second, Some(&job), None, &written).unwrap();
        let mut rows: BTreeMap<Vec<String>, i64> = BTreeMap::new();
        for batch in written.lock().unwrap().values().flatten() {
            for (kind, values) in weir_sql::rows::row_values(batch).unwrap() {
                *rows.entry(values).or_default() += if kind.is_addition() { 1 } else { -1 };
            }
        }
        let _ = tx.send(rows);
    });
    let rows = rx
        .recv_timeout(Duration::from_secs(180))
        .expect("the runs did not finish within 180 s (hang or failure: see the panic above)");
    assert!(rows.values().all(|n| *n >= 0), "rows retracted more often than added");
    rows.into_iter().filter(|(_, n)| *n > 0).collect()
}

/// Fails naming the rows that differ (not the whole result).
fn assert_same(got: &BTreeMap<Vec<String>, i64>, want: &BTreeMap<Vec<String>, i64>) {
    let missing: Vec<_> = want.iter().filter(|(r, n)| got.get(*r) != Some(n)).take(10).collect();
    let extra: Vec<_> = got.iter().filter(|(r, n)| want.get(*r) != Some(n)).take(10).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{} rows, {} expected; first missing: {missing:?}; first unexpected: {extra:?}",
        got.len(),
        want.len()
    );
}

/// Each row of `rows` once.
fn once(rows: impl IntoIterator<Item = Vec<i64>>) -> BTreeMap<Vec<String>, i64> {
    let mut out = BTreeMap::new();
    for r in rows {
        *out.entry(r.iter().map(|v| v.to_string()).collect()).or_default() += 1;
    }
    out
}

/// The price of row `j` of bidder `j % 3`, and the bidder's rows before it (every
/// third row).
fn sum_of_bidders_rows(j: i64, rows_back: impl Fn(i64) -> bool) -> i64 {
    (0..=j)
        .rev()
        .step_by(3)
        .take_while(|&k| rows_back(j - k))
        .map(|k| row(k).2)
        .sum()
}

#[test]
fn an_over_rows_window_resumes_at_a_higher_parallelism() {
    let got = failed_and_rescaled(
        "SELECT auction, SUM(price) OVER (PARTITION BY bidder ORDER BY dateTime \
         ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) FROM bid",
        2,
        3,
    );
    // The row itself and the bidder's two rows before it.
    let want = once((0..ROWS).map(|j| vec![j, sum_of_bidders_rows(j, |back| back <= 6)]));
    assert_same(&got, &want);
}

#[test]
fn an_over_range_window_resumes_at_a_lower_parallelism() {
    let got = failed_and_rescaled(
        "SELECT auction, COUNT(*) OVER w, SUM(price) OVER w FROM bid \
         WINDOW w AS (PARTITION BY bidder ORDER BY dateTime \
         RANGE BETWEEN INTERVAL '1' SECOND PRECEDING AND CURRENT ROW)",
        3,
        1,
    );
    // Rows are 10 ms apart: the bidder's rows up to 100 rows (1 s) back.
    let want = once((0..ROWS).map(|j| {
        let count = (0..=j).rev().step_by(3).take_while(|k| j - k <= 100).count() as i64;
        vec![j, count, sum_of_bidders_rows(j, |back| back <= 100)]
    }));
    assert_same(&got, &want);
}

#[test]
fn a_window_aggregate_resumes_at_a_higher_parallelism() {
    let got = failed_and_rescaled(
        "SELECT bidder, window_start, COUNT(*), SUM(price) \
         FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND)) \
         GROUP BY bidder, window_start, window_end",
        1,
        3,
    );
    let mut windows: BTreeMap<(i64, i64), (i64, i64)> = BTreeMap::new();
    for (_, bidder, price, time) in (0..ROWS).map(row) {
        let w = windows.entry((bidder, time - time % 10_000)).or_default();
        w.0 += 1;
        w.1 += price;
    }
    // Window starts print as timestamps (all within the first hour).
    let start = |ms: i64| format!("1970-01-01T00:{:02}:{:02}", ms / 60_000, ms / 1_000 % 60);
    let want: BTreeMap<Vec<String>, i64> = windows
        .into_iter()
        .map(|((b, s), (c, p))| (vec![b.to_string(), start(s), c.to_string(), p.to_string()], 1))
        .collect();
    assert_same(&got, &want);
}

#[test]
fn an_updating_aggregate_and_a_top_n_resume_at_another_parallelism() {
    // The counts per price band, then each bidder's two largest prices.
    let got = failed_and_rescaled(
        "SELECT price / 10, COUNT(*), SUM(auction) FROM bid GROUP BY price / 10",
        3,
        2,
    );
    let mut bands: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for (auction, _, price, _) in (0..ROWS).map(row) {
        let b = bands.entry(price / 10).or_default();
        b.0 += 1;
        b.1 += auction;
    }
    assert_same(&got, &once(bands.into_iter().map(|(band, (c, s))| vec![band, c, s])));

    let got = failed_and_rescaled(
        "SELECT bidder, price, rn FROM (SELECT bidder, price, ROW_NUMBER() OVER \
         (PARTITION BY bidder ORDER BY price DESC) AS rn FROM bid) WHERE rn <= 2",
        2,
        1,
    );
    // Every bidder has a row of price 49 and another one.
    let want = once((0..3).flat_map(|bidder| [vec![bidder, 49, 1], vec![bidder, 49, 2]]));
    assert_same(&got, &want);
}

#[test]
fn a_temporal_join_with_a_versioned_table_resumes_at_another_parallelism() {
    // Each bid with the price of its bidder's latest bid on an even auction at or
    // before it (itself when its auction is even): the versioned table's rows are
    // the bids again, keyed by bidder, the condition on them alone filtering the
    // versions.
    let got = failed_and_rescaled_with(
        "CREATE TABLE versions (auction BIGINT, bidder BIGINT, price BIGINT, dateTime TIMESTAMP(3), \
         WATERMARK FOR dateTime AS dateTime - INTERVAL '1' SECOND, PRIMARY KEY (bidder) NOT ENFORCED) \
         WITH ('connector' = 'test');",
        "SELECT b.auction, v.price FROM bid AS b JOIN versions FOR SYSTEM_TIME AS OF b.dateTime AS v \
         ON b.bidder = v.bidder AND MOD(v.auction, 2) = 0",
        2,
        3,
    );
    let want = once((0..ROWS).filter_map(|j| {
        let current = (0..=j).rev().find(|k| k % 2 == 0 && k % 3 == j % 3)?;
        Some(vec![j, row(current).2])
    }));
    assert_same(&got, &want);
}
