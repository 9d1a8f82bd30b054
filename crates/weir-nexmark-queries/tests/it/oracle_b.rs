//! Queries q12–q22 against oracles: DuckDB over the same events written as CSV
//! (the batch equivalent of each Flink query), or plain Rust over the generator's
//! events where SQL cannot express the streaming semantics (q12's processing time).

#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::assert_matches_duckdb;
use std::collections::{BTreeMap, BTreeSet};
use weir_nexmark::{Event, EventGenerator, GeneratorConfig, NexmarkConfig};

/// Events per test input.
const EVENTS: u64 = 100_000;

/// The test input at one event per second instead of 10 000: its event times span
/// more than a day (2024-01-01 00:00 to 2024-01-02 03:46 UTC), so every hour and
/// minute of the day occurs and groups per day split at midnight.
fn spread_config() -> NexmarkConfig {
    NexmarkConfig {
        first_event_rate: 1,
        next_event_rate: 1,
        ..common::config(EVENTS)
    }
}

/// `common::assert_matches_duckdb` over the events of `config`.
fn assert_matches_duckdb_over(query: &str, config: &NexmarkConfig, sql: &str, columns: &[&str]) -> usize {
    let dir = common::write_events(config);
    let expected = common::oracle_texts(&common::duckdb(dir.path(), sql));
    for parallelism in [1, 2] {
        let ours = common::weir_texts(&common::weir(query, config, parallelism), columns);
        if ours != expected {
            let missing: Vec<&String> = expected.iter().filter(|r| !ours.contains(r)).take(5).collect();
            let extra: Vec<&String> = ours.iter().filter(|r| !expected.contains(r)).take(5).collect();
            panic!(
                "{query} at parallelism {parallelism} over the spread input: {} rows, DuckDB {}; \
                 first missing {missing:?}; first extra {extra:?}",
                ours.len(),
                expected.len()
            );
        }
    }
    expected.len()
}

/// Q12's windows are of processing time, so only invariants are checked against
/// the generator's bids: every row is one bidder's count in one aligned 10 s
/// window, each (bidder, window) at most once, and per bidder the counts add up to
/// the bidder's bids.
#[test]
fn q12_counts_bids_per_bidder_in_processing_time_windows() {
    let config = common::config(EVENTS);
    let mut expected: BTreeMap<i64, i64> = BTreeMap::new();
    for event in EventGenerator::new(GeneratorConfig::new(&config).unwrap()) {
        if let Event::Bid(b) = event {
            *expected.entry(b.bidder).or_default() += 1;
        }
    }
    assert!(!expected.is_empty());
    for parallelism in [1, 2] {
        let rows = common::weir("q12", &config, parallelism);
        assert!(!rows.is_empty());
        let mut totals: BTreeMap<i64, i64> = BTreeMap::new();
        let mut windows = BTreeSet::new();
        for row in &rows {
            let field = |name: &str| row[name].as_i64().unwrap();
            let (bidder, count, start, end) = (
                field("bidder"),
                field("bid_count"),
                field("starttime"),
                field("endtime"),
            );
            assert!(count > 0, "{row:?}");
            assert_eq!(end - start, 10_000, "{row:?}");
            assert_eq!(start % 10_000, 0, "{row:?}");
            assert!(
                windows.insert((bidder, start)),
                "two rows of one bidder and window: {row:?}"
            );
            *totals.entry(bidder).or_default() += count;
        }
        assert_eq!(totals, expected, "bids per bidder at parallelism {parallelism}");
    }
}

#[test]
fn q13_joins_bids_with_the_side_input() {
    let rows = assert_matches_duckdb(
        "q13",
        EVENTS,
        "SELECT B.auction, B.bidder, B.price, B.dateTime, S.value
         FROM bid B
         JOIN (SELECT range AS key, CAST(range AS VARCHAR) AS value FROM range(10000)) S
           ON B.auction % 10000 = S.key",
        &["auction", "bidder", "price", "date_time", "value"],
    );
    assert_eq!(rows, 92_000);
}

#[test]
fn q14_calculates() {
    let sql = "SELECT auction, bidder, 0.908 * price AS price,
            CASE
                WHEN hour(dateTime) >= 8 AND hour(dateTime) <= 18 THEN 'dayTime'
                WHEN hour(dateTime) <= 6 OR hour(dateTime) >= 20 THEN 'nightTime'
                ELSE 'otherTime'
            END AS bidTimeType,
            dateTime, extra, length(extra) - length(replace(extra, 'c', '')) AS c_counts
         FROM bid
         WHERE 0.908 * price > 1000000 AND 0.908 * price < 50000000";
    let columns = [
        "auction",
        "bidder",
        "price",
        "bid_time_type",
        "date_time",
        "extra",
        "c_counts",
    ];
    assert!(assert_matches_duckdb("q14", EVENTS, sql, &columns) > 0);
    // Over all hours of the day: every time type.
    let config = spread_config();
    assert!(assert_matches_duckdb_over("q14", &config, sql, &columns) > 0);
    let dir = common::write_events(&config);
    let types = common::duckdb(dir.path(), &format!("SELECT count(DISTINCT bidTimeType) FROM ({sql})"));
    assert_eq!(types[0][0].as_i64(), Some(3));
}

#[test]
fn q21_adds_channel_ids() {
    let rows = assert_matches_duckdb(
        "q21",
        EVENTS,
        "SELECT auction, bidder, price, channel,
            CASE
                WHEN lower(channel) = 'apple' THEN '0'
                WHEN lower(channel) = 'google' THEN '1'
                WHEN lower(channel) = 'facebook' THEN '2'
                WHEN lower(channel) = 'baidu' THEN '3'
                ELSE regexp_extract(url, '(&|^)channel_id=([^&]*)', 2)
            END AS channel_id
         FROM bid
         WHERE regexp_matches(url, '(&|^)channel_id=')
            OR lower(channel) IN ('apple', 'google', 'facebook', 'baidu')",
        &["auction", "bidder", "price", "channel", "channel_id"],
    );
    assert!(rows > 0);
}

#[test]
fn q22_splits_urls() {
    let rows = assert_matches_duckdb(
        "q22",
        EVENTS,
        "SELECT auction, bidder, price, channel,
            split_part(url, '/', 4), split_part(url, '/', 5), split_part(url, '/', 6)
         FROM bid",
        &["auction", "bidder", "price", "channel", "dir1", "dir2", "dir3"],
    );
    assert_eq!(rows, 92_000);
}

/// Q15/Q16's filtered counts, as DuckDB SQL.
const RANK_COUNTS: &str = "
     count(*) AS total_bids,
     count(*) FILTER (WHERE price < 10000) AS rank1_bids,
     count(*) FILTER (WHERE price >= 10000 AND price < 1000000) AS rank2_bids,
     count(*) FILTER (WHERE price >= 1000000) AS rank3_bids,
     count(DISTINCT bidder) AS total_bidders,
     count(DISTINCT bidder) FILTER (WHERE price < 10000) AS rank1_bidders,
     count(DISTINCT bidder) FILTER (WHERE price >= 10000 AND price < 1000000) AS rank2_bidders,
     count(DISTINCT bidder) FILTER (WHERE price >= 1000000) AS rank3_bidders,
     count(DISTINCT auction) AS total_auctions,
     count(DISTINCT auction) FILTER (WHERE price < 10000) AS rank1_auctions,
     count(DISTINCT auction) FILTER (WHERE price >= 10000 AND price < 1000000) AS rank2_auctions,
     count(DISTINCT auction) FILTER (WHERE price >= 1000000) AS rank3_auctions";

const RANK_COLUMNS: [&str; 12] = [
    "total_bids",
    "rank1_bids",
    "rank2_bids",
    "rank3_bids",
    "total_bidders",
    "rank1_bidders",
    "rank2_bidders",
    "rank3_bidders",
    "total_auctions",
    "rank1_auctions",
    "rank2_auctions",
    "rank3_auctions",
];

#[test]
fn q15_reports_bidding_statistics_per_day() {
    let columns: Vec<&str> = ["day"].into_iter().chain(RANK_COLUMNS).collect();
    let sql = format!("SELECT strftime(dateTime, '%Y-%m-%d') AS day, {RANK_COUNTS} FROM bid GROUP BY 1");
    assert_eq!(assert_matches_duckdb("q15", EVENTS, &sql, &columns), 1);
    assert_eq!(assert_matches_duckdb_over("q15", &spread_config(), &sql, &columns), 2);
}

#[test]
fn q16_reports_channel_statistics_per_day() {
    let columns: Vec<&str> = ["channel", "day", "minute"].into_iter().chain(RANK_COLUMNS).collect();
    let sql = format!(
        "SELECT channel, strftime(dateTime, '%Y-%m-%d') AS day, max(strftime(dateTime, '%H:%M')) AS minute,
            {RANK_COUNTS}
         FROM bid GROUP BY 1, 2"
    );
    assert!(assert_matches_duckdb("q16", EVENTS, &sql, &columns) > 1);
    assert!(assert_matches_duckdb_over("q16", &spread_config(), &sql, &columns) > 2);
}

#[test]
fn q17_reports_auction_statistics_per_day() {
    let sql = "SELECT auction, strftime(dateTime, '%Y-%m-%d') AS day,
             count(*) AS total_bids,
             count(*) FILTER (WHERE price < 10000) AS rank1_bids,
             count(*) FILTER (WHERE price >= 10000 AND price < 1000000) AS rank2_bids,
             count(*) FILTER (WHERE price >= 1000000) AS rank3_bids,
             min(price), max(price), sum(price) // count(*), sum(price)
         FROM bid GROUP BY 1, 2";
    let columns = [
        "auction",
        "day",
        "total_bids",
        "rank1_bids",
        "rank2_bids",
        "rank3_bids",
        "min_price",
        "max_price",
        "avg_price",
        "sum_price",
    ];
    assert!(assert_matches_duckdb("q17", EVENTS, sql, &columns) > 100);
    assert!(assert_matches_duckdb_over("q17", &spread_config(), sql, &columns) > 100);
}

#[test]
fn q18_finds_the_last_bid_per_bidder_and_auction() {
    let rows = assert_matches_duckdb(
        "q18",
        EVENTS,
        "SELECT auction, bidder, price, channel, url, dateTime, extra FROM (
             SELECT *, row_number() OVER (PARTITION BY bidder, auction ORDER BY dateTime DESC, price DESC, channel DESC, url DESC, extra DESC) AS rank_number
             FROM bid)
         WHERE rank_number <= 1",
        &["auction", "bidder", "price", "channel", "url", "date_time", "extra"],
    );
    // Some bidders bid more than once on an auction: fewer rows than bids.
    assert!(rows > 0 && rows < 92_000);
}

#[test]
fn q19_keeps_the_top_10_bids_per_auction() {
    let rows = assert_matches_duckdb(
        "q19",
        EVENTS,
        "SELECT * FROM (
             SELECT auction, bidder, price, channel, url, dateTime, extra,
                 row_number() OVER (PARTITION BY auction
                     ORDER BY price DESC, dateTime, bidder, channel, url, extra) AS rank_number
             FROM bid)
         WHERE rank_number <= 10",
        &[
            "auction",
            "bidder",
            "price",
            "channel",
            "url",
            "date_time",
            "extra",
            "rank_number",
        ],
    );
    assert!(rows > 0 && rows < 92_000);
}

#[test]
fn q20_joins_bids_with_auctions_of_category_10() {
    // DuckDB reads an empty CSV field as NULL: some item names are empty strings.
    let rows = assert_matches_duckdb(
        "q20",
        EVENTS,
        "SELECT auction, bidder, price, channel, url, B.dateTime, B.extra,
             coalesce(itemName, ''), coalesce(description, ''), initialBid, reserve, A.dateTime, expires, seller, category, A.extra
         FROM bid AS B INNER JOIN auction AS A ON B.auction = A.id
         WHERE A.category = 10",
        &[
            "auction",
            "bidder",
            "price",
            "channel",
            "url",
            "bid_date_time",
            "bid_extra",
            "item_name",
            "description",
            "initial_bid",
            "reserve",
            "auction_date_time",
            "expires",
            "seller",
            "category",
            "auction_extra",
        ],
    );
    assert!(rows > 0);
}

/// The input of the tests has what the queries' harder paths need, so that the
/// comparisons above would catch mistakes there.
#[test]
fn the_test_input_exercises_the_queries() {
    let dir = common::write_events(&common::config(EVENTS));
    let count = |sql: &str| -> i64 {
        let rows = common::duckdb(dir.path(), sql);
        rows[0][0].as_i64().unwrap()
    };
    // q17: groups whose average price is not a whole number (Flink truncates).
    let fractional_averages =
        count("SELECT count(*) FROM (SELECT auction, sum(price) % count(*) AS r FROM bid GROUP BY 1) WHERE r <> 0");
    assert!(fractional_averages > 0);
    // q18: bidders bidding more than once on an auction, also in the same millisecond.
    let repeated = count("SELECT count(*) FROM (SELECT bidder, auction FROM bid GROUP BY 1, 2 HAVING count(*) > 1)");
    let same_time =
        count("SELECT count(*) FROM (SELECT bidder, auction, dateTime FROM bid GROUP BY 1, 2, 3 HAVING count(*) > 1)");
    assert!(repeated > 0 && same_time > 0);
    // q19: auctions with more than 10 bids, and equal prices on an auction.
    assert!(count("SELECT count(*) FROM (SELECT auction FROM bid GROUP BY 1 HAVING count(*) > 10)") > 0);
    assert!(count("SELECT count(*) FROM (SELECT auction, price FROM bid GROUP BY 1, 2 HAVING count(*) > 1)") > 0);
    // q20: bids older than their auction of category 10 (buffered until it comes).
    assert!(
        count(
            "SELECT count(*) FROM bid B JOIN auction A ON B.auction = A.id
             WHERE A.category = 10 AND B.dateTime < A.dateTime"
        ) > 0
    );
    // q21: bids of each kind (a named channel, a URL with a channel id, neither).
    assert!(count("SELECT count(*) FROM bid WHERE lower(channel) IN ('apple', 'google', 'facebook', 'baidu')") > 0);
    assert!(count("SELECT count(*) FROM bid WHERE channel LIKE 'channel-%' AND url LIKE '%&channel_id=%'") > 0);
    assert!(count("SELECT count(*) FROM bid WHERE channel LIKE 'channel-%' AND url NOT LIKE '%channel_id=%'") > 0);
}
