//! What a process-kill test runs: a [`Scenario`] (the job's configuration and how
//! it is killed) and a [`Budget`] (how many kills, which seed) read from the
//! environment.

use crate::error::ChaosError;
use crate::job::Backend;
use crate::oracle::Guarantee;
use std::time::Duration;
use weir::core::CheckpointMode;

/// The environment variable holding the number of kills each test makes at least.
pub const KILLS_VAR: &str = "WEIR_CHAOS_KILLS";
/// The environment variable that reruns one round with the given seed.
pub const SEED_VAR: &str = "WEIR_CHAOS_SEED";

/// One configuration of the job and how it is killed.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Name in messages: the test function's name, so that messages say how to
    /// rerun it.
    pub name: String,
    /// Checkpoint mode.
    pub mode: CheckpointMode,
    /// State backend.
    pub backend: Backend,
    /// Parallelisms a run picks from (seeded); with more than one, every restart
    /// changes the parallelism (a rescale) as `rescale` says.
    pub parallelism: Vec<usize>,
    /// Which way restarts change the parallelism.
    pub rescale: Rescale,
    /// Input records per round.
    pub records: u64,
    /// Keys (a multiple of every parallelism).
    pub keys: u64,
    /// Records per second of the whole source, so that a run lives long enough to
    /// be killed several times.
    pub rate: f64,
    /// Checkpoint interval.
    pub interval: Duration,
    /// Kills planned per round (a round is one job from start to finish).
    pub kills_per_round: u32,
    /// Kill only after the sources finished (restarting from checkpoints taken
    /// at the end of the input) instead of only before.
    pub end_of_input: bool,
}

impl Scenario {
    /// A scenario at parallelism 2 with the default job size.
    pub fn new(name: &str, mode: CheckpointMode, backend: Backend) -> Scenario {
        Scenario {
            name: name.to_string(),
            mode,
            backend,
            parallelism: vec![2],
            rescale: Rescale::Any,
            records: 20_000,
            keys: 600,
            rate: 10_000.0,
            interval: Duration::from_millis(50),
            kills_per_round: 5,
            end_of_input: false,
        }
    }

    /// Every restart picks another parallelism out of `choices`.
    pub fn rescaling(self, choices: &[usize]) -> Scenario {
        self.rescaling_towards(Rescale::Any, choices)
    }

    /// Every restart picks another parallelism out of `choices`, in direction
    /// `rescale` where there is one.
    pub fn rescaling_towards(mut self, rescale: Rescale, choices: &[usize]) -> Scenario {
        self.parallelism = choices.to_vec();
        self.rescale = rescale;
        self
    }

    /// Kills only after the sources finished.
    pub fn killing_after_end_of_input(mut self) -> Scenario {
        self.end_of_input = true;
        self
    }

    /// What the committed output must satisfy.
    pub fn guarantee(&self) -> Guarantee {
        match self.mode {
            CheckpointMode::AtLeastOnce => Guarantee::AtLeastOnce,
            _ => Guarantee::ExactlyOnce,
        }
    }

    pub(crate) fn rescales(&self) -> bool {
        self.parallelism.len() > 1
    }

    pub(crate) fn label(&self) -> String {
        let direction = match (self.rescales(), self.rescale) {
            (false, _) | (true, Rescale::Any) => "",
            (true, Rescale::Up) => ", scaling up",
            (true, Rescale::Down) => ", scaling down",
        };
        format!(
            "{} ({}, {}, parallelism {}{direction})",
            self.name,
            self.mode.name(),
            self.backend.name(),
            self.parallelism
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("/")
        )
    }

    /// About how long a run lasts without kills.
    pub(crate) fn run_time(&self) -> Duration {
        if self.rate > 0.0 {
            Duration::from_secs_f64((self.records as f64 / self.rate).min(60.0))
        } else {
            Duration::from_secs(1)
        }
    }
}

/// Which way a rescaling scenario changes the parallelism on restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rescale {
    /// To any other parallelism.
    Any,
    /// To a larger one (fresh starts at the smallest; at the largest, it stays).
    Up,
    /// To a smaller one (fresh starts at the largest; at the smallest, it stays).
    Down,
}

/// How much a test does: set from the environment by [`Budget::from_env`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Rounds are run until at least this many kills happened.
    pub kills: u32,
    /// Run only the round with this seed.
    pub seed: Option<u64>,
}

impl Budget {
    /// `WEIR_CHAOS_KILLS` (default `default_kills`) and `WEIR_CHAOS_SEED`; an
    /// unparsable value is an error naming the variable.
    pub fn from_env(default_kills: u32) -> Result<Budget, ChaosError> {
        let read = |name: &str| -> Result<Option<u64>, ChaosError> {
            match std::env::var(name) {
                Ok(text) => text
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| ChaosError::Option(format!("{name}={text} is not a non-negative integer"))),
                Err(_) => Ok(None),
            }
        };
        let kills = match read(KILLS_VAR)? {
            Some(kills) => u32::try_from(kills).map_err(|_| ChaosError::Option(format!("{KILLS_VAR} is too large")))?,
            None => default_kills,
        };
        Ok(Budget {
            kills,
            seed: read(SEED_VAR)?,
        })
    }
}
