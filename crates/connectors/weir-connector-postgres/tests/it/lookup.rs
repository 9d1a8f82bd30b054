//! The lookup source against a real server: single and batched lookups, behind a
//! cache, across a connection the server ends, and in a job's enrichment map.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{client, url};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use weir::connector_api::lookup::{CachedLookup, LookupSource};
use weir::connector_api::options::Options;
use weir::prelude::*;
use weir_connector_postgres::{factory, PostgresLookup, Row};

fn customers(table: &str) {
    common::fresh_table(table, "id bigint PRIMARY KEY, name text NOT NULL, tier integer");
    client()
        .batch_execute(&format!(
            "INSERT INTO {table} SELECT i, 'customer ' || i, i % 3 FROM generate_series(1, 100) AS i"
        ))
        .unwrap();
}

fn customer(row: &Row) -> Result<(String, i32), weir::core::BoxError> {
    Ok((row.try_get("name")?, row.try_get("tier")?))
}

#[test]
fn lookups_one_many_cached_and_after_a_lost_connection() {
    let _server = common::shared_server();
    customers("lk_customers");
    let lookup = PostgresLookup::<i64, (String, i32)>::new(&url(), "lk_customers", "id", customer)
        .unwrap()
        .columns(["name", "tier"])
        .open()
        .unwrap();
    assert_eq!(lookup.lookup(&7).unwrap(), Some(("customer 7".to_string(), 1)));
    assert_eq!(lookup.lookup(&700).unwrap(), None);
    let many = lookup.lookup_many(&[3, 700, 3, 100]).unwrap();
    assert_eq!(
        many,
        vec![
            Some(("customer 3".to_string(), 0)),
            None,
            Some(("customer 3".to_string(), 0)),
            Some(("customer 100".to_string(), 1)),
        ]
    );

    // The server ends the connection: the next lookup reconnects.
    client().batch_execute(&common::terminate("lk_customers")).unwrap();
    assert_eq!(lookup.lookup(&8).unwrap(), Some(("customer 8".to_string(), 2)));

    let mut cached = CachedLookup::new(lookup, 10, Duration::from_secs(3600));
    for key in [1, 2, 1, 1, 2, 500, 500] {
        cached.get(&key).unwrap();
    }
    assert_eq!((cached.hits(), cached.misses()), (4, 3));
}

#[test]
fn lookup_errors_name_the_table_and_key_type() {
    let _server = common::shared_server();
    customers("lk_errors");
    let error = PostgresLookup::<i64, (String, i32)>::new(&url(), "lk_missing", "id", customer)
        .unwrap()
        .open()
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("postgres lookup source 'lk_missing' at 127.0.0.1:15432/weir as weir")
            && error.contains("lk_missing")
            && error.contains("42P01"),
        "{error}"
    );
    // i32 keys for a bigint column: the client says which types differ.
    let lookup = PostgresLookup::<i32, (String, i32)>::new(&url(), "lk_errors", "id", customer)
        .unwrap()
        .open()
        .unwrap();
    let error = lookup.lookup(&1).unwrap_err().to_string();
    assert!(error.contains("int8") && error.contains("i32"), "{error}");
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Order {
    id: u64,
    customer: i64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Enriched {
    id: u64,
    customer: i64,
    name: Option<String>,
}

type Customers = CachedLookup<i64, (String, i32), PostgresLookup<i64, (String, i32)>>;

/// Enriches orders with the customer's name (a lookup join), through a cache
/// opened per subtask.
#[derive(Clone)]
struct Enrich {
    options: Vec<(String, String)>,
    customers: Option<Arc<Mutex<Customers>>>,
}

impl ProcessFunction<Order, Enriched> for Enrich {
    fn open(&mut self, _: &weir::core::SubtaskInfo) -> Result<(), BoxError> {
        let options = Options::from_pairs("postgres lookup 'customers'", self.options.clone());
        let cached = factory::cached_lookup_from_options(&options, customer)?;
        self.customers = Some(Arc::new(Mutex::new(cached)));
        Ok(())
    }

    fn process_element(
        &mut self,
        order: Order,
        _: &mut Context<'_>,
        out: &mut Collector<'_, Enriched>,
    ) -> Result<(), BoxError> {
        let customers = self.customers.as_ref().ok_or("not opened")?;
        let found = customers.lock().map_err(|_| "poisoned")?.get(&order.customer)?;
        out.collect(Enriched {
            id: order.id,
            customer: order.customer,
            name: found.map(|(name, _)| name),
        });
        Ok(())
    }
}

#[test]
fn a_job_enriches_records_through_the_cached_lookup() {
    let _server = common::shared_server();
    customers("lk_job");
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2);
    let options = vec![
        ("url".to_string(), url()),
        ("table-name".to_string(), "lk_job".to_string()),
        ("lookup.key-column".to_string(), "id".to_string()),
        ("lookup.cache.max-rows".to_string(), "50".to_string()),
        ("lookup.cache.ttl".to_string(), "10 min".to_string()),
    ];
    let enriched = env
        .add_source(
            GeneratorSource::new(|i| Order {
                id: i,
                customer: (i % 120) as i64 + 1,
            })
            .with_count(1_000),
        )
        .process(Enrich {
            options,
            customers: None,
        })
        .collect();
    env.execute("lookup join").unwrap();
    let mut enriched = enriched.take();
    enriched.sort_by_key(|e| e.id);
    assert_eq!(enriched.len(), 1_000);
    for e in &enriched {
        let expected = (e.customer <= 100).then(|| format!("customer {}", e.customer));
        assert_eq!(e.name, expected, "{e:?}");
    }
}
