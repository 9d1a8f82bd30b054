//! Windows beyond the oracle tests (`weir-runtime/tests/windows.rs`): event time
//! that jumps to the end at once, processing-time windows, state across windows,
//! failures and misuse.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;
use weir::prelude::*;

fn timestamps(strategy: WatermarkStrategy<(u32, i64)>) -> WatermarkStrategy<(u32, i64)> {
    strategy.with_timestamp_assigner(|e: &(u32, i64), _| e.1)
}

/// Every window a sliding assigner gives the events of one key, with its count.
fn expected_sliding(events: &[(u32, i64)], size: i64, slide: i64) -> BTreeMap<(u32, i64), u64> {
    let mut windows = BTreeMap::new();
    for (key, ts) in events {
        let mut start = ts - ts.rem_euclid(slide);
        while start > ts - size {
            *windows.entry((*key, start)).or_default() += 1;
            start -= slide;
        }
    }
    windows
}

/// Windows fire as event time passes their end, also when it passes many at once
/// (a bounded input whose only watermark is the final one).
#[test]
fn sliding_windows_fire_when_event_time_jumps_to_the_end() {
    let events: Vec<(u32, i64)> = (0..400).map(|i| ((i % 3) as u32, i64::from(i) * 37 % 9_000)).collect();
    let expected = expected_sliding(&events, 1_000, 300);
    for lateness in [0, 5] {
        let events = events.clone();
        let got = common::no_hang("sliding", move || {
            let env = StreamExecutionEnvironment::new();
            env.set_parallelism(2);
            let out = env
                .from_collection(events)
                .assign_timestamps_and_watermarks(timestamps(WatermarkStrategy::no_watermarks()))
                .key_by(|e| e.0)
                .window(SlidingEventTimeWindows::of(
                    Duration::from_millis(1_000),
                    Duration::from_millis(300),
                ))
                // With lateness the general operator runs instead of the sliced one.
                .allowed_lateness(Duration::from_millis(lateness))
                .process_fn(
                    |ctx, events: Vec<(u32, i64)>, out: &mut Collector<'_, (u32, i64, u64)>| {
                        out.collect((*ctx.key(), ctx.window().start, events.len() as u64));
                        Ok(())
                    },
                )
                .collect();
            env.execute("sliding").unwrap();
            out.take()
        });
        let got: BTreeMap<(u32, i64), u64> = got.into_iter().map(|(k, s, n)| ((k, s), n)).collect();
        assert_eq!(got, expected, "allowed lateness {lateness} ms");
    }
}

/// Processing-time windows count every record once, and those still open when
/// the input ends fire then.
#[test]
fn processing_time_windows_count_every_record_once() {
    let totals = common::no_hang("processing time", || {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(2);
        let out = env
            .from_sequence(0, 99_999)
            .map(|i| (i % 7, 1u64))
            .key_by(|t| t.0)
            .window(TumblingProcessingTimeWindows::of(Duration::from_millis(5)))
            .reduce(|a, b| (a.0, a.1 + b.1))
            .collect();
        env.execute("processing time").unwrap();
        out.take()
    });
    let mut per_key: BTreeMap<i64, u64> = BTreeMap::new();
    for (key, n) in totals {
        *per_key.entry(key).or_default() += n;
    }
    let expected: BTreeMap<i64, u64> = (0..7)
        .map(|k| (k, (0..100_000).filter(|i| i % 7 == k).count() as u64))
        .collect();
    assert_eq!(per_key, expected);
}

/// Global state is shared by a key's windows; per-window state by the firings of
/// one window (early results of a continuous trigger).
#[test]
fn window_functions_keep_state_per_window_and_per_key() {
    let windows = ValueStateDescriptor::<u32>::new("windows so far");
    let firings = ValueStateDescriptor::<u32>::new("firings of this window");
    let events: Vec<(u32, i64)> = (0..100).map(|i| (0, i * 20)).collect();
    let got = common::no_hang("state", move || {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(1);
        let out = env
            .from_collection(events)
            .assign_timestamps_and_watermarks(timestamps(WatermarkStrategy::for_monotonous_timestamps()))
            .key_by(|e| e.0)
            .window(TumblingEventTimeWindows::of(Duration::from_millis(1_000)))
            .trigger(CountTrigger::of(25))
            .process_fn(
                move |ctx, events: Vec<(u32, i64)>, out: &mut Collector<'_, (i64, u32, u32, usize)>| {
                    let fired = {
                        let mut state = ctx.window_state()?;
                        let mut fired = state.value(&firings)?;
                        let n = fired.get()?.unwrap_or(0) + 1;
                        fired.set(n)?;
                        n
                    };
                    let mut global = ctx.global_state();
                    let mut seen = global.value(&windows)?;
                    let n = seen.get()?.unwrap_or(0) + u32::from(fired == 1);
                    seen.set(n)?;
                    out.collect((ctx.window().start, fired, n, events.len()));
                    Ok(())
                },
            )
            .collect();
        env.execute("state").unwrap();
        out.take()
    });
    // 50 events per window, a firing every 25: two firings per window.
    assert_eq!(
        got,
        vec![(0, 1, 1, 25), (0, 2, 1, 50), (1_000, 1, 2, 25), (1_000, 2, 2, 50)]
    );
}

#[test]
fn a_panicking_window_function_fails_the_job_with_the_window_operator() {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(1);
    env.from_collection(vec![(1u32, 10i64), (1, 20)])
        .assign_timestamps_and_watermarks(timestamps(WatermarkStrategy::for_monotonous_timestamps()))
        .key_by(|e| e.0)
        .window(TumblingEventTimeWindows::of(Duration::from_secs(1)))
        .reduce(|_, _| panic!("bad reduce"))
        .name("sums")
        .discard();
    let error = env.execute("panics").unwrap_err().to_string();
    assert!(error.contains("sums") && error.contains("bad reduce"), "{error}");
}

#[test]
fn records_without_timestamps_in_event_time_windows_fail_with_advice() {
    let env = StreamExecutionEnvironment::new();
    env.from_collection(vec![(1u32, 10i64)])
        .key_by(|e| e.0)
        .window(TumblingEventTimeWindows::of(Duration::from_secs(1)))
        .reduce(|a, _| a)
        .discard();
    let error = env.execute("no timestamps").unwrap_err().to_string();
    assert!(error.contains("WatermarkStrategy"), "{error}");
}

#[test]
fn session_windows_with_a_trigger_that_cannot_merge_are_rejected() {
    let env = StreamExecutionEnvironment::new();
    env.from_collection(vec![(1u32, 10i64)])
        .assign_timestamps_and_watermarks(timestamps(WatermarkStrategy::for_monotonous_timestamps()))
        .key_by(|e| e.0)
        .window(EventTimeSessionWindows::with_gap(Duration::from_secs(1)))
        .trigger(ContinuousProcessingTimeTrigger::of(Duration::from_secs(1)))
        .reduce(|a, _| a)
        .discard();
    let error = env.execute("sessions").unwrap_err().to_string();
    assert!(error.contains("merging"), "{error}");
}

/// Late records (behind the watermark by more than the allowed lateness) go to
/// the side output; the others update their window with a late firing.
#[test]
fn late_records_update_results_or_go_to_the_side_output() {
    let late = OutputTag::<(u32, i64)>::new("late");
    // The watermark trails by 100 ms: 1 500 makes the window [0, 1000) fire; 950
    // is within the allowed lateness of 600 ms (late firing); after 2 000 the
    // window is gone and 900 is late.
    let events = vec![(1u32, 100i64), (1, 1_500), (1, 950), (1, 2_000), (1, 900)];
    let (sums, dropped) = common::no_hang("late", move || {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(1);
        let source = CollectionSource::new(events).with_records_per_poll(1);
        let strategy =
            WatermarkStrategy::for_generator(|| Punctuated(i64::MIN)).with_timestamp_assigner(|e: &(u32, i64), _| e.1);
        let windowed = env
            .from_source(source, strategy, "events")
            .key_by(|e| e.0)
            .window(TumblingEventTimeWindows::of(Duration::from_secs(1)))
            .allowed_lateness(Duration::from_millis(600))
            .side_output_late_data(&late)
            .process_fn(|ctx, events: Vec<(u32, i64)>, out: &mut Collector<'_, (i64, usize)>| {
                out.collect((ctx.window().start, events.len()));
                Ok(())
            });
        let dropped = windowed.get_side_output(&late).collect();
        let sums = windowed.collect();
        env.execute("late").unwrap();
        (sums.take(), dropped.take())
    });
    assert_eq!(sums, vec![(0, 1), (0, 2), (1_000, 1), (2_000, 1)]);
    assert_eq!(dropped, vec![(1, 900)]);
}

/// Watermark 100 ms behind the highest timestamp, after every record.
struct Punctuated(i64);

impl WatermarkGenerator<(u32, i64)> for Punctuated {
    fn on_event(&mut self, _: &(u32, i64), timestamp: i64, output: &mut WatermarkOutput) {
        self.0 = self.0.max(timestamp);
        output.emit_watermark(self.0 - 100);
    }
    fn on_periodic_emit(&mut self, _: &mut WatermarkOutput) {}
}

/// Fires (and purges) its window when a record says "flush"; counts them in its
/// own trigger state.
struct FlushTrigger;

impl Trigger<(u32, String), GlobalWindow> for FlushTrigger {
    fn on_element(
        &self,
        element: &(u32, String),
        _: i64,
        _: &GlobalWindow,
        ctx: &mut TriggerContext<'_, GlobalWindow>,
    ) -> Result<TriggerResult, BoxError> {
        if element.1 != "flush" {
            return Ok(TriggerResult::Continue);
        }
        let flushes = ctx.get("flushes")?.unwrap_or(0) + 1;
        ctx.set("flushes", Some(flushes))?;
        Ok(TriggerResult::FireAndPurge)
    }
}

/// A custom trigger and a custom evictor on global windows.
#[test]
fn custom_triggers_and_evictors_decide_what_fires() {
    let words = ["a", "b", "flush", "c", "flush", "d"];
    let records: Vec<(u32, String)> = words.iter().map(|w| (7, w.to_string())).collect();
    let got = common::no_hang("custom", move || {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(1);
        let out = env
            .from_collection(records)
            .key_by(|r| r.0)
            .window(GlobalWindows::create())
            .trigger(FlushTrigger)
            .evictor(weir::datastream::window::FnEvictor(
                |records: &mut Vec<(i64, (u32, String))>, _: &GlobalWindow| records.retain(|(_, r)| r.1 != "flush"),
            ))
            .process_fn(|_, records: Vec<(u32, String)>, out: &mut Collector<'_, String>| {
                let words: Vec<String> = records.into_iter().map(|r| r.1).collect();
                out.collect(words.join(""));
                Ok(())
            })
            .collect();
        env.execute("custom").unwrap();
        out.take()
    });
    // "d" never fires: global windows have no end.
    assert_eq!(got, vec!["ab".to_string(), "c".to_string()]);
}

/// Processing-time sessions and a continuous processing-time trigger: what they
/// hold when the input ends fires then, so every record is counted.
#[test]
fn processing_time_sessions_and_continuous_triggers_fire_what_they_hold_at_the_end() {
    let (sessions, continuous) = common::no_hang("processing-time windows", || {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(2);
        let keyed = env.from_sequence(0, 9_999).map(|i| (i % 5, 1u64)).key_by(|t| t.0);
        let sessions = keyed
            .window(ProcessingTimeSessionWindows::with_gap(Duration::from_secs(3600)))
            .reduce(|a, b| (a.0, a.1 + b.1))
            .collect();
        let continuous = keyed
            .window(GlobalWindows::create())
            .trigger(ContinuousProcessingTimeTrigger::of(Duration::from_millis(1)))
            .reduce(|a, b| (a.0, a.1 + b.1))
            .collect();
        env.execute("processing-time windows").unwrap();
        (sessions.take(), continuous.take())
    });
    let mut sessions = sessions;
    sessions.sort();
    assert_eq!(sessions, (0..5).map(|k| (k, 2_000)).collect::<Vec<_>>());
    // Early results come and go; the last of each key has every record.
    let mut last: BTreeMap<i64, u64> = BTreeMap::new();
    for (key, n) in continuous {
        let entry = last.entry(key).or_default();
        *entry = (*entry).max(n);
    }
    assert_eq!(last, (0..5).map(|k| (k, 2_000)).collect());
}

/// Sliding windows with gaps (slide > size) leave the records between them out.
#[test]
fn windows_with_gaps_leave_records_between_them_out() {
    let got = common::no_hang("gaps", || {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(1);
        let out = env
            .from_collection(vec![(1u32, 1i64), (1, 7), (1, 12)])
            .assign_timestamps_and_watermarks(timestamps(WatermarkStrategy::for_monotonous_timestamps()))
            .key_by(|e| e.0)
            .window(SlidingEventTimeWindows::of(
                Duration::from_millis(5),
                Duration::from_millis(10),
            ))
            .process_fn(
                |ctx, events: Vec<(u32, i64)>, out: &mut Collector<'_, (i64, Vec<i64>)>| {
                    out.collect((ctx.window().start, events.iter().map(|e| e.1).collect()));
                    Ok(())
                },
            )
            .collect();
        env.execute("gaps").unwrap();
        out.take()
    });
    assert_eq!(got, vec![(0, vec![1]), (10, vec![12])]);
}

/// A continuous event-time trigger on a global window fires once when event time
/// jumps to its end, instead of once per interval it jumped over.
#[test]
fn a_continuous_trigger_fires_once_per_advance_of_event_time() {
    let got = common::no_hang("continuous", || {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(1);
        let out = env
            .from_collection(vec![(1u32, 0i64), (1, 5_000)])
            .assign_timestamps_and_watermarks(timestamps(WatermarkStrategy::no_watermarks()))
            .key_by(|e| e.0)
            .window(GlobalWindows::create())
            .trigger(ContinuousEventTimeTrigger::of(Duration::from_secs(1)))
            .reduce(|a, b| (a.0, a.1 + b.1))
            .collect();
        env.execute("continuous").unwrap();
        out.take()
    });
    assert_eq!(got, vec![(1, 5_000)]);
}

#[test]
fn out_of_range_timestamps_and_geometries_fail_with_a_clear_error() {
    let env = StreamExecutionEnvironment::new();
    env.from_collection(vec![(1u32, i64::MAX - 1_000)])
        .assign_timestamps_and_watermarks(timestamps(WatermarkStrategy::no_watermarks()))
        .key_by(|e| e.0)
        .window(TumblingEventTimeWindows::of(Duration::from_secs(3600)))
        .reduce(|a, _| a)
        .discard();
    let error = env.execute("sentinel timestamp").unwrap_err().to_string();
    assert!(error.contains("outside the range"), "{error}");

    let env = StreamExecutionEnvironment::new();
    env.from_collection(vec![(1u32, 5i64)])
        .assign_timestamps_and_watermarks(timestamps(WatermarkStrategy::no_watermarks()))
        .key_by(|e| e.0)
        .window(SlidingEventTimeWindows::of(Duration::MAX, Duration::from_millis(1)))
        .evictor(CountEvictor::of(1))
        .reduce(|a, _| a)
        .discard();
    let error = env.execute("too many windows").unwrap_err().to_string();
    assert!(error.contains("window size") || error.contains("windows"), "{error}");
}

#[test]
fn interval_joins_without_an_interval_are_rejected() {
    let env = StreamExecutionEnvironment::new();
    let a = env
        .from_collection(vec![(1u32, 5i64)])
        .assign_timestamps_and_watermarks(timestamps(WatermarkStrategy::no_watermarks()));
    let b = env
        .from_collection(vec![(1u32, 5i64)])
        .assign_timestamps_and_watermarks(timestamps(WatermarkStrategy::no_watermarks()));
    a.key_by(|e| e.0)
        .interval_join(&b.key_by(|e| e.0))
        .between(0, 0)
        .lower_bound_exclusive()
        .process(|_, _, out: &mut Collector<'_, u32>| {
            out.collect(1);
            Ok(())
        })
        .discard();
    let error = env.execute("empty interval").unwrap_err().to_string();
    assert!(error.contains("interval_join"), "{error}");
}
