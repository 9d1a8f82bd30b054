//! What the harness reports: a [`Summary`] of the rounds a test ran, or the
//! [`Failure`] of one round with what is needed to rerun it.

use crate::scenario::SEED_VAR;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// What a kill interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum KillPoint {
    /// A seeded moment.
    Moment,
    /// A completed checkpoint before a sink subtask committed it.
    BeforeCommit,
    /// A restore, before a sink subtask committed the restored transactions.
    Restore,
    /// The end of the job, after the sources finished.
    EndOfInput,
}

impl fmt::Display for KillPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KillPoint::Moment => "at a random moment",
            KillPoint::BeforeCommit => "after a checkpoint completed, before the commit",
            KillPoint::Restore => "during a restore",
            KillPoint::EndOfInput => "after the sources finished",
        })
    }
}

/// Figures of the rounds a test ran.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// The scenario.
    pub scenario: String,
    /// Rounds (jobs run from start to finish) and their seeds.
    pub seeds: Vec<u64>,
    /// Processes started.
    pub runs: u32,
    /// Kills by what they interrupted.
    pub kills: BTreeMap<KillPoint, u32>,
    /// Restores at another parallelism that the runtime refused (unaligned
    /// channel state), retried at the checkpoint's parallelism.
    pub refused_rescales: u32,
    /// Restores at another parallelism than the checkpoint's that succeeded.
    pub rescales: u32,
    /// Duplicated output lines accepted by an at-least-once guarantee.
    pub duplicates: usize,
    /// Wall time.
    pub elapsed: Duration,
}

impl Summary {
    /// Kills in total.
    pub fn total_kills(&self) -> u32 {
        self.kills.values().sum()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kills: Vec<String> = self.kills.iter().map(|(point, n)| format!("{n} {point}")).collect();
        write!(
            f,
            "{}: {} rounds (seeds {}), {} runs, {} kills ({}), {} rescales, {} refused rescales, {} duplicates \
             (at-least-once), {:.1} s",
            self.scenario,
            self.seeds.len(),
            seed_list(&self.seeds),
            self.runs,
            self.total_kills(),
            kills.join(", "),
            self.rescales,
            self.refused_rescales,
            self.duplicates,
            self.elapsed.as_secs_f64()
        )
    }
}

fn seed_list(seeds: &[u64]) -> String {
    match (seeds.first(), seeds.last()) {
        (Some(first), Some(last)) if seeds.len() > 2 => format!("{first}..={last}"),
        _ => seeds.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", "),
    }
}

/// A round that went wrong: everything needed to understand and rerun it.
#[derive(Debug)]
pub struct Failure {
    /// The scenario's label.
    pub scenario: String,
    /// The test to rerun.
    pub test: String,
    /// The round's seed.
    pub seed: u64,
    /// What went wrong.
    pub reason: String,
    /// One line per run of the round.
    pub runs: Vec<String>,
    /// The round's directory (kept): checkpoints, output, logs of every run.
    pub work_dir: Option<PathBuf>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "process-kill test {}, seed {}: {}",
            self.scenario, self.seed, self.reason
        )?;
        writeln!(f, "runs of this round:")?;
        for run in &self.runs {
            writeln!(f, "  {run}")?;
        }
        if let Some(dir) = &self.work_dir {
            writeln!(f, "files (checkpoints, output, each run's stderr): {}", dir.display())?;
        }
        write!(
            f,
            "rerun: {SEED_VAR}={} cargo test --release -p weir-chaos --test it -- --exact process_kill::{}",
            self.seed, self.test
        )
    }
}
