//! Flink's built-in functions (`DATE_FORMAT`, `SPLIT_INDEX`, `REGEXP_EXTRACT`,
//! `HOUR` and the other time parts, `PROCTIME`, `IF`, `MOD`, `UNIX_TIMESTAMP`,
//! `FROM_UNIXTIME`, `TO_TIMESTAMP`, `CONCAT`) planned and run through the crate's public API, over Nexmark
//! bids and over hand-made rows, against values computed in Rust.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray, TimestampMillisecondArray};
use arrow::datatypes::{DataType, TimeUnit};
use chrono::{DateTime, Datelike, NaiveDateTime, Timelike};
use weir_datastream::StreamExecutionEnvironment;
use weir_sql::connector::SqlConnectors;
use weir_sql::connectors::builtin;
use weir_sql::front::Catalog;
use weir_sql::job::SqlJob;

use crate::nexmark_sql::DDL;
use crate::plan_stream::{query, rows, TestSource};

const EVENTS: u64 = 400;
/// Events per second of generated time: 400 events span 200 seconds.
const RATE: u32 = 2;

fn nexmark_catalog() -> Catalog {
    let ddl = DDL
        .replace("'events.num' = '100000000'", &format!("'events.num' = '{EVENTS}'"))
        .replace(
            "'first-event.rate' = '10000000'",
            &format!("'first-event.rate' = '{RATE}'"),
        )
        .replace(
            "'next-event.rate' = '10000000'",
            &format!("'next-event.rate' = '{RATE}'"),
        );
    assert_ne!(ddl, DDL);
    let mut catalog = Catalog::new();
    catalog.apply_script(&ddl).unwrap();
    catalog
}

/// The generator's bids for [`nexmark_catalog`].
fn bids() -> Vec<weir_nexmark::Bid> {
    let config = weir_nexmark::NexmarkConfig {
        num_events: EVENTS,
        first_event_rate: RATE,
        next_event_rate: RATE,
        person_proportion: 2,
        auction_proportion: 6,
        bid_proportion: 46,
        ..Default::default()
    };
    weir_nexmark::EventGenerator::new(weir_nexmark::GeneratorConfig::new(&config).unwrap())
        .filter_map(|event| match event {
            weir_nexmark::Event::Bid(bid) => Some(bid),
            _ => None,
        })
        .collect()
}

fn run(catalog: &Catalog, connectors: &SqlConnectors, sql: &str) -> Vec<Vec<String>> {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2);
    let planned = SqlJob::plan_query(&env, catalog, connectors, &query(sql)).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let handle = planned.stream.collect();
    env.execute("functions test").unwrap();
    rows(&handle.take())
}

fn time(ms: i64) -> NaiveDateTime {
    DateTime::from_timestamp_millis(ms).unwrap().naive_utc()
}

fn or_null(value: Option<&str>) -> String {
    value.unwrap_or("NULL").to_string()
}

#[test]
fn nexmark_bids_through_flink_functions() {
    let sql = r"SELECT auction, price,
        DATE_FORMAT(dateTime, 'yyyy-MM-dd HH:mm:ss.SSS'),
        DATE_FORMAT(dateTime, 'HH:mm'),
        MINUTE(dateTime), SECOND(dateTime),
        SPLIT_INDEX(url, '/', 3), SPLIT_INDEX(url, '/', 20),
        REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2),
        MOD(auction, 7),
        IF(price > 10000000, 'high', 'low')
        FROM bid";
    let got = run(&nexmark_catalog(), &builtin(), sql);
    let bids = bids();
    assert!(bids.len() > 300, "{}", bids.len());
    let minutes: std::collections::BTreeSet<_> = bids.iter().map(|b| time(b.date_time).minute()).collect();
    assert!(minutes.len() >= 3, "the bids span minutes: {minutes:?}");
    let mut expected: Vec<Vec<String>> = bids
        .iter()
        .map(|b| {
            let t = time(b.date_time);
            let channel_id = b
                .url
                .split_once("&channel_id=")
                .map(|(_, rest)| rest.split('&').next().unwrap_or(""));
            vec![
                b.auction.to_string(),
                b.price.to_string(),
                t.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
                t.format("%H:%M").to_string(),
                t.minute().to_string(),
                t.second().to_string(),
                or_null(b.url.split('/').nth(3)),
                "NULL".to_string(),
                or_null(channel_id),
                (b.auction % 7).to_string(),
                if b.price > 10_000_000 { "high" } else { "low" }.to_string(),
            ]
        })
        .collect();
    expected.sort();
    assert!(expected.iter().any(|r| r[8] != "NULL") && expected.iter().any(|r| r[8] == "NULL"));
    assert_eq!(got, expected);
}

#[test]
fn nexmark_q2_filters_with_mod() {
    let got = run(
        &nexmark_catalog(),
        &builtin(),
        "SELECT auction, price FROM bid WHERE MOD(price, 3) = 0",
    );
    let mut expected: Vec<Vec<String>> = bids()
        .iter()
        .filter(|b| b.price % 3 == 0)
        .map(|b| vec![b.auction.to_string(), b.price.to_string()])
        .collect();
    expected.sort();
    assert!(!expected.is_empty() && expected.len() < bids().len());
    assert_eq!(got, expected);
}

const EVENTS_DDL: &str = "CREATE TABLE events (
    id BIGINT,
    ts TIMESTAMP(3),
    s STRING,
    `day` AS DATE_FORMAT(ts, 'yyyy-MM-dd'),
    size AS IF(id > 5, 'big', 'small'),
    parsed AS TO_TIMESTAMP(DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm:ss'))
) WITH ('connector' = 'test');";

/// Row i: id i, a time about 90 days after the last (NULL for i = 3), text
/// `k<i>,v<i>` (NULL for i = 4).
fn events() -> Vec<(i64, Option<i64>, Option<String>)> {
    (0..10)
        .map(|i| {
            let ts = (i != 3).then(|| 1_700_000_000_123 + i * 7_777_777_777);
            let s = (i != 4).then(|| format!("k{i},v{i}"));
            (i, ts, s)
        })
        .collect()
}

fn events_setup() -> (Catalog, SqlConnectors) {
    let mut catalog = Catalog::new();
    catalog.apply_script(EVENTS_DDL).unwrap();
    let schema = catalog.table("events").unwrap().schema.clone();
    let rows = events();
    let batches = rows
        .chunks(4)
        .map(|chunk| {
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from(chunk.iter().map(|r| r.0).collect::<Vec<_>>())),
                    Arc::new(TimestampMillisecondArray::from(
                        chunk.iter().map(|r| r.1).collect::<Vec<_>>(),
                    )),
                    Arc::new(StringArray::from(chunk.iter().map(|r| r.2.clone()).collect::<Vec<_>>())),
                ],
            )
            .unwrap()
        })
        .collect();
    let mut connectors = SqlConnectors::new();
    connectors.register_source(Arc::new(TestSource { batches }));
    (catalog, connectors)
}

#[test]
fn time_parts_formats_and_computed_columns_with_nulls() {
    let (catalog, connectors) = events_setup();
    let got = run(
        &catalog,
        &connectors,
        "SELECT id, `day`, size, HOUR(ts), MINUTE(ts), SECOND(ts), YEAR(ts), MONTH(ts), DAYOFMONTH(ts), \
         DAYOFWEEK(ts), DATE_FORMAT(ts, 'EEE d MMM yy, h:mm a'), SPLIT_INDEX(s, ',', 1), \
         REGEXP_EXTRACT(s, 'v([0-9]+)', 1), UNIX_TIMESTAMP(DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm:ss')), \
         FROM_UNIXTIME(id * 86400, 'yyyy-MM-dd'), parsed, CONCAT(s, '#', id) FROM events",
    );
    let mut expected: Vec<Vec<String>> = events()
        .into_iter()
        .map(|(id, ts, s)| {
            let t = ts.map(time);
            let part = |f: fn(&NaiveDateTime) -> i64| t.as_ref().map_or("NULL".to_string(), |t| f(t).to_string());
            vec![
                id.to_string(),
                t.map_or("NULL".into(), |t| t.format("%Y-%m-%d").to_string()),
                if id > 5 { "big" } else { "small" }.to_string(),
                part(|t| t.hour().into()),
                part(|t| t.minute().into()),
                part(|t| t.second().into()),
                part(|t| t.year().into()),
                part(|t| t.month().into()),
                part(|t| t.day().into()),
                part(|t| t.weekday().number_from_sunday().into()),
                t.map_or("NULL".into(), |t| t.format("%a %-d %b %y, %-I:%M %p").to_string()),
                s.as_ref().map_or("NULL".into(), |_| format!("v{id}")),
                s.as_ref().map_or("NULL".into(), |_| id.to_string()),
                ts.map_or("NULL".into(), |ms| ms.div_euclid(1000).to_string()),
                format!("1970-01-{:02}", id + 1),
                ts.map_or("NULL".into(), |ms| (ms - ms.rem_euclid(1000)).to_string()),
                s.as_ref().map_or("NULL".into(), |s| format!("{s}#{id}")),
            ]
        })
        .collect();
    expected.sort();
    // The rows cover several hours, months, years and days of the week.
    for column in [3, 7, 6, 9] {
        let distinct: std::collections::BTreeSet<_> = expected.iter().map(|r| &r[column]).collect();
        assert!(distinct.len() >= 3, "column {column}: {distinct:?}");
    }
    assert_eq!(got, expected);
}

#[test]
fn proctime_is_the_time_of_processing() {
    let (catalog, connectors) = events_setup();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let got = run(&catalog, &connectors, "SELECT id, PROCTIME() AS p FROM events");
    let after = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert_eq!(got.len(), 10);
    for row in got {
        let p: i64 = row[1].parse().unwrap();
        assert!(before <= p && p <= after, "{before} <= {p} <= {after}");
    }
}

#[test]
fn result_types_and_planning_errors() {
    let (catalog, connectors) = events_setup();
    let env = StreamExecutionEnvironment::new();
    let planned = SqlJob::plan_query(
        &env,
        &catalog,
        &connectors,
        &query("SELECT HOUR(ts) AS h, DATE_FORMAT(ts, 'HH') AS f, PROCTIME() AS p, MOD(id, 2) AS m FROM events"),
    )
    .unwrap();
    let types: Vec<DataType> = planned.schema.fields().iter().map(|f| f.data_type().clone()).collect();
    assert_eq!(
        types,
        [
            DataType::Int64,
            DataType::Utf8,
            DataType::Timestamp(TimeUnit::Millisecond, None),
            DataType::Int64
        ]
    );
    let error = SqlJob::plan_query(
        &env,
        &catalog,
        &connectors,
        &query("SELECT DATE_FORMAT(ts, 'yyyy-MM-dd QQ') FROM events"),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(error.contains("unsupported letter 'Q'"), "{error}");
}
