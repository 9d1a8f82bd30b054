//! The logical graph: one node per operator.

use crate::erased::StreamType;
use crate::factory::{OneInputFactory, SourceFactory, TwoInputFactory};
use crate::partitioner::PartitionerFactory;
use std::sync::Arc;
use weir_core::ExecutionConfig;

/// Index of a node in [`StreamGraph::nodes`].
pub type NodeId = usize;

/// How a node's operator is built.
#[derive(Clone)]
pub enum OperatorFactory {
    /// A source (no inputs).
    Source(Arc<dyn SourceFactory>),
    /// An operator with one input (possibly fed by several unioned streams).
    OneInput(Arc<dyn OneInputFactory>),
    /// An operator with two inputs of different types.
    TwoInput(Arc<dyn TwoInputFactory>),
}

/// Whether a node may share a task with its neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ChainingStrategy {
    /// Chain with the predecessor and successors whenever possible.
    #[default]
    Always,
    /// Start a new chain here (successors may still chain to this node).
    Head,
    /// Never chain: the node runs in a task of its own.
    Never,
}

/// One operator of the logical graph.
#[derive(Clone)]
pub struct StreamNode {
    /// Position in [`StreamGraph::nodes`].
    pub id: NodeId,
    /// Display name, used in logs, errors and metrics.
    pub name: String,
    /// Stable user-assigned id, used to map state to operators across job versions.
    pub uid: Option<String>,
    /// Parallelism, or `None` for the job's default.
    pub parallelism: Option<usize>,
    /// Number of key groups, or `None` for the job's default.
    pub max_parallelism: Option<usize>,
    /// How the operator is built.
    pub operator: OperatorFactory,
    /// Type of the records the node emits.
    pub output_type: Arc<dyn StreamType>,
    /// Chaining preference.
    pub chaining: ChainingStrategy,
    /// Side outputs consumed downstream: tag name and record type.
    pub side_outputs: Vec<(String, Arc<dyn StreamType>)>,
}

impl StreamNode {
    /// The type of the records on output `side_output` (the main output for `None`).
    pub fn output_type_of(&self, side_output: Option<&str>) -> Option<&Arc<dyn StreamType>> {
        match side_output {
            None => Some(&self.output_type),
            Some(name) => self.side_outputs.iter().find(|(n, _)| n == name).map(|(_, t)| t),
        }
    }
}

/// How an edge distributes records.
#[derive(Clone)]
#[non_exhaustive]
pub enum Partitioning {
    /// Forward between operators of equal parallelism, rebalance otherwise.
    Default,
    /// An explicit partitioner.
    Given(Arc<dyn PartitionerFactory>),
}

/// A stream from one node into an input of another.
#[derive(Clone)]
pub struct StreamEdge {
    /// Producing node.
    pub source: NodeId,
    /// Consuming node.
    pub target: NodeId,
    /// Which input of the consumer (0, or 1 for the second input of two-input nodes).
    pub target_input: usize,
    /// How records are distributed.
    pub partitioning: Partitioning,
    /// The source's side output this edge carries (`None`: its main output).
    pub side_output: Option<String>,
}

/// A job as the API built it.
#[derive(Clone)]
pub struct StreamGraph {
    /// Name of the job.
    pub job_name: String,
    /// Operators, in an order where every edge goes from a lower to a higher id.
    pub nodes: Vec<StreamNode>,
    /// Streams between operators.
    pub edges: Vec<StreamEdge>,
    /// Runtime configuration.
    pub config: ExecutionConfig,
}

impl StreamGraph {
    /// An empty graph.
    pub fn new(job_name: impl Into<String>, config: ExecutionConfig) -> Self {
        StreamGraph {
            job_name: job_name.into(),
            nodes: Vec::new(),
            edges: Vec::new(),
            config,
        }
    }

    /// Adds a node and returns its id. The node's `id` field is overwritten.
    pub fn add_node(&mut self, mut node: StreamNode) -> NodeId {
        node.id = self.nodes.len();
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// Adds an edge.
    pub fn add_edge(&mut self, edge: StreamEdge) {
        self.edges.push(edge);
    }
}
