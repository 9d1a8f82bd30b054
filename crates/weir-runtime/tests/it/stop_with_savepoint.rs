//! Stop with savepoint: `stop_with_savepoint` returns (and the job reports
//! finished) only once every sink has handled the savepoint's commit notification,
//! so every transaction pre-committed up to the savepoint is committed by then,
//! even when commits are slow. No checkpoint is taken after the savepoint, so
//! nothing written after it is committed (resuming from the savepoint replays it).
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::run_with_watchdog;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use weir_connectors::GeneratorSource;
use weir_core::{BoxError, RestartStrategy};
use weir_datastream::StreamExecutionEnvironment;
use weir_runtime::sink::transactional::{ExactlyOnce, TransactionContext, TransactionalSink};

/// What the sink did, shared with the test.
#[derive(Default)]
struct Ledger {
    /// Pre-committed transactions by name: (checkpoint id, records).
    pre_committed: BTreeMap<String, (u64, Vec<u64>)>,
    /// Committed transaction names.
    committed: BTreeMap<String, usize>,
}

#[derive(Clone, Serialize, Deserialize)]
struct Pending {
    name: String,
    records: usize,
}

/// An in-memory two-phase-commit sink whose commits take a while.
struct SlowCommits {
    ledger: Arc<Mutex<Ledger>>,
    commit_time: Duration,
}

impl TransactionalSink<u64> for SlowCommits {
    type Transaction = Vec<u64>;
    type Pending = Pending;

    fn begin(&self, _: &TransactionContext) -> Result<Vec<u64>, BoxError> {
        Ok(Vec::new())
    }

    fn write(&self, _: &TransactionContext, txn: &mut Vec<u64>, value: u64, _: Option<i64>) -> Result<(), BoxError> {
        txn.push(value);
        Ok(())
    }

    fn pre_commit(
        &self,
        context: &TransactionContext,
        txn: Vec<u64>,
        checkpoint_id: u64,
    ) -> Result<Option<Pending>, BoxError> {
        if txn.is_empty() {
            return Ok(None);
        }
        let name = format!(
            "{}-{}-{}-{checkpoint_id}",
            context.info.index, context.info.attempt, context.sequence
        );
        let records = txn.len();
        self.ledger
            .lock()
            .unwrap()
            .pre_committed
            .insert(name.clone(), (checkpoint_id, txn));
        Ok(Some(Pending { name, records }))
    }

    fn commit(&self, _: &TransactionContext, pending: &Pending) -> Result<(), BoxError> {
        // A slow commit (a remote system acknowledging late).
        std::thread::sleep(self.commit_time);
        self.ledger
            .lock()
            .unwrap()
            .committed
            .insert(pending.name.clone(), pending.records);
        Ok(())
    }

    fn abort(&self, _: &TransactionContext, _: Vec<u64>) -> Result<(), BoxError> {
        Ok(())
    }
}

#[test]
fn stop_with_savepoint_returns_after_every_sink_committed() {
    run_with_watchdog("stop with savepoint".into(), |dir| {
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(2)
            .enable_checkpointing(Duration::from_millis(20))
            .set_checkpoint_dir(dir.join("checkpoints"))
            .set_restart_strategy(RestartStrategy::None);
        env.add_source(GeneratorSource::new(|i| i).with_rate_limit(5_000.0))
            .uid("numbers")
            .add_sink(ExactlyOnce::new(SlowCommits {
                ledger: ledger.clone(),
                commit_time: Duration::from_millis(300),
            }))
            .uid("slow sink");
        let client = env.execute_async("stop with savepoint").unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while ledger.lock().unwrap().pre_committed.len() < 2 {
            assert!(!client.is_finished(), "{:?}", client.status());
            assert!(Instant::now() < deadline, "nothing pre-committed within a minute");
            std::thread::sleep(Duration::from_millis(5));
        }

        let savepoint = client.stop_with_savepoint(dir.join("savepoints")).unwrap();

        {
            let ledger = ledger.lock().unwrap();
            let uncommitted: Vec<(&String, u64)> = ledger
                .pre_committed
                .iter()
                .filter(|(name, _)| !ledger.committed.contains_key(*name))
                .map(|(name, (checkpoint, _))| (name, *checkpoint))
                .collect();
            assert!(
                uncommitted.is_empty(),
                "stop_with_savepoint returned with transactions still uncommitted: {uncommitted:?}"
            );
        }
        let result = client.wait().unwrap();
        assert_eq!(result.savepoint.as_deref(), Some(savepoint.as_path()));
        // Nothing after the savepoint was pre-committed, let alone committed. (The
        // savepoint itself may pre-commit nothing: a sink that saw no record since
        // the previous checkpoint has an empty transaction.)
        let ledger = ledger.lock().unwrap();
        let last = ledger.pre_committed.values().map(|(c, _)| *c).max().unwrap();
        let savepoint_id = result.checkpoints.last().unwrap().id;
        assert!(
            last <= savepoint_id,
            "a transaction was pre-committed for checkpoint {last}, after the savepoint {savepoint_id}"
        );
        assert_eq!(ledger.committed.len(), ledger.pre_committed.len());
    });
}
