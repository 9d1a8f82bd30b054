//! Where the harness kills a run: chosen per run by the round's seeded RNG.

use std::fmt;
use std::time::Duration;

/// When to kill one run of the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KillPlan {
    /// Let the run finish.
    Finish,
    /// SIGKILL this long after the process was spawned (small values land in the
    /// start-up and restore).
    After(Duration),
    /// SIGKILL while the `n`-th checkpoint-completion notification of the run
    /// (counted over all sink subtasks) is held: the checkpoint is complete, that
    /// sink subtask has not committed it; other subtasks may have.
    AtCheckpointCompleted(u32),
    /// SIGKILL while the `n`-th sink subtask of a restored run is held before it
    /// commits the transactions restored for it (others may have committed theirs).
    DuringRestore(u32),
    /// After the last source reader finished, SIGKILL at the `n`-th
    /// checkpoint-completion notification (the final checkpoint's, or one taken
    /// while the job winds down). A restart then restores a checkpoint in which
    /// every source has finished.
    AfterSourcesFinished(u32),
}

impl KillPlan {
    /// Whether the plan stands once the sources finished: only
    /// [`KillPlan::AfterSourcesFinished`] kills that late.
    pub fn survives_end_of_input(self) -> bool {
        matches!(self, KillPlan::AfterSourcesFinished(_) | KillPlan::Finish)
    }
}

impl fmt::Display for KillPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KillPlan::Finish => f.write_str("no kill"),
            KillPlan::After(delay) => write!(f, "kill {} ms after the start", delay.as_millis()),
            KillPlan::AtCheckpointCompleted(n) => {
                write!(f, "kill at checkpoint-completion notification #{n}, before that commit")
            }
            KillPlan::DuringRestore(n) => {
                write!(
                    f,
                    "kill during the restore, at sink subtask #{n} before its restored commits"
                )
            }
            KillPlan::AfterSourcesFinished(n) => {
                write!(
                    f,
                    "kill after the sources finished, at checkpoint-completion notification #{n}"
                )
            }
        }
    }
}

/// What a plan is chosen from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlanSpace {
    /// The run starts from a checkpoint.
    pub restoring: bool,
    /// Its parallelism.
    pub parallelism: usize,
    /// About how long a whole run lasts without kills.
    pub run_time: Duration,
    /// Kill after the sources finished (the end of the job) instead of before.
    pub end_of_input: bool,
}

/// The kinds of kill a round goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Anywhere in the run.
    Moment,
    /// In the first 150 ms: start-up, restore, the first checkpoints.
    Early,
    /// At a held checkpoint-completion notification.
    BeforeCommit,
    /// At a held sink creation of a restored run.
    Restore,
}

/// Chooses the plans of the runs of one round: each round goes through every
/// kind of kill point in a seeded order (a restore kill never first, as the first
/// run starts fresh), then again in another order.
#[derive(Debug)]
pub(crate) struct Planner {
    order: Vec<Kind>,
    next: usize,
}

impl Planner {
    /// A planner at the start of a round.
    pub fn new() -> Planner {
        Planner {
            order: Vec::new(),
            next: 0,
        }
    }

    fn next_kind(&mut self, rng: &mut fastrand::Rng) -> Kind {
        if self.next >= self.order.len() {
            let mut order = vec![
                Kind::Moment,
                Kind::Early,
                Kind::BeforeCommit,
                Kind::BeforeCommit,
                Kind::Restore,
            ];
            rng.shuffle(&mut order);
            if order[0] == Kind::Restore {
                let other = rng.usize(1..order.len());
                order.swap(0, other);
            }
            self.order = order;
            self.next = 0;
        }
        let kind = self.order[self.next];
        self.next += 1;
        kind
    }

    /// The plan of a run that is to be killed.
    pub fn choose(&mut self, rng: &mut fastrand::Rng, space: PlanSpace) -> KillPlan {
        let p = u32::try_from(space.parallelism.max(1)).unwrap_or(u32::MAX);
        if space.end_of_input {
            // The final checkpoint alone notifies every sink subtask.
            return KillPlan::AfterSourcesFinished(rng.u32(1..=p));
        }
        let run_ms = u64::try_from(space.run_time.as_millis()).unwrap_or(u64::MAX).max(1);
        match self.next_kind(rng) {
            Kind::Moment => KillPlan::After(Duration::from_millis(rng.u64(0..=run_ms))),
            Kind::Early => KillPlan::After(Duration::from_millis(rng.u64(0..=150))),
            Kind::Restore if space.restoring => KillPlan::DuringRestore(rng.u32(1..=p)),
            // Nothing to restore yet (no checkpoint completed so far): kill at a commit.
            Kind::BeforeCommit | Kind::Restore => KillPlan::AtCheckpointCompleted(rng.u32(1..=p.saturating_mul(6))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_follow_the_seed_and_cover_every_kill_point() {
        let space = PlanSpace {
            restoring: true,
            parallelism: 2,
            run_time: Duration::from_secs(2),
            end_of_input: false,
        };
        let plans = |seed| {
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut planner = Planner::new();
            (0..5).map(|_| planner.choose(&mut rng, space)).collect::<Vec<_>>()
        };
        assert_eq!(plans(7), plans(7));
        for seed in 0..50 {
            let all = plans(seed);
            assert!(all
                .iter()
                .any(|p| matches!(p, KillPlan::After(d) if *d <= Duration::from_millis(150))));
            assert!(all
                .iter()
                .any(|p| matches!(p, KillPlan::AtCheckpointCompleted(n) if (1..=12).contains(n))));
            assert!(all
                .iter()
                .any(|p| matches!(p, KillPlan::DuringRestore(n) if (1..=2).contains(n))));
            assert!(!matches!(all[0], KillPlan::DuringRestore(_)));
            assert!(all.iter().all(|p| !p.survives_end_of_input()));
        }

        let mut rng = fastrand::Rng::with_seed(1);
        let mut planner = Planner::new();
        let fresh = PlanSpace {
            restoring: false,
            ..space
        };
        assert!((0..20).all(|_| !matches!(planner.choose(&mut rng, fresh), KillPlan::DuringRestore(_))));
        let end = PlanSpace {
            end_of_input: true,
            ..space
        };
        assert!(matches!(
            planner.choose(&mut rng, end),
            KillPlan::AfterSourcesFinished(_)
        ));
    }
}
