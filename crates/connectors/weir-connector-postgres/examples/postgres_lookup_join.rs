//! A lookup join: orders enriched with the customer's name read from PostgreSQL
//! through a cached lookup source, built from string options as SQL DDL would
//! give them.
//!
//! Needs a server: `scripts/services.sh up postgres` (or `WEIR_POSTGRES_URL`).
//! Run with `cargo run --release -p weir-connector-postgres --example postgres_lookup_join`.

use postgres::{Client, NoTls};
use std::sync::{Arc, Mutex};
use weir::connector_api::lookup::CachedLookup;
use weir::connector_api::options::Options;
use weir::prelude::*;
use weir_connector_postgres::{factory, PostgresLookup, Row};

type Customers = CachedLookup<i64, String, PostgresLookup<i64, String>>;

#[derive(Clone)]
struct Enrich {
    url: String,
    customers: Option<Arc<Mutex<Customers>>>,
}

impl ProcessFunction<(u64, i64), String> for Enrich {
    fn open(&mut self, _: &weir::core::SubtaskInfo) -> Result<(), BoxError> {
        let options = Options::new("postgres lookup 'example_customers'")
            .with("url", self.url.clone())
            .with("table-name", "example_customers")
            .with("lookup.key-column", "id")
            .with("lookup.cache.max-rows", "1000")
            .with("lookup.cache.ttl", "1 min");
        let customers =
            factory::cached_lookup_from_options(&options, |row: &Row| Ok(row.try_get::<_, String>("name")?))?;
        self.customers = Some(Arc::new(Mutex::new(customers)));
        Ok(())
    }

    fn process_element(
        &mut self,
        (order, customer): (u64, i64),
        _: &mut Context<'_>,
        out: &mut Collector<'_, String>,
    ) -> Result<(), BoxError> {
        let customers = self.customers.as_ref().ok_or("the lookup is not open")?;
        let name = customers.lock().map_err(|_| "a lookup panicked")?.get(&customer)?;
        out.collect(format!(
            "order {order}: customer {customer} ({})",
            name.as_deref().unwrap_or("unknown")
        ));
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("WEIR_POSTGRES_URL").unwrap_or_else(|_| "postgres://weir@127.0.0.1:15432/weir".to_string());
    let mut client = Client::connect(&url, NoTls)
        .map_err(|e| format!("cannot connect to {url} ({e}); start a server with `scripts/services.sh up postgres`"))?;
    client.batch_execute(
        "DROP TABLE IF EXISTS example_customers;
         CREATE TABLE example_customers (id bigint PRIMARY KEY, name text NOT NULL);
         INSERT INTO example_customers VALUES (1, 'Ada'), (2, 'Grace'), (3, 'Edsger')",
    )?;
    let env = StreamExecutionEnvironment::new();
    let lines = env
        .add_source(GeneratorSource::new(|i| (i, (i % 4) as i64 + 1)).with_count(8))
        .process(Enrich { url, customers: None })
        .collect();
    env.execute("lookup join example")?;
    let mut lines = lines.take();
    lines.sort();
    for line in lines {
        println!("{line}");
    }
    Ok(())
}
