//! Watching one child process: its marker lines are answered, and the run's
//! [`KillPlan`] decides at which of them (or at which moment) it is killed.

use crate::markers::{Marker, REPLY};
use crate::plan::KillPlan;
use crate::report::KillPoint;
use std::collections::VecDeque;
use std::io::Write;
use std::process::ChildStdin;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// A run that takes longer than this is reported as hanging. Generous: it only
/// turns a hang into a failure, it does not measure speed.
pub const HANG_LIMIT: Duration = Duration::from_secs(180);

/// What the thread reading the child's standard output passes on.
pub(crate) enum Event {
    Line(String),
    Closed,
}

/// Watches one child's marker lines, answers them and decides when to kill.
pub(crate) struct Watch {
    plan: KillPlan,
    stdin: ChildStdin,
    events: Receiver<Event>,
    spawned: Instant,
    recent: VecDeque<String>,
    notifications: u32,
    sink_opens: u32,
    sources_finished: bool,
    notifications_after_end: u32,
}

impl Watch {
    /// Watches a child spawned at `spawned`, answering on `stdin` the lines that
    /// arrive on `events`, to kill it as `plan` says.
    pub fn new(plan: KillPlan, stdin: ChildStdin, events: Receiver<Event>, spawned: Instant) -> Watch {
        Watch {
            plan,
            stdin,
            events,
            spawned,
            recent: VecDeque::new(),
            notifications: 0,
            sink_opens: 0,
            sources_finished: false,
            notifications_after_end: 0,
        }
    }

    /// Whether the child reported that the job finished.
    pub fn saw_job_finished(&self) -> bool {
        self.recent.iter().any(|l| l == "JOB_FINISHED")
    }

    /// The last lines the child printed, for messages.
    pub fn recent_lines(&self) -> String {
        if self.recent.is_empty() {
            return "(none)".into();
        }
        self.recent.iter().cloned().collect::<Vec<_>>().join(" | ")
    }

    fn reply(&mut self) {
        // A child that died meanwhile cannot read it; its exit is seen next.
        let _ = writeln!(self.stdin, "{REPLY}").and_then(|()| self.stdin.flush());
    }

    /// Returns what to kill at, or `None` once the child closed its output.
    pub fn until_kill_or_exit(&mut self, restoring: bool) -> Result<Option<(KillPoint, String)>, String> {
        let hang_deadline = self.spawned + HANG_LIMIT;
        loop {
            let kill_at = match self.plan {
                KillPlan::After(delay) if !self.sources_finished => Some(self.spawned + delay),
                _ => None,
            };
            let deadline = kill_at.map_or(hang_deadline, |k| k.min(hang_deadline));
            let event = match self
                .events
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(event) => event,
                Err(RecvTimeoutError::Disconnected) => Event::Closed,
                Err(RecvTimeoutError::Timeout) => {
                    if let (Some(at), KillPlan::After(delay)) = (kill_at, self.plan) {
                        if Instant::now() >= at {
                            return Ok(Some((
                                KillPoint::Moment,
                                format!("{} ms after the start", delay.as_millis()),
                            )));
                        }
                    }
                    if Instant::now() >= hang_deadline {
                        return Err(format!(
                            "the job did not finish within {HANG_LIMIT:?} (hang?); plan: {}; last lines on its \
                             stdout: {}",
                            self.plan,
                            self.recent_lines()
                        ));
                    }
                    continue;
                }
            };
            let line = match event {
                Event::Line(line) => line,
                Event::Closed => return Ok(None),
            };
            if self.recent.len() == 8 {
                self.recent.pop_front();
            }
            self.recent.push_back(line.clone());
            let Some(marker) = Marker::parse(&line) else {
                continue;
            };
            if let Some(kill) = self.on_marker(&marker, restoring) {
                return Ok(Some(kill));
            }
            if marker.waits() {
                self.reply();
            }
        }
    }

    /// Whether to kill the child now, held at `marker`.
    fn on_marker(&mut self, marker: &Marker, restoring: bool) -> Option<(KillPoint, String)> {
        match *marker {
            Marker::SourcesFinished => {
                self.sources_finished = true;
                if !self.plan.survives_end_of_input() {
                    // Checkpoints taken from now on have every source finished: a
                    // restore from them is another test's subject.
                    self.plan = KillPlan::Finish;
                }
                None
            }
            Marker::SinkOpen { subtask, .. } => {
                self.sink_opens += 1;
                match self.plan {
                    KillPlan::DuringRestore(n) if restoring && self.sink_opens == n => Some((
                        KillPoint::Restore,
                        format!("while sink subtask {subtask} was held before committing its restored transactions"),
                    )),
                    _ => None,
                }
            }
            Marker::CheckpointCompleted { id, subtask } => {
                self.notifications += 1;
                if self.sources_finished {
                    self.notifications_after_end += 1;
                }
                match self.plan {
                    KillPlan::AtCheckpointCompleted(n) if self.notifications == n => Some((
                        KillPoint::BeforeCommit,
                        format!("after checkpoint {id} completed, before sink subtask {subtask} committed it"),
                    )),
                    KillPlan::AfterSourcesFinished(n) if self.notifications_after_end == n => Some((
                        KillPoint::EndOfInput,
                        format!(
                            "after the sources finished and checkpoint {id} completed, before sink subtask \
                             {subtask} committed it"
                        ),
                    )),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}
