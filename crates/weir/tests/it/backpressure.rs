//! A slow sink slows a fast source: channels never hold more than their capacity
//! and the records in flight stay within the buffers the configuration allows.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir::prelude::*;
use weir::runtime::sink::{Sink, SinkWriter};

const BUFFER: usize = 16;
const CAPACITY: usize = 2;
const RECORDS: u64 = 20_000;

#[derive(Clone)]
struct Counters {
    generated: Arc<AtomicU64>,
    received: Arc<AtomicU64>,
    max_in_flight: Arc<AtomicU64>,
}

/// A sink that takes its time (a few microseconds per record) and records how far
/// the source ran ahead of it.
struct SlowSink(Counters);

struct SlowWriter(Counters);

impl SinkWriter<u64> for SlowWriter {
    fn write(&mut self, _: u64, _: Option<i64>) -> Result<(), BoxError> {
        let received = self.0.received.fetch_add(1, Ordering::SeqCst) + 1;
        let generated = self.0.generated.load(Ordering::SeqCst);
        self.0.max_in_flight.fetch_max(generated - received, Ordering::SeqCst);
        std::thread::sleep(Duration::from_micros(20));
        Ok(())
    }
}

impl Sink<u64> for SlowSink {
    fn create_writer(&self, _: &weir::runtime::sink::SinkContext) -> Result<Box<dyn SinkWriter<u64>>, BoxError> {
        Ok(Box::new(SlowWriter(self.0.clone())))
    }
}

#[test]
fn slow_sink_bounds_records_in_flight_and_queue_length() {
    let counters = Counters {
        generated: Arc::new(AtomicU64::new(0)),
        received: Arc::new(AtomicU64::new(0)),
        max_in_flight: Arc::new(AtomicU64::new(0)),
    };
    let c = counters.clone();
    let result = common::no_hang("backpressure", move || {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(1)
            .set_buffer_size(BUFFER)
            .set_channel_capacity(CAPACITY);
        let generated = c.generated.clone();
        env.add_source(
            GeneratorSource::new(move |i| {
                generated.fetch_add(1, Ordering::SeqCst);
                i
            })
            .with_count(RECORDS),
        )
        .name("fast source")
        .rebalance()
        .add_sink(SlowSink(c.clone()))
        .name("slow sink");
        env.execute("backpressure").unwrap()
    });

    assert_eq!(counters.received.load(Ordering::SeqCst), RECORDS);
    // In flight at most: the buffer the sink task is working through, the channel's
    // buffers, and the full buffer (plus the record that filled it) the blocked
    // writer is trying to send.
    let bound = (BUFFER * (CAPACITY + 2) + 1) as u64;
    let max_in_flight = counters.max_in_flight.load(Ordering::SeqCst);
    assert!(
        max_in_flight <= bound,
        "{max_in_flight} records in flight, bound {bound}"
    );
    assert!(
        max_in_flight >= (BUFFER * CAPACITY) as u64,
        "the source never ran ahead ({max_in_flight}): the sink was not slow enough to test backpressure"
    );
    assert_eq!(result.channels.len(), 1);
    let stats = result.channels[0].stats;
    assert_eq!(stats.capacity, CAPACITY);
    assert_eq!(stats.max_queued, CAPACITY, "the channel should have filled up");
    assert!(stats.sender_waits > 0, "the source should have waited for the sink");
    assert_eq!(stats.records_sent, RECORDS);
}

#[test]
fn no_channel_ever_exceeds_its_capacity() {
    let result = common::no_hang("capacity", || {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(3).set_buffer_size(8).set_channel_capacity(3);
        env.from_sequence(0, 200_000)
            .key_by(|n| n % 101)
            .reduce(|a, b| a.wrapping_add(b))
            .rebalance()
            .map(|n| n ^ 1)
            .set_parallelism(2)
            .discard();
        env.execute("capacity").unwrap()
    });
    assert!(!result.channels.is_empty());
    for c in &result.channels {
        assert!(c.stats.max_queued <= c.stats.capacity, "{c:?}");
    }
}
