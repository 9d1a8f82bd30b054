//! Real process death with the exactly-once Kafka sink: the `weir-chaos` harness
//! runs this binary as a child job (generator → running sums per key → Kafka
//! transactions), kills it with SIGKILL at seeded moments (at random, right after
//! a checkpoint completed and before the sink committed it, during a restore
//! before the restored transactions were committed), restarts it from the newest
//! retained checkpoint until the job finishes, and compares what the topic
//! committed with the oracle: nothing lost, nothing duplicated.
//!
//! The harness runs the ignored test `process_kill::chaos_job` of this binary as
//! the job (through a script passing the job's options, see `job_script`). When the job finishes it
//! writes the topic's committed records (read from the raw log with its
//! transaction markers, see `common::log`) into the harness's output directory, as
//! the lines the oracle compares.
//!
//! Two scenarios, one test each: parallelism 2, and rescaling (parallelism 1 to
//! 3 across restarts). Each runs seeded rounds (one topic per round) until it has
//! made at least `WEIR_CHAOS_KILLS` kills (default 15) and at least one of them
//! between a checkpoint's completion and the sink's commit. The long mode is the
//! same with more kills (`WEIR_CHAOS_KILLS=100`); `WEIR_CHAOS_SEED` replays one
//! round (the failure message prints the command).
#![allow(clippy::unwrap_used)]

use crate::common;
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

/// The test's name inside the binary (`process_kill::NAME`), as libtest filters.
fn qualified(name: &str) -> String {
    let module = module_path!().split_once("::").map_or("", |(_, path)| path);
    format!("{module}::{name}")
}

/// The child job: run by the harness through the script `job_script` writes,
/// never on its own (ignored; without the harness's options it does nothing).
#[test]
#[ignore = "the child job of the process-kill tests, run by them"]
fn chaos_job() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--checkpoint-dir") {
        std::process::exit(job(&args));
    }
}

/// A script running this binary's `chaos_job` test with the harness's options
/// (after `--`, where libtest takes them for name filters matching nothing) and
/// the round's topic and transaction prefix in its environment: the test process
/// changes no environment variable. `exec`, so the harness kills the binary.
fn job_script(dir: &std::path::Path, brokers: &str, topic: &str, prefix: &str) -> PathBuf {
    let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let exe = std::env::current_exe().unwrap();
    let script = dir.join("job.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nWEIR_TEST_KAFKA_BROKERS={} {TOPIC_VAR}={} {PREFIX_VAR}={} exec {} --ignored --exact --nocapture --test-threads=1 -- {} \"$@\"\n",
            quote(brokers),
            quote(topic),
            quote(prefix),
            quote(&exe.to_string_lossy()),
            quote(&qualified("chaos_job")),
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[test]
fn kafka_exactly_once_aligned() {
    run(Scenario::new(
        "kafka_exactly_once_aligned",
        CheckpointMode::Aligned,
        Backend::Heap,
    ));
}

#[test]
fn kafka_exactly_once_rescaling() {
    run(Scenario::new("kafka_exactly_once_rescaling", CheckpointMode::Aligned, Backend::Heap).rescaling(&[1, 2, 3]));
}

fn run(scenario: Scenario) {
    common::logs();
    let brokers = common::brokers();
    let budget = Budget::from_env(DEFAULT_KILLS).unwrap();
    // Each round writes a topic of its own, so one harness round per topic.
    let first_seed = budget.seed.unwrap_or_else(|| fastrand::u64(1..1_000_000));
    let (mut rounds, mut kills, mut before_commit) = (0u64, 0u32, 0u32);
    let mut by_point: BTreeMap<String, u32> = BTreeMap::new();
    for seed in first_seed.. {
        let topic = common::unique(&scenario.name);
        common::create_topic(&brokers, &topic, PARTITIONS);
        let dir = tempfile::tempdir().unwrap();
        let harness = Harness::new(job_script(dir.path(), &brokers, &topic, &common::unique("chaos")));
        println!("{} (seed {seed}, topic {topic})", scenario.name);
        rounds += 1;
        match harness.run(
            &scenario,
            Budget {
                kills: 1,
                seed: Some(seed),
            },
        ) {
            Ok(summary) => {
                println!("{summary}");
                kills += summary.total_kills();
                before_commit += summary.kills.get(&KillPoint::BeforeCommit).copied().unwrap_or(0);
                for (point, n) in &summary.kills {
                    *by_point.entry(point.to_string()).or_default() += n;
                }
            }
            Err(failure) => panic!(
                "{failure}\nrerun: WEIR_CHAOS_SEED={seed} cargo test --release -p weir-connector-kafka --test it -- --exact {}",
                qualified(&scenario.name)
            ),
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
    // Shown with --nocapture (and on failure).
    println!(
        "{}: {rounds} rounds from seed {first_seed}, {kills} kills ({by_point:?}), no loss, no duplicate",
        scenario.name
    );
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
