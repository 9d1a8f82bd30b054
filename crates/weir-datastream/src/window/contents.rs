//! What a window keeps of its records: all of them (for full-window functions and
//! evictors) or an incremental aggregate (reduce, aggregate function).

use super::evictors::Evictor;
use super::windows::Window;
use std::marker::PhantomData;
use std::sync::Arc;
use weir_core::{Data, Timestamp};
use weir_state::AggregateFunction;

/// How records are added to a window's state and read out when it fires.
pub(crate) trait Contents<T>: Clone + Send + Sync + 'static {
    /// What is stored per window (and per slice).
    type Acc: Data;
    /// What the window function receives.
    type Out: 'static;

    /// Adds `value` to `acc`, or returns the state of a new window holding it.
    fn add(&mut self, acc: Option<&mut Self::Acc>, value: T, timestamp: Timestamp) -> Option<Self::Acc>;

    /// Combines the state of two windows (merging sessions, combining slices).
    fn merge(&mut self, a: Self::Acc, b: Self::Acc) -> Self::Acc;

    /// The window function's input.
    fn output(&mut self, acc: Self::Acc) -> Vec<Self::Out>;

    /// Runs an evictor on the stored records; only all-records contents have them.
    fn evict<W: Window>(&self, _acc: &mut Self::Acc, _evictor: &dyn Evictor<T, W>, _window: &W, _before: bool) {}

    /// The window function's input without consuming the state.
    fn copy_output(&mut self, acc: &Self::Acc) -> Vec<Self::Out> {
        self.output(acc.clone())
    }
}

/// Every record with its timestamp, in arrival order.
#[derive(Clone, Copy)]
pub(crate) struct AllRecords;

impl<T: Data> Contents<T> for AllRecords {
    type Acc = Vec<(Timestamp, T)>;
    type Out = T;

    #[inline]
    fn add(&mut self, acc: Option<&mut Self::Acc>, value: T, timestamp: Timestamp) -> Option<Self::Acc> {
        match acc {
            Some(records) => {
                records.push((timestamp, value));
                None
            }
            None => Some(vec![(timestamp, value)]),
        }
    }

    fn merge(&mut self, mut a: Self::Acc, mut b: Self::Acc) -> Self::Acc {
        a.append(&mut b);
        a
    }

    fn output(&mut self, acc: Self::Acc) -> Vec<T> {
        acc.into_iter().map(|(_, value)| value).collect()
    }

    fn evict<W: Window>(&self, acc: &mut Self::Acc, evictor: &dyn Evictor<T, W>, window: &W, before: bool) {
        if before {
            evictor.evict_before(acc, window);
        } else {
            evictor.evict_after(acc, window);
        }
    }

    fn copy_output(&mut self, acc: &Self::Acc) -> Vec<T> {
        acc.iter().map(|(_, value)| value.clone()).collect()
    }
}

/// One value, combined with each new record by a reduce function.
#[derive(Clone)]
pub(crate) struct Reduced<R>(pub R);

impl<T: Data, R: FnMut(T, T) -> T + Clone + Send + Sync + 'static> Contents<T> for Reduced<R> {
    type Acc = Option<T>;
    type Out = T;

    #[inline]
    fn add(&mut self, acc: Option<&mut Self::Acc>, value: T, _: Timestamp) -> Option<Self::Acc> {
        match acc {
            Some(slot) => {
                *slot = Some(match slot.take() {
                    Some(current) => (self.0)(current, value),
                    None => value,
                });
                None
            }
            None => Some(Some(value)),
        }
    }

    fn merge(&mut self, a: Self::Acc, b: Self::Acc) -> Self::Acc {
        match (a, b) {
            (Some(a), Some(b)) => Some((self.0)(a, b)),
            (a, b) => a.or(b),
        }
    }

    fn output(&mut self, acc: Self::Acc) -> Vec<T> {
        acc.into_iter().collect()
    }
}

/// An accumulator of an [`AggregateFunction`].
pub(crate) struct Aggregated<A, ACC, R> {
    pub function: Arc<A>,
    pub _types: PhantomData<fn() -> (ACC, R)>,
}

impl<A, ACC, R> Aggregated<A, ACC, R> {
    pub(crate) fn new(function: Arc<A>) -> Self {
        Aggregated {
            function,
            _types: PhantomData,
        }
    }
}

impl<A, ACC, R> Clone for Aggregated<A, ACC, R> {
    fn clone(&self) -> Self {
        Aggregated::new(self.function.clone())
    }
}

impl<T, ACC, R, A> Contents<T> for Aggregated<A, ACC, R>
where
    ACC: Data,
    R: 'static,
    A: AggregateFunction<T, ACC, R> + 'static,
{
    type Acc = ACC;
    type Out = R;

    #[inline]
    fn add(&mut self, acc: Option<&mut ACC>, value: T, _: Timestamp) -> Option<ACC> {
        match acc {
            Some(acc) => {
                self.function.add(acc, value);
                None
            }
            None => {
                let mut acc = self.function.create_accumulator();
                self.function.add(&mut acc, value);
                Some(acc)
            }
        }
    }

    fn merge(&mut self, a: ACC, b: ACC) -> ACC {
        self.function.merge(a, b)
    }

    fn output(&mut self, acc: ACC) -> Vec<R> {
        vec![self.function.get_result(&acc)]
    }

    fn copy_output(&mut self, acc: &ACC) -> Vec<R> {
        vec![self.function.get_result(acc)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduced_and_all_records_merge() {
        let mut sum = Reduced(|a: u64, b: u64| a + b);
        let mut acc = sum.add(None, 1, 0);
        assert!(sum.add(acc.as_mut(), 2, 0).is_none());
        let other = sum.add(None, 10, 0);
        let merged = sum.merge(acc.unwrap(), other.unwrap());
        assert_eq!(sum.output(merged), vec![13]);

        let mut all = AllRecords;
        let a = Contents::<u8>::add(&mut all, None, 1, 5).unwrap();
        let b = Contents::<u8>::add(&mut all, None, 2, 6).unwrap();
        let merged = Contents::<u8>::merge(&mut all, a, b);
        assert_eq!(Contents::<u8>::copy_output(&mut all, &merged), vec![1, 2]);
    }
}
