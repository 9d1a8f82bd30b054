//! Running totals per customer, upserted into PostgreSQL, and the same totals
//! written exactly once into an append-only history table.
//!
//! Needs a server: `scripts/services.sh up postgres` starts one on
//! 127.0.0.1:15432 (or give another with `WEIR_POSTGRES_URL`). Run with
//! `cargo run --release -p weir-connector-postgres --example postgres_upsert`.

use postgres::{Client, NoTls};
use std::time::Duration;
use weir::prelude::*;
use weir_connector_postgres::{PostgresSink, RowMapper, SqlValue};

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Total {
    customer: i64,
    orders: i64,
    amount: f64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("WEIR_POSTGRES_URL").unwrap_or_else(|_| "postgres://weir@127.0.0.1:15432/weir".to_string());
    let mut client = Client::connect(&url, NoTls)
        .map_err(|e| format!("cannot connect to {url} ({e}); start a server with `scripts/services.sh up postgres`"))?;
    client.batch_execute(
        "DROP TABLE IF EXISTS example_totals, example_history;
         CREATE TABLE example_totals (customer bigint PRIMARY KEY, orders bigint NOT NULL, amount double precision NOT NULL);
         CREATE TABLE example_history (customer bigint NOT NULL, orders bigint NOT NULL, amount numeric(12, 2) NOT NULL)",
    )?;

    let checkpoints = tempfile::tempdir()?;
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2)
        .enable_checkpointing(Duration::from_millis(200))
        .set_checkpoint_dir(checkpoints.path());
    let totals = env
        .add_source(
            GeneratorSource::new(|i| Total {
                customer: (i % 10) as i64,
                orders: 1,
                amount: (i % 7) as f64 * 2.5,
            })
            .with_count(10_000),
        )
        .uid("orders")
        .key_by(|t: &Total| t.customer)
        .reduce(|a, b| Total {
            customer: a.customer,
            orders: a.orders + b.orders,
            amount: a.amount + b.amount,
        })
        .uid("totals");

    // The newest total of each customer: columns by field name, key = primary key.
    totals
        .add_sink(
            PostgresSink::builder::<Total>(&url, "example_totals")?
                .row(RowMapper::serde())
                .upsert()?,
        )
        .uid("upsert");

    // Every total, exactly once, through prepared transactions (the server needs
    // max_prepared_transactions > 0). The numeric column takes the value's text.
    totals
        .add_sink(
            PostgresSink::builder::<Total>(&url, "example_history")?
                .columns(["customer", "orders", "amount"])
                .row(RowMapper::new(|t: &Total| {
                    vec![
                        t.customer.into(),
                        t.orders.into(),
                        SqlValue::Text(format!("{:.2}", t.amount)),
                    ]
                }))
                .transaction_prefix("weir-example-history")
                .exactly_once()?,
        )
        .uid("history");

    let result = env.execute("postgres upsert example")?;
    println!("job finished in {:?}", result.elapsed);
    for row in client.query(
        "SELECT customer, orders, amount FROM example_totals ORDER BY customer",
        &[],
    )? {
        let (customer, orders, amount): (i64, i64, f64) = (row.get(0), row.get(1), row.get(2));
        println!("customer {customer}: {orders} orders, {amount:.2}");
    }
    let history: i64 = client.query_one("SELECT count(*) FROM example_history", &[])?.get(0);
    println!("example_history: {history} rows (one per order, exactly once)");
    Ok(())
}
