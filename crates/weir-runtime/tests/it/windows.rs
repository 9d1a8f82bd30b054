//! Oracle tests of event-time windows and joins, without and with failures.
//!
//! One job reads a seeded stream of out-of-order events (5 % of them far too late)
//! and computes, side by side: tumbling and sliding (sliced and general) and session
//! windows (fixed and dynamic gap) with allowed lateness, late firings and the
//! late-data side output; count windows (tumbling and sliding with an evictor); a
//! time evictor with an offset; a continuous trigger with per-window state; and
//! the window join, co-group and interval join of two derived streams. Every result
//! becomes a line of text; the lines must equal those of a straightforward model
//! computed directly from the events (a plain loop over them in order, with the
//! watermark each one sees).
//!
//! Watermarks are punctuated and the source emits one record per poll, so every
//! record meets exactly the watermark of the records before it, in every run and
//! after every recovery (window operators checkpoint their watermark): the output
//! is deterministic even with late data. Under the seeded fault injection of the
//! exactly-once tests (at least 20 failures per run) the committed output of the
//! exactly-once file sink must be exactly the model's, in aligned and unaligned
//! mode. `WEIR_EXACTLY_ONCE_SEEDS` / `WEIR_EXACTLY_ONCE_SEED` select the seeds.
//! Seeds 1, 5, 9, … keep keyed state in RocksDB, the others on the heap;
//! `WEIR_STATE_BACKEND=heap|rocksdb` runs every seed on one backend.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{
    assert_same_lines, committed_lines, faulty_env, quiet_injected_panics, run_label, run_with_watchdog, seeds, Gate,
    Injector, Point, MIN_FAULTS,
};
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use weir_connectors::GeneratorSource;
use weir_core::{BoxError, CheckpointMode, RocksDbOptions, StateBackendConfig, Timestamp};
use weir_datastream::window::{
    ContinuousEventTimeTrigger, EventTimeSessionWindows, SlidingEventTimeWindows, TimeEvictor, TimeWindow,
    TumblingEventTimeWindows, WindowContext,
};
use weir_datastream::{
    AggregateFunction, Collector, DataStream, OutputTag, StreamExecutionEnvironment, ValueStateDescriptor,
    WatermarkGenerator, WatermarkOutput, WatermarkStrategy,
};

const KEYS: u32 = 11;
/// Event time advances 5 ms per event.
const STEP: i64 = 5;
/// Watermarks trail the highest timestamp by this much (ms).
const BOUND: i64 = 200;

// ---------------------------------------------------------------- the events

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Ev {
    id: u64,
    key: u32,
    ts: i64,
    value: u64,
    /// Within the watermark bound (never late anywhere).
    on_time: bool,
}

/// Keys pause for 700 ms every 2.1 s (so sessions end), at different phases.
fn active(key: u32, t: i64) -> bool {
    ((t + i64::from(key) * 137) / 700) % 3 != 0
}

fn events(seed: u64, n: u64) -> Vec<Ev> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..n)
        .map(|i| {
            let t = 1_000 + i as i64 * STEP;
            let candidates: Vec<u32> = (0..KEYS).filter(|k| active(*k, t)).collect();
            let key = if candidates.is_empty() {
                rng.u32(0..KEYS)
            } else {
                candidates[rng.usize(0..candidates.len())]
            };
            let late = rng.u32(0..100) < 5;
            let ts = if late {
                t - rng.i64(300..=2_500)
            } else {
                t - rng.i64(0..=150)
            };
            Ev {
                id: i,
                key,
                ts,
                value: rng.u64(1..1_000),
                on_time: !late,
            }
        })
        .collect()
}

/// After each event: the highest timestamp so far minus the bound.
struct Punctuated {
    max: Timestamp,
}

impl WatermarkGenerator<Ev> for Punctuated {
    fn on_event(&mut self, _: &Ev, timestamp: Timestamp, output: &mut WatermarkOutput) {
        self.max = self.max.max(timestamp);
        output.emit_watermark(self.max - BOUND - 1);
    }
    fn on_periodic_emit(&mut self, _: &mut WatermarkOutput) {}
}

// ---------------------------------------------------------------- the model

#[derive(Debug, Clone, Copy)]
enum Shape {
    Tumbling { size: i64, offset: i64 },
    Sliding { size: i64, slide: i64, offset: i64 },
    Session { gap: Option<i64> },
}

fn dynamic_gap(ev: &Ev) -> i64 {
    200 + (ev.value % 3) as i64 * 100
}

fn start(ts: i64, offset: i64, size: i64) -> i64 {
    ts - (ts - offset).rem_euclid(size)
}

fn assign(shape: Shape, ev: &Ev) -> Vec<(i64, i64)> {
    match shape {
        Shape::Tumbling { size, offset } => {
            let s = start(ev.ts, offset, size);
            vec![(s, s + size)]
        }
        Shape::Sliding { size, slide, offset } => {
            let mut s = start(ev.ts, offset, slide);
            let mut all = Vec::new();
            while s > ev.ts - size {
                all.push((s, s + size));
                s -= slide;
            }
            all
        }
        Shape::Session { gap } => vec![(ev.ts, ev.ts + gap.unwrap_or_else(|| dynamic_gap(ev)))],
    }
}

/// Early firings every `interval` of event time (a continuous trigger).
#[derive(Clone, Copy)]
struct Continuous {
    interval: i64,
}

#[derive(Default)]
struct ModelWindow {
    contents: Vec<Ev>,
    next_fire: Option<i64>,
}

type Firing = (u32, (i64, i64), Vec<Ev>);

/// Event-time windows as the documentation defines them, computed in one pass
/// over the events in arrival order.
fn model(events: &[Ev], shape: Shape, lateness: i64, continuous: Option<Continuous>) -> (Vec<Firing>, Vec<Ev>) {
    let mut windows: BTreeMap<u32, BTreeMap<(i64, i64), ModelWindow>> = BTreeMap::new();
    let mut firings = Vec::new();
    let mut late = Vec::new();
    let mut watermark = i64::MIN;
    let mut max_ts = i64::MIN;
    let is_late = |w: (i64, i64), watermark: i64| (w.1 - 1).saturating_add(lateness) <= watermark;
    for ev in events {
        let mut skipped = true;
        let of_key = windows.entry(ev.key).or_default();
        for w in assign(shape, ev) {
            let w = if let Shape::Session { .. } = shape {
                let overlapping: Vec<(i64, i64)> =
                    of_key.keys().filter(|s| s.0 <= w.1 && s.1 >= w.0).copied().collect();
                if overlapping.is_empty() && is_late(w, watermark) {
                    continue;
                }
                let cover = overlapping.iter().fold(w, |c, s| (c.0.min(s.0), c.1.max(s.1)));
                let mut merged = ModelWindow::default();
                for s in overlapping {
                    merged.contents.extend(of_key.remove(&s).unwrap().contents);
                }
                of_key.insert(cover, merged);
                cover
            } else {
                w
            };
            if is_late(w, watermark) {
                continue;
            }
            skipped = false;
            let window = of_key.entry(w).or_default();
            window.contents.push(ev.clone());
            if let (Some(c), None) = (continuous, window.next_fire) {
                let first = ev.ts - ev.ts.rem_euclid(c.interval) + c.interval;
                window.next_fire = Some(first.min(w.1 - 1));
            }
            if w.1 - 1 <= watermark {
                firings.push((ev.key, w, window.contents.clone()));
            }
        }
        if skipped && ev.ts.saturating_add(lateness) <= watermark {
            late.push(ev.clone());
        }
        max_ts = max_ts.max(ev.ts);
        let next = max_ts - BOUND - 1;
        if next > watermark {
            advance(&mut windows, watermark, next, lateness, continuous, &mut firings);
            watermark = next;
        }
    }
    advance(&mut windows, watermark, i64::MAX, lateness, continuous, &mut firings);
    (firings, late)
}

fn advance(
    windows: &mut BTreeMap<u32, BTreeMap<(i64, i64), ModelWindow>>,
    old: i64,
    new: i64,
    lateness: i64,
    continuous: Option<Continuous>,
    firings: &mut Vec<Firing>,
) {
    for (key, of_key) in windows.iter_mut() {
        of_key.retain(|w, window| {
            let end = w.1 - 1;
            if let Some(c) = continuous {
                // One early firing per advance, however many intervals it covers.
                if let Some(next) = window.next_fire.filter(|n| *n <= new && *n < end) {
                    if end > new {
                        firings.push((*key, *w, window.contents.clone()));
                    }
                    let skipped = (new.min(i64::MAX / 2) - next) / c.interval;
                    window.next_fire = Some((next + (skipped + 1) * c.interval).min(end));
                }
            }
            if old < end && end <= new {
                firings.push((*key, *w, window.contents.clone()));
            }
            end.saturating_add(lateness) > new
        });
    }
}

fn summary(contents: &[Ev]) -> (usize, u64, u64) {
    let sum = contents.iter().map(|e| e.value).sum();
    let xor = contents.iter().fold(0, |x, e| x ^ e.id);
    (contents.len(), sum, xor)
}

fn window_lines(kind: &str, firings: &[Firing]) -> Vec<String> {
    firings
        .iter()
        .map(|(key, w, contents)| {
            let (n, sum, xor) = summary(contents);
            format!("{kind} {key} {} {} {n} {sum} {xor}", w.0, w.1)
        })
        .collect()
}

fn late_lines(kind: &str, late: &[Ev]) -> Vec<String> {
    late.iter().map(|e| format!("{kind}-late {}", e.id)).collect()
}

/// Every line the job must produce.
fn oracle(events: &[Ev]) -> Vec<String> {
    let mut lines = Vec::new();
    let tumbling = Shape::Tumbling { size: 1_000, offset: 0 };
    let (f, l) = model(events, tumbling, 500, None);
    lines.extend(window_lines("tumble", &f));
    lines.extend(late_lines("tumble", &l));

    let (f, l) = model(events, Shape::Tumbling { size: 800, offset: 0 }, 0, None);
    lines.extend(window_lines("tumble-plain", &f));
    lines.extend(late_lines("tumble-plain", &l));

    let (f, _) = model(events, Shape::Tumbling { size: 1_500, offset: 0 }, 300, None);
    lines.extend(f.iter().map(|(key, _, contents)| {
        let (n, sum, xor) = summary(contents);
        format!("reduce {key} {n} {sum} {xor}")
    }));

    let (f, l) = model(
        events,
        Shape::Sliding {
            size: 2_000,
            slide: 500,
            offset: 0,
        },
        0,
        None,
    );
    lines.extend(window_lines("slide", &f));
    lines.extend(late_lines("slide", &l));

    let (f, _) = model(
        events,
        Shape::Sliding {
            size: 1_200,
            slide: 500,
            offset: 100,
        },
        0,
        None,
    );
    lines.extend(window_lines("slide-gcd", &f));

    let (f, _) = model(
        events,
        Shape::Sliding {
            size: 1_000,
            slide: 300,
            offset: 0,
        },
        200,
        None,
    );
    lines.extend(window_lines("slide-lateness", &f));

    let (f, l) = model(events, Shape::Session { gap: Some(300) }, 400, None);
    lines.extend(window_lines("session", &f));
    lines.extend(late_lines("session", &l));

    let (f, l) = model(events, Shape::Session { gap: None }, 0, None);
    lines.extend(window_lines("dynamic", &f));
    lines.extend(late_lines("dynamic", &l));

    let (f, _) = model(events, Shape::Tumbling { size: 700, offset: 100 }, 0, None);
    lines.extend(f.iter().map(|(key, w, contents)| {
        let newest = contents.iter().map(|e| e.ts).max().unwrap();
        let kept: Vec<Ev> = contents.iter().filter(|e| e.ts > newest - 300).cloned().collect();
        let (n, sum, xor) = summary(&kept);
        format!("evict {key} {} {} {n} {sum} {xor}", w.0, w.1)
    }));

    let (f, _) = model(
        events,
        Shape::Tumbling { size: 2_000, offset: 0 },
        0,
        Some(Continuous { interval: 500 }),
    );
    let mut fired: BTreeMap<(u32, (i64, i64)), u32> = BTreeMap::new();
    lines.extend(f.iter().map(|(key, w, contents)| {
        let n = fired.entry((*key, *w)).or_default();
        *n += 1;
        let (count, sum, xor) = summary(contents);
        format!("continuous {key} {} {count} {sum} {xor} #{n}", w.0)
    }));

    // Count windows, in arrival order per key.
    let mut per_key: BTreeMap<u32, Vec<Ev>> = BTreeMap::new();
    for ev in events {
        let seen = per_key.entry(ev.key).or_default();
        seen.push(ev.clone());
        if seen.len().is_multiple_of(5) {
            let (n, sum, xor) = summary(&seen[seen.len() - 5..]);
            lines.push(format!("count {} {n} {sum} {xor}", ev.key));
        }
        if seen.len().is_multiple_of(2) {
            let (n, sum, xor) = summary(&seen[seen.len().saturating_sub(6)..]);
            lines.push(format!("count-slide {} {n} {sum} {xor}", ev.key));
        }
    }

    // Joins of the on-time events: even ids on the left, odd on the right.
    let left: Vec<&Ev> = events.iter().filter(|e| e.on_time && e.id % 2 == 0).collect();
    let right: Vec<&Ev> = events.iter().filter(|e| e.on_time && e.id % 2 == 1).collect();
    let window_of = |e: &Ev| start(e.ts, 0, 1_000);
    let mut groups: BTreeMap<(u32, i64), (u32, u32)> = BTreeMap::new();
    for a in &left {
        groups.entry((a.key, window_of(a))).or_default().0 += 1;
        for b in &right {
            if a.key == b.key && window_of(a) == window_of(b) {
                lines.push(format!("join {} {}", a.id, b.id));
            }
            if a.key == b.key && (-100..=250).contains(&(b.ts - a.ts)) {
                lines.push(format!("interval {} {}", a.id, b.id));
            }
        }
    }
    for b in &right {
        groups.entry((b.key, window_of(b))).or_default().1 += 1;
    }
    lines.extend(
        groups
            .iter()
            .map(|((key, start), (a, b))| format!("cogroup {key} {start} {a} {b}")),
    );
    lines.sort();
    lines
}

// ---------------------------------------------------------------- the job

/// Count, sum and xor of ids of a window's events; writing it (the asynchronous
/// part of a snapshot) can fail on purpose.
#[derive(Clone, Default, Deserialize)]
struct Acc {
    count: u64,
    sum: u64,
    xor: u64,
    /// The injector and the attempt that last changed the accumulator.
    #[serde(skip)]
    hook: Option<(Arc<Injector>, u32)>,
}

impl Serialize for Acc {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if let Some((injector, attempt)) = &self.hook {
            injector.hit(*attempt, Point::AsyncWrite);
        }
        (self.count, self.sum, self.xor).serialize(serializer)
    }
}

struct Summarize {
    injector: Option<Arc<Injector>>,
}

impl AggregateFunction<Ev, Acc, Acc> for Summarize {
    fn create_accumulator(&self) -> Acc {
        Acc::default()
    }
    fn add(&self, acc: &mut Acc, ev: Ev) {
        if let Some(injector) = &self.injector {
            injector.hit(injector.attempt(), Point::Processing(1));
        }
        acc.count += 1;
        acc.sum += ev.value;
        acc.xor ^= ev.id;
        acc.hook = self.injector.as_ref().map(|i| (i.clone(), i.attempt()));
    }
    fn get_result(&self, acc: &Acc) -> Acc {
        acc.clone()
    }
    fn merge(&self, a: Acc, b: Acc) -> Acc {
        Acc {
            count: a.count + b.count,
            sum: a.sum + b.sum,
            xor: a.xor ^ b.xor,
            hook: a.hook.or(b.hook),
        }
    }
}

fn acc_line(
    kind: &'static str,
) -> impl Fn(&mut WindowContext<'_, u32, TimeWindow>, Vec<Acc>, &mut Collector<'_, String>) -> Result<(), BoxError> + Clone
{
    move |ctx, results, out| {
        for acc in results {
            let w = ctx.window();
            out.collect(format!(
                "{kind} {} {} {} {} {} {}",
                ctx.key(),
                w.start,
                w.end,
                acc.count,
                acc.sum,
                acc.xor
            ));
        }
        Ok(())
    }
}

fn events_line(kind: &'static str, ctx: &WindowContext<'_, u32, TimeWindow>, events: &[Ev]) -> String {
    let (n, sum, xor) = summary(events);
    let w = ctx.window();
    format!("{kind} {} {} {} {n} {sum} {xor}", ctx.key(), w.start, w.end)
}

/// Adds every windowed computation of the test to `env`; returns all result lines.
fn build(
    env: &StreamExecutionEnvironment,
    events: Arc<Vec<Ev>>,
    injector: Option<Arc<Injector>>,
    rate: Option<f64>,
) -> DataStream<String> {
    let n = events.len() as u64;
    let mut source = GeneratorSource::new(move |i| events[i as usize].clone())
        .with_count(n)
        .with_records_per_poll(1);
    if let Some(rate) = rate {
        source = source.with_rate_limit(rate);
    }
    let strategy =
        WatermarkStrategy::for_generator(|| Punctuated { max: i64::MIN }).with_timestamp_assigner(|e: &Ev, _| e.ts);
    let i0 = injector.clone();
    let input = env
        .from_source(source, strategy, "events")
        .set_parallelism(1)
        .process_fn(move |ev: Ev, ctx, out: &mut Collector<'_, Ev>| {
            if let Some(injector) = &i0 {
                injector.observe(ctx.subtask().attempt);
                injector.hit(ctx.subtask().attempt, Point::Processing(0));
            }
            out.collect(ev);
            Ok(())
        })
        .name("check")
        .set_parallelism(1);
    let keyed = input.key_by(|e: &Ev| e.key);
    let summarize = || Summarize {
        injector: injector.clone(),
    };

    let late_tumble = OutputTag::<Ev>::new("late-tumble");
    let tumble = keyed
        .window(TumblingEventTimeWindows::of(Duration::from_millis(1_000)))
        .allowed_lateness(Duration::from_millis(500))
        .side_output_late_data(&late_tumble)
        .aggregate_with(
            summarize(),
            weir_datastream::window::FnProcessWindow(acc_line("tumble")),
        )
        .name("tumble");
    let mut all = tumble.union(
        &tumble
            .get_side_output(&late_tumble)
            .map(|e| format!("tumble-late {}", e.id)),
    );

    let late_plain = OutputTag::<Ev>::new("late-tumble-plain");
    let plain = keyed
        .window(TumblingEventTimeWindows::of(Duration::from_millis(800)))
        .side_output_late_data(&late_plain)
        .aggregate_with(
            summarize(),
            weir_datastream::window::FnProcessWindow(acc_line("tumble-plain")),
        )
        .name("tumble-plain");
    all = all.union(&plain).union(
        &plain
            .get_side_output(&late_plain)
            .map(|e| format!("tumble-plain-late {}", e.id)),
    );

    let reduce = input
        .map(|e| (e.key, 1u64, e.value, e.id))
        .set_parallelism(1)
        .key_by(|t| t.0)
        .window(TumblingEventTimeWindows::of(Duration::from_millis(1_500)))
        .allowed_lateness(Duration::from_millis(300))
        .reduce(|a, b| (a.0, a.1 + b.1, a.2 + b.2, a.3 ^ b.3))
        .name("reduce")
        .map(|(key, n, sum, xor)| format!("reduce {key} {n} {sum} {xor}"));
    all = all.union(&reduce);

    let late_slide = OutputTag::<Ev>::new("late-slide");
    let slide = keyed
        .window(SlidingEventTimeWindows::of(
            Duration::from_millis(2_000),
            Duration::from_millis(500),
        ))
        .side_output_late_data(&late_slide)
        .aggregate_with(summarize(), weir_datastream::window::FnProcessWindow(acc_line("slide")))
        .name("slide");
    all = all.union(&slide).union(
        &slide
            .get_side_output(&late_slide)
            .map(|e| format!("slide-late {}", e.id)),
    );

    let slide_gcd = keyed
        .window(
            SlidingEventTimeWindows::of(Duration::from_millis(1_200), Duration::from_millis(500))
                .with_offset(Duration::from_millis(100)),
        )
        .aggregate_with(
            summarize(),
            weir_datastream::window::FnProcessWindow(acc_line("slide-gcd")),
        )
        .name("slide-gcd");
    all = all.union(&slide_gcd);

    let slide_late = keyed
        .window(SlidingEventTimeWindows::of(
            Duration::from_millis(1_000),
            Duration::from_millis(300),
        ))
        .allowed_lateness(Duration::from_millis(200))
        .aggregate_with(
            summarize(),
            weir_datastream::window::FnProcessWindow(acc_line("slide-lateness")),
        )
        .name("slide-lateness");
    all = all.union(&slide_late);

    let late_session = OutputTag::<Ev>::new("late-session");
    let session = keyed
        .window(EventTimeSessionWindows::with_gap(Duration::from_millis(300)))
        .allowed_lateness(Duration::from_millis(400))
        .side_output_late_data(&late_session)
        .aggregate_with(
            summarize(),
            weir_datastream::window::FnProcessWindow(acc_line("session")),
        )
        .name("session");
    all = all.union(&session).union(
        &session
            .get_side_output(&late_session)
            .map(|e| format!("session-late {}", e.id)),
    );

    let late_dynamic = OutputTag::<Ev>::new("late-dynamic");
    let i2 = injector.clone();
    let dynamic = keyed
        .window(EventTimeSessionWindows::with_dynamic_gap(|e: &Ev| {
            Duration::from_millis(dynamic_gap(e) as u64)
        }))
        .side_output_late_data(&late_dynamic)
        .process_fn(move |ctx, events: Vec<Ev>, out: &mut Collector<'_, String>| {
            if let Some(injector) = &i2 {
                injector.hit(injector.attempt(), Point::Processing(1));
            }
            out.collect(events_line("dynamic", ctx, &events));
            Ok(())
        })
        .name("dynamic");
    all = all.union(&dynamic).union(
        &dynamic
            .get_side_output(&late_dynamic)
            .map(|e| format!("dynamic-late {}", e.id)),
    );

    let evict = keyed
        .window(TumblingEventTimeWindows::of(Duration::from_millis(700)).with_offset(Duration::from_millis(100)))
        .evictor(TimeEvictor::of(Duration::from_millis(300)))
        .process_fn(|ctx, events: Vec<Ev>, out: &mut Collector<'_, String>| {
            out.collect(events_line("evict", ctx, &events));
            Ok(())
        })
        .name("evict");
    all = all.union(&evict);

    let fired = ValueStateDescriptor::<u32>::new("fired");
    let continuous = keyed
        .window(TumblingEventTimeWindows::of(Duration::from_millis(2_000)))
        .trigger(ContinuousEventTimeTrigger::of(Duration::from_millis(500)))
        .process(ContinuousLines { fired })
        .name("continuous");
    all = all.union(&continuous);

    let count_lines = keyed
        .count_window(5)
        .process_fn(|ctx, events: Vec<Ev>, out: &mut Collector<'_, String>| {
            let (n, sum, xor) = summary(&events);
            out.collect(format!("count {} {n} {sum} {xor}", ctx.key()));
            Ok(())
        })
        .name("count lines");
    all = all.union(&count_lines);

    let count_slide = keyed
        .count_window_sliding(6, 2)
        .aggregate_with(
            summarize(),
            weir_datastream::window::FnProcessWindow(
                |ctx: &mut WindowContext<'_, u32, weir_datastream::window::GlobalWindow>,
                 results: Vec<Acc>,
                 out: &mut Collector<'_, String>| {
                    for acc in results {
                        out.collect(format!(
                            "count-slide {} {} {} {}",
                            ctx.key(),
                            acc.count,
                            acc.sum,
                            acc.xor
                        ));
                    }
                    Ok(())
                },
            ),
        )
        .name("count-slide");
    all = all.union(&count_slide);

    // Joins of the on-time events: even ids on the left, odd on the right.
    let left = input.filter(|e| e.on_time && e.id % 2 == 0).name("left");
    let right = input.filter(|e| e.on_time && e.id % 2 == 1).name("right");
    let join = left
        .join(&right)
        .where_key(|e| e.key)
        .equal_to(|e| e.key)
        .window(TumblingEventTimeWindows::of(Duration::from_millis(1_000)))
        .apply(|a, b| format!("join {} {}", a.id, b.id));
    let cogroup = left
        .co_group(&right)
        .where_key(|e| e.key)
        .equal_to(|e| e.key)
        .window(TumblingEventTimeWindows::of(Duration::from_millis(1_000)))
        .apply(|key, a: Vec<Ev>, b: Vec<Ev>, out: &mut Collector<'_, String>| {
            let start = a.iter().chain(&b).map(|e| start(e.ts, 0, 1_000)).next().unwrap_or(0);
            out.collect(format!("cogroup {key} {start} {} {}", a.len(), b.len()));
            Ok(())
        });
    let i3 = injector.clone();
    let interval = left
        .key_by(|e| e.key)
        .interval_join(&right.key_by(|e| e.key))
        .between(-100, 250)
        .process(move |a, b, out: &mut Collector<'_, String>| {
            if let Some(injector) = &i3 {
                injector.hit(injector.attempt(), Point::Processing(2));
            }
            out.collect(format!("interval {} {}", a.id, b.id));
            Ok(())
        });
    all = all.union(&join).union(&cogroup).union(&interval);

    all.process(Gate::new(injector)).name("gate")
}

/// Full-window function with per-window state: numbers each firing of a window.
#[derive(Clone)]
struct ContinuousLines {
    fired: ValueStateDescriptor<u32>,
}

impl weir_datastream::window::ProcessWindowFunction<u32, Ev, String, TimeWindow> for ContinuousLines {
    fn process(
        &mut self,
        ctx: &mut WindowContext<'_, u32, TimeWindow>,
        events: Vec<Ev>,
        out: &mut Collector<'_, String>,
    ) -> Result<(), BoxError> {
        let mut state = ctx.window_state()?;
        let mut fired = state.value(&self.fired)?;
        let n = fired.get()?.unwrap_or(0) + 1;
        fired.set(n)?;
        let (count, sum, xor) = summary(&events);
        out.collect(format!(
            "continuous {} {} {count} {sum} {xor} #{n}",
            ctx.key(),
            ctx.window().start
        ));
        Ok(())
    }

    fn clear(&mut self, ctx: &mut WindowContext<'_, u32, TimeWindow>) -> Result<(), BoxError> {
        ctx.window_state()?.value(&self.fired)?.clear()?;
        Ok(())
    }
}

// ---------------------------------------------------------------- the tests

fn run_plain(events: Vec<Ev>, parallelism: usize, rocksdb: Option<&Path>) -> Vec<String> {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism);
    if let Some(dir) = rocksdb {
        env.set_state_backend(StateBackendConfig::RocksDb(RocksDbOptions {
            local_dir: dir.to_path_buf(),
            memory_budget: 16 << 20,
            ..Default::default()
        }));
    }
    let out = build(&env, Arc::new(events), None, None).collect();
    env.execute("windows").unwrap();
    let mut lines = out.take();
    lines.sort();
    lines
}

#[test]
fn every_window_type_matches_the_oracle() {
    let events = events(7, 6_000);
    let expected = oracle(&events);
    for (parallelism, rocksdb) in [(1, false), (3, false), (3, true)] {
        let label = format!("parallelism {parallelism}, rocksdb {rocksdb}");
        let got = run_with_watchdog(label.clone(), {
            let events = events.clone();
            move |dir| run_plain(events, parallelism, rocksdb.then_some(dir))
        });
        assert_same_lines(&label, &got, &expected);
    }
    for kind in [
        "tumble-late",
        "session 0",
        "dynamic",
        "slide-late",
        "continuous",
        "join",
        "interval",
        "cogroup",
    ] {
        assert!(
            expected.iter().any(|l| l.starts_with(kind)),
            "the input exercises no '{kind}' results"
        );
    }
}

struct Run {
    committed: Vec<String>,
    hidden_files: Vec<String>,
    faults: u32,
    restarts: u32,
    plan: String,
}

/// RocksDB runs cost four times the heap's here (two dozen instances opened per
/// restart): one seed in four is enough for these tests.
const ROCKSDB_EVERY: u64 = 4;

fn run_with_faults(seed: u64, mode: CheckpointMode, events: Vec<Ev>, dir: &Path) -> Run {
    let injector = Injector::new(seed, 4);
    // One checkpoint at a time: a failed asynchronous write then always fails a
    // pending checkpoint (and the job), never one a later checkpoint subsumed.
    let env = faulty_env(seed, ROCKSDB_EVERY, mode, 1, 1 << 20, dir);
    build(&env, Arc::new(events), Some(injector.clone()), Some(20_000.0))
        .sink_to_files(dir.join("out"))
        .name("files");
    let result = env
        .execute("windows under failures")
        .unwrap_or_else(|e| panic!("{}: job failed: {e}", run_label(seed, ROCKSDB_EVERY, mode)));
    let (committed, hidden_files) = committed_lines(&dir.join("out"));
    Run {
        committed,
        hidden_files,
        faults: injector.fired(),
        restarts: result.restarts,
        plan: format!(
            "{} restarts, {} checkpoints completed, {} failed; {}",
            result.restarts,
            result.checkpoints.len(),
            result.failed_checkpoints,
            injector.describe()
        ),
    }
}

fn check_under_failures(mode: CheckpointMode) {
    quiet_injected_panics();
    let events = events(3, 20_000);
    let expected = oracle(&events);
    for seed in seeds() {
        let label = run_label(seed, ROCKSDB_EVERY, mode);
        let run = run_with_watchdog(label.clone(), {
            let events = events.clone();
            move |dir| run_with_faults(seed, mode, events, dir)
        });
        assert!(
            run.faults >= MIN_FAULTS,
            "{label}: only {} faults fired: {}",
            run.faults,
            run.plan
        );
        assert_same_lines(
            &format!("{label} (faults {}, restarts {})", run.faults, run.restarts),
            &run.committed,
            &expected,
        );
        assert!(
            run.hidden_files.is_empty(),
            "{label}: leftover files {:?}",
            run.hidden_files
        );
        println!(
            "{label}: exact ({} lines, {} faults, {} restarts)",
            run.committed.len(),
            run.faults,
            run.restarts
        );
    }
}

#[test]
fn windows_are_exact_under_failures_with_aligned_checkpoints() {
    check_under_failures(CheckpointMode::Aligned);
}

#[test]
fn windows_are_exact_under_failures_with_unaligned_checkpoints() {
    check_under_failures(CheckpointMode::Unaligned);
}

/// At-least-once checkpoints may replay records but never lose one: every window
/// of the oracle is there, with at least its records.
#[test]
fn windows_lose_nothing_under_failures_with_at_least_once_checkpoints() {
    quiet_injected_panics();
    let events = events(3, 20_000);
    let expected = oracle(&events);
    let counted = |line: &str| -> Option<(String, u64)> {
        let fields: Vec<&str> = line.split(' ').collect();
        match fields.as_slice() {
            ["tumble" | "slide" | "session", key, start, end, n, ..] => {
                Some((format!("{} {key} {start} {end}", fields[0]), n.parse().ok()?))
            }
            _ => None,
        }
    };
    let mut oracle_windows: BTreeMap<String, u64> = BTreeMap::new();
    for (window, n) in expected.iter().filter_map(|l| counted(l)) {
        let entry = oracle_windows.entry(window).or_default();
        *entry = (*entry).max(n);
    }
    for seed in seeds().take(5) {
        let label = run_label(seed, ROCKSDB_EVERY, CheckpointMode::AtLeastOnce);
        let run = run_with_watchdog(label.clone(), {
            let events = events.clone();
            move |dir| run_with_faults(seed, CheckpointMode::AtLeastOnce, events, dir)
        });
        assert!(
            run.faults >= MIN_FAULTS,
            "{label}: only {} faults fired: {}",
            run.faults,
            run.plan
        );
        let mut seen: BTreeMap<String, u64> = BTreeMap::new();
        for (window, n) in run.committed.iter().filter_map(|l| counted(l)) {
            let entry = seen.entry(window).or_default();
            *entry = (*entry).max(n);
        }
        for (window, n) in &oracle_windows {
            let got = seen.get(window).copied().unwrap_or(0);
            assert!(got >= *n, "{label}: window {window} has {got} records, the oracle {n}");
        }
        println!(
            "{label}: nothing lost ({} lines for {} oracle lines; {} faults, {} restarts)",
            run.committed.len(),
            expected.len(),
            run.faults,
            run.restarts
        );
    }
}
