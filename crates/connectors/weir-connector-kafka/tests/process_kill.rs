//! Real process death with the exactly-once Kafka sink: the `weir-chaos` harness
//! runs this binary as a child job (generator → running sums per key → Kafka
//! transactions), kills it with SIGKILL at seeded moments (at random, right after
//! a checkpoint completed and before the sink committed it, during a restore
//! before the restored transactions were committed), restarts it from the newest
//! retained checkpoint until the job finishes, and compares what the topic
//! committed with the oracle: nothing lost, nothing duplicated.
//!
//! Run without arguments, this binary is the test; run with the harness's job
//! options (`--checkpoint-dir ...`), it is the job. When the job finishes it
//! writes the topic's committed records (read from the raw log with its
//! transaction markers, see `common::log`) into the harness's output directory, as
//! the lines the oracle compares.
//!
//! Two scenarios run by default: parallelism 2, and rescaling (parallelism 1 to
//! 3 across restarts). Each runs seeded rounds (one topic per round) until it has
//! made at least `WEIR_CHAOS_KILLS` kills (default 15) and at least one of them
//! between a checkpoint's completion and the sink's commit. The long mode is the
//! same with more kills (`WEIR_CHAOS_KILLS=100`); `WEIR_CHAOS_SEED` replays one
//! round (the failure message prints the command).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use weir::core::{BoxError, CheckpointMode, RestartStrategy};
use weir::prelude::{Collector, KeyedContext, KeyedProcessFunction, StreamExecutionEnvironment, ValueStateDescriptor};
use weir_chaos::hooks::{Control, MarkedSink, MarkedSource};
use weir_chaos::markers::Marker;
use weir_chaos::oracle::{value, OutputLine};
use weir_chaos::{Backend, Budget, Harness, KillPoint, Scenario};
use weir_connector_kafka::{DeliveryGuarantee, KafkaSink, OutgoingRecord};

const PARTITIONS: i32 = 3;
const TOPIC_VAR: &str = "WEIR_KAFKA_CHAOS_TOPIC";
const PREFIX_VAR: &str = "WEIR_KAFKA_CHAOS_PREFIX";
/// Kills per scenario by default (a round makes 1 to 5).
const DEFAULT_KILLS: u32 = 15;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--checkpoint-dir") {
        std::process::exit(job(&args));
    }
    if args.iter().any(|a| a == "--list") {
        println!("kafka_exactly_once_aligned: test\nkafka_exactly_once_rescaling: test");
        return;
    }
    common::logs();
    let brokers = common::brokers();
    let filter: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let scenarios = vec![
        Scenario::new("kafka_exactly_once_aligned", CheckpointMode::Aligned, Backend::Heap),
        Scenario::new("kafka_exactly_once_rescaling", CheckpointMode::Aligned, Backend::Heap).rescaling(&[1, 2, 3]),
    ];
    let budget = Budget::from_env(DEFAULT_KILLS).unwrap();
    let mut failed = 0;
    let mut passed = 0;
    for scenario in scenarios {
        if !filter.is_empty() && !filter.iter().any(|f| scenario.name.contains(f.as_str())) {
            continue;
        }
        // Each round writes a topic of its own, so one harness round per topic.
        let first_seed = budget.seed.unwrap_or_else(|| fastrand::u64(1..1_000_000));
        let (mut rounds, mut kills, mut before_commit) = (0u64, 0u32, 0u32);
        let mut by_point: BTreeMap<String, u32> = BTreeMap::new();
        let mut ok = true;
        for seed in first_seed.. {
            let topic = common::unique(&scenario.name);
            common::create_topic(&brokers, &topic, PARTITIONS);
            // The child jobs inherit these.
            std::env::set_var("WEIR_TEST_KAFKA_BROKERS", &brokers);
            std::env::set_var(TOPIC_VAR, &topic);
            std::env::set_var(PREFIX_VAR, common::unique("chaos"));
            let harness = Harness::new(std::env::current_exe().unwrap());
            print!("test {} (seed {seed}, topic {topic}) ... ", scenario.name);
            rounds += 1;
            match harness.run(
                &scenario,
                Budget {
                    kills: 1,
                    seed: Some(seed),
                },
            ) {
                Ok(summary) => {
                    println!("ok\n{summary}");
                    kills += summary.total_kills();
                    before_commit += summary.kills.get(&KillPoint::BeforeCommit).copied().unwrap_or(0);
                    for (point, n) in &summary.kills {
                        *by_point.entry(point.to_string()).or_default() += n;
                    }
                }
                Err(failure) => {
                    println!("FAILED\n{failure}\nrerun: WEIR_CHAOS_SEED={seed} cargo test --release -p weir-connector-kafka --test process_kill -- {}", scenario.name);
                    ok = false;
                    break;
                }
            }
            if budget.seed.is_some() || (kills >= budget.kills && before_commit > 0) {
                break;
            }
            // On a loaded machine many rounds end before their planned kill (the
            // plan gives up once the sources finished), and fewer reach a kill
            // before a commit: keep going, within bounds.
            assert!(
                seed - first_seed < 2 * u64::from(budget.kills) + 40,
                "the kill plans keep missing the job: {kills} kills, {before_commit} before a commit in {rounds} rounds"
            );
        }
        println!(
            "{}: {rounds} rounds from seed {first_seed}, {kills} kills ({by_point:?}), {}",
            scenario.name,
            if ok { "no loss, no duplicate" } else { "FAILED" }
        );
        if ok {
            passed += 1;
        } else {
            failed += 1;
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}

/// Running count and sum per key; one output line per record.
#[derive(Clone)]
struct RunningSums {
    state: ValueStateDescriptor<(u64, u64)>,
}

impl KeyedProcessFunction<u64, u64, OutputLine> for RunningSums {
    fn process_element(
        &mut self,
        id: u64,
        ctx: &mut KeyedContext<'_, u64>,
        out: &mut Collector<'_, OutputLine>,
    ) -> Result<(), BoxError> {
        let key = *ctx.current_key();
        let mut state = ctx.value(&self.state)?;
        let (count, sum) = state.get()?.unwrap_or((0, 0));
        let (count, sum) = (count + 1, sum + value(id));
        state.set((count, sum))?;
        out.collect(OutputLine { id, key, count, sum });
        Ok(())
    }
}

fn option<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// The child job; returns the exit code.
fn job(args: &[String]) -> i32 {
    common::logs();
    let required = |name: &str| {
        option(args, name)
            .unwrap_or_else(|| panic!("missing {name}"))
            .to_string()
    };
    let checkpoint_dir = PathBuf::from(required("--checkpoint-dir"));
    let output = PathBuf::from(required("--output"));
    let interval = Duration::from_millis(required("--interval").trim_end_matches("ms").parse().unwrap());
    let parallelism: usize = required("--parallelism").parse().unwrap();
    let records: u64 = required("--records").parse().unwrap();
    let keys: u64 = required("--keys").parse().unwrap();
    let rate: f64 = required("--rate").parse().unwrap();
    let mode: CheckpointMode = required("--mode").parse().unwrap();
    let restore_from = option(args, "--restore-from").map(PathBuf::from);
    let interactive = args.iter().any(|a| a == "--interactive");
    let brokers = std::env::var("WEIR_TEST_KAFKA_BROKERS").unwrap();
    let topic = std::env::var(TOPIC_VAR).unwrap();
    let prefix = std::env::var(PREFIX_VAR).unwrap();

    let control = Control::new(interactive);
    control
        .announce(&Marker::Started {
            parallelism,
            restored: restore_from.is_some(),
        })
        .unwrap();
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism)
        .enable_checkpointing(interval)
        .set_checkpoint_mode(mode)
        .set_checkpoint_dir(checkpoint_dir)
        .set_restart_strategy(RestartStrategy::None);
    if let Some(from) = &restore_from {
        env.restore_from(from.clone());
    }
    let mut generator = weir::connectors::GeneratorSource::new(|id| id).with_count(records);
    if rate > 0.0 {
        generator = generator.with_rate_limit(rate);
    }
    let sink = KafkaSink::builder(brokers.clone(), topic.clone(), |line: &OutputLine, _ts: Option<i64>| {
        Ok(OutgoingRecord::value(line.to_string()).with_key(line.key.to_string()))
    })
    .delivery_guarantee(DeliveryGuarantee::ExactlyOnce)
    .transactional_id_prefix(prefix)
    .build()
    .unwrap();
    env.add_source(MarkedSource::new(generator, control.clone()))
        .uid("ids")
        .key_by(move |id| id % keys)
        .process(RunningSums {
            state: ValueStateDescriptor::new("running"),
        })
        .uid("running-sums")
        .add_sink(MarkedSink::new(sink, Arc::clone(&control)))
        .uid("kafka");
    let client = match env.execute_async("kafka-chaos") {
        Ok(client) => client,
        Err(e) => {
            eprintln!("job failed to start: {e}");
            return 1;
        }
    };
    if let Some(dir) = client.checkpoint_dir() {
        control.announce(&Marker::CheckpointDir(dir.to_path_buf())).unwrap();
    }
    if let Err(e) = client.wait() {
        eprintln!("job failed: {e}");
        return 1;
    }
    // Everything is committed: hand the topic's committed content to the oracle.
    let read_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    // The broker writes the markers of committed transactions after it
    // acknowledged the commits: wait for them.
    let log = common::log::read_settled(&brokers, &topic, PARTITIONS);
    std::fs::create_dir_all(&output).unwrap();
    let mut text = log.committed_values().join("\n");
    text.push('\n');
    std::fs::write(output.join("kafka-committed"), text).unwrap();
    if !log.open.is_empty() {
        // Counted as a failure by the comparison (hidden files must not remain).
        let producers: std::collections::BTreeSet<i64> = log.open.iter().map(|r| r.producer.0).collect();
        eprintln!(
            "transactions still open {:?} after the job finished (read from {read_at} ms): {} records of producers {producers:?}",
            common::log::MARKERS_PATIENCE,
            log.open.len(),
        );
        std::fs::write(output.join(".open-transactions"), format!("{}\n", log.open.len())).unwrap();
    }
    eprintln!(
        "topic {topic}: {} committed, {} aborted, {} open records; {} commits, {} aborts",
        log.committed.len(),
        log.aborted.len(),
        log.open.len(),
        log.commits,
        log.aborts
    );
    control.announce(&Marker::JobFinished).unwrap();
    0
}
