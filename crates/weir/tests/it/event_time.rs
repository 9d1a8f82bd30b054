//! Event time: watermark strategies, timers in keyed functions, side outputs,
//! idleness.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir::prelude::*;
use weir::runtime::source::{Boundedness, PollStatus, ReaderContext, Source, SourceOutput, SourceReader};

/// Registers an event-time timer 100 ms after each record (duplicates merge) and
/// reports each firing with the watermark it fired at.
#[derive(Clone)]
struct Delayed;

impl KeyedProcessFunction<u32, (u32, i64), (u32, i64, i64)> for Delayed {
    fn process_element(
        &mut self,
        (_, ts): (u32, i64),
        ctx: &mut KeyedContext<'_, u32>,
        _: &mut Collector<'_, (u32, i64, i64)>,
    ) -> Result<(), BoxError> {
        assert_eq!(ctx.timestamp(), Some(ts));
        ctx.register_event_time_timer(ts - ts % 10 + 100)?;
        Ok(())
    }

    fn on_timer(
        &mut self,
        timestamp: i64,
        ctx: &mut KeyedContext<'_, u32>,
        out: &mut Collector<'_, (u32, i64, i64)>,
    ) -> Result<(), BoxError> {
        assert_eq!(ctx.time_domain(), Some(TimeDomain::EventTime));
        let watermark = ctx.current_watermark().unwrap();
        out.collect((*ctx.current_key(), timestamp, watermark));
        Ok(())
    }
}

fn disordered_events(n: u64, seed: u64) -> Vec<(u32, i64)> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..n)
        .map(|i| ((i % 7) as u32, (i * 3) as i64 + rng.i64(0..40)))
        .collect()
}

#[test]
fn event_time_timers_fire_once_each_after_the_watermark_passes() {
    let events = disordered_events(3_000, 11);
    let expected: BTreeSet<(u32, i64)> = events.iter().map(|(k, ts)| (*k, ts - ts % 10 + 100)).collect();
    let fired = common::no_hang("timers", move || {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(2)
            .set_auto_watermark_interval(Duration::from_millis(1));
        let out = env
            .from_source(
                CollectionSource::new(events),
                WatermarkStrategy::for_bounded_out_of_orderness(Duration::from_millis(50))
                    .with_timestamp_assigner(|e: &(u32, i64), _| e.1),
                "events",
            )
            .key_by(|e| e.0)
            .process(Delayed)
            .collect();
        env.execute("timers").unwrap();
        out.take()
    });
    let mut seen = BTreeSet::new();
    for (key, timer, watermark) in &fired {
        assert!(watermark >= timer, "timer {timer} fired at watermark {watermark}");
        assert!(seen.insert((*key, *timer)), "timer ({key}, {timer}) fired twice");
    }
    assert_eq!(seen, expected);
}

#[test]
fn processing_time_timers_fire() {
    common::no_hang("processing timers", || {
        let fired = Arc::new(AtomicU64::new(0));
        let counter = fired.clone();
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(1);
        #[derive(Clone)]
        struct Tick(Arc<AtomicU64>);
        impl KeyedProcessFunction<u64, u64, u64> for Tick {
            fn process_element(
                &mut self,
                _: u64,
                ctx: &mut KeyedContext<'_, u64>,
                _: &mut Collector<'_, u64>,
            ) -> Result<(), BoxError> {
                let now = ctx.current_processing_time();
                ctx.register_processing_time_timer(now + 5)?;
                Ok(())
            }
            fn on_timer(
                &mut self,
                t: i64,
                ctx: &mut KeyedContext<'_, u64>,
                out: &mut Collector<'_, u64>,
            ) -> Result<(), BoxError> {
                assert_eq!(ctx.time_domain(), Some(TimeDomain::ProcessingTime));
                assert!(ctx.current_processing_time() >= t);
                self.0.fetch_add(1, Ordering::SeqCst);
                out.collect(*ctx.current_key());
                Ok(())
            }
        }
        env.add_source(GeneratorSource::new(|i| i % 3).with_rate_limit(1_000.0))
            .key_by(|k| *k)
            .process(Tick(counter))
            .discard();
        let client = env.execute_async("processing timers").unwrap();
        while fired.load(Ordering::SeqCst) < 10 {
            std::thread::yield_now();
        }
        client.stop();
        client.wait().unwrap();
    });
}

#[test]
fn side_outputs_carry_other_records_to_other_streams() {
    let (evens, odds, labels) = common::no_hang("side outputs", || {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(2);
        let odd = OutputTag::<i64>::new("odd");
        let label = OutputTag::<String>::new("label");
        let (o, l) = (odd.clone(), label.clone());
        let main = env
            .from_sequence(1, 1_000)
            .process_fn(move |n: i64, _, out: &mut Collector<'_, i64>| {
                if n % 2 == 0 {
                    out.collect(n);
                } else {
                    out.output(&o, n);
                }
                if n % 100 == 0 {
                    out.output(&l, format!("#{n}"));
                }
                Ok(())
            });
        let evens = main.collect();
        // One side output chained, one behind a network exchange.
        let odds = main.get_side_output(&odd).map(|n| n * 10).collect();
        let labels = main
            .get_side_output(&label)
            .rebalance()
            .map(|s| s.to_uppercase())
            .collect();
        env.execute("side outputs").unwrap();
        (evens.take(), odds.take(), labels.take())
    });
    let sorted = |mut v: Vec<i64>| {
        v.sort_unstable();
        v
    };
    assert_eq!(sorted(evens), (1..=500).map(|n| n * 2).collect::<Vec<_>>());
    assert_eq!(sorted(odds), (0..500).map(|n| (2 * n + 1) * 10).collect::<Vec<_>>());
    let mut labels = labels;
    labels.sort();
    assert_eq!(labels.len(), 10);
    assert!(labels.iter().all(|l| l.starts_with('#')));
}

/// Subtask 0 emits `count` timestamped records then waits forever; subtask 1 never
/// emits anything.
struct HalfSilent {
    count: i64,
}

struct HalfSilentReader {
    next: i64,
    end: i64,
}

impl SourceReader<i64> for HalfSilentReader {
    fn poll_next(&mut self, output: &mut SourceOutput<'_, i64>) -> Result<PollStatus, BoxError> {
        while self.next < self.end {
            output.collect(self.next);
            self.next += 1;
        }
        Ok(PollStatus::Pending { retry_at: None })
    }
}

impl Source<i64> for HalfSilent {
    fn boundedness(&self) -> Boundedness {
        Boundedness::Unbounded
    }
    fn create_reader(&self, context: &ReaderContext) -> Result<Box<dyn SourceReader<i64>>, BoxError> {
        let end = if context.info.index == 0 { self.count } else { 0 };
        Ok(Box::new(HalfSilentReader { next: 0, end }))
    }
}

#[derive(Clone)]
struct FireAt;

impl KeyedProcessFunction<i64, i64, i64> for FireAt {
    fn process_element(
        &mut self,
        v: i64,
        ctx: &mut KeyedContext<'_, i64>,
        _: &mut Collector<'_, i64>,
    ) -> Result<(), BoxError> {
        ctx.register_event_time_timer(v)?;
        Ok(())
    }
    fn on_timer(
        &mut self,
        t: i64,
        _: &mut KeyedContext<'_, i64>,
        out: &mut Collector<'_, i64>,
    ) -> Result<(), BoxError> {
        out.collect(t);
        Ok(())
    }
}

#[test]
fn an_idle_source_subtask_does_not_hold_event_time_back() {
    let fired = common::no_hang("idleness", || {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(2)
            .set_auto_watermark_interval(Duration::from_millis(5));
        let out = env
            .from_source(
                HalfSilent { count: 100 },
                WatermarkStrategy::for_monotonous_timestamps()
                    .with_timestamp_assigner(|v: &i64, _| *v)
                    .with_idleness(Duration::from_millis(20)),
                "half silent",
            )
            .key_by(|v| v % 5)
            .process(FireAt)
            .collect();
        let client = env.execute_async("idleness").unwrap();
        // Without idleness the silent subtask would hold the watermark at its minimum
        // and no timer would ever fire.
        while out.len() < 99 {
            std::thread::yield_now();
        }
        client.cancel();
        let _ = client.wait();
        out.take()
    });
    let mut fired = fired;
    fired.sort_unstable();
    assert_eq!(fired[..99], (0..99).collect::<Vec<_>>()[..]);
}
