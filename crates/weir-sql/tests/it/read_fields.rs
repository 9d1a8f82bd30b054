//! Which struct fields a query reads, and the `nexmark` source leaving the others
//! null: the analysis over the Flink Nexmark DDL (views, computed columns, window
//! TVFs over views, whole-column reads) and the source's batches.
#![allow(clippy::unwrap_used)]

use crate::nexmark_sql::DDL;
use crate::plan_stream::query;
use arrow::array::{Array, AsArray};
use weir_datastream::StreamExecutionEnvironment;
use weir_sql::connector::ReadFields;
use weir_sql::connectors::builtin;
use weir_sql::front::Catalog;
use weir_sql::plan::read_fields::read_fields;
use weir_sql::plan::SqlPlanner;

/// What `sql` reads of the `datagen` table.
fn analyse(sql: &str) -> ReadFields {
    let mut catalog = Catalog::new();
    catalog.apply_script(DDL).unwrap();
    let planner = SqlPlanner::new(&catalog).unwrap();
    let plan = planner.plan_query(&query(sql)).unwrap();
    read_fields(&planner, &plan).table("datagen")
}

#[test]
fn a_view_of_bids_reads_its_fields_and_the_computed_columns_fields() {
    let reads = analyse("SELECT auction, price FROM bid");
    assert!(reads.reads("bid", "auction") && reads.reads("bid", "price"));
    assert!(!reads.reads("bid", "url") && !reads.reads("bid", "extra"));
    // The computed dateTime (and so the watermark) reads each kind's dateTime.
    for column in ["person", "auction", "bid"] {
        assert!(reads.reads(column, "dateTime"), "{column}.dateTime");
    }
    assert!(!reads.reads("person", "name") && !reads.reads("auction", "itemName"));
}

#[test]
fn window_tvfs_over_views_and_joins_read_what_they_use() {
    let reads = analyse(
        "SELECT window_start, auction, COUNT(*) FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND)) \
         GROUP BY window_start, window_end, auction",
    );
    assert!(reads.reads("bid", "auction"));
    // The view under the TVF computes only what the aggregate reads.
    assert!(!reads.reads("bid", "url") && !reads.reads("bid", "price"));
    assert!(!reads.reads("person", "city") && !reads.reads("auction", "itemName"));
    let reads = analyse("SELECT P.name, A.reserve FROM auction AS A INNER JOIN person AS P ON A.seller = P.id");
    assert!(reads.reads("person", "name") && reads.reads("auction", "reserve"));
    assert!(reads.reads("auction", "seller") && reads.reads("person", "id"));
    assert!(!reads.reads("bid", "url") && !reads.reads("person", "city"));
    // A column of another table with a struct's name is not that struct.
    let reads = analyse("SELECT auction FROM bid");
    assert!(reads.reads("bid", "auction") && !reads.reads("auction", "id"));
}

#[test]
fn a_struct_read_whole_keeps_every_field() {
    let reads = analyse("SELECT bid FROM datagen WHERE event_type = 2");
    assert!(reads.reads("bid", "url") && reads.reads("bid", "extra"));
    let reads = analyse("SELECT * FROM datagen");
    assert!(reads.reads("person", "name") && reads.reads("auction", "extra"));
    let reads = analyse("SELECT bid IS NULL, person.name FROM datagen");
    assert!(reads.reads("bid", "channel"));
    assert!(!reads.reads("person", "city"));
    // Through an alias and a subquery.
    let reads = analyse("SELECT CAST(s.b AS VARCHAR) FROM (SELECT d.bid AS b FROM datagen AS d) AS s");
    assert!(reads.reads("bid", "url"));
    assert!(!reads.reads("auction", "itemName"));
    let reads = analyse("SELECT s.b.price FROM (SELECT d.bid AS b FROM datagen AS d) AS s");
    assert!(reads.reads("bid", "price") && !reads.reads("bid", "url"));
}

#[test]
fn the_nexmark_source_leaves_unread_fields_null() {
    let mut catalog = Catalog::new();
    catalog.apply_script(DDL).unwrap();
    let mut table = catalog.table("datagen").unwrap().clone();
    table.options.insert("events.num".into(), "3000".into());
    let mut reads = ReadFields::all();
    reads.read_field("bid", "price");
    let env = StreamExecutionEnvironment::new();
    let stream = builtin()
        .source(&table)
        .unwrap()
        .create_pruned_source(&env, &table, None, &reads)
        .unwrap();
    let out = stream.collect();
    env.execute("pruned nexmark source").unwrap();
    let batches = out.take();
    let mut bids = 0;
    for batch in &batches {
        let bid = batch.batch().column_by_name("bid").unwrap().as_struct();
        let price = bid.column_by_name("price").unwrap();
        let url = bid.column_by_name("url").unwrap();
        let valid = bid.len() - bid.null_count();
        bids += valid;
        assert_eq!(price.len() - price.null_count(), valid, "every bid has its price");
        assert_eq!(url.null_count(), url.len(), "no bid has its url");
        // Columns not named in `reads` are read whole.
        let person = batch.batch().column_by_name("person").unwrap().as_struct();
        let name = person.column_by_name("name").unwrap();
        assert_eq!(name.len() - name.null_count(), person.len() - person.null_count());
    }
    assert!(bids > 2000, "{bids} bids");
}
