//! Writes 1 000 rows into MariaDB/MySQL exactly once through XA transactions,
//! then reads some back through the lookup source.
//!
//! Start a server first (`scripts/services.sh up mysql`), then:
//! `WEIR_TEST_MYSQL_URL=mysql://root@127.0.0.1:13306/weir cargo run --release -p weir-connector-mysql --example mysql_exactly_once`

use mysql::prelude::Queryable;
use std::time::Duration;
use weir::connector_api::lookup::LookupSource;
use weir::connector_api::transactional::ExactlyOnce;
use weir::prelude::*;
use weir_connector_mysql::{MySqlConfig, MySqlLookup, MySqlXaSink, Value};

fn main() -> Result<(), BoxError> {
    let url = std::env::var("WEIR_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:13306/weir".into());
    let mut admin = mysql::Conn::new(mysql::Opts::from_url(&url)?)?;
    admin.query_drop("DROP TABLE IF EXISTS example_orders")?;
    admin.query_drop("CREATE TABLE example_orders (id BIGINT PRIMARY KEY, amount BIGINT NOT NULL)")?;

    let config = MySqlConfig::new("mysql sink 'example_orders'", &url)?;
    let sink = MySqlXaSink::new(
        config.clone(),
        "example",
        "example_orders",
        &["id", "amount"],
        |id: &u64| vec![Value::from(*id), Value::from(id * 10)],
    )?;
    let checkpoints = std::env::temp_dir().join("weir-mysql-example");
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2)
        .enable_checkpointing(Duration::from_millis(100))
        .set_checkpoint_dir(&checkpoints);
    env.from_sequence(0, 999)
        .map(|i| i as u64)
        .add_sink(ExactlyOnce::new(sink))
        .uid("mysql");
    env.execute("mysql exactly once")?;

    let count: Option<u64> = admin.query_first("SELECT COUNT(*) FROM example_orders")?;
    println!("rows committed: {count:?}");
    let lookup: MySqlLookup<u64, i64> = MySqlLookup::new(config, "example_orders", "id", &["amount"], |mut row| {
        mysql::from_value(row.remove(0))
    });
    println!(
        "amounts of orders 7, 2000, 42: {:?}",
        lookup.lookup_many(&[7, 2000, 42])?
    );
    let _ = std::fs::remove_dir_all(checkpoints);
    Ok(())
}
