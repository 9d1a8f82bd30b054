//! Waking a task thread.

use parking_lot::{Condvar, Mutex};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// A point in a signal's history, taken before checking for work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a token is used to wait for notifications after it"]
pub struct SignalToken(u64);

/// The wake-up signal of one task thread (an *event count*).
///
/// Anyone may [`notify`](TaskSignal::notify) it: a channel that received data, a
/// channel that freed space, the job master posting a control message. The task
/// waits for work in three steps: take a [`token`](TaskSignal::token), look for
/// work, and if there is none [`wait`](TaskSignal::wait) with the token. The wait
/// returns as soon as any notification happened after the token was taken, so no
/// wake-up is lost, even when the same thread waits at several places (the task loop,
/// and a record writer waiting for space in a full channel).
#[derive(Debug, Default)]
pub struct TaskSignal {
    generation: AtomicU64,
    lock: Mutex<()>,
    condvar: Condvar,
}

impl TaskSignal {
    /// A signal with no notification yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current point in the signal's history.
    #[inline]
    pub fn token(&self) -> SignalToken {
        SignalToken(self.generation.load(Ordering::Acquire))
    }

    /// Wakes the task (or makes its next wait with an older token return at once).
    pub fn notify(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let _guard = self.lock.lock();
        self.condvar.notify_all();
    }

    /// Blocks until a notification newer than `token` or until `deadline` passes.
    pub fn wait(&self, token: SignalToken, deadline: Option<Instant>) {
        let mut guard = self.lock.lock();
        while self.generation.load(Ordering::Acquire) == token.0 {
            match deadline {
                Some(deadline) => {
                    if self.condvar.wait_until(&mut guard, deadline).timed_out() {
                        break;
                    }
                }
                None => self.condvar.wait(&mut guard),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn notification_after_token_is_not_lost() {
        let s = TaskSignal::new();
        let token = s.token();
        s.notify();
        s.wait(token, None); // returns at once
    }

    #[test]
    fn nested_waits_do_not_swallow_notifications() {
        let s = TaskSignal::new();
        let outer = s.token();
        s.notify();
        let inner = s.token();
        s.notify();
        s.wait(inner, None);
        // The outer waiter still sees the notifications after its token.
        s.wait(outer, None);
    }

    #[test]
    fn wait_returns_at_deadline() {
        let s = TaskSignal::new();
        let token = s.token();
        s.wait(token, Some(Instant::now() + Duration::from_millis(1)));
    }

    #[test]
    fn notify_from_other_thread_wakes() {
        let s = Arc::new(TaskSignal::new());
        let token = s.token();
        let s2 = s.clone();
        let t = std::thread::spawn(move || s2.notify());
        s.wait(token, None);
        t.join().unwrap();
    }
}
