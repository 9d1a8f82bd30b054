//! Kafka in and out of a Weir job: a topic with several partitions is read exactly
//! once across a failure and a restore (at another parallelism) and written to
//! another topic exactly once; the committed output equals the input.
#![allow(clippy::unwrap_used)]

use crate::common;
use common::log::read_settled;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir::prelude::*;
use weir_connector_api::format::Utf8Text;
use weir_connector_kafka::{DeliveryGuarantee, KafkaSink, KafkaSource, OutgoingRecord, StartupMode};

/// Fails once, in the first attempt, after `after` completed checkpoints.
#[derive(Clone)]
struct FailAfterCheckpoints {
    after: u64,
    seen: Arc<AtomicU64>,
    attempt: u32,
}

impl ProcessFunction<String, String> for FailAfterCheckpoints {
    fn open(&mut self, subtask: &weir::core::SubtaskInfo) -> Result<(), BoxError> {
        self.attempt = subtask.attempt;
        Ok(())
    }
    fn process_element(
        &mut self,
        v: String,
        _: &mut Context<'_>,
        out: &mut Collector<'_, String>,
    ) -> Result<(), BoxError> {
        if self.seen.load(Ordering::SeqCst) >= self.after {
            return Err("planned failure".into());
        }
        out.collect(v);
        Ok(())
    }
    fn notify_checkpoint_complete(&mut self, _: u64) -> Result<(), BoxError> {
        self.seen.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn build(env: &StreamExecutionEnvironment, brokers: &str, input: &str, output: &str, prefix: &str, fail: bool) {
    let source = KafkaSource::<String>::builder(brokers, input)
        .value_format(|| Utf8Text)
        .startup_mode(StartupMode::Earliest)
        .bounded(true)
        .build()
        .unwrap()
        .into_source("kafka-in");
    let strategy = WatermarkStrategy::for_bounded_out_of_orderness(Duration::from_millis(10));
    let stream = env.from_source(source, strategy, "kafka-in").uid("kafka-in");
    let stream = if fail {
        stream
            .process(FailAfterCheckpoints {
                after: 2,
                seen: Arc::new(AtomicU64::new(0)),
                attempt: 0,
            })
            .uid("fail")
    } else {
        stream.map(|v| v).uid("fail")
    };
    stream
        .add_sink(
            KafkaSink::builder(brokers, output, |v: &String, _ts: Option<i64>| {
                Ok(OutgoingRecord::value(v.as_bytes()))
            })
            .delivery_guarantee(DeliveryGuarantee::ExactlyOnce)
            .transactional_id_prefix(prefix)
            .build()
            .unwrap(),
        )
        .uid("kafka-out");
}

fn env(dir: &Path, parallelism: usize) -> StreamExecutionEnvironment {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism)
        .enable_checkpointing(Duration::from_millis(30))
        .set_checkpoint_dir(dir.join("checkpoints"))
        .set_restart_strategy(RestartStrategy::None);
    env
}

#[test]
fn a_job_reads_and_writes_kafka_exactly_once_across_a_failure_and_a_restore() {
    common::logs();
    let brokers = common::brokers();
    let input = common::unique("job-in");
    let output = common::unique("job-out");
    common::create_topic(&brokers, &input, 4);
    common::create_topic(&brokers, &output, 2);
    let records: Vec<(i32, String, String, i64)> = (0..4)
        .flat_map(|p| (0..1_500).map(move |i| (p, format!("k{i}"), format!("{p}-{i}"), i as i64)))
        .collect();
    common::produce(&brokers, &input, &records);
    let prefix = common::unique("job");
    let dir = tempfile::tempdir().unwrap();

    let (b, i, o, p, d) = (
        brokers.clone(),
        input.clone(),
        output.clone(),
        prefix.clone(),
        dir.path().to_path_buf(),
    );
    let checkpoints = std::thread::spawn(move || {
        let env = env(&d, 2);
        build(&env, &b, &i, &o, &p, true);
        let client = env.execute_async("first run").unwrap();
        let checkpoints = client.checkpoint_dir().unwrap().to_path_buf();
        let error = client.wait().unwrap_err();
        assert!(error.to_string().contains("planned failure"), "{error}");
        checkpoints
    })
    .join()
    .unwrap();

    let env = env(dir.path(), 3);
    env.restore_from(&checkpoints);
    build(&env, &brokers, &input, &output, &prefix, false);
    let result = env.execute("second run").unwrap();
    assert!(result.restored_from.is_some());

    let log = read_settled(&brokers, &output, 2);
    eprintln!(
        "output: {} committed, {} aborted, {} open records",
        log.committed.len(),
        log.aborted.len(),
        log.open.len()
    );
    assert!(log.open.is_empty());
    let mut got = log.committed_values();
    got.sort();
    let mut want: Vec<String> = records.into_iter().map(|r| r.2).collect();
    want.sort();
    assert_eq!(got.len(), want.len(), "records lost or repeated");
    assert_eq!(got, want);
}
