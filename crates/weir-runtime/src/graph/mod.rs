//! Job graphs.
//!
//! * [`StreamGraph`]: one node per operator, as the API (DataStream, and later SQL and
//!   the topology API) built it, with the partitioning of every edge.
//! * [`JobGraph`]: nodes connected by chainable forward edges merged into vertices
//!   (chains); parallelism and key groups resolved and validated.
//! * [`ExecutionGraph`]: each vertex expanded to its subtasks and each edge to the
//!   channels between them; the executor runs it.

mod execution_graph;
mod job_graph;
mod stream_graph;

pub use execution_graph::{ChannelSpec, ExecutionGraph, SubtaskId};
pub use job_graph::{JobEdge, JobGraph, JobVertex};
pub use stream_graph::{ChainingStrategy, NodeId, OperatorFactory, Partitioning, StreamEdge, StreamGraph, StreamNode};
