//! State TTL: alert on a sensor's error code once, and again only after it has
//! been quiet for a while; state of codes that stop recurring expires by itself.
//!
//! `cargo run --release -p weir --example state_ttl`
//!
//! A `KeyedProcessFunction` keyed by (sensor, code) remembers when it alerted in
//! value state with a 200 ms time-to-live, renewed on every write only
//! (`OnCreateAndWrite`). Records arrive at 2,000 per second for 1.5 s and every
//! (sensor, code) pair recurs every 7.5 ms, so each pair alerts once per 200 ms:
//! about eight times in the run, not 200 times.

use std::time::Duration;
use weir::prelude::*;

#[derive(Clone)]
struct AlertOnce {
    alerted: ValueStateDescriptor<bool>,
}

impl KeyedProcessFunction<(u32, u32), (u32, u32), (u32, u32)> for AlertOnce {
    fn process_element(
        &mut self,
        event: (u32, u32),
        ctx: &mut KeyedContext<'_, (u32, u32)>,
        out: &mut Collector<'_, (u32, u32)>,
    ) -> Result<(), BoxError> {
        let mut alerted = ctx.value(&self.alerted)?;
        // Expired state reads as absent: the pair alerts again.
        if alerted.get()?.is_none() {
            alerted.set(true)?;
            out.collect(event);
        }
        Ok(())
    }
}

fn main() -> Result<(), WeirError> {
    const RECORDS: u64 = 3_000;
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2);
    let ttl = StateTtlConfig::new(Duration::from_millis(200)).with_update(TtlUpdate::OnCreateAndWrite);
    let alerts = env
        .add_source(
            GeneratorSource::new(|i| ((i % 3) as u32, ((i / 3) % 5) as u32))
                .with_count(RECORDS)
                .with_rate_limit(2_000.0),
        )
        .set_parallelism(1)
        .key_by(|event: &(u32, u32)| *event)
        .process(AlertOnce {
            alerted: ValueStateDescriptor::new("alerted").with_ttl(ttl),
        })
        .collect();
    env.execute("state ttl")?;
    let alerts = alerts.take();
    println!(
        "{RECORDS} events of 15 (sensor, code) pairs raised {} alerts: about {:.1} per pair",
        alerts.len(),
        alerts.len() as f64 / 15.0
    );
    Ok(())
}
