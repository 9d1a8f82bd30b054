//! What every operator running a user function shares: failure attribution, the
//! subtask's identity, operator state and (for keyed operators) keyed state.

use super::timers::{TimeDomain, Timers};
use super::OperatorState;
use crate::functions::{Context, KeyedContext};
use crate::keyed::KeySelector;
use crate::state::{keyed_store, operator_store};
use std::hash::Hash;
use std::sync::Arc;
use weir_core::{BoxError, Data, StreamRecord, SubtaskInfo, Timestamp};
use weir_runtime::factory::BuildContext;
use weir_runtime::failure::{check, fail, guard, OperatorMeta};
use weir_runtime::operator::{Collector, Input};
use weir_runtime::task::TaskShared;
use weir_state::{KeyedStateStore, OperatorStateStore};

/// The non-keyed part of a user function's surroundings.
pub(crate) struct FunctionHost {
    pub meta: OperatorMeta,
    pub info: SubtaskInfo,
    pub state: OperatorStateStore,
}

impl FunctionHost {
    pub(crate) fn new(context: &BuildContext) -> Self {
        FunctionHost {
            meta: context.meta.clone(),
            info: context.info.clone(),
            state: operator_store(context),
        }
    }

    /// Runs user code; a panic or an error fails the job as this operator's.
    #[inline]
    pub(crate) fn call<T>(&self, f: impl FnOnce() -> Result<T, BoxError>) -> T {
        let result = guard(&self.meta, f);
        check(&self.meta, result)
    }

    /// Calls the user's `open` and `initialize_state` hooks.
    pub(crate) fn open(&mut self, f: impl FnOnce(&SubtaskInfo, &mut OperatorStateStore) -> Result<(), BoxError>) {
        let (info, state) = (&self.info, &mut self.state);
        let result = guard(&self.meta, || f(info, state));
        check(&self.meta, result);
    }

    /// Calls the user's `snapshot_state` hook, then encodes operator state.
    pub(crate) fn snapshot(
        &mut self,
        f: impl FnOnce(&mut OperatorStateStore) -> Result<(), BoxError>,
    ) -> OperatorState {
        let state = &mut self.state;
        let result = guard(&self.meta, || f(state));
        check(&self.meta, result);
        match self.state.snapshot() {
            Ok(snapshot) => OperatorState {
                keyed: None,
                operator: Some(snapshot),
            },
            Err(e) => fail(&self.meta, e),
        }
    }

    /// Runs a user function on one record with a plain context.
    #[inline]
    pub(crate) fn process<V, O>(
        &self,
        record: StreamRecord<V>,
        out: &mut dyn Input<O>,
        f: impl FnOnce(V, &mut Context<'_>, &mut Collector<'_, O>) -> Result<(), BoxError>,
    ) {
        let mut ctx = Context {
            timestamp: record.timestamp,
            info: &self.info,
        };
        let mut collector = Collector::new(out, record.timestamp);
        self.call(|| f(record.value, &mut ctx, &mut collector));
    }

    /// Calls a user `finish` hook with a collector.
    pub(crate) fn finish<O>(
        &self,
        out: &mut dyn Input<O>,
        f: impl FnOnce(&mut Collector<'_, O>) -> Result<(), BoxError>,
    ) {
        let mut collector = Collector::new(out, weir_core::NO_TIMESTAMP);
        self.call(|| f(&mut collector));
    }
}

/// A user function's surroundings in a keyed operator.
pub(crate) struct KeyedHost<K> {
    pub host: FunctionHost,
    pub store: KeyedStateStore<K>,
    pub timers: Timers<K, ()>,
    pub watermark: Timestamp,
    pub task: Arc<TaskShared>,
    restored: bool,
}

/// The user function's part of firing a timer.
pub(crate) type OnTimer<'f, K, O> =
    &'f mut dyn FnMut(Timestamp, &mut KeyedContext<'_, K>, &mut Collector<'_, O>) -> Result<(), BoxError>;

impl<K: Data + Hash + Eq> KeyedHost<K> {
    pub(crate) fn new(context: &BuildContext) -> Result<Self, BoxError> {
        Ok(KeyedHost {
            host: FunctionHost::new(context),
            store: keyed_store(context)?,
            timers: Timers::new("user"),
            watermark: i64::MIN,
            task: context.task.clone(),
            restored: context.restored.is_some(),
        })
    }

    /// After a restore: rebuilds the timer index and schedules processing time.
    pub(crate) fn restore_timers(&mut self) {
        if self.restored {
            let (timers, store) = (&mut self.timers, &mut self.store);
            let result = timers.restore(store).map_err(BoxError::from);
            self.host.call(|| result);
        }
        if let Some(next) = self.timers.next_processing_time() {
            self.task.register_processing_timer(next);
        }
    }

    /// Fires the timers of `domain` due at `until` in time order.
    pub(crate) fn fire_timers<O>(
        &mut self,
        domain: TimeDomain,
        until: Timestamp,
        out: &mut dyn Input<O>,
        on_timer: OnTimer<'_, K, O>,
    ) {
        if domain == TimeDomain::EventTime {
            self.watermark = until;
        }
        loop {
            let due = self
                .timers
                .pop_due(&mut self.store, domain, until)
                .map_err(BoxError::from);
            let Some((key, (), time)) = self.host.call(|| due) else {
                break;
            };
            let mut ctx = KeyedContext {
                base: Context {
                    timestamp: time,
                    info: &self.host.info,
                },
                key: &key,
                store: &mut self.store,
                timers: &mut self.timers,
                watermark: self.watermark,
                task: &self.task,
                time_domain: Some(domain),
            };
            let mut collector = Collector::new(out, time);
            let meta = &self.host.meta;
            let result = guard(meta, || on_timer(time, &mut ctx, &mut collector));
            check(meta, result);
        }
        if domain == TimeDomain::ProcessingTime {
            if let Some(next) = self.timers.next_processing_time() {
                self.task.register_processing_timer(next);
            }
        }
    }

    /// Runs a user function on one record with the keyed context of the record's key.
    #[inline]
    pub(crate) fn process<V, O>(
        &mut self,
        selector: &KeySelector<V, K>,
        record: StreamRecord<V>,
        out: &mut dyn Input<O>,
        f: impl FnOnce(V, &mut KeyedContext<'_, K>, &mut Collector<'_, O>) -> Result<(), BoxError>,
    ) {
        let key = guard(&self.host.meta, || selector(&record.value));
        let key = self.store.key(key);
        let timestamp: Timestamp = record.timestamp;
        let mut ctx = KeyedContext {
            base: Context {
                timestamp,
                info: &self.host.info,
            },
            key: &key,
            store: &mut self.store,
            timers: &mut self.timers,
            watermark: self.watermark,
            task: &self.task,
            time_domain: None,
        };
        let mut collector = Collector::new(out, timestamp);
        let meta = &self.host.meta;
        let result = guard(meta, || f(record.value, &mut ctx, &mut collector));
        check(meta, result);
    }

    /// Calls the user's `snapshot_state` hook, then snapshots operator and keyed state.
    pub(crate) fn snapshot(
        &mut self,
        f: impl FnOnce(&mut OperatorStateStore) -> Result<(), BoxError>,
    ) -> OperatorState {
        let mut state = self.host.snapshot(f);
        state.keyed = Some(self.store.snapshot());
        state
    }
}
