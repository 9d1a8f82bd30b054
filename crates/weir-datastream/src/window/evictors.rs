//! Evictors: remove records from a window's contents before (or after) its function
//! runs.

use super::assigners::millis;
use super::windows::Window;
use std::time::Duration;
use weir_core::Timestamp;

/// Removes records from a window's buffer when it fires. Records are
/// `(timestamp, value)` pairs in arrival order. A window with an evictor keeps all
/// its records (no incremental aggregation).
pub trait Evictor<T, W: Window>: Send + Sync + 'static {
    /// Called before the window function.
    fn evict_before(&self, _elements: &mut Vec<(Timestamp, T)>, _window: &W) {}
    /// Called after the window function; what is left stays in the window.
    fn evict_after(&self, _elements: &mut Vec<(Timestamp, T)>, _window: &W) {}
}

/// Keeps at most `max` records (the latest).
#[derive(Debug, Clone, Copy)]
pub struct CountEvictor {
    max: usize,
    after: bool,
}

impl CountEvictor {
    /// Keeps the latest `max` records, evicting before the window function.
    pub fn of(max: usize) -> Self {
        CountEvictor { max, after: false }
    }

    /// Keeps the latest `max` records, evicting after the window function.
    pub fn of_after(max: usize) -> Self {
        CountEvictor { max, after: true }
    }

    fn evict<T>(&self, elements: &mut Vec<(Timestamp, T)>) {
        if elements.len() > self.max {
            elements.drain(..elements.len() - self.max);
        }
    }
}

/// Keeps the records within `keep` of the latest record's timestamp.
#[derive(Debug, Clone, Copy)]
pub struct TimeEvictor {
    keep: i64,
    after: bool,
}

impl TimeEvictor {
    /// Keeps records newer than the latest minus `keep`, evicting before the
    /// window function.
    pub fn of(keep: Duration) -> Self {
        TimeEvictor {
            keep: millis(keep),
            after: false,
        }
    }

    /// The same, evicting after the window function.
    pub fn of_after(keep: Duration) -> Self {
        TimeEvictor {
            keep: millis(keep),
            after: true,
        }
    }

    fn evict<T>(&self, elements: &mut Vec<(Timestamp, T)>) {
        if let Some(latest) = elements.iter().map(|(t, _)| *t).max() {
            let cutoff = latest - self.keep;
            elements.retain(|(t, _)| *t > cutoff);
        }
    }
}

/// Evicts before or after the window function, as the evictor was built.
macro_rules! before_or_after {
    ($evictor:ty) => {
        impl<T, W: Window> Evictor<T, W> for $evictor {
            fn evict_before(&self, elements: &mut Vec<(Timestamp, T)>, _: &W) {
                if !self.after {
                    self.evict(elements);
                }
            }
            fn evict_after(&self, elements: &mut Vec<(Timestamp, T)>, _: &W) {
                if self.after {
                    self.evict(elements);
                }
            }
        }
    };
}

before_or_after!(CountEvictor);
before_or_after!(TimeEvictor);

/// An evictor from a closure run before the window function.
pub struct FnEvictor<F>(pub F);

impl<T, W: Window, F> Evictor<T, W> for FnEvictor<F>
where
    F: Fn(&mut Vec<(Timestamp, T)>, &W) + Send + Sync + 'static,
{
    fn evict_before(&self, elements: &mut Vec<(Timestamp, T)>, window: &W) {
        (self.0)(elements, window);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::GlobalWindow;

    #[test]
    fn count_and_time_evictors_keep_the_latest() {
        let mut v: Vec<(Timestamp, u8)> = (0..10).map(|i| (i * 10, i as u8)).collect();
        Evictor::<u8, GlobalWindow>::evict_before(&CountEvictor::of(3), &mut v, &GlobalWindow);
        assert_eq!(v.iter().map(|(_, x)| *x).collect::<Vec<_>>(), vec![7, 8, 9]);
        let mut v: Vec<(Timestamp, u8)> = (0..10).map(|i| (i * 10, i as u8)).collect();
        Evictor::<u8, GlobalWindow>::evict_before(&TimeEvictor::of(Duration::from_millis(25)), &mut v, &GlobalWindow);
        assert_eq!(v.iter().map(|(_, x)| *x).collect::<Vec<_>>(), vec![7, 8, 9]);
    }
}
