//! Window assigners: which windows a record belongs to.

use super::triggers::{EventTimeTrigger, NeverTrigger, ProcessingTimeTrigger, Trigger};
use super::windows::{GlobalWindow, TimeWindow, Window};
use std::sync::Arc;
use std::time::Duration;
use weir_core::{BoxError, Timestamp, NO_TIMESTAMP};

/// Assigns each record to windows.
pub trait WindowAssigner<T, W: Window>: Send + Sync + 'static {
    /// The windows of `element` with event time `timestamp` at processing time
    /// `processing_time`.
    fn assign_windows(&self, element: &T, timestamp: Timestamp, processing_time: Timestamp)
        -> Result<Vec<W>, BoxError>;
    /// The trigger used unless another is set.
    fn default_trigger(&self) -> Arc<dyn Trigger<T, W>>;
    /// Whether windows follow event time (else processing time).
    fn is_event_time(&self) -> bool;
    /// Whether overlapping windows of a key merge (session windows).
    fn is_merging(&self) -> bool {
        false
    }
    /// For tumbling and sliding windows: size, slide and offset, so that records
    /// can be stored once per slice instead of once per window.
    fn slicing(&self) -> Option<Slicing> {
        None
    }
}

/// The geometry of tumbling (slide = size) and sliding windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slicing {
    /// Window length (ms).
    pub size: i64,
    /// Distance between window starts (ms).
    pub slide: i64,
    /// Shift of the window boundaries (ms).
    pub offset: i64,
}

/// Milliseconds of `duration`, clamped to `i64::MAX`.
pub(crate) fn millis(duration: Duration) -> i64 {
    duration.as_millis().min(i64::MAX as u128) as i64
}

/// The largest magnitude of event time (and of window sizes) windows accept, far
/// beyond any real clock (about 73 million years in milliseconds), so that window
/// arithmetic cannot overflow.
pub(crate) const TIME_LIMIT: i64 = i64::MAX / 4;

/// At most this many windows per record (a sliding window's size / slide).
const MAX_WINDOWS_PER_RECORD: i64 = 1_000_000;

pub(crate) fn require_event_time(timestamp: Timestamp) -> Result<Timestamp, BoxError> {
    if timestamp == NO_TIMESTAMP {
        return Err(
            "a record has no timestamp, but an event-time window needs one: assign timestamps with \
                    a WatermarkStrategy (from_source or assign_timestamps_and_watermarks), or use \
                    processing-time windows"
                .into(),
        );
    }
    check_time(timestamp)
}

/// Rejects timestamps too far from zero for window arithmetic.
pub(crate) fn check_time(timestamp: Timestamp) -> Result<Timestamp, BoxError> {
    if timestamp.abs() > TIME_LIMIT {
        return Err(format!(
            "event time {timestamp} ms is outside the range windows support (±{TIME_LIMIT} ms); is the \
             timestamp assigner returning a sentinel value?"
        )
        .into());
    }
    Ok(timestamp)
}

fn sliding(timestamp: Timestamp, size: i64, slide: i64, offset: i64) -> Vec<TimeWindow> {
    let mut windows = Vec::with_capacity((size / slide).clamp(0, 64) as usize + 1);
    let mut start = TimeWindow::window_start(timestamp, offset, slide);
    while start > timestamp - size {
        windows.push(TimeWindow::new(start, start + size));
        start -= slide;
    }
    windows
}

fn check_geometry(size: i64, slide: i64, offset: i64) -> Result<(), BoxError> {
    if size <= 0 || slide <= 0 {
        return Err(format!("window size ({size} ms) and slide ({slide} ms) must be positive").into());
    }
    if size > TIME_LIMIT {
        return Err(format!("window size ({size} ms) is beyond the supported range ({TIME_LIMIT} ms)").into());
    }
    if offset.abs() >= slide {
        return Err(format!("window offset ({offset} ms) must be smaller than the slide ({slide} ms)").into());
    }
    if size / slide > MAX_WINDOWS_PER_RECORD {
        return Err(format!(
            "a window of {size} ms every {slide} ms puts each record into {} windows (at most \
             {MAX_WINDOWS_PER_RECORD}); use a larger slide",
            size / slide
        )
        .into());
    }
    Ok(())
}

macro_rules! time_assigner {
    ($(#[$doc:meta])* $name:ident, event_time = $event:expr, trigger = $trigger:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name {
            size: i64,
            slide: i64,
            offset: i64,
        }

        impl $name {
            /// Shifts window boundaries by `offset` (e.g. to align days to a time zone).
            pub fn with_offset(mut self, offset: Duration) -> Self {
                self.offset = millis(offset);
                self
            }
        }

        impl<T: 'static> WindowAssigner<T, TimeWindow> for $name {
            fn assign_windows(&self, _: &T, timestamp: Timestamp, now: Timestamp) -> Result<Vec<TimeWindow>, BoxError> {
                check_geometry(self.size, self.slide, self.offset)?;
                let time = if $event { require_event_time(timestamp)? } else { check_time(now)? };
                Ok(sliding(time, self.size, self.slide, self.offset))
            }
            fn default_trigger(&self) -> Arc<dyn Trigger<T, TimeWindow>> {
                Arc::new($trigger)
            }
            fn is_event_time(&self) -> bool {
                $event
            }
            fn slicing(&self) -> Option<Slicing> {
                // Windows with gaps between them (slide > size) are not sliced.
                (self.slide <= self.size).then_some(Slicing {
                    size: self.size,
                    slide: self.slide,
                    offset: self.offset,
                })
            }
        }
    };
}

time_assigner!(
    /// Fixed-size, non-overlapping event-time windows.
    TumblingEventTimeWindows, event_time = true, trigger = EventTimeTrigger
);
time_assigner!(
    /// Fixed-size event-time windows that start every `slide`.
    SlidingEventTimeWindows, event_time = true, trigger = EventTimeTrigger
);
time_assigner!(
    /// Fixed-size, non-overlapping processing-time windows.
    TumblingProcessingTimeWindows, event_time = false, trigger = ProcessingTimeTrigger
);
time_assigner!(
    /// Fixed-size processing-time windows that start every `slide`.
    SlidingProcessingTimeWindows, event_time = false, trigger = ProcessingTimeTrigger
);

impl TumblingEventTimeWindows {
    /// Windows of length `size`.
    pub fn of(size: Duration) -> Self {
        TumblingEventTimeWindows {
            size: millis(size),
            slide: millis(size),
            offset: 0,
        }
    }
}

impl TumblingProcessingTimeWindows {
    /// Windows of length `size`.
    pub fn of(size: Duration) -> Self {
        TumblingProcessingTimeWindows {
            size: millis(size),
            slide: millis(size),
            offset: 0,
        }
    }
}

impl SlidingEventTimeWindows {
    /// Windows of length `size` starting every `slide`.
    pub fn of(size: Duration, slide: Duration) -> Self {
        SlidingEventTimeWindows {
            size: millis(size),
            slide: millis(slide),
            offset: 0,
        }
    }
}

impl SlidingProcessingTimeWindows {
    /// Windows of length `size` starting every `slide`.
    pub fn of(size: Duration, slide: Duration) -> Self {
        SlidingProcessingTimeWindows {
            size: millis(size),
            slide: millis(slide),
            offset: 0,
        }
    }
}

type GapFunction<T> = Arc<dyn Fn(&T) -> Duration + Send + Sync>;

enum Gap<T> {
    Fixed(i64),
    Dynamic(GapFunction<T>),
}

impl<T> Gap<T> {
    fn of(&self, element: &T) -> Result<i64, BoxError> {
        let gap = match self {
            Gap::Fixed(gap) => *gap,
            Gap::Dynamic(f) => millis(f(element)),
        };
        if gap <= 0 {
            return Err(format!("session gap must be positive, got {gap} ms").into());
        }
        Ok(gap)
    }
}

/// Windows that close after a gap of inactivity: each record opens a window
/// `[t, t + gap)`, and windows of a key that overlap merge.
pub struct EventTimeSessionWindows<T> {
    gap: Gap<T>,
}

/// Sessions in processing time.
pub struct ProcessingTimeSessionWindows<T> {
    gap: Gap<T>,
}

macro_rules! session_assigner {
    ($name:ident, event_time = $event:expr, trigger = $trigger:ident) => {
        impl<T> $name<T> {
            /// Sessions closing after `gap` without records.
            pub fn with_gap(gap: Duration) -> Self {
                $name {
                    gap: Gap::Fixed(millis(gap)),
                }
            }

            /// Sessions whose gap depends on the record that opens or extends them.
            pub fn with_dynamic_gap(gap: impl Fn(&T) -> Duration + Send + Sync + 'static) -> Self {
                $name {
                    gap: Gap::Dynamic(Arc::new(gap)),
                }
            }
        }

        impl<T: Send + Sync + 'static> WindowAssigner<T, TimeWindow> for $name<T> {
            fn assign_windows(
                &self,
                element: &T,
                timestamp: Timestamp,
                now: Timestamp,
            ) -> Result<Vec<TimeWindow>, BoxError> {
                let time = if $event {
                    require_event_time(timestamp)?
                } else {
                    check_time(now)?
                };
                let gap = self.gap.of(element)?.min(TIME_LIMIT);
                Ok(vec![TimeWindow::new(time, time.saturating_add(gap))])
            }
            fn default_trigger(&self) -> Arc<dyn Trigger<T, TimeWindow>> {
                Arc::new($trigger)
            }
            fn is_event_time(&self) -> bool {
                $event
            }
            fn is_merging(&self) -> bool {
                true
            }
        }
    };
}

session_assigner!(EventTimeSessionWindows, event_time = true, trigger = EventTimeTrigger);
session_assigner!(
    ProcessingTimeSessionWindows,
    event_time = false,
    trigger = ProcessingTimeTrigger
);

/// One window per key holding everything; it never fires unless a trigger says so.
#[derive(Debug, Clone, Copy, Default)]
pub struct GlobalWindows;

impl GlobalWindows {
    /// The global window assigner.
    pub fn create() -> Self {
        GlobalWindows
    }
}

impl<T: 'static> WindowAssigner<T, GlobalWindow> for GlobalWindows {
    fn assign_windows(&self, _: &T, _: Timestamp, _: Timestamp) -> Result<Vec<GlobalWindow>, BoxError> {
        Ok(vec![GlobalWindow])
    }
    fn default_trigger(&self) -> Arc<dyn Trigger<T, GlobalWindow>> {
        Arc::new(NeverTrigger)
    }
    fn is_event_time(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every timestamp lands in exactly the windows that contain it.
        #[test]
        fn sliding_assignment_is_exact(
            size in 1i64..500,
            slide_seed in 1i64..500,
            offset_seed in 0i64..500,
            timestamp in -10_000i64..10_000,
        ) {
            let slide = slide_seed.min(size);
            let offset = offset_seed % slide;
            let assigner = SlidingEventTimeWindows { size, slide, offset };
            let windows = WindowAssigner::<u8, TimeWindow>::assign_windows(&assigner, &0, timestamp, 0).unwrap();
            // All windows contain the timestamp, are aligned, and none is missing.
            for w in &windows {
                prop_assert!(w.contains(timestamp));
                prop_assert_eq!(w.end - w.start, size);
                prop_assert_eq!((w.start - offset).rem_euclid(slide), 0);
            }
            let expected = (timestamp - size + 1..=timestamp)
                .filter(|s| (s - offset).rem_euclid(slide) == 0)
                .count();
            prop_assert_eq!(windows.len(), expected);
            let mut starts: Vec<i64> = windows.iter().map(|w| w.start).collect();
            starts.dedup();
            prop_assert_eq!(starts.len(), windows.len());
        }

        #[test]
        fn tumbling_assignment_is_the_one_containing_window(size in 1i64..1000, offset_seed in 0i64..1000, timestamp in -100_000i64..100_000) {
            let offset = offset_seed % size;
            let assigner = TumblingEventTimeWindows { size, slide: size, offset };
            let windows = WindowAssigner::<u8, TimeWindow>::assign_windows(&assigner, &0, timestamp, 0).unwrap();
            prop_assert_eq!(windows.len(), 1);
            prop_assert!(windows[0].contains(timestamp));
            prop_assert_eq!((windows[0].start - offset).rem_euclid(size), 0);
        }
    }

    #[test]
    fn event_time_windows_need_timestamps_and_valid_geometry() {
        let e = WindowAssigner::<u8, TimeWindow>::assign_windows(
            &TumblingEventTimeWindows::of(Duration::from_secs(1)),
            &0,
            NO_TIMESTAMP,
            0,
        )
        .unwrap_err();
        assert!(e.to_string().contains("WatermarkStrategy"), "{e}");
        let bad = SlidingEventTimeWindows::of(Duration::from_secs(1), Duration::ZERO);
        assert!(WindowAssigner::<u8, TimeWindow>::assign_windows(&bad, &0, 5, 0).is_err());
        let sessions = EventTimeSessionWindows::<u8>::with_dynamic_gap(|v| Duration::from_millis(u64::from(*v)));
        assert!(sessions.assign_windows(&0, 5, 0).is_err());
        assert_eq!(sessions.assign_windows(&7, 5, 0).unwrap(), vec![TimeWindow::new(5, 12)]);
    }
}
