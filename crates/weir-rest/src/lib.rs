//! Weir's REST API: the control plane of a Weir process.
//!
//! A process that runs jobs (today `weir demo`; later the coordinator) puts each
//! job's [`JobHandle`](weir_runtime::JobHandle) in a [`JobRegistry`] and serves it
//! with a [`RestServer`]; the `weir` command (`weir list`, `weir savepoint`,
//! `weir stop`, `weir cancel`) talks to it with a [`RestClient`]. Paths and JSON
//! field names follow Flink's REST API (see [`server`] for the endpoints); the
//! dashboard and the cluster's job submission will add endpoints here.
//!
//! **Security.** Whoever reaches the API can stop and cancel jobs and have the
//! process write savepoints. So: without a token ([`RestOptions::with_token`]) the
//! server listens only on loopback addresses; with one, every request on every path
//! must send `Authorization: Bearer <token>` ([`RestClient::with_token`]); job ids
//! must be given in full; and savepoints go only below the directories the
//! [`JobRegistry`] allows (its default savepoint directory and
//! [`allow_savepoint_dir`](JobRegistry::allow_savepoint_dir)): a request naming
//! another place is refused (403) before anything is written.
//!
//! ```no_run
//! use weir::prelude::*;
//! use weir_rest::{JobRegistry, RestClient, RestServer};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let env = StreamExecutionEnvironment::new();
//! env.enable_checkpointing(std::time::Duration::from_millis(200));
//! env.add_source(GeneratorSource::new(|i| i)).add_sink(DiscardingSink);
//! let job = env.execute_async("numbers")?;
//! let registry = JobRegistry::new().with_default_savepoint_dir("/tmp/savepoints");
//! registry.register(job.handle());
//! let server = RestServer::start("127.0.0.1:8081-8090", registry)?;
//! let client = RestClient::new(&server.url())?;
//! let request = client.trigger_savepoint(job.job_id(), Some("/tmp/savepoints/manual"))?;
//! let savepoint = client.wait_for_savepoint(job.job_id(), &request, std::time::Duration::from_secs(60), |_| {})?;
//! println!("savepoint in {savepoint}");
//! # Ok(()) }
//! ```

mod auth;
mod client;
mod error;
pub mod model;
mod options;
mod registry;
pub mod server;
mod targets;

pub use auth::{BearerToken, MIN_TOKEN_LEN};
pub use client::{RestClient, DEFAULT_ADDRESS};
pub use error::{ApiError, RestError};
pub use options::{RestOptions, DEFAULT_BIND};
pub use registry::JobRegistry;
pub use server::RestServer;
