//! The `kafka` and `upsert-kafka` SQL sinks and the `kafka` source against the
//! broker of `scripts/services.sh`: the messages written, read back from the
//! raw log exactly (`json` rows with keys, `debezium-json` of an updating
//! aggregate, `upsert-kafka` values and tombstones), a topic read into a query,
//! both changelogs read back as changelog sources into queries, and the
//! planning errors naming the table and the option. Each test has topics of
//! its own.
#![allow(clippy::unwrap_used)]

use crate::common::kafka::{brokers, committed, produce, produce_keyed, produce_records, topic, Message};
use crate::common::part_files::read;
use crate::common::{expected_counts, expected_rows, nexmark, plan, run};
use crate::filesystem::{change, check_counts_changelog, plan_error, INSERT_PRODUCTS, PRODUCTS};
use std::collections::BTreeMap;

/// `'connector' = '<connector>', 'topic' = '<topic>', 'properties.bootstrap.servers' = ...`.
pub fn kafka_options(connector: &str, topic: &str) -> String {
    format!(
        "'connector' = '{connector}', 'topic' = '{topic}', 'properties.bootstrap.servers' = '{}'",
        brokers()
    )
}

fn values(messages: &[Message]) -> Vec<(Option<&str>, Option<&str>)> {
    messages
        .iter()
        .map(|(_, key, value)| (key.as_deref(), value.as_deref()))
        .collect()
}

#[test]
fn json_rows_are_messages_with_their_keys() {
    let keyed = topic("json-keyed", 1);
    let raw = topic("json-raw", 1);
    let script = format!(
        "CREATE TABLE out ({PRODUCTS}) WITH ({}, 'format' = 'json', 'key.format' = 'json', 'key.fields' = 'id');
        CREATE TABLE out2 ({PRODUCTS}) WITH ({}, 'format' = 'json', 'key.format' = 'raw', 'key.fields' = 'name',
            'value.fields-include' = 'EXCEPT_KEY', 'json.timestamp-format.standard' = 'ISO-8601',
            'sink.delivery-guarantee' = 'none', 'sink.partitioner' = 'round-robin');
        {INSERT_PRODUCTS}
        {}",
        kafka_options("kafka", &keyed),
        kafka_options("kafka", &raw),
        INSERT_PRODUCTS.replace("INSERT INTO out ", "INSERT INTO out2 "),
    );
    run(&script, 1).unwrap();
    assert_eq!(
        values(&committed(&keyed, 1)),
        [
            (
                Some(r#"{"id":1}"#),
                Some(r#"{"id":1,"name":"apple","ts":"2015-07-15 00:00:04.123","price":12.50}"#)
            ),
            (
                Some(r#"{"id":2}"#),
                Some(r#"{"id":2,"name":null,"ts":"2015-07-15 00:00:05","price":0.25}"#)
            ),
            (
                Some(r#"{"id":3}"#),
                Some(r#"{"id":3,"name":"say \"hi\"","ts":"1969-12-31 23:59:59.9","price":100.00}"#)
            ),
        ]
    );
    assert_eq!(
        values(&committed(&raw, 1)),
        [
            (
                Some("apple"),
                Some(r#"{"id":1,"ts":"2015-07-15T00:00:04.123","price":12.50}"#)
            ),
            (None, Some(r#"{"id":2,"ts":"2015-07-15T00:00:05","price":0.25}"#)),
            (
                Some(r#"say "hi""#),
                Some(r#"{"id":3,"ts":"1969-12-31T23:59:59.9","price":100.00}"#)
            ),
        ]
    );
}

/// The `debezium-json` messages of `(bidder, bids, total)` rows as the
/// changelog-json lines of the same changes: `c` is `+U` after a `d` of the same
/// bidder, else `+I`; `d` is `-U` (a count never goes away). Checks each
/// message byte for byte, and its key.
fn debezium_as_changelog(messages: &[Message]) -> Vec<String> {
    let mut retracted = std::collections::BTreeSet::new();
    messages
        .iter()
        .map(|(_, key, value)| {
            let value = value.as_deref().unwrap();
            let json: serde_json::Value = serde_json::from_str(value).unwrap();
            let (data, op) = match json["op"].as_str() {
                Some("c") => (&json["after"], "c"),
                Some("d") => (&json["before"], "d"),
                _ => panic!("no op: {value}"),
            };
            let bidder = data["bidder"].as_i64().unwrap();
            let row = format!(
                r#"{{"bidder":{bidder},"bids":{},"total":{}}}"#,
                data["bids"].as_i64().unwrap(),
                data["total"].as_i64().unwrap()
            );
            let expected = match op {
                "c" => format!(r#"{{"before":null,"after":{row},"op":"c"}}"#),
                _ => format!(r#"{{"before":{row},"after":null,"op":"d"}}"#),
            };
            assert_eq!(value, expected);
            assert_eq!(key.as_deref(), Some(format!(r#"{{"bidder":{bidder}}}"#).as_str()));
            let kind = match op {
                "d" => {
                    retracted.insert(bidder);
                    "-U"
                }
                _ if retracted.remove(&bidder) => "+U",
                _ => "+I",
            };
            format!(r#"{{"data":{row},"op":"{kind}"}}"#)
        })
        .collect()
}

#[test]
fn debezium_json_carries_an_updating_aggregate() {
    const EVENTS: u64 = 5_000;
    for parallelism in [1, 2] {
        let out = topic("debezium", 2);
        let script = format!(
            "{}CREATE TABLE out (bidder BIGINT, bids BIGINT, total BIGINT) WITH ({}, 'format' = 'debezium-json',
                'key.format' = 'json', 'key.fields' = 'bidder');
            INSERT INTO out SELECT bidder, COUNT(*), SUM(price) FROM bid GROUP BY bidder;",
            nexmark(EVENTS, ""),
            kafka_options("kafka", &out)
        );
        run(&script, parallelism).unwrap();
        // The changes of a bidder are in one partition (its key's), in order.
        let lines = debezium_as_changelog(&committed(&out, 2));
        let updates = check_counts_changelog(lines, &expected_counts(EVENTS));
        assert!(updates > 0, "an updating aggregate of {EVENTS} events has updates");
    }
}

/// The `(bidder, bids, total)` rows a changelog-json directory's changes leave
/// (changes of different files may come in any order; none may be left over).
pub fn materialized(dir: &std::path::Path) -> BTreeMap<i64, (i64, i64)> {
    let mut counts: BTreeMap<(i64, i64, i64), i64> = BTreeMap::new();
    for line in read(dir, "changelog-json").lines() {
        let c = change(&line);
        let delta = if c.op.starts_with('+') { 1 } else { -1 };
        *counts.entry((c.bidder, c.bids, c.total)).or_default() += delta;
    }
    assert!(counts.values().all(|n| *n == 0 || *n == 1), "{counts:?}");
    counts
        .into_iter()
        .filter(|(_, n)| *n == 1)
        .map(|((bidder, bids, total), _)| (bidder, (bids, total)))
        .collect()
}

/// A bidder's change: its new `(bids, total)`, or `None` for a delete.
pub type BidderChange = (i64, Option<(i64, i64)>);

/// A seeded history of `changes` changes of `(bidder, bids, total)` rows of
/// `bidders` bidders: each change is a bidder's new row or (one in seven) its
/// delete. Returns the changes in order, `None` a delete, and the rows left.
pub fn history(seed: u64, changes: usize, bidders: u64) -> (Vec<BidderChange>, BTreeMap<i64, (i64, i64)>) {
    let mut state = seed;
    let mut next = move || {
        // SplitMix64: a deterministic sequence from the seed.
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut rows: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    let mut history = Vec::with_capacity(changes);
    for _ in 0..changes {
        let bidder = (next() % bidders) as i64;
        if next() % 7 == 0 {
            rows.remove(&bidder);
            history.push((bidder, None));
        } else {
            let row = rows.get(&bidder).map_or((1, 0), |(bids, total)| (bids + 1, *total));
            let row = (row.0, row.1 + (next() % 1000) as i64);
            rows.insert(bidder, row);
            history.push((bidder, Some(row)));
        }
    }
    (history, rows)
}

pub fn row_json(bidder: i64, (bids, total): (i64, i64)) -> String {
    format!(r#"{{"bidder":{bidder},"bids":{bids},"total":{total}}}"#)
}

/// The source table `src (bidder, bids, total)` reading `topic` from the start
/// to its end with `options`, and `out` (the same columns) writing
/// changelog-json into `dir`.
fn read_back(topic: &str, connector: &str, options: &str, dir: &std::path::Path) -> String {
    format!(
        "CREATE TABLE src (bidder BIGINT, bids BIGINT, total BIGINT, PRIMARY KEY (bidder) NOT ENFORCED)
            WITH ({}, {options}, 'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset');
        CREATE TABLE out (bidder BIGINT, bids BIGINT, total BIGINT)
            WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'changelog-json');
        ",
        kafka_options(connector, topic),
        dir.display()
    )
}

#[test]
fn a_debezium_json_topic_is_read_as_a_retract_changelog() {
    const SEED: u64 = 15;
    let (changes, expected) = history(SEED, 600, 40);
    // The events of a bidder in its partition, in order; a new row of a bidder
    // present is an update (`u`), a delete of one absent is skipped.
    let mut rows: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    let mut events = Vec::new();
    for (bidder, row) in changes {
        let event = match (rows.get(&bidder).copied(), row) {
            (None, Some(new)) => format!(r#"{{"before":null,"after":{},"op":"c"}}"#, row_json(bidder, new)),
            (Some(old), Some(new)) => format!(
                r#"{{"before":{},"after":{},"op":"u","ts_ms":1}}"#,
                row_json(bidder, old),
                row_json(bidder, new)
            ),
            (Some(old), None) => format!(r#"{{"before":{},"after":null,"op":"d"}}"#, row_json(bidder, old)),
            (None, None) => continue,
        };
        match row {
            Some(new) => rows.insert(bidder, new),
            None => rows.remove(&bidder),
        };
        events.push(((bidder % 2) as i32, Some(format!(r#"{{"bidder":{bidder}}}"#)), event));
    }
    let topic_name = topic("debezium-read", 2);
    produce_keyed(&topic_name, &events);
    for parallelism in [1, 2] {
        let rows = tempfile::tempdir().unwrap();
        let totals = tempfile::tempdir().unwrap();
        let script = format!(
            "{}CREATE TABLE totals (bidder BIGINT, bids BIGINT, total BIGINT)
                WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'changelog-json');
            INSERT INTO out SELECT * FROM src;
            INSERT INTO totals SELECT COUNT(*), SUM(bids), SUM(total) FROM src;",
            read_back(&topic_name, "kafka", "'format' = 'debezium-json'", rows.path()),
            totals.path().display()
        );
        run(&script, parallelism).unwrap_or_else(|e| panic!("seed {SEED}: {e}"));
        assert_eq!(
            materialized(rows.path()),
            expected,
            "seed {SEED}, parallelism {parallelism}"
        );
        // An aggregate over the changelog: the totals of all bidders.
        let bids: i64 = expected.values().map(|(b, _)| b).sum();
        let total: i64 = expected.values().map(|(_, t)| t).sum();
        assert_eq!(
            materialized(totals.path()),
            BTreeMap::from([(expected.len() as i64, (bids, total))]),
            "seed {SEED}, parallelism {parallelism}"
        );
    }
}

#[test]
fn an_upsert_kafka_topic_is_read_normalized() {
    const SEED: u64 = 16;
    let (changes, expected) = history(SEED, 600, 40);
    // Keys and values of `ALL` (the value has every column) and `EXCEPT_KEY`.
    let all = topic("upsert-read", 2);
    let except_key = topic("upsert-read-except-key", 2);
    for (name, with_key) in [(&all, true), (&except_key, false)] {
        let records: Vec<Message> = changes
            .iter()
            .map(|(bidder, row)| {
                let value = row.map(|(bids, total)| match with_key {
                    true => row_json(*bidder, (bids, total)),
                    false => format!(r#"{{"bids":{bids},"total":{total}}}"#),
                });
                ((bidder % 2) as i32, Some(format!(r#"{{"bidder":{bidder}}}"#)), value)
            })
            .collect();
        produce_records(name, &records);
    }
    for (parallelism, name, include) in [(1, &all, "ALL"), (2, &all, "ALL"), (2, &except_key, "EXCEPT_KEY")] {
        let rows = tempfile::tempdir().unwrap();
        let script = format!(
            "{}INSERT INTO out SELECT * FROM src;",
            read_back(
                name,
                "upsert-kafka",
                &format!("'key.format' = 'json', 'value.format' = 'json', 'value.fields-include' = '{include}'"),
                rows.path()
            )
        );
        run(&script, parallelism).unwrap_or_else(|e| panic!("seed {SEED}: {e}"));
        let lines = read(rows.path(), "changelog-json").lines();
        // Tombstones became deletes of whole rows, new rows of a key updates.
        for op in ["-D", "-U", "+U"] {
            assert!(
                lines.iter().any(|l| change(l).op == op),
                "{op}: parallelism {parallelism}"
            );
        }
        assert_eq!(
            materialized(rows.path()),
            expected,
            "seed {SEED}, parallelism {parallelism}, {include}"
        );
    }
}

#[test]
fn upsert_kafka_writes_values_and_tombstones_by_key() {
    const EVENTS: u64 = 5_000;
    let out = topic("upsert", 2);
    // Bidders leave the result when their third bid arrives: a -U without its +U,
    // which the sink writes as a tombstone.
    let script = format!(
        "{}CREATE TABLE out (bidder BIGINT, bids BIGINT, total BIGINT, PRIMARY KEY (bidder) NOT ENFORCED)
            WITH ({}, 'key.format' = 'json', 'value.format' = 'json');
        INSERT INTO out SELECT bidder, COUNT(*), SUM(price) FROM bid GROUP BY bidder HAVING COUNT(*) < 3;",
        nexmark(EVENTS, ""),
        kafka_options("upsert-kafka", &out)
    );
    run(&script, 2).unwrap();
    let mut table: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    let mut tombstones = 0;
    for (_, key, value) in committed(&out, 2) {
        let key: serde_json::Value = serde_json::from_str(key.as_deref().unwrap()).unwrap();
        let bidder = key["bidder"].as_i64().unwrap();
        assert_eq!(key.to_string(), format!(r#"{{"bidder":{bidder}}}"#));
        match value {
            None => {
                assert!(
                    table.remove(&bidder).is_some(),
                    "a tombstone of bidder {bidder}, absent"
                );
                tombstones += 1;
            }
            Some(value) => {
                let row: serde_json::Value = serde_json::from_str(&value).unwrap();
                let (bids, total) = (row["bids"].as_i64().unwrap(), row["total"].as_i64().unwrap());
                assert_eq!(value, format!(r#"{{"bidder":{bidder},"bids":{bids},"total":{total}}}"#));
                table.insert(bidder, (bids, total));
            }
        }
    }
    assert!(tombstones > 0, "bidders with three bids are deleted");
    let expected: BTreeMap<i64, (i64, i64)> = expected_rows(EVENTS, |bids| bids < 3)
        .into_iter()
        .map(|(bidder, bids, total)| (bidder, (bids, total)))
        .collect();
    assert_eq!(table, expected);
}

#[test]
fn a_topic_is_read_into_a_query() {
    let input = topic("source", 2);
    let mut records: Vec<(i32, String)> = (0..100)
        .map(|i| {
            (
                i % 2,
                format!(
                    r#"{{"id":{i},"name":"n{i}","price":"{}.5","ts":"2015-07-15 00:00:{:02}.{i:03}","extra":true}}"#,
                    i * 10,
                    i % 60
                ),
            )
        })
        .collect();
    // Parse errors: skipped with json.ignore-parse-errors; a bad field is NULL.
    records.push((0, "not json".into()));
    records.push((1, r#"{"id":100,"price":"lots"}"#.into()));
    produce(&input, &records);
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "CREATE TABLE src (id BIGINT, name STRING, price DECIMAL(10, 2), ts TIMESTAMP(3),
            WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
            WITH ({}, 'format' = 'json', 'json.ignore-parse-errors' = 'true', 'scan.startup.mode' = 'earliest-offset',
                  'scan.bounded.mode' = 'latest-offset', 'properties.group.id' = 'sql-test');
        CREATE TABLE out (id BIGINT, name STRING, price DECIMAL(10, 2))
            WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'json');
        INSERT INTO out SELECT id, name, price FROM src WHERE id % 10 = 0;",
        kafka_options("kafka", &input),
        dir.path().display()
    );
    run(&script, 2).unwrap();
    let mut expected: Vec<String> = (0..10)
        .map(|i| i * 10)
        .map(|i| format!(r#"{{"id":{i},"name":"n{i}","price":{}.50}}"#, i * 10))
        .collect();
    expected.push(r#"{"id":100,"name":null,"price":null}"#.into());
    expected.sort();
    assert_eq!(read(dir.path(), "json").sorted_lines(), expected);
}

#[test]
fn key_columns_are_read_from_the_key_with_except_key() {
    let input = topic("source-keys", 1);
    produce_keyed(
        &input,
        &[
            (0, Some(r#"{"id":1,"shop":"a"}"#.into()), r#"{"amount":10}"#.into()),
            (0, None, r#"{"amount":20}"#.into()),
            (0, Some(r#"{"id":3}"#.into()), r#"{"amount":30,"id":99}"#.into()),
        ],
    );
    let raw = topic("source-raw-keys", 1);
    produce_keyed(
        &raw,
        &[
            (0, Some("k1".into()), r#"{"amount":1}"#.into()),
            (0, None, r#"{"amount":2}"#.into()),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let bounded = "'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset'";
    let script = format!(
        "CREATE TABLE src (id BIGINT, amount INT, shop STRING) WITH ({}, 'format' = 'json', {bounded},
            'key.format' = 'json', 'key.fields' = 'id;shop', 'value.fields-include' = 'EXCEPT_KEY');
        CREATE TABLE src2 (k STRING, amount INT) WITH ({}, 'value.format' = 'json', {bounded},
            'key.format' = 'raw', 'key.fields' = 'k', 'value.fields-include' = 'EXCEPT_KEY');
        CREATE TABLE out (shop STRING, id BIGINT, amount INT)
            WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'json');
        INSERT INTO out SELECT shop, id, amount FROM src UNION ALL SELECT k, CAST(NULL AS BIGINT), amount FROM src2;",
        kafka_options("kafka", &input),
        kafka_options("kafka", &raw),
        dir.path().display()
    );
    run(&script, 1).unwrap();
    assert_eq!(
        read(dir.path(), "json").sorted_lines(),
        [
            r#"{"shop":"a","id":1,"amount":10}"#,
            r#"{"shop":"k1","id":null,"amount":1}"#,
            r#"{"shop":null,"id":3,"amount":30}"#,
            r#"{"shop":null,"id":null,"amount":20}"#,
            r#"{"shop":null,"id":null,"amount":2}"#,
        ]
    );
}

const COUNTS: &str = "INSERT INTO out SELECT bidder, COUNT(*), SUM(price) FROM bid GROUP BY bidder;";
const BIDS: &str = "INSERT INTO out SELECT bidder, auction, price FROM bid;";

/// Plans `insert` into `out (bidder, bids, total[, key])` with `options`.
fn with_options(options: &str, key: &str, insert: &str) -> String {
    format!(
        "{}CREATE TABLE out (bidder BIGINT, bids BIGINT, total BIGINT{key}) WITH ({options});\n{insert}",
        nexmark(1_000, "")
    )
}

#[test]
fn changelogs_a_format_cannot_take_are_refused() {
    let kafka = "'connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = '127.0.0.1:1'";
    let error = plan_error(&with_options(&format!("{kafka}, 'format' = 'json'"), "", COUNTS));
    assert!(
        error.contains("table 'out' (connector 'kafka') cannot take the retract changelog"),
        "{error}"
    );
    plan(
        &with_options(&format!("{kafka}, 'format' = 'debezium-json'"), "", COUNTS),
        1,
    )
    .unwrap();
    let upsert = "'connector' = 'upsert-kafka', 'topic' = 't', 'properties.bootstrap.servers' = '127.0.0.1:1', \
                  'key.format' = 'json', 'value.format' = 'json'";
    let error = plan_error(&with_options(upsert, "", COUNTS));
    assert!(
        error.contains("table 'out'") && error.contains("PRIMARY KEY"),
        "{error}"
    );
    // The primary key must be the query's upsert key.
    let error = plan_error(&with_options(upsert, ", PRIMARY KEY (bids) NOT ENFORCED", COUNTS));
    assert!(error.contains("upsert key"), "{error}");
    plan(&with_options(upsert, ", PRIMARY KEY (bidder) NOT ENFORCED", COUNTS), 1).unwrap();
    plan(&with_options(upsert, ", PRIMARY KEY (bidder) NOT ENFORCED", BIDS), 1).unwrap();
    // Two INSERTs into one table: each its own sink, but not exactly once.
    let two = format!("{COUNTS}\nINSERT INTO out SELECT bidder, COUNT(*), SUM(price) FROM bid GROUP BY bidder;");
    plan(
        &with_options(&format!("{kafka}, 'format' = 'debezium-json'"), "", &two),
        1,
    )
    .unwrap();
    let error = plan_error(&with_options(
        &format!(
            "{kafka}, 'format' = 'debezium-json', 'sink.delivery-guarantee' = 'exactly-once', \
             'sink.transactional-id-prefix' = 'p'"
        ),
        "",
        &two,
    ));
    assert!(
        error.contains("table 'out'") && error.contains("another INSERT"),
        "{error}"
    );
    // A changelog source into a sink that takes only inserts.
    let error = plan_error(&format!(
        "CREATE TABLE src (k STRING, n BIGINT, PRIMARY KEY (k) NOT ENFORCED) WITH ({upsert});
         CREATE TABLE snk (k STRING, n BIGINT) WITH ({kafka}, 'format' = 'json');
         INSERT INTO snk SELECT * FROM src;"
    ));
    assert!(
        error.contains("table 'snk' (connector 'kafka') cannot take the retract changelog"),
        "{error}"
    );
}

#[test]
fn missing_unknown_and_bad_options_are_named() {
    let base = "'connector' = 'kafka', 'properties.bootstrap.servers' = '127.0.0.1:1'";
    let kafka = format!("{base}, 'topic' = 't'");
    let upsert = "'connector' = 'upsert-kafka', 'topic' = 't', 'properties.bootstrap.servers' = '127.0.0.1:1'";
    let cases: Vec<(String, &str, Vec<&str>)> = vec![
        // (options, primary key, what the error must contain)
        (
            format!("{base}, 'format' = 'json'"),
            "",
            vec!["option 'topic'", "required"],
        ),
        (
            "'connector' = 'kafka', 'topic' = 't', 'format' = 'json'".into(),
            "",
            vec!["option 'properties.bootstrap.servers'", "required"],
        ),
        (kafka.clone(), "", vec!["option 'format'", "required"]),
        (
            format!("{kafka}, 'format' = 'avro'"),
            "",
            vec!["option 'format'", "'avro'", "debezium-json"],
        ),
        (
            format!("{kafka}, 'format' = 'json', 'value.format' = 'json'"),
            "",
            vec!["option 'value.format'", "not both"],
        ),
        (
            format!("{kafka}, 'format' = 'json', 'sink.delivery-guarantee' = 'twice'"),
            "",
            vec!["option 'sink.delivery-guarantee'", "twice"],
        ),
        (
            format!("{kafka}, 'format' = 'json', 'sink.delivery-guarantee' = 'exactly-once'"),
            "",
            vec!["option 'sink.transactional-id-prefix'", "required"],
        ),
        (
            format!("{kafka}, 'format' = 'json', 'sink.partitioner' = 'fixed'"),
            "",
            vec!["option 'sink.partitioner'", "'fixed'"],
        ),
        (
            format!("{kafka}, 'format' = 'json', 'sink.partitoner' = 'default'"),
            "",
            vec!["option 'sink.partitoner'", "unknown option"],
        ),
        (
            format!("{kafka}, 'format' = 'json', 'key.fields' = 'bidder'"),
            "",
            vec!["option 'key.fields'", "key.format"],
        ),
        (
            format!("{kafka}, 'format' = 'json', 'key.format' = 'json', 'key.fields' = 'bidder;nope'"),
            "",
            vec!["option 'key.fields'", "'nope'"],
        ),
        (
            format!("{kafka}, 'format' = 'json', 'key.format' = 'raw', 'key.fields' = 'bidder'"),
            "",
            vec!["option 'key.format'", "STRING or BYTES"],
        ),
        (
            format!("{kafka}, 'format' = 'json', 'json.timestamp-format.standard' = 'RFC'"),
            "",
            vec!["option 'json.timestamp-format.standard'", "ISO-8601"],
        ),
        (
            format!("{kafka}, 'format' = 'json', 'scan.startup.mode' = 'specific-offsets'"),
            "",
            vec!["option 'scan.startup.mode'", "specific-offsets"],
        ),
        (
            format!("{kafka}, 'format' = 'json', 'scan.startup.mode' = 'timestamp'"),
            "",
            vec!["option 'scan.startup.timestamp-millis'", "required"],
        ),
        (
            format!("{kafka}, 'format' = 'json', 'topic-pattern' = 't.*'"),
            "",
            vec!["option 'topic-pattern'"],
        ),
        (
            format!("{upsert}, 'value.format' = 'json'"),
            ", PRIMARY KEY (bidder) NOT ENFORCED",
            vec!["option 'key.format'", "required"],
        ),
        (
            format!("{upsert}, 'key.format' = 'json', 'value.format' = 'debezium-json'"),
            ", PRIMARY KEY (bidder) NOT ENFORCED",
            vec!["option 'value.format'", "debezium-json"],
        ),
        (
            format!("{upsert}, 'key.format' = 'json', 'value.format' = 'json', 'key.fields' = 'bidder'"),
            ", PRIMARY KEY (bidder) NOT ENFORCED",
            vec!["option 'key.fields'", "PRIMARY KEY"],
        ),
    ];
    for (options, key, needles) in cases {
        let error = plan_error(&with_options(&options, key, BIDS));
        assert!(error.contains("table 'out'"), "{options}: {error}");
        for needle in needles {
            assert!(error.contains(needle), "{options}: {needle:?} not in: {error}");
        }
    }
    // The source checks the same options.
    let error = plan_error(&format!(
        "CREATE TABLE src (k STRING) WITH ({kafka}, 'format' = 'json', 'scan.bounded.mode' = 'timestamp');
         CREATE TABLE snk (k STRING) WITH ('connector' = 'print');
         INSERT INTO snk SELECT * FROM src;"
    ));
    assert!(
        error.contains("table 'src'") && error.contains("option 'scan.bounded.mode'"),
        "{error}"
    );
}
