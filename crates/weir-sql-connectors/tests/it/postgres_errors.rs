//! Planning and start-up errors of the `postgres` SQL sink: an updating query
//! into a table without a primary key, a primary key that is not the query's
//! key, unknown and missing options, a non-PostgreSQL `jdbc` url, a column type
//! the connector cannot write, and a server nobody listens on (named with its
//! host and port when the job starts).
#![allow(clippy::unwrap_used)]

use crate::common::{fresh_table, nexmark, plan, run, url};

fn sink(columns: &str, options: &str) -> String {
    format!("{}CREATE TABLE out ({columns}) WITH ({options});", nexmark(1_000, ""))
}

fn postgres(table: &str) -> String {
    format!(
        "'connector' = 'postgres', 'url' = '{}', 'table-name' = '{table}'",
        url()
    )
}

fn plan_error(script: &str) -> String {
    match plan(script, 1) {
        Ok(_) => panic!("planned: {script}"),
        Err(e) => e,
    }
}

const COUNTS: &str = "INSERT INTO out SELECT bidder, COUNT(*), SUM(price) FROM bid GROUP BY bidder;";

#[test]
fn an_updating_query_needs_a_primary_key() {
    let error = plan_error(&format!(
        "{}{COUNTS}",
        sink("bidder BIGINT, bids BIGINT, total BIGINT", &postgres("t"))
    ));
    assert!(
        error.contains("table 'out'") && error.contains("PRIMARY KEY"),
        "{error}"
    );
}

#[test]
fn the_primary_key_must_be_the_group_key() {
    let error = plan_error(&format!(
        "{}{COUNTS}",
        sink(
            "bidder BIGINT, bids BIGINT, total BIGINT, PRIMARY KEY (bids) NOT ENFORCED",
            &postgres("t")
        )
    ));
    assert!(
        error.contains("primary key (bids) is not the query's upsert key (bidder)"),
        "{error}"
    );
}

#[test]
fn unknown_and_missing_options_are_named() {
    let columns = "bidder BIGINT, bids BIGINT, total BIGINT, PRIMARY KEY (bidder) NOT ENFORCED";
    let error = plan_error(&format!(
        "{}{COUNTS}",
        sink(
            columns,
            &format!("{}, 'sink.buffer-flush.max-rowz' = '5'", postgres("t"))
        )
    ));
    assert!(
        error.contains("'sink.buffer-flush.max-rowz'") && error.contains("unknown option"),
        "{error}"
    );
    let error = plan_error(&format!(
        "{}{COUNTS}",
        sink(columns, &format!("'connector' = 'postgres', 'url' = '{}'", url()))
    ));
    assert!(error.contains("'table-name'"), "{error}");
    let error = plan_error(&format!(
        "{}{COUNTS}",
        sink(columns, &format!("{}, 'sink.key-columns' = 'bids'", postgres("t")))
    ));
    assert!(
        error.contains("'sink.key-columns'") && error.contains("PRIMARY KEY"),
        "{error}"
    );
    let error = plan_error(&format!(
        "{}{COUNTS}",
        sink(columns, &format!("{}, 'sink.semantic' = 'exactly-once'", postgres("t")))
    ));
    assert!(
        error.contains("'sink.semantic'") && error.contains("insert-only"),
        "{error}"
    );
    let error = plan_error(&format!(
        "{}{COUNTS}",
        sink(
            columns,
            "'connector' = 'jdbc', 'url' = 'jdbc:mysql://127.0.0.1:3306/weir', 'table-name' = 't'"
        )
    ));
    assert!(error.contains("'url'") && error.contains("jdbc:mysql://"), "{error}");
}

#[test]
fn a_column_type_the_connector_cannot_write_is_named() {
    let error = plan_error(&format!(
        "{}INSERT INTO out SELECT bid.bidder, bid FROM datagen WHERE event_type = 2;",
        sink(
            "bidder BIGINT, b ROW<auction BIGINT, bidder BIGINT, price BIGINT, dateTime TIMESTAMP(3)>",
            &postgres("t")
        )
    ));
    assert!(
        error.contains("column 'b'") && error.contains("cannot be written"),
        "{error}"
    );
}

#[test]
fn an_unreachable_server_fails_the_job_at_its_start_naming_host_and_port() {
    // Nothing listens on this port (the services use 15432).
    let error = run(
        &format!(
            "{}{COUNTS}",
            sink(
                "bidder BIGINT, bids BIGINT, total BIGINT, PRIMARY KEY (bidder) NOT ENFORCED",
                "'connector' = 'postgres', 'url' = 'postgres://weir@127.0.0.1:15999/weir', 'table-name' = 't',
                 'connection.max-retries' = '0'"
            )
        ),
        1,
    )
    .unwrap_err();
    assert!(
        error.contains("127.0.0.1:15999") && error.contains("cannot connect"),
        "{error}"
    );
}

#[test]
fn a_table_without_a_unique_key_for_the_primary_key_fails_at_the_start() {
    fresh_table("sql_no_index", "bidder bigint, bids bigint, total bigint");
    let error = run(
        &format!(
            "{}{COUNTS}",
            sink(
                "bidder BIGINT, bids BIGINT, total BIGINT, PRIMARY KEY (bidder) NOT ENFORCED",
                &postgres("sql_no_index")
            )
        ),
        1,
    )
    .unwrap_err();
    assert!(error.contains("sql_no_index"), "{error}");
}
