//! SQL queries into PostgreSQL tables: an updating aggregate upserted by its
//! primary key ends as the counts computed from the same events; rows a query
//! deletes (`-D`) are deleted from the table; a table without a primary key takes
//! insert-only rows as plain inserts (here through the `jdbc` name and the
//! `hostname`/`port`/`database-name` options).
#![allow(clippy::unwrap_used)]

use crate::common::{counts_in, expected_rows, fresh_table, nexmark, run, url, url_parts};
use std::collections::BTreeMap;

const COUNTS: &str = "
INSERT INTO counts SELECT bidder, COUNT(*), SUM(price) FROM bid GROUP BY bidder;
";

fn counts_table(pg_table: &str, extra: &str) -> String {
    format!(
        "CREATE TABLE counts (bidder BIGINT, bids BIGINT, total BIGINT, PRIMARY KEY (bidder) NOT ENFORCED)
         WITH ('connector' = 'postgres', 'url' = '{}', 'table-name' = '{pg_table}'{extra});",
        url()
    )
}

#[test]
fn an_updating_aggregate_ends_as_the_counts_of_its_events() {
    const EVENTS: u64 = 20_000;
    fresh_table(
        "sql_counts",
        "bidder bigint PRIMARY KEY, bids bigint NOT NULL, total bigint",
    );
    let script = format!(
        "{}{}{COUNTS}",
        nexmark(EVENTS, ""),
        counts_table("sql_counts", ", 'sink.buffer-flush.max-rows' = '64'")
    );
    run(&script, 2).unwrap();
    let expected = expected_rows(EVENTS, |_| true);
    assert!(expected.len() > 100 && expected.iter().any(|r| r.1 > 1), "{expected:?}");
    assert_eq!(counts_in("sql_counts"), expected);
}

#[test]
fn groups_the_query_deletes_leave_the_table() {
    const EVENTS: u64 = 6_000;
    fresh_table("sql_histogram", "bids bigint PRIMARY KEY, bidders bigint NOT NULL");
    // Bidders per bid count: as bidders' counts grow, a count's group empties
    // (its row is deleted, -D) once every bidder with that count has moved on.
    // Flushing every 4 row changes writes most rows before their delete arrives.
    let script = format!(
        "{}
         CREATE TABLE histogram (bids BIGINT, bidders BIGINT, PRIMARY KEY (bids) NOT ENFORCED)
         WITH ('connector' = 'postgres', 'url' = '{}', 'table-name' = 'sql_histogram',
               'sink.buffer-flush.max-rows' = '4');
         INSERT INTO histogram
         SELECT bids, COUNT(*) FROM (SELECT bidder, COUNT(*) AS bids FROM bid GROUP BY bidder) GROUP BY bids;",
        nexmark(EVENTS, ""),
        url()
    );
    run(&script, 2).unwrap();
    let mut expected: BTreeMap<i64, i64> = BTreeMap::new();
    for (_, bids, _) in expected_rows(EVENTS, |_| true) {
        *expected.entry(bids).or_default() += 1;
    }
    let max = *expected.keys().last().unwrap();
    let emptied = (1..max).filter(|c| !expected.contains_key(c)).count();
    assert!(emptied > 3, "too few emptied counts to delete: {expected:?}");
    let mut actual: Vec<(i64, i64)> = crate::common::client()
        .query("SELECT bids, bidders FROM sql_histogram", &[])
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    actual.sort();
    assert_eq!(actual, expected.into_iter().collect::<Vec<_>>());
}

/// A `HAVING` over an updating aggregate deletes a group's row when the group
/// stops matching: the aggregate emits `-U` for the old row and the filter drops
/// the new one's `+U`. Before an upsert sink, weir-sql turns that lone `-U` into a
/// `-D` (crates/weir-sql/src/job.rs, `upserts`), so the sink deletes the row.
#[test]
fn rows_a_having_stops_matching_leave_the_table() {
    const EVENTS: u64 = 6_000;
    fresh_table(
        "sql_small",
        "bidder bigint PRIMARY KEY, bids bigint NOT NULL, total bigint",
    );
    let script = format!(
        "{}{}
         INSERT INTO counts SELECT bidder, COUNT(*), SUM(price) FROM bid GROUP BY bidder HAVING COUNT(*) < 3;",
        nexmark(EVENTS, ""),
        counts_table("sql_small", ", 'sink.buffer-flush.max-rows' = '4'")
    );
    run(&script, 2).unwrap();
    let deleted = expected_rows(EVENTS, |bids| bids >= 3);
    assert!(deleted.len() > 10, "too few bidders reach 3 bids: {deleted:?}");
    assert_eq!(counts_in("sql_small"), expected_rows(EVENTS, |bids| bids < 3));
}

#[test]
fn a_table_without_a_primary_key_takes_plain_inserts() {
    const EVENTS: u64 = 3_000;
    fresh_table(
        "sql_bids",
        "auction bigint, bidder bigint, price bigint, at timestamp(3)",
    );
    let (user, host, port, database) = url_parts();
    let copy = format!(
        "{}
         CREATE TABLE bids_copy (auction BIGINT, bidder BIGINT, price BIGINT, at TIMESTAMP(3)) WITH (
            'connector' = 'jdbc', 'url' = 'jdbc:postgresql://{host}:{port}/{database}', 'username' = '{user}',
            'table-name' = 'sql_bids');
         INSERT INTO bids_copy SELECT auction, bidder, price, dateTime FROM bid;",
        nexmark(EVENTS, "")
    );
    run(&copy, 1).unwrap();
    // The same through `hostname`, `port` and `database-name`, inserting nothing.
    let none = format!(
        "{}
         CREATE TABLE bids_again (auction BIGINT, bidder BIGINT, price BIGINT, at TIMESTAMP(3)) WITH (
            'connector' = 'postgres', 'hostname' = '{host}', 'port' = '{port}', 'database-name' = '{database}',
            'username' = '{user}', 'table-name' = 'sql_bids');
         INSERT INTO bids_again SELECT auction, bidder, price, dateTime FROM bid WHERE price < 0;",
        nexmark(EVENTS, "")
    );
    run(&none, 1).unwrap();
    let bids: i64 = expected_rows(EVENTS, |_| true).iter().map(|r| r.1).sum();
    let mut client = crate::common::client();
    let row = client
        .query_one(
            "SELECT count(*), count(DISTINCT (auction, bidder, price, at)), min(at)::text FROM sql_bids",
            &[],
        )
        .unwrap();
    let (rows, distinct): (i64, i64) = (row.get(0), row.get(1));
    assert_eq!(rows, bids);
    assert!(distinct > bids / 2, "{distinct} distinct of {rows}");
    let first: String = row.get(2);
    assert!(first.starts_with("20"), "timestamps are written as such: {first}");
}
