//! One event-time timer per key, at the earliest time the key needs waking: the
//! interval and temporal joins keep rows per key until the watermark passes a time
//! that changes as rows come and go.

use weir_datastream::custom::Timers;
use weir_datastream::functions::TimeDomain;
use weir_state::{CurrentKey, KeyedStateStore, ValueStateDescriptor};

use crate::error::SqlError;
use crate::exec::join::state_error;

/// A key's single event-time timer, its time kept in keyed state.
#[derive(Debug, Clone)]
pub struct KeyTimer {
    at: ValueStateDescriptor<i64>,
}

impl KeyTimer {
    /// The timer whose time is kept under state name `name`.
    pub fn new(name: &str) -> Self {
        KeyTimer {
            at: ValueStateDescriptor::new(name),
        }
    }

    /// Makes sure the key's timer fires by `time` (moving it earlier if needed).
    pub fn wake_by(
        &self,
        store: &mut KeyedStateStore<Vec<u8>>,
        timers: &mut Timers<Vec<u8>, ()>,
        current: &CurrentKey<Vec<u8>>,
        time: i64,
    ) -> Result<(), SqlError> {
        let mut next = store.value(&self.at, current).map_err(state_error)?;
        let registered = next.get().map_err(state_error)?;
        if registered.is_some_and(|t| t <= time) {
            return Ok(());
        }
        next.set(time).map_err(state_error)?;
        if let Some(old) = registered {
            timers
                .delete(store, current, TimeDomain::EventTime, &(), old)
                .map_err(state_error)?;
        }
        timers
            .register(store, current, TimeDomain::EventTime, (), time)
            .map_err(state_error)?;
        Ok(())
    }

    /// After the key's timer fired: sets the next one (`None`: the key needs no
    /// more waking).
    pub fn fired(
        &self,
        store: &mut KeyedStateStore<Vec<u8>>,
        timers: &mut Timers<Vec<u8>, ()>,
        current: &CurrentKey<Vec<u8>>,
        next: Option<i64>,
    ) -> Result<(), SqlError> {
        let mut state = store.value(&self.at, current).map_err(state_error)?;
        match next {
            Some(time) => {
                state.set(time).map_err(state_error)?;
                timers
                    .register(store, current, TimeDomain::EventTime, (), time)
                    .map_err(state_error)?;
            }
            None => state.clear().map_err(state_error)?,
        }
        Ok(())
    }
}
