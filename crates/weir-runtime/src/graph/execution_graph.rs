//! The execution graph: the job graph expanded to subtasks and channels.

use super::JobGraph;
use std::fmt;

/// One subtask of a vertex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubtaskId {
    /// The vertex.
    pub vertex: usize,
    /// The subtask's index.
    pub subtask: usize,
}

/// One channel between two subtasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSpec {
    /// The job edge it belongs to.
    pub edge: usize,
    /// Sending subtask.
    pub source: SubtaskId,
    /// Receiving subtask.
    pub target: SubtaskId,
    /// Input of the receiving task (0, or 1 for the second input).
    pub target_input: usize,
}

/// Every subtask of a job and every channel between them. The local executor turns
/// each subtask into a task thread and each channel into a bounded queue; a cluster
/// scheduler places subtasks into slots and makes channels remote where the two
/// ends are in different processes.
#[derive(Debug, Clone)]
pub struct ExecutionGraph {
    /// Subtasks per vertex (the vertex's parallelism).
    pub subtasks: Vec<usize>,
    /// Channels, grouped by edge and sending subtask, in the order of the sender's
    /// record writer (so the index within a group is the partitioner's target).
    pub channels: Vec<ChannelSpec>,
}

impl ExecutionGraph {
    /// Expands `graph`: all-to-all edges connect every sending subtask to every
    /// receiving one; pointwise (forward) edges connect subtask *i* to subtask *i*.
    pub fn from_job_graph(graph: &JobGraph) -> Self {
        let mut channels = Vec::new();
        for edge in &graph.edges {
            let (sv, tv) = (edge.source_vertex, edge.target_vertex);
            let (sp, tp) = (graph.vertices[sv].parallelism, graph.vertices[tv].parallelism);
            for source in 0..sp {
                let targets: Vec<usize> = if edge.kind.is_pointwise() {
                    vec![source % tp]
                } else {
                    (0..tp).collect()
                };
                for target in targets {
                    channels.push(ChannelSpec {
                        edge: edge.id,
                        source: SubtaskId {
                            vertex: sv,
                            subtask: source,
                        },
                        target: SubtaskId {
                            vertex: tv,
                            subtask: target,
                        },
                        target_input: edge.target_input,
                    });
                }
            }
        }
        ExecutionGraph {
            subtasks: graph.vertices.iter().map(|v| v.parallelism).collect(),
            channels,
        }
    }

    /// Total number of subtasks.
    pub fn total_subtasks(&self) -> usize {
        self.subtasks.iter().sum()
    }
}

impl fmt::Display for ExecutionGraph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} subtasks in {} vertices, {} channels",
            self.total_subtasks(),
            self.subtasks.len(),
            self.channels.len()
        )
    }
}
