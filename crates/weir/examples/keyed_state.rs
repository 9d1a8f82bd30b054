//! Keyed state: detect when a sensor's reading jumps by more than a threshold.
//!
//! `cargo run -p weir --example keyed_state`
//!
//! A `KeyedProcessFunction` keeps the last reading of every sensor in a
//! `ValueStateDescriptor` and emits an alert when the next reading differs by more
//! than the threshold.

use serde::{Deserialize, Serialize};
use weir::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Reading {
    sensor: u32,
    value: f64,
}

#[derive(Clone)]
struct JumpDetector {
    threshold: f64,
    last: ValueStateDescriptor<f64>,
}

impl KeyedProcessFunction<u32, Reading, String> for JumpDetector {
    fn process_element(
        &mut self,
        reading: Reading,
        ctx: &mut KeyedContext<'_, u32>,
        out: &mut Collector<'_, String>,
    ) -> Result<(), BoxError> {
        let mut last = ctx.value(&self.last)?;
        if let Some(previous) = last.get()? {
            if (reading.value - previous).abs() > self.threshold {
                out.collect(format!(
                    "sensor {} jumped from {previous:.1} to {:.1}",
                    reading.sensor, reading.value
                ));
            }
        }
        last.set(reading.value)?;
        Ok(())
    }
}

fn main() -> Result<(), WeirError> {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2);
    let readings = env.add_source(
        GeneratorSource::new(|i| Reading {
            sensor: (i % 4) as u32,
            // Every sensor drifts slowly, and sensor 3 spikes at reading 40.
            value: (i / 4) as f64 * 0.5 + if i == 40 * 4 + 3 { 25.0 } else { 0.0 },
        })
        .with_count(400),
    );
    readings
        .key_by(|r| r.sensor)
        .process(JumpDetector {
            threshold: 10.0,
            last: ValueStateDescriptor::new("last reading"),
        })
        .name("jump detector")
        .print();
    env.execute("keyed state")?;
    Ok(())
}
