//! Channels are bounded in bytes, not only in records: large records (1 MiB
//! strings) behind a slow consumer keep the bytes in flight within the configured
//! bound, where the record count alone (4 buffers of 64 records) would let 256 MiB
//! pile up in the channel.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::run_with_watchdog;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use weir_connectors::GeneratorSource;
use weir_datastream::StreamExecutionEnvironment;

const MIB: usize = 1 << 20;
const RECORDS: u64 = 40;
const BOUND: usize = 4 * MIB;

#[test]
fn large_records_keep_channels_within_their_byte_bound() {
    run_with_watchdog("large records".into(), |_| {
        let produced = Arc::new(AtomicU64::new(0));
        let most_in_flight = Arc::new(AtomicU64::new(0));
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(1)
            .set_buffer_size(64)
            .set_channel_capacity(4)
            .set_channel_capacity_bytes(BOUND);
        let counter = produced.clone();
        env.add_source(
            GeneratorSource::new(move |i| {
                counter.fetch_add(1, Ordering::SeqCst);
                // 1 MiB, different for every record.
                format!("{i:08}").repeat(MIB / 8)
            })
            .with_count(RECORDS),
        )
        .name("big strings")
        .rebalance()
        .map({
            let (produced, most) = (produced.clone(), most_in_flight.clone());
            let mut consumed = 0u64;
            move |s: String| {
                // Slower than the producer: hash the whole string a few times.
                let mut h = 0u64;
                for _ in 0..8 {
                    h = s.bytes().fold(h, |h, b| h.rotate_left(5) ^ u64::from(b));
                }
                consumed += 1;
                let in_flight = produced.load(Ordering::SeqCst).saturating_sub(consumed);
                most.fetch_max(in_flight, Ordering::SeqCst);
                h
            }
        })
        .name("slow hash")
        .discard();
        let result = env.execute("large records").unwrap();

        let channel = result
            .channels
            .iter()
            .find(|c| c.source_vertex.contains("big strings"))
            .unwrap();
        let stats = channel.stats;
        // Records generated but not yet consumed: those queued (at most 4 of
        // ~1 MiB), one in the writer's buffer, one being consumed, one being
        // generated.
        let most = most_in_flight.load(Ordering::SeqCst);
        assert!(most <= 8, "{most} records of 1 MiB were in flight at once: {stats:?}");
        // An empty channel always takes a buffer, so one record may exceed the
        // bound; never more.
        assert!(
            stats.max_queued_bytes <= BOUND + MIB + 1024,
            "the channel held {} bytes, bound {BOUND}: {stats:?}",
            stats.max_queued_bytes
        );
        assert_eq!(stats.records_sent, RECORDS);
        assert_eq!(stats.capacity_bytes, BOUND);
        assert!(stats.bytes_sent >= RECORDS * MIB as u64, "{stats:?}");
    });
}
