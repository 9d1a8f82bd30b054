//! A SQL window aggregate restarted from a checkpoint after a failure: the keyed
//! window state and timers are restored and every window's row is right. The
//! failing job ([`run_failing_once`]) serves the join restarts too.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arrow::array::{Int64Array, RecordBatch, TimestampMillisecondArray};
use arrow::datatypes::SchemaRef;
use weir_connectors::{BatchId, GeneratorSource, WriteAheadLogSink};
use weir_core::RestartStrategy;
use weir_datastream::{DataStream, StreamExecutionEnvironment};
use weir_runtime::sink::transactional::ExactlyOnce;
use weir_sql::batch::RowBatch;
use weir_sql::connector::{SqlConnectors, SqlSource};
use weir_sql::error::SqlError;
use weir_sql::front::{Catalog, TableDef};
use weir_sql::job::{PlannedQuery, SqlJob};

use crate::plan_stream::{query, rows, DDL};

pub const BATCHES: u64 = 2_000;
pub const PER_BATCH: i64 = 10;
const FAIL_AT: i64 = 1_000 * PER_BATCH;

/// Row j: bidder j % 3, price (j * 7) % 50, time j * 10 ms.
pub fn row(j: i64) -> (i64, i64, i64, i64) {
    (j, j % 3, (j * 7) % 50, j * 10)
}

/// Batch `i` of the `bid` table: rows `i * PER_BATCH ..` (see [`row`]).
pub fn bid_batch(schema: &SchemaRef, i: u64) -> RowBatch {
    let rows: Vec<_> = (0..PER_BATCH).map(|k| row(i as i64 * PER_BATCH + k)).collect();
    RowBatch(
        RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(rows.iter().map(|r| r.0).collect::<Vec<_>>())),
                Arc::new(Int64Array::from(rows.iter().map(|r| r.1).collect::<Vec<_>>())),
                Arc::new(Int64Array::from(rows.iter().map(|r| r.2).collect::<Vec<_>>())),
                Arc::new(TimestampMillisecondArray::from(
                    rows.iter().map(|r| r.3).collect::<Vec<_>>(),
                )),
            ],
        )
        .unwrap(),
    )
}

/// Generated batches; the first attempt fails once at row FAIL_AT.
struct FailingSource {
    armed: Arc<AtomicBool>,
}

impl SqlSource for FailingSource {
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
        let armed = self.armed.clone();
        Ok(env
            .add_source(
                GeneratorSource::new(move |i| bid_batch(&schema, i))
                    .with_count(BATCHES)
                    .with_rate_limit(10_000.0),
            )
            .uid("bids")
            .map(move |b: RowBatch| {
                let first = b
                    .batch()
                    .column(0)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .unwrap()
                    .value(0);
                if first == FAIL_AT && armed.swap(false, Ordering::SeqCst) {
                    panic!("planned failure");
                }
                b
            })
            .uid("fail once"))
    }
}

/// Plans `sql` over the failing source on an environment of parallelism 2 with
/// checkpoints every 5 ms and restarts, and hands both to `job` (which adds a sink,
/// runs the job and reads the sink), in a thread of its own; checks that the
/// planned failure happened.
pub fn run_failing_once<T: Send + 'static>(
    sql: &'static str,
    job: impl FnOnce(&StreamExecutionEnvironment, PlannedQuery) -> T + Send + 'static,
) -> T {
    run_failing_once_with(|_| {}, sql, job)
}

/// [`run_failing_once`] with `prepare` applied to the catalog first (to register
/// functions).
pub fn run_failing_once_with<T: Send + 'static>(
    prepare: fn(&mut Catalog),
    sql: &'static str,
    job: impl FnOnce(&StreamExecutionEnvironment, PlannedQuery) -> T + Send + 'static,
) -> T {
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = dir.path().join("checkpoints");
    let armed = Arc::new(AtomicBool::new(true));
    let source_armed = armed.clone();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut catalog = Catalog::new();
        catalog.apply_script(DDL).unwrap();
        prepare(&mut catalog);
        let mut connectors = SqlConnectors::new();
        connectors.register_source(Arc::new(FailingSource { armed: source_armed }));
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(2)
            .enable_checkpointing(Duration::from_millis(5))
            .set_checkpoint_dir(checkpoints)
            .set_restart_strategy(RestartStrategy::FixedDelay {
                attempts: 3,
                delay: Duration::from_millis(1),
            });
        let planned = SqlJob::plan_query(&env, &catalog, &connectors, &query(sql)).unwrap();
        let _ = tx.send(job(&env, planned));
    });
    let got = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the job did not finish within 120 s (hang?)");
    assert!(!armed.load(Ordering::SeqCst), "the planned failure never happened");
    got
}

#[test]
fn a_window_aggregate_is_restored_after_a_failure() {
    let sql = "SELECT bidder, window_start, COUNT(*), SUM(price), MAX(price) \
        FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND)) \
        GROUP BY bidder, window_start, window_end";
    let got = run_failing_once(sql, |env, planned| {
        let handle = planned.stream.collect();
        env.execute("sql restart").unwrap();
        rows(&handle.take())
    });
    let mut expected: BTreeMap<(i64, i64), (i64, i64, i64)> = BTreeMap::new();
    for r in (0..BATCHES as i64 * PER_BATCH).map(row) {
        let e = expected.entry((r.1, r.3 - r.3 % 10_000)).or_insert((0, 0, i64::MIN));
        e.0 += 1;
        e.1 += r.2;
        e.2 = e.2.max(r.2);
    }
    let mut expected: Vec<Vec<String>> = expected
        .into_iter()
        .map(|((k, s), (c, sum, max))| [k, s, c, sum, max].iter().map(|v| v.to_string()).collect())
        .collect();
    expected.sort();
    // The collect sink is at-least-once: windows fired between the last completed
    // checkpoint and the failure are emitted again by the replay, identically. The
    // restored state makes every emitted row right (no window counted twice).
    let mut distinct = got.clone();
    distinct.dedup();
    assert_eq!(distinct, expected);
    assert!(got.len() >= expected.len());
}

/// The batches an exactly-once write-ahead-log sink committed, by batch id.
pub type Written = Arc<Mutex<BTreeMap<BatchId, Vec<RowBatch>>>>;

/// Ends `stream` in an exactly-once write-ahead-log sink (uid `wal`) that records
/// every committed batch into `written`.
pub fn add_wal_sink(stream: DataStream<RowBatch>, written: &Written) {
    let wal = written.clone();
    stream
        .add_sink(ExactlyOnce::new(WriteAheadLogSink::new(
            move |id: BatchId, batches: &[RowBatch]| {
                wal.lock().unwrap().insert(id, batches.to_vec());
                Ok(())
            },
        )))
        .uid("wal");
}
