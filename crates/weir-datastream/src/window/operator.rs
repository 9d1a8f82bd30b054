//! The general window operator: any assigner (including merging sessions), any
//! trigger and evictor, allowed lateness and late side output.
//!
//! All of its state lives in one keyed state store whose keys are
//! `(record key, Some(window))` for a window's contents, trigger state, timers and
//! user per-window state, and `(record key, None)` for what spans a key's windows
//! (the set of active sessions, user global state). Every key is placed in the key
//! group of its record key, so a checkpoint holds windows by key group and they
//! restore at any parallelism.

use super::assigners::WindowAssigner;
use super::contents::Contents;
use super::evictors::Evictor;
use super::functions::{ProcessWindowFunction, WindowContext, WindowStateKey};
use super::triggers::{Trigger, TriggerBackend, TriggerContext};
use super::windows::Window;
use crate::functions::TimeDomain;
use crate::keyed::KeySelector;
use crate::operators::timers::Timers;
use crate::operators::{FunctionHost, Operator, OperatorState};
use crate::state::window_store;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Arc;
use weir_core::{processing_time_now, BoxError, Data, StreamRecord, Timestamp, Watermark};
use weir_runtime::factory::BuildContext;
use weir_runtime::failure::guard;
use weir_runtime::operator::{Collector, Input, OutputTag};
use weir_runtime::task::TaskShared;
use weir_state::{CurrentKey, KeyedStateStore, Redistribution, StateError, ValueStateDescriptor};

/// How a window operator is configured (shared by its subtasks).
pub(crate) struct WindowSpec<T, W> {
    pub assigner: Arc<dyn WindowAssigner<T, W>>,
    pub trigger: Arc<dyn Trigger<T, W>>,
    pub evictor: Option<Arc<dyn Evictor<T, W>>>,
    /// Milliseconds a window is kept after the watermark passed its end.
    pub allowed_lateness: i64,
    pub late_tag: Option<OutputTag<T>>,
}

impl<T, W> Clone for WindowSpec<T, W> {
    fn clone(&self) -> Self {
        WindowSpec {
            assigner: self.assigner.clone(),
            trigger: self.trigger.clone(),
            evictor: self.evictor.clone(),
            allowed_lateness: self.allowed_lateness,
            late_tag: self.late_tag.clone(),
        }
    }
}

impl<T: 'static, W: Window> WindowSpec<T, W> {
    /// When a window's state is dropped.
    pub(crate) fn cleanup_time(&self, window: &W) -> Timestamp {
        if self.assigner.is_event_time() {
            window.max_timestamp().saturating_add(self.allowed_lateness)
        } else {
            window.max_timestamp()
        }
    }

    /// Whether a window is already gone at `watermark`.
    pub(crate) fn is_window_late(&self, window: &W, watermark: Timestamp) -> bool {
        self.assigner.is_event_time() && self.cleanup_time(window) <= watermark
    }

    /// Whether a record with `timestamp` is too late for every window.
    pub(crate) fn is_element_late(&self, timestamp: Timestamp, watermark: Timestamp) -> bool {
        self.assigner.is_event_time() && timestamp.saturating_add(self.allowed_lateness) <= watermark
    }

    fn cleanup_domain(&self) -> TimeDomain {
        if self.assigner.is_event_time() {
            TimeDomain::EventTime
        } else {
            TimeDomain::ProcessingTime
        }
    }
}

/// A record too late for all its windows: to the late side output if there is
/// one, else counted and dropped.
pub(crate) fn emit_late<T: 'static, O>(
    tag: &Option<OutputTag<T>>,
    record: StreamRecord<T>,
    out: &mut dyn Input<O>,
    dropped: &mut u64,
) {
    match (tag, out.side_outputs()) {
        (Some(tag), Some(side)) => {
            side.emit(tag.name(), record);
        }
        _ => *dropped += 1,
    }
}

/// Unwinds with the operator's failure if a state access failed.
#[inline]
pub(crate) fn ok<R>(host: &FunctionHost, result: Result<R, StateError>) -> R {
    host.call(|| result.map_err(BoxError::from))
}

const WATERMARK_STATE: &str = "window-watermark";

/// One subtask's checkpointed watermark: `(subtask, parallelism, watermark)`.
type StoredWatermark = (usize, usize, Timestamp);

/// The watermark an event-time operator had at the restored checkpoint, so that
/// records replayed after a recovery are late or on time exactly as in the run
/// that failed: the subtask's own at the same parallelism (subtasks of unaligned
/// checkpoints snapshot at different points of their input), else the smallest
/// of all.
pub(crate) fn restored_watermark(host: &mut FunctionHost) -> Timestamp {
    let (index, parallelism) = (host.info.index, host.info.parallelism);
    let restored = host
        .state
        .list::<StoredWatermark>(WATERMARK_STATE, Redistribution::Union)
        .map(|list| {
            let all = std::mem::take(list);
            let same_layout = all.iter().all(|(_, p, _)| *p == parallelism) && all.len() == parallelism;
            let own = all.iter().find(|(i, _, _)| *i == index).map(|(_, _, w)| *w);
            match (same_layout, own) {
                (true, Some(own)) => own,
                _ => all.iter().map(|(_, _, w)| *w).min().unwrap_or(i64::MIN),
            }
        });
    ok(host, restored)
}

/// An event-time operator's snapshot: its keyed state and its watermark.
pub(crate) fn snapshot_with_watermark<S: Data + Hash + Eq>(
    host: &mut FunctionHost,
    store: &mut KeyedStateStore<S>,
    watermark: Timestamp,
) -> OperatorState {
    let entry: StoredWatermark = (host.info.index, host.info.parallelism, watermark);
    let mut state = host.snapshot(|state| {
        *state.list::<StoredWatermark>(WATERMARK_STATE, Redistribution::Union)? = vec![entry];
        Ok(())
    });
    state.keyed = Some(store.snapshot());
    state
}

/// Named `i64` values of a window's trigger.
type TriggerValues = Vec<(String, i64)>;

/// A window operator subtask's state and timers.
pub(crate) struct WindowStore<K, W, A> {
    pub store: KeyedStateStore<WindowStateKey<K, W>>,
    pub timers: Timers<WindowStateKey<K, W>, ()>,
    pub contents: ValueStateDescriptor<A>,
    trigger_state: ValueStateDescriptor<TriggerValues>,
    sessions: ValueStateDescriptor<Vec<W>>,
    pub task: Arc<TaskShared>,
    pub watermark: Timestamp,
}

impl<K: Data + Hash + Eq, W: Window, A: Data> WindowStore<K, W, A> {
    pub(crate) fn new(context: &BuildContext) -> Result<Self, BoxError> {
        Ok(WindowStore {
            store: window_store(context)?,
            timers: Timers::new("window"),
            contents: ValueStateDescriptor::new("window-contents"),
            trigger_state: ValueStateDescriptor::new("window-trigger"),
            sessions: ValueStateDescriptor::new("window-sessions"),
            task: context.task.clone(),
            watermark: i64::MIN,
        })
    }

    /// The state key of `window` of `key`.
    pub(crate) fn window_key(&self, key: K, window: W) -> CurrentKey<WindowStateKey<K, W>> {
        self.store.key((key, Some(window)))
    }

    pub(crate) fn register_timer(
        &mut self,
        key: &CurrentKey<WindowStateKey<K, W>>,
        domain: TimeDomain,
        time: Timestamp,
    ) -> Result<(), StateError> {
        let added = self.timers.register(&mut self.store, key, domain, (), time)?;
        if added && domain == TimeDomain::ProcessingTime {
            self.task.register_processing_timer(time);
        }
        Ok(())
    }

    /// Adds a record to the contents of `key`; returns whether they were created.
    #[inline]
    pub(crate) fn add<T, C: Contents<T, Acc = A>>(
        &mut self,
        contents: &mut C,
        key: &CurrentKey<WindowStateKey<K, W>>,
        value: T,
        timestamp: Timestamp,
    ) -> Result<bool, StateError> {
        self.store
            .value(&self.contents, key)?
            .modify(|acc| contents.add(acc, value, timestamp))
    }

    /// The contents of `key`, removed when `take`, else copied.
    pub(crate) fn contents_of(
        &mut self,
        key: &CurrentKey<WindowStateKey<K, W>>,
        take: bool,
    ) -> Result<Option<A>, StateError> {
        let mut state = self.store.value(&self.contents, key)?;
        if take {
            state.take()
        } else {
            state.get()
        }
    }

    pub(crate) fn next_processing_time(&self) {
        if let Some(next) = self.timers.next_processing_time() {
            self.task.register_processing_timer(next);
        }
    }
}

/// What triggers reach through their context: timers and state of a window of the
/// current key.
struct TriggerScope<'a, K, W, A> {
    state: &'a mut WindowStore<K, W, A>,
    current: &'a CurrentKey<WindowStateKey<K, W>>,
}

impl<K: Data + Hash + Eq, W: Window, A: Data> TriggerScope<'_, K, W, A> {
    fn with_key<R>(
        &mut self,
        window: &W,
        f: impl FnOnce(&mut WindowStore<K, W, A>, &CurrentKey<WindowStateKey<K, W>>) -> R,
    ) -> R {
        if self.current.key().1.as_ref() == Some(window) {
            return f(self.state, self.current);
        }
        let key = self.state.window_key(self.current.key().0.clone(), window.clone());
        f(self.state, &key)
    }
}

impl<K: Data + Hash + Eq, W: Window, A: Data> TriggerBackend<W> for TriggerScope<'_, K, W, A> {
    fn register_timer(&mut self, domain: TimeDomain, window: &W, time: Timestamp) -> Result<(), StateError> {
        self.with_key(window, |state, key| state.register_timer(key, domain, time))
    }

    fn delete_timer(&mut self, domain: TimeDomain, window: &W, time: Timestamp) -> Result<(), StateError> {
        self.with_key(window, |state, key| {
            state.timers.delete(&mut state.store, key, domain, &(), time)
        })
    }

    fn get_state(&mut self, window: &W, name: &str) -> Result<Option<i64>, StateError> {
        self.with_key(window, |state, key| {
            let mut values = state.store.value(&state.trigger_state, key)?;
            Ok(values
                .get_ref()?
                .and_then(|values| values.iter().find(|(n, _)| n == name).map(|(_, v)| *v)))
        })
    }

    fn set_state(&mut self, window: &W, name: &str, value: Option<i64>) -> Result<(), StateError> {
        self.with_key(window, |state, key| {
            let mut values = state.store.value(&state.trigger_state, key)?;
            let Some(value) = value else {
                return values.modify_or_remove(|values| {
                    values.retain(|(n, _)| n != name);
                    !values.is_empty()
                });
            };
            values
                .modify(|values| match values {
                    Some(values) => {
                        match values.iter_mut().find(|(n, _)| n == name) {
                            Some(entry) => entry.1 = value,
                            None => values.push((name.to_string(), value)),
                        }
                        None
                    }
                    None => Some(vec![(name.to_string(), value)]),
                })
                .map(|_| ())
        })
    }
}

/// Runs a trigger callback for `window` of the key in `key`.
pub(crate) fn call_trigger<K, W, A, T, R>(
    host: &FunctionHost,
    state: &mut WindowStore<K, W, A>,
    trigger: &dyn Trigger<T, W>,
    key: &CurrentKey<WindowStateKey<K, W>>,
    window: &W,
    merged: &[W],
    f: impl FnOnce(&dyn Trigger<T, W>, &mut TriggerContext<'_, W>) -> Result<R, BoxError>,
) -> R
where
    K: Data + Hash + Eq,
    W: Window,
    A: Data,
{
    let watermark = state.watermark;
    let mut scope = TriggerScope { state, current: key };
    let mut ctx = TriggerContext {
        backend: &mut scope,
        window: window.clone(),
        watermark,
        merged,
    };
    host.call(|| f(trigger, &mut ctx))
}

/// What runs the window function on one window: the operator's parts it needs.
pub(crate) struct FunctionCall<'a, K, W, A, F> {
    pub host: &'a FunctionHost,
    pub state: &'a mut WindowStore<K, W, A>,
    pub function: &'a mut F,
    pub key: &'a CurrentKey<WindowStateKey<K, W>>,
    pub window: &'a W,
    pub merging: bool,
}

impl<K: Data + Hash + Eq, W: Window, A: Data, F> FunctionCall<'_, K, W, A, F> {
    fn run<IN, O>(&mut self, elements: Option<Vec<IN>>, out: &mut dyn Input<O>)
    where
        F: ProcessWindowFunction<K, IN, O, W>,
    {
        let mut ctx = WindowContext {
            window: self.window,
            window_key: self.key,
            global_key: None,
            store: &mut self.state.store,
            watermark: self.state.watermark,
            info: &self.host.info,
            merging: self.merging,
        };
        let mut collector = Collector::new(out, self.window.max_timestamp());
        let function = &mut *self.function;
        match elements {
            Some(elements) => self.host.call(|| function.process(&mut ctx, elements, &mut collector)),
            None => self.host.call(|| function.clear(&mut ctx)),
        }
    }

    /// Computes the window's result from `elements`.
    pub(crate) fn process<IN, O>(&mut self, elements: Vec<IN>, out: &mut dyn Input<O>)
    where
        F: ProcessWindowFunction<K, IN, O, W>,
    {
        self.run(Some(elements), out);
    }

    /// Lets the function drop its per-window state.
    pub(crate) fn clear<IN, O>(&mut self, out: &mut dyn Input<O>)
    where
        F: ProcessWindowFunction<K, IN, O, W>,
    {
        self.run::<IN, O>(None, out);
    }
}

/// Logs the records an event-time operator dropped as late, once, at the end.
pub(crate) fn report_late_dropped(host: &FunctionHost, dropped: u64, what: &str) {
    if dropped > 0 {
        tracing::warn!(
            operator = %host.meta.name,
            subtask = host.meta.subtask,
            dropped,
            "late records were dropped by {what}"
        );
    }
}

/// Removes the value of `descriptor` for `key`.
pub(crate) fn clear_value<S: Data + Hash + Eq, V: Data>(
    store: &mut KeyedStateStore<S>,
    descriptor: &ValueStateDescriptor<V>,
    key: &CurrentKey<S>,
) -> Result<(), StateError> {
    store.value(descriptor, key)?.clear()
}

/// The general window operator.
pub(crate) struct WindowOperator<K, T, W: Window, C: Contents<T>, F, O> {
    pub host: FunctionHost,
    pub key_selector: KeySelector<T, K>,
    pub spec: WindowSpec<T, W>,
    pub contents: C,
    pub function: F,
    pub state: WindowStore<K, W, C::Acc>,
    pub restored: bool,
    pub late_dropped: u64,
    pub _types: PhantomData<fn(T) -> O>,
}

impl<K, T, W, C, F, O> WindowOperator<K, T, W, C, F, O>
where
    K: Data + Hash + Eq,
    T: Data,
    W: Window,
    C: Contents<T>,
    F: ProcessWindowFunction<K, C::Out, O, W>,
{
    pub(crate) fn new(
        context: &BuildContext,
        spec: WindowSpec<T, W>,
        key_selector: KeySelector<T, K>,
        contents: C,
        function: F,
    ) -> Result<Self, BoxError> {
        Ok(WindowOperator {
            host: FunctionHost::new(context),
            key_selector,
            spec,
            contents,
            function,
            state: WindowStore::new(context)?,
            restored: context.restored.is_some(),
            late_dropped: 0,
            _types: PhantomData,
        })
    }

    fn check<R>(&self, result: Result<R, StateError>) -> R {
        ok(&self.host, result)
    }

    fn trigger<R>(
        &mut self,
        key: &CurrentKey<WindowStateKey<K, W>>,
        window: &W,
        merged: &[W],
        f: impl FnOnce(&dyn Trigger<T, W>, &mut TriggerContext<'_, W>) -> Result<R, BoxError>,
    ) -> R {
        call_trigger(&self.host, &mut self.state, &*self.spec.trigger, key, window, merged, f)
    }

    fn register_cleanup_timer(&mut self, key: &CurrentKey<WindowStateKey<K, W>>, window: &W) {
        if window.max_timestamp() == Timestamp::MAX {
            return; // the global window: never cleaned up
        }
        let time = self.spec.cleanup_time(window);
        let domain = self.spec.cleanup_domain();
        let result = self.state.register_timer(key, domain, time);
        self.check(result);
    }

    /// The sessions of `key` with `window` added; returns the window that now
    /// holds it (the merged session), or `None` when it is late.
    fn merge_into_sessions(&mut self, key: &K, window: W) -> Option<W> {
        let global = self.state.store.key((key.clone(), None));
        let sessions = self
            .state
            .store
            .value(&self.state.sessions, &global)
            .and_then(|s| s.get());
        let sessions = self.check(sessions).unwrap_or_default();
        let (overlapping, mut rest): (Vec<W>, Vec<W>) = sessions.into_iter().partition(|s| s.intersects(&window));
        if overlapping.is_empty() && self.spec.is_window_late(&window, self.state.watermark) {
            return None;
        }
        let cover = overlapping.iter().fold(window, |cover, s| cover.cover(s));
        let merged: Vec<W> = overlapping.into_iter().filter(|s| *s != cover).collect();
        rest.push(cover.clone());
        let saved = self
            .state
            .store
            .value(&self.state.sessions, &global)
            .and_then(|mut s| s.set(rest));
        self.check(saved);
        if !merged.is_empty() {
            self.merge_windows(key, &cover, &merged);
        }
        Some(cover)
    }

    /// Moves the contents and trigger state of `merged` windows into `target`.
    fn merge_windows(&mut self, key: &K, target: &W, merged: &[W]) {
        let target_key = self.state.window_key(key.clone(), target.clone());
        let mut acc = {
            let taken = self.state.contents_of(&target_key, true);
            self.check(taken)
        };
        for window in merged {
            let window_key = self.state.window_key(key.clone(), window.clone());
            let taken = self.state.contents_of(&window_key, true);
            if let Some(theirs) = self.check(taken) {
                acc = Some(match acc {
                    Some(ours) => guard(&self.host.meta, || self.contents.merge(ours, theirs)),
                    None => theirs,
                });
            }
        }
        if let Some(acc) = acc {
            let set = self
                .state
                .store
                .value(&self.state.contents, &target_key)
                .and_then(|mut s| s.set(acc));
            self.check(set);
        }
        self.trigger(&target_key, target, merged, |trigger, ctx| {
            trigger.on_merge(target, ctx)
        });
        for window in merged {
            let window_key = self.state.window_key(key.clone(), window.clone());
            self.trigger(&window_key, window, &[], |trigger, ctx| trigger.clear(window, ctx));
            let cleanup = self.spec.cleanup_time(window);
            let domain = self.spec.cleanup_domain();
            let deleted = self
                .state
                .timers
                .delete(&mut self.state.store, &window_key, domain, &(), cleanup);
            self.check(deleted);
            let cleared = self
                .state
                .store
                .value(&self.state.trigger_state, &window_key)
                .and_then(|mut s| s.clear());
            self.check(cleared);
        }
    }

    fn is_active_session(&mut self, key: &K, window: &W) -> bool {
        let global = self.state.store.key((key.clone(), None));
        let sessions = self
            .state
            .store
            .value(&self.state.sessions, &global)
            .and_then(|mut s| s.get_ref().map(|s| s.is_some_and(|s| s.contains(window))));
        self.check(sessions)
    }
}

impl<K, T, W, C, F, O> WindowOperator<K, T, W, C, F, O>
where
    K: Data + Hash + Eq,
    T: Data,
    W: Window,
    C: Contents<T>,
    F: ProcessWindowFunction<K, C::Out, O, W>,
{
    /// Computes `window`'s result from its contents (removing them if `take`).
    fn emit(&mut self, key: &CurrentKey<WindowStateKey<K, W>>, window: &W, take: bool, out: &mut dyn Input<O>) {
        let acc = self.state.contents_of(key, take);
        let Some(mut acc) = self.check(acc) else {
            return;
        };
        let evictor = self.spec.evictor.clone();
        let contents = &mut self.contents;
        let (elements, kept) = guard(&self.host.meta, || match &evictor {
            Some(evictor) => {
                contents.evict(&mut acc, &**evictor, window, true);
                (contents.copy_output(&acc), Some(acc))
            }
            None => (contents.output(acc), None),
        });
        self.function_call(key, window).process(elements, out);
        if let (Some(evictor), Some(mut acc)) = (evictor, kept) {
            guard(&self.host.meta, || {
                self.contents.evict(&mut acc, &*evictor, window, false)
            });
            if !take {
                let set = self
                    .state
                    .store
                    .value(&self.state.contents, key)
                    .and_then(|mut s| s.set(acc));
                self.check(set);
            }
        }
    }

    fn function_call<'a>(
        &'a mut self,
        key: &'a CurrentKey<WindowStateKey<K, W>>,
        window: &'a W,
    ) -> FunctionCall<'a, K, W, C::Acc, F> {
        FunctionCall {
            host: &self.host,
            state: &mut self.state,
            function: &mut self.function,
            key,
            window,
            merging: self.spec.assigner.is_merging(),
        }
    }

    fn clear_contents(&mut self, key: &CurrentKey<WindowStateKey<K, W>>) {
        let cleared = clear_value(&mut self.state.store, &self.state.contents, key);
        self.check(cleared);
    }

    /// Drops everything of a window whose time is over.
    fn clear_window(&mut self, key: &CurrentKey<WindowStateKey<K, W>>, window: &W, out: &mut dyn Input<O>) {
        self.clear_contents(key);
        self.trigger(key, window, &[], |trigger, ctx| trigger.clear(window, ctx));
        let cleared = clear_value(&mut self.state.store, &self.state.trigger_state, key);
        self.check(cleared);
        self.function_call(key, window).clear::<C::Out, O>(out);
        if self.spec.assigner.is_merging() {
            let global = self.state.store.key((key.key().0.clone(), None));
            let removed = self
                .state
                .store
                .value(&self.state.sessions, &global)
                .and_then(|mut sessions| {
                    sessions.modify_or_remove(|sessions| {
                        sessions.retain(|s| s != window);
                        !sessions.is_empty()
                    })
                });
            self.check(removed);
        }
    }

    /// Adds a record to one of its windows and runs the trigger.
    fn add_to_window(&mut self, key: K, window: W, value: T, timestamp: Timestamp, out: &mut dyn Input<O>) {
        let window_key = self.state.window_key(key, window.clone());
        let result = self.trigger(&window_key, &window, &[], |trigger, ctx| {
            trigger.on_element(&value, timestamp, &window, ctx)
        });
        let (state, contents) = (&mut self.state, &mut self.contents);
        let added = guard(&self.host.meta, || state.add(contents, &window_key, value, timestamp));
        let created = self.check(added);
        if result.is_fire() {
            self.emit(&window_key, &window, result.is_purge(), out);
        } else if result.is_purge() {
            self.clear_contents(&window_key);
        }
        // Registered with the window's first contents (and again after a purge);
        // merged sessions get their contents by merging, so they always register.
        if created || self.spec.assigner.is_merging() {
            self.register_cleanup_timer(&window_key, &window);
        }
    }

    fn on_timer(
        &mut self,
        key: CurrentKey<WindowStateKey<K, W>>,
        domain: TimeDomain,
        time: Timestamp,
        out: &mut dyn Input<O>,
    ) {
        let Some(window) = key.key().1.clone() else {
            return;
        };
        if self.spec.assigner.is_merging() && !self.is_active_session(&key.key().0, &window) {
            return; // the window was merged into another
        }
        let result = self.trigger(&key, &window, &[], |trigger, ctx| match domain {
            TimeDomain::EventTime => trigger.on_event_time(time, &window, ctx),
            TimeDomain::ProcessingTime => trigger.on_processing_time(time, &window, ctx),
        });
        let cleanup = domain == self.spec.cleanup_domain() && time == self.spec.cleanup_time(&window);
        if result.is_fire() {
            self.emit(&key, &window, result.is_purge() || cleanup, out);
        } else if result.is_purge() {
            self.clear_contents(&key);
        }
        if cleanup {
            self.clear_window(&key, &window, out);
        }
    }

    fn fire_timers(&mut self, domain: TimeDomain, until: Timestamp, out: &mut dyn Input<O>) {
        loop {
            let due = self.state.timers.pop_due(&mut self.state.store, domain, until);
            let Some((key, (), time)) = self.check(due) else {
                break;
            };
            self.on_timer(key, domain, time, out);
        }
    }
}

impl<K, T, W, C, F, O> Operator<T, O> for WindowOperator<K, T, W, C, F, O>
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
            let restored = self.state.timers.restore(&mut self.state.store);
            self.check(restored);
        }
        self.state.next_processing_time();
    }

    fn process(&mut self, record: StreamRecord<T>, out: &mut dyn Input<O>) {
        let timestamp = record.timestamp;
        let now = if self.spec.assigner.is_event_time() {
            timestamp
        } else {
            processing_time_now()
        };
        let assigner = &self.spec.assigner;
        let windows = self
            .host
            .call(|| assigner.assign_windows(&record.value, timestamp, now));
        let selector = &self.key_selector;
        let key = guard(&self.host.meta, || selector(&record.value));
        let merging = self.spec.assigner.is_merging();
        let count = windows.len();
        let mut value = Some(record.value);
        let mut skipped = true;
        for (i, window) in windows.into_iter().enumerate() {
            let window = if merging {
                match self.merge_into_sessions(&key, window) {
                    Some(window) => window,
                    None => continue,
                }
            } else {
                window
            };
            if self.spec.is_window_late(&window, self.state.watermark) {
                continue;
            }
            skipped = false;
            let element = if i + 1 == count { value.take() } else { value.clone() };
            let Some(element) = element else {
                break;
            };
            self.add_to_window(key.clone(), window, element, timestamp, out);
        }
        if let (true, Some(value)) = (skipped, value) {
            if self.spec.is_element_late(timestamp, self.state.watermark) {
                emit_late(
                    &self.spec.late_tag,
                    StreamRecord { value, timestamp },
                    out,
                    &mut self.late_dropped,
                );
            }
        }
    }

    fn watermark(&mut self, watermark: Watermark, out: &mut dyn Input<O>) {
        if watermark.timestamp <= self.state.watermark {
            return; // after a recovery, until event time passes the restored watermark
        }
        self.state.watermark = watermark.timestamp;
        self.fire_timers(TimeDomain::EventTime, watermark.timestamp, out);
        out.process_watermark(watermark);
    }

    fn on_processing_time(&mut self, now: Timestamp, out: &mut dyn Input<O>) {
        self.fire_timers(TimeDomain::ProcessingTime, now, out);
        self.state.next_processing_time();
    }

    fn end_input(&mut self, out: &mut dyn Input<O>) {
        // The clock will not advance any more: fire what processing-time windows
        // hold rather than lose it (each pending timer once, in time order).
        let pending = self
            .state
            .timers
            .drain(&mut self.state.store, TimeDomain::ProcessingTime);
        for (key, (), time) in self.check(pending) {
            self.on_timer(key, TimeDomain::ProcessingTime, time, out);
        }
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
