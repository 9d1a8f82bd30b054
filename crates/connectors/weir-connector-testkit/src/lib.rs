//! Test support shared by the queue connectors' tests (RabbitMQ, NATS, MQTT); a
//! dev-dependency only, never published.
//!
//! * [`services`](mod@services): the real broker, started through `scripts/services.sh`, and the
//!   `WEIR_TEST_*` variables it exports.
//! * [`reader`]: a source reader driven by hand the way the runtime drives it
//!   (poll, wait on its waker, snapshot, notify), and [`reader::Numbers`], a
//!   format of decimal numbers.
//! * [`factory`]: a connector's registry factory with the JSON format, built
//!   from string options.
//! * [`kill`]: a checkpointing loop that a child process runs and the test kills
//!   with SIGKILL at seeded moments, compared with an oracle afterwards.
//!
//! Tests panic (never skip) when a service cannot be started.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod factory;
pub mod job;
pub mod kill;
pub mod oracle;
pub mod reader;
pub mod services;

pub use oracle::{assert_at_least_once, assert_exactly_once};
pub use reader::{context, read_for, read_until, read_until_error, write_all, Numbers};
pub use services::{repo_root, service, services};
