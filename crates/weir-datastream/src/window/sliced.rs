//! Sliding event-time windows without copying records into every window.
//!
//! Time is cut into slices of `gcd(size, slide)`; a record is added to the one
//! slice it falls in, and a window's result combines the slices it covers when the
//! watermark passes its end. Each key keeps its live slices together, in one
//! entry of keyed state, so a record costs one state lookup. A slice is dropped
//! when the last window covering it has fired.
//!
//! Which windows are still to fire follows from the slices and the watermark (the
//! first window end after the watermark that covers the key's oldest slice, then
//! every slide while slices remain), so the operator keeps no timers in state:
//! an in-memory schedule of each key's next window end is rebuilt from the
//! slices on recovery.
//!
//! Used for tumbling and sliding event-time windows with the default trigger, no
//! evictor and no allowed lateness (a tumbling window is its own single slice);
//! other windows use the general operator, with which its results agree exactly.
//!
//! State keys are `(record key, None)` for the slices of a key, and
//! `(record key, Some(window))` for the window function's per-window state.

use super::assigners::{require_event_time, Slicing};
use super::contents::Contents;
use super::functions::{ProcessWindowFunction, WindowStateKey};
use super::operator::{
    emit_late, ok, report_late_dropped, restored_watermark, snapshot_with_watermark, FunctionCall, WindowStore,
};
use super::windows::{TimeWindow, Window};
use crate::keyed::KeySelector;
use crate::operators::{FunctionHost, Operator, OperatorState};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::Hash;
use std::marker::PhantomData;
use weir_core::{BoxError, Data, StreamRecord, Timestamp, Watermark};
use weir_runtime::factory::BuildContext;
use weir_runtime::failure::guard;
use weir_runtime::operator::{Input, OutputTag};
use weir_state::CurrentKey;

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// A key's live slices: `(slice start, contents)`, ordered by start, and the end
/// of the last window that fired for the key (so that a restore at another
/// parallelism, which starts from the smallest watermark of the old subtasks,
/// does not fire a window twice).
#[derive(Clone, Serialize, Deserialize)]
struct Slices<A> {
    fired_until: Timestamp,
    slices: VecDeque<(Timestamp, A)>,
}

/// The sliced sliding-window operator.
pub(crate) struct SlicedWindowOperator<K, T, W, C: Contents<T>, F, O> {
    host: FunctionHost,
    key_selector: KeySelector<T, K>,
    size: i64,
    slide: i64,
    offset: i64,
    slice: i64,
    late_tag: Option<OutputTag<T>>,
    contents: C,
    function: F,
    state: WindowStore<K, W, Slices<C::Acc>>,
    /// Each key's next window end to fire.
    next_end: HashMap<K, Timestamp, foldhash::fast::RandomState>,
    /// Keys by the window end they fire at next (entries whose end is no longer
    /// the key's next are skipped).
    schedule: BTreeMap<Timestamp, Vec<K>>,
    restored: bool,
    late_dropped: u64,
    _types: PhantomData<fn(T) -> O>,
}

impl<K, T, W, C, F, O> SlicedWindowOperator<K, T, W, C, F, O>
where
    K: Data + Hash + Eq,
    T: Data,
    W: Window,
    C: Contents<T>,
    F: ProcessWindowFunction<K, C::Out, O, W>,
{
    pub(crate) fn new(
        context: &BuildContext,
        slicing: Slicing,
        key_selector: KeySelector<T, K>,
        late_tag: Option<OutputTag<T>>,
        contents: C,
        function: F,
    ) -> Result<Self, BoxError> {
        if slicing.size <= 0 || slicing.slide <= 0 || slicing.offset.abs() >= slicing.slide {
            return Err(format!(
                "invalid sliding windows: size {} ms, slide {} ms, offset {} ms (size and slide must be positive, \
                 the offset smaller than the slide)",
                slicing.size, slicing.slide, slicing.offset
            )
            .into());
        }
        if W::from_interval(0, 1).is_none() {
            return Err("sliding windows need a window type that is a time interval".into());
        }
        Ok(SlicedWindowOperator {
            host: FunctionHost::new(context),
            key_selector,
            size: slicing.size,
            slide: slicing.slide,
            offset: slicing.offset,
            slice: gcd(slicing.size, slicing.slide),
            late_tag,
            contents,
            function,
            state: WindowStore::new(context)?,
            next_end: HashMap::default(),
            schedule: BTreeMap::new(),
            restored: context.restored.is_some(),
            late_dropped: 0,
            _types: PhantomData,
        })
    }

    #[inline]
    fn interval(&self, start: Timestamp, end: Timestamp) -> W {
        match W::from_interval(start, end) {
            Some(window) => window,
            None => self
                .host
                .call(|| Err("sliding windows need a window type that is a time interval".into())),
        }
    }

    /// The first window end from `not_before` on that covers the slice starting at
    /// `slice_start` (ends are `offset + size` modulo the slide).
    fn first_end(&self, slice_start: Timestamp, not_before: Timestamp) -> Option<Timestamp> {
        let earliest = (slice_start + self.slice).max(not_before);
        let phase = (self.offset + self.size).rem_euclid(self.slide);
        let end = earliest.checked_add((phase - earliest).rem_euclid(self.slide))?;
        (end <= slice_start + self.size).then_some(end)
    }

    /// Makes `end` the next window end of `key` unless an earlier one is due.
    fn schedule(&mut self, key: &K, end: Timestamp) {
        match self.next_end.get_mut(key) {
            Some(next) if *next <= end => return,
            Some(next) => *next = end,
            None => {
                self.next_end.insert(key.clone(), end);
            }
        }
        self.schedule.entry(end).or_default().push(key.clone());
    }

    /// The first window end that may still fire: after the watermark, and after the
    /// last window that fired for the key.
    fn not_before(&self, fired_until: Timestamp) -> Timestamp {
        self.state
            .watermark
            .saturating_add(2)
            .max(fired_until.saturating_add(self.slide))
    }

    /// Rebuilds the schedule from restored slices.
    fn restore_schedule(&mut self) {
        let entries = self.state.store.value_entries(&self.state.contents);
        for (key, slices) in ok(&self.host, entries) {
            if let Some((oldest, _)) = slices.slices.front() {
                let not_before = self.not_before(slices.fired_until);
                if let Some(end) = self.first_end(*oldest, not_before) {
                    self.schedule(&key.key().0, end);
                }
            }
        }
    }

    /// The window ending at `end` fires for the key of `key`: combine its slices,
    /// drop those no later window needs, and run the window function.
    fn fire(&mut self, key: CurrentKey<WindowStateKey<K, W>>, end: Timestamp, out: &mut dyn Input<O>) {
        let start = end - self.size;
        let next_start = start + self.slide;
        let mut combined: Option<C::Acc> = None;
        let mut oldest_left = None;
        let (store, descriptor, contents) = (&mut self.state.store, &self.state.contents, &mut self.contents);
        let updated = guard(&self.host.meta, || {
            store.value(descriptor, &key)?.modify_or_remove(|state| {
                state.fired_until = end;
                let slices = &mut state.slices;
                let mut add = |acc: C::Acc| {
                    combined = Some(match combined.take() {
                        Some(c) => contents.merge(c, acc),
                        None => acc,
                    });
                };
                // Slices before the next window's start are needed no more.
                let keep = slices.partition_point(|(s, _)| *s < next_start);
                for (slice_start, acc) in slices.drain(..keep) {
                    if slice_start >= start && slice_start < end {
                        add(acc);
                    }
                }
                for (_, acc) in slices.iter().take_while(|(s, _)| *s < end) {
                    add(acc.clone());
                }
                oldest_left = slices.front().map(|(s, _)| *s);
                !slices.is_empty()
            })
        });
        ok(&self.host, updated);
        if let Some(oldest) = oldest_left {
            if let Some(next) = self.first_end(oldest, end + self.slide) {
                self.schedule(&key.key().0, next);
            }
        }
        let Some(combined) = combined else {
            return;
        };
        let elements = guard(&self.host.meta, || self.contents.output(combined));
        let window = self.interval(start, end);
        let window_key = self.state.window_key(key.into_key().0, window.clone());
        let mut call = FunctionCall {
            host: &self.host,
            state: &mut self.state,
            function: &mut self.function,
            key: &window_key,
            window: &window,
            merging: false,
        };
        call.process(elements, out);
        call.clear::<C::Out, O>(out);
    }
}

impl<K, T, W, C, F, O> Operator<T, O> for SlicedWindowOperator<K, T, W, C, F, O>
where
    K: Data + Hash + Eq,
    T: Data,
    W: Window,
    C: Contents<T>,
    F: ProcessWindowFunction<K, C::Out, O, W>,
{
    fn open(&mut self) {
        let function = &mut self.function;
        self.host.open(|info, _| function.open(info));
        if self.restored {
            self.state.watermark = restored_watermark(&mut self.host);
            self.restore_schedule();
        }
    }

    #[inline]
    fn process(&mut self, record: StreamRecord<T>, out: &mut dyn Input<O>) {
        let timestamp = self.host.call(|| require_event_time(record.timestamp));
        let slice_start = TimeWindow::window_start(timestamp, self.offset, self.slice);
        let last_window_start = TimeWindow::window_start(slice_start, self.offset, self.slide);
        if last_window_start + self.size - 1 <= self.state.watermark {
            emit_late(&self.late_tag, record, out, &mut self.late_dropped);
            return;
        }
        let selector = &self.key_selector;
        let key = guard(&self.host.meta, || selector(&record.value));
        let key = self.state.store.key((key, None));
        let (store, descriptor, contents) = (&mut self.state.store, &self.state.contents, &mut self.contents);
        let mut created = false;
        let mut fired_until = i64::MIN;
        let value = record.value;
        let added = guard(&self.host.meta, || {
            store.value(descriptor, &key)?.modify(|state| match state {
                Some(state) => {
                    fired_until = state.fired_until;
                    let slices = &mut state.slices;
                    // Mostly the newest slice: search from the back.
                    match slices.iter().rposition(|(s, _)| *s <= slice_start) {
                        Some(i) if slices[i].0 == slice_start => {
                            contents.add(Some(&mut slices[i].1), value, timestamp);
                        }
                        found => {
                            created = true;
                            let at = found.map_or(0, |i| i + 1);
                            if let Some(acc) = contents.add(None, value, timestamp) {
                                slices.insert(at, (slice_start, acc));
                            }
                        }
                    }
                    None
                }
                None => {
                    created = true;
                    contents.add(None, value, timestamp).map(|acc| Slices {
                        fired_until: i64::MIN,
                        slices: VecDeque::from([(slice_start, acc)]),
                    })
                }
            })
        });
        ok(&self.host, added);
        if created {
            match self.first_end(slice_start, self.not_before(fired_until)) {
                Some(end) => self.schedule(&key.key().0, end),
                None => {
                    // Every window of the slice fired already for this key (only
                    // after a restore at another parallelism, which starts from the
                    // smallest watermark): the record is late after all.
                    let removed = self
                        .state
                        .store
                        .value(&self.state.contents, &key)
                        .and_then(|mut state| {
                            state.modify_or_remove(|state| {
                                state.slices.retain(|(s, _)| *s != slice_start);
                                !state.slices.is_empty()
                            })
                        });
                    ok(&self.host, removed);
                    self.late_dropped += 1;
                }
            }
        }
    }

    fn watermark(&mut self, watermark: Watermark, out: &mut dyn Input<O>) {
        if watermark.timestamp <= self.state.watermark {
            return; // after a recovery, until event time passes the restored watermark
        }
        self.state.watermark = watermark.timestamp;
        while let Some(mut due) = self
            .schedule
            .first_entry()
            .filter(|e| *e.key() - 1 <= watermark.timestamp)
        {
            let end = *due.key();
            let Some(key) = due.get_mut().pop() else {
                due.remove();
                continue;
            };
            if self.next_end.get(&key) != Some(&end) {
                continue; // an earlier end was scheduled for this key since
            }
            self.next_end.remove(&key);
            let key = self.state.store.key((key, None));
            self.fire(key, end, out);
        }
        out.process_watermark(watermark);
    }

    fn end_input(&mut self, _: &mut dyn Input<O>) {
        report_late_dropped(
            &self.host,
            self.late_dropped,
            "a window operator (use side_output_late_data to keep them)",
        );
    }

    fn snapshot(&mut self, _: u64) -> OperatorState {
        snapshot_with_watermark(&mut self.host, &mut self.state.store, self.state.watermark)
    }
}

#[cfg(test)]
mod tests {
    use super::gcd;

    #[test]
    fn slices_divide_size_and_slide() {
        assert_eq!(gcd(10_000, 2_000), 2_000);
        assert_eq!(gcd(10_000, 3_000), 1_000);
        assert_eq!(gcd(7, 7), 7);
    }
}
