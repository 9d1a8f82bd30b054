//! What the tests share: the PostgreSQL server of `scripts/services.sh` (started
//! once per test binary, by the first test that asks for its url; a test never
//! skips), fresh tables, a bounded Nexmark `bid` view, SQL scripts run as jobs,
//! the bids and the counts per bidder computed in Rust from the generator's
//! events, and the part files of the filesystem sink ([`part_files`]).
#![allow(dead_code, clippy::unwrap_used, missing_docs)]

pub mod kafka;
/// What a topic committed, read from the raw log with the transaction markers
/// (the Kafka connector's test support, shared).
#[path = "../../../../connectors/weir-connector-kafka/tests/it/common/log.rs"]
pub mod kafka_log;
pub mod part_files;

use postgres::{Client, NoTls};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use weir_datastream::StreamExecutionEnvironment;
use weir_sql::connectors::builtin;
use weir_sql::script::SqlSession;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn services(args: &[&str]) -> String {
    let script = workspace().join("scripts/services.sh");
    let output = Command::new("bash")
        .arg(&script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        output.status.success(),
        "`scripts/services.sh {}` failed ({}):\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The URL of the trusted user `weir` on database `weir`
/// (`postgres://weir@127.0.0.1:15432/weir`), the server started by
/// `scripts/services.sh up postgres` once per test binary.
pub fn url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        services(&["up", "postgres"]);
        let env = services(&["env", "postgres"]);
        env.lines()
            .find_map(|line| line.strip_prefix("export WEIR_TEST_POSTGRES_URL="))
            .map(|v| v.trim_matches('\'').to_string())
            .unwrap_or_else(|| panic!("`services.sh env postgres` printed no WEIR_TEST_POSTGRES_URL: {env}"))
    })
    .clone()
}

/// `(user, host, port, database)` of [`url`].
pub fn url_parts() -> (String, String, u16, String) {
    let url = url();
    let rest = url.strip_prefix("postgres://").unwrap();
    let (user, rest) = rest.split_once('@').unwrap();
    let (address, database) = rest.split_once('/').unwrap();
    let (host, port) = address.split_once(':').unwrap();
    (user.into(), host.into(), port.parse().unwrap(), database.into())
}

pub fn client() -> Client {
    Client::connect(&url(), NoTls).unwrap()
}

/// Drops `table` and creates it with `columns`.
pub fn fresh_table(table: &str, columns: &str) {
    client()
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} ({columns})"
        ))
        .unwrap();
}

/// `(bidder, bids, total)` rows of `table`, sorted.
pub fn counts_in(table: &str) -> Vec<(i64, i64, i64)> {
    let mut rows: Vec<(i64, i64, i64)> = client()
        .query(&format!("SELECT bidder, bids, total FROM {table}"), &[])
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    rows.sort();
    rows
}

/// The generator configuration of [`nexmark`]'s table.
fn config(events: u64) -> weir_nexmark::NexmarkConfig {
    weir_nexmark::NexmarkConfig {
        num_events: events,
        first_event_rate: 10_000_000,
        next_event_rate: 10_000_000,
        person_proportion: 2,
        auction_proportion: 6,
        bid_proportion: 46,
        ..Default::default()
    }
}

/// The `datagen` table of `events` Nexmark events (bid columns only) with
/// `extra` options (`, 'rate-limit' = '...'`), and the `bid` view over it.
pub fn nexmark(events: u64, extra: &str) -> String {
    format!(
        "CREATE TABLE datagen (
            event_type INT,
            bid ROW<auction BIGINT, bidder BIGINT, price BIGINT, dateTime TIMESTAMP(3)>
        ) WITH (
            'connector' = 'nexmark', 'events.num' = '{events}',
            'first-event.rate' = '10000000', 'next-event.rate' = '10000000',
            'person.proportion' = '2', 'auction.proportion' = '6', 'bid.proportion' = '46'{extra}
        );
        CREATE VIEW bid AS
        SELECT bid.auction AS auction, bid.bidder AS bidder, bid.price AS price, bid.dateTime AS dateTime
        FROM datagen WHERE event_type = 2;
        "
    )
}

/// `(auction, bidder, price)` of each bid of the first `events` Nexmark events.
pub fn bids(events: u64) -> Vec<(i64, i64, i64)> {
    let generator = weir_nexmark::EventGenerator::new(weir_nexmark::GeneratorConfig::new(&config(events)).unwrap());
    generator
        .filter_map(|event| match event {
            weir_nexmark::Event::Bid(bid) => Some((bid.auction, bid.bidder, bid.price)),
            _ => None,
        })
        .collect()
}

/// `(bid count, price sum)` per bidder of the first `events` Nexmark events.
pub fn expected_counts(events: u64) -> BTreeMap<i64, (i64, i64)> {
    let generator = weir_nexmark::EventGenerator::new(weir_nexmark::GeneratorConfig::new(&config(events)).unwrap());
    let mut counts = BTreeMap::new();
    for event in generator {
        if let weir_nexmark::Event::Bid(bid) = event {
            let entry = counts.entry(bid.bidder).or_insert((0, 0));
            entry.0 += 1;
            entry.1 += bid.price;
        }
    }
    counts
}

/// [`expected_counts`] as sorted `(bidder, bids, total)` rows of the bidders
/// `keep` accepts.
pub fn expected_rows(events: u64, keep: impl Fn(i64) -> bool) -> Vec<(i64, i64, i64)> {
    expected_counts(events)
        .into_iter()
        .filter(|(_, (bids, _))| keep(*bids))
        .map(|(bidder, (bids, total))| (bidder, bids, total))
        .collect()
}

/// A session with the built-in connectors and this crate's.
pub fn session() -> SqlSession {
    let mut connectors = builtin();
    weir_sql_connectors::register(&mut connectors);
    SqlSession::new(connectors)
}

/// Plans `script` into a job at `parallelism` (the planning error's text, if any).
pub fn plan(script: &str, parallelism: usize) -> Result<StreamExecutionEnvironment, String> {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism);
    session().run_script(&env, script).map_err(|e| e.to_string())?;
    Ok(env)
}

/// Plans and runs `script` to its end (the error's text, if planning or the job failed).
pub fn run(script: &str, parallelism: usize) -> Result<(), String> {
    let env = plan(script, parallelism)?;
    env.execute("sql").map(|_| ()).map_err(|e| e.to_string())
}
