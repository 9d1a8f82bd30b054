//! Watermark generation: timestamp assigners, watermark generators and strategies,
//! per-split watermarks with idleness.
//!
//! A [`WatermarkStrategy`] says how records get their event time (a timestamp
//! assigner) and how watermarks follow from it (a [`WatermarkGenerator`]: bounded
//! out-of-orderness, monotonous timestamps, or your own, periodic or punctuated), and
//! after how long without data a stream counts as idle. Sources apply it per split
//! ([`SplitWatermarks`]): the source's watermark is the minimum over its splits that
//! are neither idle nor finished, so one slow partition holds event time back and an
//! empty one does not.

use std::sync::Arc;
use std::time::{Duration, Instant};
use weir_core::{Timestamp, WatermarkStatus, NO_TIMESTAMP};

/// Where a generator emits watermarks and marks its stream idle.
#[derive(Debug, Default)]
pub struct WatermarkOutput {
    watermark: Option<Timestamp>,
    idle: bool,
}

impl WatermarkOutput {
    /// Emits a watermark (ignored unless it is higher than the last one).
    pub fn emit_watermark(&mut self, timestamp: Timestamp) {
        self.watermark = Some(self.watermark.map_or(timestamp, |w| w.max(timestamp)));
        self.idle = false;
    }

    /// Marks the stream idle until the next event or watermark.
    pub fn mark_idle(&mut self) {
        self.idle = true;
    }
}

/// Generates watermarks from the events of one stream.
pub trait WatermarkGenerator<T>: Send {
    /// Called for every event with its timestamp; punctuated generators emit here.
    fn on_event(&mut self, event: &T, timestamp: Timestamp, output: &mut WatermarkOutput);
    /// Called every auto-watermark interval; periodic generators emit here.
    fn on_periodic_emit(&mut self, output: &mut WatermarkOutput);
}

/// Watermarks that trail the highest timestamp seen by a fixed bound: events may
/// arrive up to `bound` out of order.
#[derive(Debug, Clone)]
pub struct BoundedOutOfOrderness {
    max_timestamp: Timestamp,
    bound: i64,
}

impl BoundedOutOfOrderness {
    /// A generator allowing `bound` of disorder.
    pub fn new(bound: Duration) -> Self {
        BoundedOutOfOrderness {
            max_timestamp: i64::MIN,
            bound: bound.as_millis().min(i64::MAX as u128) as i64,
        }
    }
}

impl<T> WatermarkGenerator<T> for BoundedOutOfOrderness {
    fn on_event(&mut self, _: &T, timestamp: Timestamp, _: &mut WatermarkOutput) {
        self.max_timestamp = self.max_timestamp.max(timestamp);
    }

    fn on_periodic_emit(&mut self, output: &mut WatermarkOutput) {
        if self.max_timestamp != i64::MIN {
            output.emit_watermark(self.max_timestamp.saturating_sub(self.bound).saturating_sub(1));
        }
    }
}

struct NoWatermarks;

impl<T> WatermarkGenerator<T> for NoWatermarks {
    fn on_event(&mut self, _: &T, _: Timestamp, _: &mut WatermarkOutput) {}
    fn on_periodic_emit(&mut self, _: &mut WatermarkOutput) {}
}

type GeneratorFactory<T> = Arc<dyn Fn() -> Box<dyn WatermarkGenerator<T>> + Send + Sync>;
type TimestampAssigner<T> = Arc<dyn Fn(&T, Timestamp) -> Timestamp + Send + Sync>;

/// How a stream gets event time and watermarks.
///
/// ```
/// use std::time::Duration;
/// use weir_connector_api::watermark::WatermarkStrategy;
///
/// // Events carry their time in the first field and arrive up to 5 s out of order;
/// // a source split without data for 30 s stops holding event time back.
/// let strategy = WatermarkStrategy::<(i64, String)>::for_bounded_out_of_orderness(Duration::from_secs(5))
///     .with_timestamp_assigner(|event, _| event.0)
///     .with_idleness(Duration::from_secs(30));
/// # let _ = strategy;
/// ```
pub struct WatermarkStrategy<T> {
    generator: GeneratorFactory<T>,
    assigner: Option<TimestampAssigner<T>>,
    idleness: Option<Duration>,
}

impl<T> Clone for WatermarkStrategy<T> {
    fn clone(&self) -> Self {
        WatermarkStrategy {
            generator: self.generator.clone(),
            assigner: self.assigner.clone(),
            idleness: self.idleness,
        }
    }
}

impl<T> std::fmt::Debug for WatermarkStrategy<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatermarkStrategy")
            .field("assigner", &self.assigner.is_some())
            .field("idleness", &self.idleness)
            .finish()
    }
}

impl<T: 'static> WatermarkStrategy<T> {
    /// Watermarks trailing the highest timestamp by `bound`.
    pub fn for_bounded_out_of_orderness(bound: Duration) -> Self {
        Self::for_generator(move || BoundedOutOfOrderness::new(bound))
    }

    /// Watermarks at the highest timestamp seen (timestamps never decrease).
    pub fn for_monotonous_timestamps() -> Self {
        Self::for_bounded_out_of_orderness(Duration::ZERO)
    }

    /// Watermarks from a generator of your own (periodic, punctuated or both).
    pub fn for_generator<G: WatermarkGenerator<T> + 'static>(make: impl Fn() -> G + Send + Sync + 'static) -> Self {
        WatermarkStrategy {
            generator: Arc::new(move || Box::new(make())),
            assigner: None,
            idleness: None,
        }
    }

    /// Timestamps but no watermarks (event time never advances until input ends).
    pub fn no_watermarks() -> Self {
        Self::for_generator(|| NoWatermarks)
    }

    /// Takes each record's timestamp from `assigner(record, previous timestamp)`.
    pub fn with_timestamp_assigner(
        mut self,
        assigner: impl Fn(&T, Timestamp) -> Timestamp + Send + Sync + 'static,
    ) -> Self {
        self.assigner = Some(Arc::new(assigner));
        self
    }

    /// Marks a split (or stream) idle after `timeout` without records, so that it
    /// does not hold back the watermark; it becomes active again with its next record.
    pub fn with_idleness(mut self, timeout: Duration) -> Self {
        self.idleness = Some(timeout);
        self
    }

    /// A fresh generator.
    pub fn create_generator(&self) -> Box<dyn WatermarkGenerator<T>> {
        (self.generator)()
    }

    /// The event time of `record` whose current timestamp is `previous`.
    #[inline]
    pub fn timestamp(&self, record: &T, previous: Timestamp) -> Timestamp {
        match &self.assigner {
            Some(assigner) => assigner(record, previous),
            None => previous,
        }
    }

    /// The idleness timeout.
    pub fn idleness(&self) -> Option<Duration> {
        self.idleness
    }
}

struct Split<T> {
    generator: Box<dyn WatermarkGenerator<T>>,
    watermark: Timestamp,
    /// When the last periodic check found new records (checked there, not per
    /// record, to keep the clock off the per-record path).
    last_record: Instant,
    records: u64,
    records_at_check: u64,
    idle: bool,
    finished: bool,
}

/// What changed in a combined watermark.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WatermarkChange {
    /// The stream became idle or active again.
    pub status: Option<WatermarkStatus>,
    /// The combined watermark advanced to this.
    pub watermark: Option<Timestamp>,
}

/// Watermarks of the splits of one reader (or the single stream of an assigner
/// operator), combined by minimum over the splits that are neither idle nor finished.
pub struct SplitWatermarks<T> {
    strategy: WatermarkStrategy<T>,
    /// `(split id, state)`, in order of first appearance.
    splits: Vec<(usize, Split<T>)>,
    emitted: Timestamp,
    idle: bool,
    pending_idle: bool,
    created: Instant,
    scratch: WatermarkOutput,
}

impl<T: 'static> SplitWatermarks<T> {
    /// Watermarks generated by `strategy`.
    pub fn new(strategy: WatermarkStrategy<T>) -> Self {
        SplitWatermarks {
            strategy,
            splits: Vec::new(),
            emitted: i64::MIN,
            idle: false,
            pending_idle: false,
            created: Instant::now(),
            scratch: WatermarkOutput::default(),
        }
    }

    #[inline]
    fn split(&mut self, split: usize) -> &mut Split<T> {
        let index = match self.splits.iter().position(|(id, _)| *id == split) {
            Some(index) => index,
            None => {
                self.splits.push((
                    split,
                    Split {
                        generator: self.strategy.create_generator(),
                        watermark: i64::MIN,
                        last_record: Instant::now(),
                        records: 0,
                        records_at_check: 0,
                        idle: false,
                        finished: false,
                    },
                ));
                self.splits.len() - 1
            }
        };
        &mut self.splits[index].1
    }

    /// Whether the stream is reported idle (an `Active` status must precede the next
    /// record).
    #[inline]
    pub fn is_idle(&self) -> bool {
        self.idle
    }

    /// Marks the stream active before a record is emitted; returns whether the
    /// status changed.
    #[inline]
    pub fn activate(&mut self) -> bool {
        let was_idle = std::mem::replace(&mut self.idle, false);
        // An idleness not yet reported needs no "active" either.
        was_idle && !std::mem::replace(&mut self.pending_idle, false)
    }

    /// Assigns the event time of a record of `split` and feeds it to the split's
    /// generator. Returns the record's timestamp.
    #[inline]
    pub fn on_record(&mut self, split: usize, record: &T, timestamp: Timestamp) -> Timestamp {
        let timestamp = self.strategy.timestamp(record, timestamp);
        let mut output = std::mem::take(&mut self.scratch);
        let state = self.split(split);
        state.records += 1;
        state.idle = false;
        if timestamp != NO_TIMESTAMP {
            state.generator.on_event(record, timestamp, &mut output);
        }
        if let Some(w) = output.watermark.take() {
            state.watermark = state.watermark.max(w);
        }
        output.idle = false;
        self.scratch = output;
        timestamp
    }

    /// A split has no more records: it stops holding the watermark back.
    pub fn split_finished(&mut self, split: usize) {
        self.split(split).finished = true;
    }

    /// Periodic emission and idleness detection for every split.
    pub fn on_periodic(&mut self, now: Instant) {
        let idleness = self.strategy.idleness();
        if self.splits.is_empty() && idleness.is_some_and(|t| now.duration_since(self.created) >= t) && !self.idle {
            // A reader that never had data is idle once the timeout passed.
            self.idle = true;
            self.pending_idle = true;
        }
        for (_, split) in &mut self.splits {
            let mut output = WatermarkOutput::default();
            split.generator.on_periodic_emit(&mut output);
            if let Some(w) = output.watermark {
                split.watermark = split.watermark.max(w);
            }
            if split.records != split.records_at_check {
                split.records_at_check = split.records;
                split.last_record = now;
            }
            if output.idle || idleness.is_some_and(|t| now.duration_since(split.last_record) >= t) {
                split.idle = true;
            }
        }
    }

    /// What changed since the last call: idleness, and the combined watermark.
    pub fn take_change(&mut self) -> WatermarkChange {
        let mut change = WatermarkChange::default();
        if std::mem::replace(&mut self.pending_idle, false) {
            change.status = Some(WatermarkStatus::Idle);
            return change;
        }
        let live: Vec<&Split<T>> = self.splits.iter().map(|(_, s)| s).filter(|s| !s.finished).collect();
        let all_idle = !live.is_empty() && live.iter().all(|s| s.idle);
        if all_idle && !self.idle {
            self.idle = true;
            change.status = Some(WatermarkStatus::Idle);
            return change;
        }
        let min = live.iter().filter(|s| !s.idle).map(|s| s.watermark).min();
        if let Some(min) = min {
            if min > self.emitted {
                self.emitted = min;
                change.watermark = Some(min);
            }
        }
        change
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_out_of_orderness_trails_the_maximum() {
        let mut g = BoundedOutOfOrderness::new(Duration::from_millis(10));
        let mut out = WatermarkOutput::default();
        WatermarkGenerator::<u8>::on_periodic_emit(&mut g, &mut out);
        assert_eq!(out.watermark, None);
        WatermarkGenerator::<u8>::on_event(&mut g, &0, 100, &mut out);
        WatermarkGenerator::<u8>::on_event(&mut g, &0, 90, &mut out);
        WatermarkGenerator::<u8>::on_periodic_emit(&mut g, &mut out);
        assert_eq!(out.watermark, Some(89));
    }

    #[test]
    fn splits_combine_by_minimum_and_idle_or_finished_splits_do_not_count() {
        let strategy = WatermarkStrategy::<i64>::for_monotonous_timestamps()
            .with_timestamp_assigner(|v, _| *v)
            .with_idleness(Duration::from_millis(50));
        let mut w = SplitWatermarks::new(strategy);
        let t0 = Instant::now();
        w.on_record(0, &100, NO_TIMESTAMP);
        w.on_record(1, &40, NO_TIMESTAMP);
        w.on_periodic(t0);
        assert_eq!(w.take_change().watermark, Some(39));
        // Split 1 goes quiet: once idle, split 0 alone decides.
        w.on_record(0, &200, NO_TIMESTAMP);
        w.on_periodic(t0 + Duration::from_millis(100));
        assert_eq!(w.take_change().watermark, Some(199));
        // Split 0 finishes, split 1 is idle: the whole reader is idle.
        w.split_finished(0);
        assert_eq!(w.take_change().status, Some(WatermarkStatus::Idle));
        assert!(w.is_idle());
        assert!(w.activate());
        assert!(!w.is_idle());
    }

    #[test]
    fn punctuated_generators_emit_on_events() {
        struct EveryTen;
        impl WatermarkGenerator<i64> for EveryTen {
            fn on_event(&mut self, v: &i64, ts: Timestamp, out: &mut WatermarkOutput) {
                if v % 10 == 0 {
                    out.emit_watermark(ts);
                }
            }
            fn on_periodic_emit(&mut self, _: &mut WatermarkOutput) {}
        }
        let mut w =
            SplitWatermarks::new(WatermarkStrategy::for_generator(|| EveryTen).with_timestamp_assigner(|v, _| *v));
        w.on_record(0, &7, NO_TIMESTAMP);
        assert_eq!(w.take_change().watermark, None);
        w.on_record(0, &20, NO_TIMESTAMP);
        assert_eq!(w.take_change().watermark, Some(20));
    }

    use proptest::prelude::*;

    proptest! {
        /// Records of any timestamps on any splits, periodic calls and finished
        /// splits: the combined watermark only ever increases.
        #[test]
        fn combined_split_watermarks_are_monotonic(
            steps in proptest::collection::vec((0usize..4, -10_000i64..10_000, 0u8..10), 1..200),
            bound in 0u64..500,
        ) {
            let strategy = WatermarkStrategy::<i64>::for_bounded_out_of_orderness(Duration::from_millis(bound))
                .with_timestamp_assigner(|v, _| *v);
            let mut w = SplitWatermarks::new(strategy);
            let mut last = i64::MIN;
            let now = Instant::now();
            for (split, timestamp, action) in steps {
                match action {
                    0 => w.split_finished(split),
                    1..=3 => w.on_periodic(now),
                    _ => {
                        w.on_record(split, &timestamp, NO_TIMESTAMP);
                    }
                }
                if let Some(watermark) = w.take_change().watermark {
                    prop_assert!(watermark > last, "watermark went from {last} to {watermark}");
                    last = watermark;
                }
            }
        }
    }
}
