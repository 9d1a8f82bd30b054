//! Triggers: when a window's result is computed (fired) and when its contents are
//! dropped (purged).

use crate::functions::TimeDomain;
use std::sync::Arc;
use std::time::Duration;
use weir_core::{processing_time_now, BoxError, Timestamp};
use weir_state::StateError;

use super::assigners::millis;
use super::windows::Window;

/// What a trigger decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerResult {
    /// Nothing happens.
    Continue,
    /// Compute and emit the window's result; keep its contents.
    Fire,
    /// Drop the window's contents without a result.
    Purge,
    /// Emit the result, then drop the contents.
    FireAndPurge,
}

impl TriggerResult {
    /// Whether the window fires.
    pub fn is_fire(self) -> bool {
        matches!(self, TriggerResult::Fire | TriggerResult::FireAndPurge)
    }

    /// Whether the contents are dropped.
    pub fn is_purge(self) -> bool {
        matches!(self, TriggerResult::Purge | TriggerResult::FireAndPurge)
    }
}

/// What a trigger can do through its context, implemented by window operators.
pub(crate) trait TriggerBackend<W> {
    fn register_timer(&mut self, domain: TimeDomain, window: &W, time: Timestamp) -> Result<(), StateError>;
    fn delete_timer(&mut self, domain: TimeDomain, window: &W, time: Timestamp) -> Result<(), StateError>;
    fn get_state(&mut self, window: &W, name: &str) -> Result<Option<i64>, StateError>;
    fn set_state(&mut self, window: &W, name: &str, value: Option<i64>) -> Result<(), StateError>;
}

/// A trigger's view of its window: timers, the clocks, and small per-window state
/// (named `i64` values, kept in keyed state and checkpointed).
pub struct TriggerContext<'a, W> {
    pub(crate) backend: &'a mut dyn TriggerBackend<W>,
    pub(crate) window: W,
    pub(crate) watermark: Timestamp,
    pub(crate) merged: &'a [W],
}

impl<W: Window> TriggerContext<'_, W> {
    /// The operator's current watermark.
    pub fn current_watermark(&self) -> Timestamp {
        self.watermark
    }

    /// The current processing time.
    pub fn current_processing_time(&self) -> Timestamp {
        processing_time_now()
    }

    /// Calls `on_event_time` for this window when the watermark passes `time`.
    pub fn register_event_time_timer(&mut self, time: Timestamp) -> Result<(), StateError> {
        self.backend.register_timer(TimeDomain::EventTime, &self.window, time)
    }

    /// Calls `on_processing_time` for this window when the clock passes `time`.
    pub fn register_processing_time_timer(&mut self, time: Timestamp) -> Result<(), StateError> {
        self.backend
            .register_timer(TimeDomain::ProcessingTime, &self.window, time)
    }

    /// Deletes this window's event-time timer at `time`.
    pub fn delete_event_time_timer(&mut self, time: Timestamp) -> Result<(), StateError> {
        self.backend.delete_timer(TimeDomain::EventTime, &self.window, time)
    }

    /// Deletes this window's processing-time timer at `time`.
    pub fn delete_processing_time_timer(&mut self, time: Timestamp) -> Result<(), StateError> {
        self.backend
            .delete_timer(TimeDomain::ProcessingTime, &self.window, time)
    }

    /// The value `name` of this window's trigger state.
    pub fn get(&mut self, name: &str) -> Result<Option<i64>, StateError> {
        self.backend.get_state(&self.window, name)
    }

    /// Sets (or with `None` removes) the value `name` of this window's trigger state.
    pub fn set(&mut self, name: &str, value: Option<i64>) -> Result<(), StateError> {
        self.backend.set_state(&self.window, name, value)
    }

    /// In `on_merge`: the windows that were merged into this one.
    pub fn merged_windows(&self) -> &[W] {
        self.merged
    }

    /// In `on_merge`: the value `name` of a merged window's trigger state.
    pub fn get_of(&mut self, window: &W, name: &str) -> Result<Option<i64>, StateError> {
        self.backend.get_state(window, name)
    }
}

/// Decides when windows fire and purge.
pub trait Trigger<T, W: Window>: Send + Sync + 'static {
    /// A record was added to `window`.
    fn on_element(
        &self,
        element: &T,
        timestamp: Timestamp,
        window: &W,
        ctx: &mut TriggerContext<'_, W>,
    ) -> Result<TriggerResult, BoxError>;

    /// An event-time timer of `window` fired.
    fn on_event_time(
        &self,
        _time: Timestamp,
        _window: &W,
        _ctx: &mut TriggerContext<'_, W>,
    ) -> Result<TriggerResult, BoxError> {
        Ok(TriggerResult::Continue)
    }

    /// A processing-time timer of `window` fired.
    fn on_processing_time(
        &self,
        _time: Timestamp,
        _window: &W,
        _ctx: &mut TriggerContext<'_, W>,
    ) -> Result<TriggerResult, BoxError> {
        Ok(TriggerResult::Continue)
    }

    /// Whether the trigger works with merging (session) windows.
    fn can_merge(&self) -> bool {
        false
    }

    /// Windows were merged into `window` (`ctx.merged_windows()`): carry their state
    /// over and register this window's timers.
    fn on_merge(&self, _window: &W, _ctx: &mut TriggerContext<'_, W>) -> Result<(), BoxError> {
        Err("this trigger does not support merging (session) windows".into())
    }

    /// The window is gone: delete its timers and state.
    fn clear(&self, _window: &W, _ctx: &mut TriggerContext<'_, W>) -> Result<(), BoxError> {
        Ok(())
    }
}

/// Fires once the watermark passes the window's end (and again for every late
/// record within the allowed lateness). The default of event-time windows.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventTimeTrigger;

impl<T, W: Window> Trigger<T, W> for EventTimeTrigger {
    fn on_element(
        &self,
        _: &T,
        _: Timestamp,
        window: &W,
        ctx: &mut TriggerContext<'_, W>,
    ) -> Result<TriggerResult, BoxError> {
        if window.max_timestamp() <= ctx.current_watermark() {
            return Ok(TriggerResult::Fire);
        }
        ctx.register_event_time_timer(window.max_timestamp())?;
        Ok(TriggerResult::Continue)
    }
    fn on_event_time(
        &self,
        time: Timestamp,
        window: &W,
        _: &mut TriggerContext<'_, W>,
    ) -> Result<TriggerResult, BoxError> {
        Ok(if time == window.max_timestamp() {
            TriggerResult::Fire
        } else {
            TriggerResult::Continue
        })
    }
    fn can_merge(&self) -> bool {
        true
    }
    fn on_merge(&self, window: &W, ctx: &mut TriggerContext<'_, W>) -> Result<(), BoxError> {
        if window.max_timestamp() > ctx.current_watermark() {
            ctx.register_event_time_timer(window.max_timestamp())?;
        }
        Ok(())
    }
    fn clear(&self, window: &W, ctx: &mut TriggerContext<'_, W>) -> Result<(), BoxError> {
        ctx.delete_event_time_timer(window.max_timestamp())?;
        Ok(())
    }
}

/// Fires when the clock passes the window's end. The default of processing-time
/// windows.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessingTimeTrigger;

impl<T, W: Window> Trigger<T, W> for ProcessingTimeTrigger {
    fn on_element(
        &self,
        _: &T,
        _: Timestamp,
        window: &W,
        ctx: &mut TriggerContext<'_, W>,
    ) -> Result<TriggerResult, BoxError> {
        ctx.register_processing_time_timer(window.max_timestamp())?;
        Ok(TriggerResult::Continue)
    }
    fn on_processing_time(
        &self,
        _: Timestamp,
        _: &W,
        _: &mut TriggerContext<'_, W>,
    ) -> Result<TriggerResult, BoxError> {
        Ok(TriggerResult::Fire)
    }
    fn can_merge(&self) -> bool {
        true
    }
    fn on_merge(&self, window: &W, ctx: &mut TriggerContext<'_, W>) -> Result<(), BoxError> {
        ctx.register_processing_time_timer(window.max_timestamp())?;
        Ok(())
    }
    fn clear(&self, window: &W, ctx: &mut TriggerContext<'_, W>) -> Result<(), BoxError> {
        ctx.delete_processing_time_timer(window.max_timestamp())?;
        Ok(())
    }
}

/// Fires every `count` records.
#[derive(Debug, Clone, Copy)]
pub struct CountTrigger {
    count: i64,
}

impl CountTrigger {
    /// Fires every `count` records (at least 1).
    pub fn of(count: u64) -> Self {
        CountTrigger {
            count: count.clamp(1, i64::MAX as u64) as i64,
        }
    }
}

const COUNT: &str = "count";

impl<T, W: Window> Trigger<T, W> for CountTrigger {
    fn on_element(
        &self,
        _: &T,
        _: Timestamp,
        _: &W,
        ctx: &mut TriggerContext<'_, W>,
    ) -> Result<TriggerResult, BoxError> {
        let count = ctx.get(COUNT)?.unwrap_or(0) + 1;
        if count >= self.count {
            ctx.set(COUNT, None)?;
            return Ok(TriggerResult::Fire);
        }
        ctx.set(COUNT, Some(count))?;
        Ok(TriggerResult::Continue)
    }
    fn can_merge(&self) -> bool {
        true
    }
    fn on_merge(&self, _: &W, ctx: &mut TriggerContext<'_, W>) -> Result<(), BoxError> {
        let mut total = ctx.get(COUNT)?.unwrap_or(0);
        let merged = ctx.merged;
        for window in merged {
            total += ctx.get_of(window, COUNT)?.unwrap_or(0);
        }
        ctx.set(COUNT, Some(total))?;
        Ok(())
    }
    fn clear(&self, _: &W, ctx: &mut TriggerContext<'_, W>) -> Result<(), BoxError> {
        ctx.set(COUNT, None)?;
        Ok(())
    }
}

const NEXT_FIRE: &str = "next-fire";

/// The first `time + k × interval` (k ≥ 1) after `now`.
fn next_after(time: Timestamp, interval: i64, now: Timestamp) -> Timestamp {
    let skipped = if now >= time { (now - time) / interval } else { 0 };
    time.saturating_add(skipped.saturating_add(1).saturating_mul(interval))
}

/// Fires every `interval` of event time while the window is open (early results),
/// and at the window's end. When event time jumps over several intervals at once,
/// the window fires once for the jump.
#[derive(Debug, Clone, Copy)]
pub struct ContinuousEventTimeTrigger {
    interval: i64,
}

impl ContinuousEventTimeTrigger {
    /// Fires every `interval` of event time.
    pub fn of(interval: Duration) -> Self {
        ContinuousEventTimeTrigger {
            interval: millis(interval).max(1),
        }
    }
}

impl<T, W: Window> Trigger<T, W> for ContinuousEventTimeTrigger {
    fn on_element(
        &self,
        _: &T,
        timestamp: Timestamp,
        window: &W,
        ctx: &mut TriggerContext<'_, W>,
    ) -> Result<TriggerResult, BoxError> {
        if window.max_timestamp() <= ctx.current_watermark() {
            return Ok(TriggerResult::Fire);
        }
        ctx.register_event_time_timer(window.max_timestamp())?;
        if ctx.get(NEXT_FIRE)?.is_none() {
            let start = timestamp - timestamp.rem_euclid(self.interval);
            let next = start.saturating_add(self.interval).min(window.max_timestamp());
            ctx.register_event_time_timer(next)?;
            ctx.set(NEXT_FIRE, Some(next))?;
        }
        Ok(TriggerResult::Continue)
    }
    fn on_event_time(
        &self,
        time: Timestamp,
        window: &W,
        ctx: &mut TriggerContext<'_, W>,
    ) -> Result<TriggerResult, BoxError> {
        if time == window.max_timestamp() {
            return Ok(TriggerResult::Fire);
        }
        if ctx.get(NEXT_FIRE)? == Some(time) {
            // One firing per advance of event time: skip intervals it jumped over,
            // and leave the firing to the window's end if that has come too.
            let watermark = ctx.current_watermark();
            let next = next_after(time, self.interval, watermark).min(window.max_timestamp());
            ctx.register_event_time_timer(next)?;
            ctx.set(NEXT_FIRE, Some(next))?;
            if window.max_timestamp() <= watermark {
                return Ok(TriggerResult::Continue);
            }
            return Ok(TriggerResult::Fire);
        }
        Ok(TriggerResult::Continue)
    }
    fn can_merge(&self) -> bool {
        true
    }
    fn on_merge(&self, window: &W, ctx: &mut TriggerContext<'_, W>) -> Result<(), BoxError> {
        let mut next = ctx.get(NEXT_FIRE)?;
        let merged = ctx.merged;
        for window in merged {
            if let Some(theirs) = ctx.get_of(window, NEXT_FIRE)? {
                next = Some(next.map_or(theirs, |ours| ours.min(theirs)));
            }
        }
        if let Some(next) = next {
            ctx.register_event_time_timer(next)?;
            ctx.set(NEXT_FIRE, Some(next))?;
        }
        if window.max_timestamp() > ctx.current_watermark() {
            ctx.register_event_time_timer(window.max_timestamp())?;
        }
        Ok(())
    }
    fn clear(&self, window: &W, ctx: &mut TriggerContext<'_, W>) -> Result<(), BoxError> {
        if let Some(next) = ctx.get(NEXT_FIRE)? {
            ctx.delete_event_time_timer(next)?;
        }
        ctx.delete_event_time_timer(window.max_timestamp())?;
        ctx.set(NEXT_FIRE, None)?;
        Ok(())
    }
}

/// Fires every `interval` of processing time while the window holds records.
#[derive(Debug, Clone, Copy)]
pub struct ContinuousProcessingTimeTrigger {
    interval: i64,
}

impl ContinuousProcessingTimeTrigger {
    /// Fires every `interval` of processing time.
    pub fn of(interval: Duration) -> Self {
        ContinuousProcessingTimeTrigger {
            interval: millis(interval).max(1),
        }
    }
}

impl<T, W: Window> Trigger<T, W> for ContinuousProcessingTimeTrigger {
    fn on_element(
        &self,
        _: &T,
        _: Timestamp,
        window: &W,
        ctx: &mut TriggerContext<'_, W>,
    ) -> Result<TriggerResult, BoxError> {
        if ctx.get(NEXT_FIRE)?.is_none() {
            let now = ctx.current_processing_time();
            let start = now - now.rem_euclid(self.interval);
            let next = start.saturating_add(self.interval).min(window.max_timestamp());
            ctx.register_processing_time_timer(next)?;
            ctx.set(NEXT_FIRE, Some(next))?;
        }
        Ok(TriggerResult::Continue)
    }
    fn on_processing_time(
        &self,
        time: Timestamp,
        window: &W,
        ctx: &mut TriggerContext<'_, W>,
    ) -> Result<TriggerResult, BoxError> {
        if ctx.get(NEXT_FIRE)? == Some(time) {
            let now = ctx.current_processing_time();
            let next = next_after(time, self.interval, now).min(window.max_timestamp());
            if next > time {
                ctx.register_processing_time_timer(next)?;
                ctx.set(NEXT_FIRE, Some(next))?;
            } else {
                ctx.set(NEXT_FIRE, None)?;
            }
            return Ok(TriggerResult::Fire);
        }
        Ok(TriggerResult::Continue)
    }
    fn clear(&self, _: &W, ctx: &mut TriggerContext<'_, W>) -> Result<(), BoxError> {
        if let Some(next) = ctx.get(NEXT_FIRE)? {
            ctx.delete_processing_time_timer(next)?;
        }
        ctx.set(NEXT_FIRE, None)?;
        Ok(())
    }
}

/// Turns every fire of another trigger into fire-and-purge.
pub struct PurgingTrigger<T, W> {
    inner: Arc<dyn Trigger<T, W>>,
}

impl<T, W> PurgingTrigger<T, W> {
    /// Purges whenever `inner` fires.
    pub fn of(inner: impl Trigger<T, W> + 'static) -> Self
    where
        W: Window,
    {
        PurgingTrigger { inner: Arc::new(inner) }
    }
}

fn purging(result: TriggerResult) -> TriggerResult {
    if result.is_fire() {
        TriggerResult::FireAndPurge
    } else {
        result
    }
}

impl<T: 'static, W: Window> Trigger<T, W> for PurgingTrigger<T, W> {
    fn on_element(
        &self,
        element: &T,
        timestamp: Timestamp,
        window: &W,
        ctx: &mut TriggerContext<'_, W>,
    ) -> Result<TriggerResult, BoxError> {
        self.inner.on_element(element, timestamp, window, ctx).map(purging)
    }
    fn on_event_time(
        &self,
        time: Timestamp,
        window: &W,
        ctx: &mut TriggerContext<'_, W>,
    ) -> Result<TriggerResult, BoxError> {
        self.inner.on_event_time(time, window, ctx).map(purging)
    }
    fn on_processing_time(
        &self,
        time: Timestamp,
        window: &W,
        ctx: &mut TriggerContext<'_, W>,
    ) -> Result<TriggerResult, BoxError> {
        self.inner.on_processing_time(time, window, ctx).map(purging)
    }
    fn can_merge(&self) -> bool {
        self.inner.can_merge()
    }
    fn on_merge(&self, window: &W, ctx: &mut TriggerContext<'_, W>) -> Result<(), BoxError> {
        self.inner.on_merge(window, ctx)
    }
    fn clear(&self, window: &W, ctx: &mut TriggerContext<'_, W>) -> Result<(), BoxError> {
        self.inner.clear(window, ctx)
    }
}

/// Never fires (the default of global windows, which need a trigger of their own).
#[derive(Debug, Clone, Copy, Default)]
pub struct NeverTrigger;

impl<T, W: Window> Trigger<T, W> for NeverTrigger {
    fn on_element(&self, _: &T, _: Timestamp, _: &W, _: &mut TriggerContext<'_, W>) -> Result<TriggerResult, BoxError> {
        Ok(TriggerResult::Continue)
    }
    fn can_merge(&self) -> bool {
        true
    }
    fn on_merge(&self, _: &W, _: &mut TriggerContext<'_, W>) -> Result<(), BoxError> {
        Ok(())
    }
}
