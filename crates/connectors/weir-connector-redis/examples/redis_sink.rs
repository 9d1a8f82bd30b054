//! Keeps the latest price of 10 products in Redis (`SET price:<id> <value>`,
//! deterministic keys, idempotent on replay), then reads them through a cached
//! lookup source.
//!
//! Start a server first (`scripts/services.sh up redis`), then:
//! `WEIR_TEST_REDIS_URL=redis://127.0.0.1:16379 cargo run --release -p weir-connector-redis --example redis_sink`

use std::time::Duration;
use weir::connector_api::lookup::CachedLookup;
use weir::prelude::*;
use weir_connector_redis::{RedisConfig, RedisLookup, RedisSink, RedisWrite};

fn main() -> Result<(), BoxError> {
    let url = std::env::var("WEIR_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:16379".into());
    let config = RedisConfig::new("redis sink 'prices'", &url)?;
    let checkpoints = std::env::temp_dir().join("weir-redis-example");
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2)
        .enable_checkpointing(Duration::from_millis(100))
        .set_checkpoint_dir(&checkpoints);
    env.from_sequence(0, 9_999)
        .map(|i| (i % 10, i))
        .key_by(|(product, _)| *product)
        .add_sink(
            RedisSink::new(config.clone(), |(product, price): &(i64, i64)| {
                RedisWrite::set(format!("price:{product}"), price.to_string())
            })
            .with_ttl(Duration::from_secs(3600)),
        )
        .uid("redis");
    env.execute("latest prices")?;

    let mut prices = CachedLookup::new(RedisLookup::new(config, "price:"), 100, Duration::from_secs(60));
    for product in [0u32, 3, 9, 42] {
        println!("price of product {product}: {:?}", prices.get(&product)?);
    }
    let _ = std::fs::remove_dir_all(checkpoints);
    Ok(())
}
