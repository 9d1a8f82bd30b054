//! The physical graph: chains of operators (vertices) and the network edges
//! between them.

use super::stream_graph::{ChainingStrategy, NodeId, OperatorFactory, Partitioning, StreamGraph, StreamNode};
use crate::erased::StreamType;
use crate::partitioner::{PartitionKind, PartitionerFactory};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use weir_core::{keygroup, ExecutionConfig, Result, WeirError};

/// A chain of operators that runs as one task per subtask.
#[derive(Debug, Clone)]
pub struct JobVertex {
    /// Position in [`JobGraph::vertices`].
    pub id: usize,
    /// The names of the chained operators joined by `" -> "`.
    pub name: String,
    /// The node that receives the vertex's input.
    pub head: NodeId,
    /// All nodes of the chain, head first, in graph order.
    pub nodes: Vec<NodeId>,
    /// Number of subtasks.
    pub parallelism: usize,
    /// Number of key groups.
    pub max_parallelism: usize,
}

/// A network edge: records leave `source_node` (in `source_vertex`) and enter input
/// `target_input` of the head of `target_vertex` through channels.
#[derive(Clone)]
pub struct JobEdge {
    /// Position in [`JobGraph::edges`].
    pub id: usize,
    /// Producing vertex.
    pub source_vertex: usize,
    /// Producing node inside that vertex's chain.
    pub source_node: NodeId,
    /// Consuming vertex.
    pub target_vertex: usize,
    /// Input of the consuming head (0 or 1).
    pub target_input: usize,
    /// Builds the record writers.
    pub partitioner: Arc<dyn PartitionerFactory>,
    /// The partitioning rule.
    pub kind: PartitionKind,
    /// Type of the records on the edge.
    pub record_type: Arc<dyn StreamType>,
    /// The producing node's side output the edge carries (`None`: main output).
    pub side_output: Option<String>,
}

impl fmt::Debug for JobEdge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobEdge")
            .field("source_vertex", &self.source_vertex)
            .field("target_vertex", &self.target_vertex)
            .field("target_input", &self.target_input)
            .field("kind", &self.kind)
            .finish()
    }
}

/// A validated job with chains formed and parallelism resolved.
#[derive(Clone)]
pub struct JobGraph {
    /// Name of the job.
    pub job_name: String,
    /// Runtime configuration.
    pub config: ExecutionConfig,
    /// The operators, as in the stream graph.
    pub nodes: Vec<StreamNode>,
    /// Resolved parallelism of each node.
    pub node_parallelism: Vec<usize>,
    /// Resolved key groups of each node.
    pub node_max_parallelism: Vec<usize>,
    /// The vertex each node belongs to.
    pub node_vertex: Vec<usize>,
    /// For each node, the nodes fed by direct calls inside the same task, with the
    /// side output that feeds them (`None`: the main output).
    pub chained_outputs: Vec<Vec<(NodeId, Option<String>)>>,
    /// Chains.
    pub vertices: Vec<JobVertex>,
    /// Network edges.
    pub edges: Vec<JobEdge>,
}

impl fmt::Debug for JobGraph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobGraph")
            .field("job_name", &self.job_name)
            .field("vertices", &self.vertices)
            .field("edges", &self.edges)
            .finish()
    }
}

fn node_kind(node: &StreamNode) -> &'static str {
    match node.operator {
        OperatorFactory::Source(_) => "source",
        OperatorFactory::OneInput(_) => "one-input operator",
        OperatorFactory::TwoInput(_) => "two-input operator",
    }
}

impl JobGraph {
    /// Resolves, validates and chains `graph`. Errors name the operator at fault.
    pub fn from_stream_graph(graph: StreamGraph) -> Result<JobGraph> {
        let StreamGraph {
            job_name,
            nodes,
            edges,
            config,
        } = graph;
        config.validate()?;
        if nodes.is_empty() {
            return Err(WeirError::Graph(format!(
                "job '{job_name}' has no operators: add a source and a sink before executing"
            )));
        }

        // Parallelism and key groups.
        let mut node_parallelism = Vec::with_capacity(nodes.len());
        let mut node_max_parallelism = Vec::with_capacity(nodes.len());
        let mut uids = HashSet::new();
        for node in &nodes {
            let parallelism = node.parallelism.unwrap_or(config.default_parallelism);
            let max_parallelism = node.max_parallelism.unwrap_or(config.max_parallelism);
            keygroup::validate(parallelism, max_parallelism)
                .map_err(|e| WeirError::Config(format!("operator '{}': {e}", node.name)))?;
            if let OperatorFactory::Source(source) = &node.operator {
                if config.checkpointing.enabled() && !source.replayable() {
                    return Err(WeirError::Config(format!(
                        "source '{}' cannot replay its input, so it cannot take part in checkpoints; use a \
                         replayable source or disable checkpointing",
                        node.name
                    )));
                }
                if let Some(max) = source.max_parallelism() {
                    if parallelism > max {
                        return Err(WeirError::Config(format!(
                            "operator '{}': this source supports parallelism up to {max}, but {parallelism} was \
                             requested; set its parallelism to {max}",
                            node.name
                        )));
                    }
                }
            }
            if let Some(uid) = &node.uid {
                if !uids.insert(uid.clone()) {
                    return Err(WeirError::Graph(format!(
                        "uid '{uid}' is used by more than one operator (the second is '{}'); uids must be unique",
                        node.name
                    )));
                }
            }
            node_parallelism.push(parallelism);
            node_max_parallelism.push(max_parallelism);
        }

        // Edges: validate inputs and resolve partitioning.
        let mut inputs_per_node: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
        let mut resolved: Vec<(Arc<dyn PartitionerFactory>, PartitionKind)> = Vec::with_capacity(edges.len());
        for (index, edge) in edges.iter().enumerate() {
            let (Some(source), Some(target)) = (nodes.get(edge.source), nodes.get(edge.target)) else {
                return Err(WeirError::Internal(format!("edge {index} refers to a missing node")));
            };
            if edge.source >= edge.target {
                return Err(WeirError::Internal(format!(
                    "edge from '{}' to '{}' goes backwards",
                    source.name, target.name
                )));
            }
            let max_inputs = match target.operator {
                OperatorFactory::Source(_) => 0,
                OperatorFactory::OneInput(_) => 1,
                OperatorFactory::TwoInput(_) => 2,
            };
            if edge.target_input >= max_inputs {
                return Err(WeirError::Graph(format!(
                    "'{}' is a {} and has no input {}",
                    target.name,
                    node_kind(target),
                    edge.target_input
                )));
            }
            let (sp, tp) = (node_parallelism[edge.source], node_parallelism[edge.target]);
            let record_type = source.output_type_of(edge.side_output.as_deref()).ok_or_else(|| {
                WeirError::Internal(format!(
                    "'{}' has no side output '{}'",
                    source.name,
                    edge.side_output.as_deref().unwrap_or_default()
                ))
            })?;
            let partitioner = match &edge.partitioning {
                Partitioning::Given(p) => p.clone(),
                Partitioning::Default if sp == tp => record_type.forward(),
                Partitioning::Default => record_type.rebalance(),
            };
            let kind = partitioner.kind();
            if kind == PartitionKind::Forward && sp != tp {
                return Err(WeirError::Graph(format!(
                    "forward partitioning from '{}' (parallelism {sp}) to '{}' (parallelism {tp}) needs equal \
                     parallelism; use rebalance() or another partitioning, or make the parallelism equal",
                    source.name, target.name
                )));
            }
            inputs_per_node[edge.target].push(index);
            resolved.push((partitioner, kind));
        }
        for node in &nodes {
            let wanted = match node.operator {
                OperatorFactory::Source(_) => continue,
                OperatorFactory::OneInput(_) => vec![0],
                OperatorFactory::TwoInput(_) => vec![0, 1],
            };
            for input in wanted {
                if !inputs_per_node[node.id].iter().any(|&e| edges[e].target_input == input) {
                    return Err(WeirError::Graph(format!(
                        "'{}' has nothing connected to its input {input}",
                        node.name
                    )));
                }
            }
        }

        // Chaining: a forward edge into a node with a single input, equal parallelism.
        let mut chained_from: Vec<Option<NodeId>> = vec![None; nodes.len()];
        let mut chained_outputs: Vec<Vec<(NodeId, Option<String>)>> = vec![Vec::new(); nodes.len()];
        let mut network_edges = Vec::new();
        for (index, edge) in edges.iter().enumerate() {
            let (source, target) = (&nodes[edge.source], &nodes[edge.target]);
            let chainable = config.chaining
                && resolved[index].1 == PartitionKind::Forward
                && inputs_per_node[edge.target].len() == 1
                && matches!(target.operator, OperatorFactory::OneInput(_))
                && target.chaining == ChainingStrategy::Always
                && source.chaining != ChainingStrategy::Never
                && node_parallelism[edge.source] == node_parallelism[edge.target];
            if chainable {
                chained_from[edge.target] = Some(edge.source);
                chained_outputs[edge.source].push((edge.target, edge.side_output.clone()));
            } else {
                network_edges.push(index);
            }
        }

        // Vertices: nodes are in topological order, so a chained node's predecessor
        // already has its vertex.
        let mut node_vertex = vec![usize::MAX; nodes.len()];
        let mut vertices: Vec<JobVertex> = Vec::new();
        for node in &nodes {
            match chained_from[node.id] {
                Some(pred) => {
                    let vertex = node_vertex[pred];
                    node_vertex[node.id] = vertex;
                    vertices[vertex].nodes.push(node.id);
                }
                None => {
                    let id = vertices.len();
                    node_vertex[node.id] = id;
                    vertices.push(JobVertex {
                        id,
                        name: String::new(),
                        head: node.id,
                        nodes: vec![node.id],
                        parallelism: node_parallelism[node.id],
                        max_parallelism: node_max_parallelism[node.id],
                    });
                }
            }
        }
        for vertex in &mut vertices {
            vertex.name = vertex
                .nodes
                .iter()
                .map(|&n| nodes[n].name.as_str())
                .collect::<Vec<_>>()
                .join(" -> ");
        }

        let edges = network_edges
            .into_iter()
            .enumerate()
            .map(|(id, index)| {
                let edge = &edges[index];
                JobEdge {
                    id,
                    source_vertex: node_vertex[edge.source],
                    source_node: edge.source,
                    target_vertex: node_vertex[edge.target],
                    target_input: edge.target_input,
                    partitioner: resolved[index].0.clone(),
                    kind: resolved[index].1,
                    record_type: nodes[edge.source]
                        .output_type_of(edge.side_output.as_deref())
                        .cloned()
                        .unwrap_or_else(|| nodes[edge.source].output_type.clone()),
                    side_output: edge.side_output.clone(),
                }
            })
            .collect();

        Ok(JobGraph {
            job_name,
            config,
            nodes,
            node_parallelism,
            node_max_parallelism,
            node_vertex,
            chained_outputs,
            vertices,
            edges,
        })
    }

    /// The id under which `node`'s state is stored: its uid, or its position and
    /// name in the graph (stable as long as the job is built the same way).
    pub fn operator_id(&self, node: NodeId) -> String {
        let n = &self.nodes[node];
        match &n.uid {
            Some(uid) => uid.clone(),
            None => format!("{}:{}", n.id, n.name),
        }
    }

    /// The network edges leaving `node`.
    pub fn edges_from_node(&self, node: NodeId) -> impl Iterator<Item = &JobEdge> {
        self.edges.iter().filter(move |e| e.source_node == node)
    }

    /// The network edges entering `vertex`.
    pub fn edges_into_vertex(&self, vertex: usize) -> impl Iterator<Item = &JobEdge> {
        self.edges.iter().filter(move |e| e.target_vertex == vertex)
    }

    /// Number of operators per vertex name, for tests and plans.
    pub fn vertex_names(&self) -> Vec<String> {
        self.vertices.iter().map(|v| v.name.clone()).collect()
    }

    /// The node whose uid is `uid`.
    pub fn node_by_uid(&self, uid: &str) -> Option<&StreamNode> {
        self.nodes.iter().find(|n| n.uid.as_deref() == Some(uid))
    }

    /// The execution config.
    pub fn config(&self) -> &ExecutionConfig {
        &self.config
    }
}

impl fmt::Display for JobGraph {
    /// A readable plan: one line per vertex, one per edge.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "job '{}'", self.job_name)?;
        let mut incoming: HashMap<usize, Vec<&JobEdge>> = HashMap::new();
        for e in &self.edges {
            incoming.entry(e.target_vertex).or_default().push(e);
        }
        for v in &self.vertices {
            writeln!(f, "  [{}] {} (parallelism {})", v.id, v.name, v.parallelism)?;
            for e in incoming.get(&v.id).into_iter().flatten() {
                writeln!(
                    f,
                    "      <- [{}] {} (input {})",
                    e.source_vertex,
                    e.kind.name(),
                    e.target_input
                )?;
            }
        }
        Ok(())
    }
}
