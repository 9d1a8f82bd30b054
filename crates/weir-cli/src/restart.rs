//! `weir demo`'s restart-strategy options (Flink's `restart-strategy.*`), mapped
//! to weir-core's [`RestartStrategy`].

use crate::values;
use clap::{Args, ValueEnum};
use std::time::Duration;
use weir::prelude::RestartStrategy;

/// The kinds of restart strategy, by Flink's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StrategyKind {
    /// Fail the job at the first failure.
    None,
    /// Wait the same delay before each restart.
    FixedDelay,
    /// Wait longer after each failure in a row, up to a largest delay (the delay
    /// starts over once a checkpoint completes).
    ExponentialDelay,
}

/// Restart attempts: a number or `unlimited`.
fn attempts(text: &str) -> Result<u32, String> {
    match text.trim() {
        "unlimited" | "infinite" => Ok(u32::MAX),
        other => other
            .parse::<u32>()
            .map_err(|_| format!("'{text}' is neither a number of restarts nor 'unlimited'")),
    }
}

/// A backoff multiplier: finite, at least 1.
fn multiplier(text: &str) -> Result<f64, String> {
    let factor: f64 = text.trim().parse().map_err(|_| format!("'{text}' is not a number"))?;
    if !factor.is_finite() || factor < 1.0 {
        return Err("must be a number of at least 1 (1 keeps the delay constant)".into());
    }
    Ok(factor)
}

/// What happens when a task fails (Flink's restart strategies).
#[derive(Debug, Clone, Default, Args)]
pub struct RestartArgs {
    /// What a failure does: `exponential-delay` (the default with checkpointing),
    /// `fixed-delay`, or `none` (the job fails at once; the default without
    /// checkpointing). Each restart and its cause is printed.
    #[arg(long, value_enum)]
    pub restart_strategy: Option<StrategyKind>,
    /// Restarts allowed before the job fails for good: a number or `unlimited`
    /// (the default, as in Flink).
    #[arg(long, value_parser = attempts, value_name = "N|unlimited")]
    pub restart_attempts: Option<u32>,
    /// Wait before each restart (fixed-delay) or before the first restart
    /// (exponential-delay) [default: 100ms].
    #[arg(long, value_parser = values::delay, value_name = "DURATION")]
    pub restart_delay: Option<Duration>,
    /// exponential-delay: the longest wait between restarts [default: 10s].
    #[arg(long, value_parser = values::delay, value_name = "DURATION")]
    pub restart_max_delay: Option<Duration>,
    /// exponential-delay: the factor the wait grows by after each failure in a row
    /// [default: 2].
    #[arg(long, value_parser = multiplier, value_name = "FACTOR")]
    pub restart_backoff: Option<f64>,
}

/// The runtime's default with checkpointing: (first delay, largest delay,
/// multiplier, attempts).
fn defaults() -> (Duration, Duration, f64, u32) {
    match RestartStrategy::default_with_checkpointing() {
        RestartStrategy::ExponentialBackoff {
            initial,
            max,
            multiplier,
            attempts,
            ..
        } => (initial, max, multiplier, attempts),
        _ => (Duration::from_millis(100), Duration::from_secs(10), 2.0, u32::MAX),
    }
}

impl RestartArgs {
    fn any_given(&self) -> bool {
        self.restart_attempts.is_some()
            || self.restart_delay.is_some()
            || self.restart_max_delay.is_some()
            || self.restart_backoff.is_some()
    }

    /// The strategy these options ask for, for a job that takes checkpoints or not.
    pub fn strategy(&self, checkpointing: bool) -> Result<RestartStrategy, String> {
        let kind = self.restart_strategy.unwrap_or(if checkpointing || self.any_given() {
            StrategyKind::ExponentialDelay
        } else {
            StrategyKind::None
        });
        let (initial, max, factor, default_attempts) = defaults();
        let attempts = self.restart_attempts.unwrap_or(default_attempts);
        match kind {
            StrategyKind::None => {
                if self.any_given() {
                    return Err("--restart-strategy none takes no other --restart-* option".into());
                }
                Ok(RestartStrategy::None)
            }
            StrategyKind::FixedDelay => {
                if self.restart_max_delay.is_some() || self.restart_backoff.is_some() {
                    return Err(
                        "--restart-max-delay and --restart-backoff belong to --restart-strategy exponential-delay"
                            .into(),
                    );
                }
                Ok(RestartStrategy::FixedDelay {
                    attempts,
                    delay: self.restart_delay.unwrap_or(initial),
                })
            }
            StrategyKind::ExponentialDelay => {
                let initial = self.restart_delay.unwrap_or(initial);
                let max = self.restart_max_delay.unwrap_or(max.max(initial));
                if max < initial {
                    return Err(format!(
                        "--restart-max-delay ({}) is shorter than --restart-delay ({})",
                        humantime::format_duration(max),
                        humantime::format_duration(initial)
                    ));
                }
                Ok(RestartStrategy::ExponentialBackoff {
                    initial,
                    max,
                    multiplier: self.restart_backoff.unwrap_or(factor),
                    attempts,
                })
            }
        }
    }
}

fn attempts_text(attempts: u32) -> String {
    match attempts {
        u32::MAX => "unlimited restarts".into(),
        1 => "at most 1 restart".into(),
        n => format!("at most {n} restarts"),
    }
}

/// `strategy` in a few words, e.g. "fixed-delay: at most 3 restarts, 1s apart".
pub fn describe(strategy: &RestartStrategy) -> String {
    match strategy {
        RestartStrategy::None => "none: the job fails at its first failure".into(),
        RestartStrategy::FixedDelay { attempts, delay } => format!(
            "fixed-delay: {}, {} apart",
            attempts_text(*attempts),
            humantime::format_duration(*delay)
        ),
        RestartStrategy::ExponentialBackoff {
            initial,
            max,
            multiplier,
            attempts,
            ..
        } => format!(
            "exponential-delay: {}, waiting {} then ×{multiplier} per failure in a row up to {}",
            attempts_text(*attempts),
            humantime::format_duration(*initial),
            humantime::format_duration(*max)
        ),
        #[allow(unreachable_patterns)]
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_checkpointing() {
        let none = RestartArgs::default();
        assert_eq!(none.strategy(false), Ok(RestartStrategy::None));
        assert_eq!(none.strategy(true), Ok(RestartStrategy::default_with_checkpointing()));
    }

    #[test]
    fn options_map_to_the_strategy() {
        let fixed = RestartArgs {
            restart_strategy: Some(StrategyKind::FixedDelay),
            restart_attempts: Some(3),
            restart_delay: Some(Duration::from_millis(10)),
            ..RestartArgs::default()
        };
        assert_eq!(
            fixed.strategy(true),
            Ok(RestartStrategy::FixedDelay {
                attempts: 3,
                delay: Duration::from_millis(10)
            })
        );
        assert_eq!(
            describe(&fixed.strategy(true).unwrap()),
            "fixed-delay: at most 3 restarts, 10ms apart"
        );
        let backoff = RestartArgs {
            restart_attempts: Some(5),
            restart_delay: Some(Duration::from_secs(1)),
            restart_max_delay: Some(Duration::from_secs(60)),
            restart_backoff: Some(1.5),
            ..RestartArgs::default()
        };
        assert_eq!(
            backoff.strategy(false),
            Ok(RestartStrategy::ExponentialBackoff {
                initial: Duration::from_secs(1),
                max: Duration::from_secs(60),
                multiplier: 1.5,
                attempts: 5
            })
        );
    }

    #[test]
    fn contradictions_are_refused() {
        let e = RestartArgs {
            restart_strategy: Some(StrategyKind::None),
            restart_attempts: Some(3),
            ..RestartArgs::default()
        };
        assert!(e.strategy(true).unwrap_err().contains("takes no other"));
        let e = RestartArgs {
            restart_strategy: Some(StrategyKind::FixedDelay),
            restart_backoff: Some(2.0),
            ..RestartArgs::default()
        };
        assert!(e.strategy(true).unwrap_err().contains("belong to"));
        let e = RestartArgs {
            restart_delay: Some(Duration::from_secs(10)),
            restart_max_delay: Some(Duration::from_secs(1)),
            ..RestartArgs::default()
        };
        assert!(e.strategy(true).unwrap_err().contains("shorter than"));
        assert!(attempts("unlimited") == Ok(u32::MAX) && attempts("x").is_err());
        assert!(multiplier("0.5").is_err() && multiplier("1") == Ok(1.0));
    }
}
