//! Waking a task thread.

use parking_lot::{Condvar, Mutex};
use std::time::Instant;

/// A binary wake-up signal owned by one task thread.
///
/// Anyone may [`notify`](TaskSignal::notify) it (a channel that received data, a channel
/// that freed space, the job master posting a control message); the task thread
/// [`wait`](TaskSignal::wait)s on it when it has nothing to do. A notification that
/// arrives while the task is busy is remembered, so no wake-up is lost.
#[derive(Debug, Default)]
pub struct TaskSignal {
    notified: Mutex<bool>,
    condvar: Condvar,
}

impl TaskSignal {
    /// A signal with no pending notification.
    pub fn new() -> Self {
        Self::default()
    }

    /// Wakes the task (or makes its next wait return at once).
    pub fn notify(&self) {
        let mut notified = self.notified.lock();
        if !*notified {
            *notified = true;
            self.condvar.notify_one();
        }
    }

    /// Blocks until notified or until `deadline` passes; consumes the notification.
    pub fn wait(&self, deadline: Option<Instant>) {
        let mut notified = self.notified.lock();
        while !*notified {
            match deadline {
                Some(deadline) => {
                    if self.condvar.wait_until(&mut notified, deadline).timed_out() {
                        break;
                    }
                }
                None => self.condvar.wait(&mut notified),
            }
        }
        *notified = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn notification_before_wait_is_not_lost() {
        let s = TaskSignal::new();
        s.notify();
        s.wait(None); // returns at once
    }

    #[test]
    fn wait_returns_at_deadline() {
        let s = TaskSignal::new();
        s.wait(Some(Instant::now() + Duration::from_millis(1)));
    }

    #[test]
    fn notify_from_other_thread_wakes() {
        let s = Arc::new(TaskSignal::new());
        let s2 = s.clone();
        let t = std::thread::spawn(move || s2.notify());
        s.wait(None);
        t.join().unwrap();
    }
}
