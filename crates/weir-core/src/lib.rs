//! Core types shared by every Weir crate.
//!
//! * [`Data`]: the bound every record type satisfies.
//! * [`StreamRecord`] and [`Watermark`]: what flows between operators.
//! * [`keygroup`]: how keys map to key groups and key groups to subtasks.
//! * [`hash`]: the stable, platform-independent hash behind key groups.
//! * [`WeirError`]: the typed error every library crate returns.
//! * [`time`]: deadlines and durations that saturate instead of overflowing.
//! * [`ExecutionConfig`]: runtime knobs (buffer size, flush timeout, queue bounds,
//!   checkpoints, the [state backend](StateBackendConfig)).
//!
//! ```
//! use weir_core::keygroup::{key_group_for_key, subtask_for_key_group};
//! let kg = key_group_for_key(&"user-42", 128);
//! let subtask = subtask_for_key_group(128, 4, kg);
//! assert!(kg < 128 && subtask < 4);
//! ```

pub mod checkpointing;
pub mod config;
pub mod data;
pub mod error;
pub mod hash;
pub mod keygroup;
pub mod record;
pub mod state_backend;
pub mod storage_retry;
pub mod task_info;
pub mod time;

pub use checkpointing::{CheckpointConfig, CheckpointMode, RestartStrategy};
pub use config::ExecutionConfig;
pub use data::Data;
pub use error::{BoxError, Result, WeirError};
pub use record::{processing_time_now, StreamRecord, Timestamp, Watermark, WatermarkStatus, NO_TIMESTAMP};
pub use state_backend::{RocksDbOptions, StateBackendConfig};
pub use storage_retry::StorageRetry;
pub use task_info::{CancellationFlag, SubtaskInfo};
