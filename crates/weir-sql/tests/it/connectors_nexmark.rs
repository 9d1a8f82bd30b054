//! The `nexmark` source connector reads the Flink Nexmark DDL's `datagen` table:
//! every event once, each struct column set only for its event type, with the
//! generator's values; projections and bad options.
#![allow(clippy::unwrap_used)]

use crate::nexmark_sql::DDL;
use arrow::array::{Array, AsArray};
use arrow::datatypes::Int32Type;
use weir_datastream::StreamExecutionEnvironment;
use weir_sql::batch::RowBatch;
use weir_sql::connectors::builtin;
use weir_sql::front::{Catalog, TableDef};
use weir_sql::rows::format_rows;

fn datagen(events: u64, extra: &[(&str, &str)]) -> TableDef {
    let mut catalog = Catalog::new();
    catalog.apply_script(DDL).unwrap();
    let mut table = catalog.table("datagen").unwrap().clone();
    table.options.insert("events.num".into(), events.to_string());
    for (k, v) in extra {
        table.options.insert(k.to_string(), v.to_string());
    }
    table
}

fn read(table: &TableDef, projection: Option<&[usize]>, parallelism: usize) -> Vec<RowBatch> {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism);
    let stream = builtin()
        .source(table)
        .unwrap()
        .create_source(&env, table, projection)
        .unwrap();
    let out = stream.collect();
    env.execute("nexmark source").unwrap();
    out.take()
}

/// Events of each type the generator makes with the DDL's proportions (2 : 6 : 46).
pub fn generated(events: u64) -> (usize, usize, usize) {
    let config = weir_nexmark::NexmarkConfig {
        num_events: events,
        first_event_rate: 10_000_000,
        next_event_rate: 10_000_000,
        person_proportion: 2,
        auction_proportion: 6,
        bid_proportion: 46,
        ..Default::default()
    };
    let generator = weir_nexmark::EventGenerator::new(weir_nexmark::GeneratorConfig::new(&config).unwrap());
    let mut counts = (0, 0, 0);
    for event in generator {
        match event.event_type().value() {
            0 => counts.0 += 1,
            1 => counts.1 += 1,
            _ => counts.2 += 1,
        }
    }
    counts
}

#[test]
fn every_event_once_with_its_struct_only() {
    let table = datagen(5_000, &[]);
    for parallelism in [1, 3] {
        let batches = read(&table, None, parallelism);
        let (mut persons, mut auctions, mut bids) = (0, 0, 0);
        for RowBatch(batch) in &batches {
            assert!(batch.num_rows() <= 1024);
            let kinds = batch.column(0).as_primitive::<Int32Type>();
            for row in 0..batch.num_rows() {
                let kind = kinds.value(row) as usize;
                for (column, name) in ["person", "auction", "bid"].iter().enumerate() {
                    let set = batch.column(column + 1).is_valid(row);
                    assert_eq!(set, column == kind, "{name} set for event type {kind}");
                }
                match kind {
                    0 => persons += 1,
                    1 => auctions += 1,
                    _ => bids += 1,
                }
            }
        }
        assert_eq!((persons, auctions, bids), generated(5_000), "parallelism {parallelism}");
    }
}

#[test]
fn a_projection_reads_only_its_columns_with_the_generators_values() {
    let table = datagen(60, &[]);
    let batches = read(&table, Some(&[3, 0]), 1);
    let lines: Vec<String> = batches.iter().flat_map(|b| format_rows(b).unwrap()).collect();
    assert_eq!(lines.len(), 60);
    // The first bid of the generator (event 3: person, 6 auctions... in proportion).
    let first_bid = lines.iter().find(|l| l.ends_with(", 2]")).unwrap();
    assert!(first_bid.starts_with("+I[{auction: 1000"), "{first_bid}");
    assert!(lines.iter().any(|l| l == "+I[NULL, 0]"), "persons have no bid");
}

#[test]
fn bad_options_name_the_table_and_the_option() {
    let env = StreamExecutionEnvironment::new();
    let table = datagen(10, &[("events.nmu", "3")]);
    let error = builtin()
        .source(&table)
        .unwrap()
        .create_source(&env, &table, None)
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("table 'datagen': option 'events.nmu': unknown option"),
        "{error}"
    );
    let table = datagen(10, &[("bid.proportion", "many")]);
    let error = builtin()
        .source(&table)
        .unwrap()
        .create_source(&env, &table, None)
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("option 'bid.proportion': 'many' is not a valid number"),
        "{error}"
    );
    let mut table = datagen(10, &[]);
    table.options.insert("connector".into(), "nexmrak".into());
    let error = builtin().source(&table).err().unwrap().to_string();
    assert!(error.contains("no source connector 'nexmrak'"), "{error}");
}
