//! The Nexmark benchmark on Weir: the generator as a parallel, replayable source
//! ([`NexmarkSource`]), the 23 queries q0–q22 on the DataStream API (following the
//! SQL texts of the Flink Nexmark benchmark; see [`queries`]), and the runner behind
//! `weir nexmark run`, which reports events per second and per CPU-second the way
//! the Flink harness does. With [`RunOptions::input`] the events come from the
//! JSON-lines file `weir nexmark generate` writes, through the filesystem
//! connector's file source and the JSON format.
//!
//! ```
//! use weir_nexmark::NexmarkConfig;
//! use weir_nexmark_queries::{run, Query, QueryOutput, RunOptions};
//!
//! let options = RunOptions {
//!     query: "q2".parse()?,
//!     config: NexmarkConfig { num_events: 10_000, ..NexmarkConfig::default() },
//!     parallelism: 2,
//!     rate_limit: None,
//!     output: QueryOutput::Collect,
//!     input: None,
//! };
//! let (report, rows) = run(&options)?;
//! assert_eq!(report.events, 10_000);
//! assert!(rows.iter().all(|row| row.starts_with("{\"auction\":")));
//! # Ok::<(), weir_nexmark_queries::NexmarkError>(())
//! ```

mod change;
pub mod compare;
mod error;
mod file_events;
mod output;
pub mod queries;
mod runner;
mod source;
pub mod sql;

pub use change::{Change, Op};
pub use error::NexmarkError;
pub use file_events::{fields_read_by, file_source};
pub use output::QueryOutput;
pub use runner::{build, events, execute_measured, run, Query, RunOptions, RunReport, WATERMARK_DELAY};
pub use source::NexmarkSource;
