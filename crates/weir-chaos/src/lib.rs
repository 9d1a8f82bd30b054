//! # Process-kill tests for Weir
//!
//! Test support, not part of the engine: a stateful exactly-once job that runs as
//! a child process (the `weir-chaos-job` binary, [`job`]) and a [`Harness`] that
//! kills it with SIGKILL at points chosen by a seeded RNG, restarts it from the
//! latest retained checkpoint until the job finishes, and then compares the
//! committed output with an oracle computed in a straightforward batch way
//! ([`oracle`]): nothing lost, nothing duplicated (at-least-once: nothing lost).
//!
//! The job reports its progress as marker lines on standard output ([`markers`])
//! and, run with `--interactive`, waits for the harness's reply at the points
//! where a kill matters most, so the harness can kill it exactly there:
//!
//! * at a seeded random moment after the start (also early: start-up, restore);
//! * right after a checkpoint completed and before a sink subtask committed it
//!   (the sink is held at its commit notification);
//! * during a restore, before a sink subtask committed the transactions restored
//!   for it (others may have);
//! * for the end-of-input scenario only: after every source finished.
//!
//! Everything the job does goes through the `weir` facade's public API; the hooks
//! are a wrapping source and sink ([`hooks`]). Scenarios (checkpoint mode, state
//! backend, rescaling) are described by [`Scenario`]; `tests/it/process_kill.rs` runs
//! one test per scenario. `WEIR_CHAOS_KILLS=<n>` sets how many kills each test makes
//! at least, `WEIR_CHAOS_SEED=<s>` reruns the round with seed `s`; a failure
//! prints its seed, the runs of its round and the command that reruns it.

pub mod error;
pub mod harness;
pub mod hooks;
pub mod job;
pub mod markers;
pub mod oracle;
pub mod plan;
pub mod report;
pub mod retained;
pub mod scenario;
mod watch;

pub use error::ChaosError;
pub use harness::Harness;
pub use job::{Backend, JobOptions};
pub use oracle::{Comparison, Guarantee};
pub use plan::KillPlan;
pub use report::{Failure, KillPoint, Summary};
pub use scenario::{Budget, Rescale, Scenario, KILLS_VAR, SEED_VAR};
pub use watch::HANG_LIMIT;
