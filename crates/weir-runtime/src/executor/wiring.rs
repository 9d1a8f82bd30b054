//! Creating the channels of every network edge.

use crate::channel::{AnyChannel, ChannelStats};
use crate::graph::JobGraph;
use crate::task::TaskShared;
use std::collections::HashMap;
use std::sync::Arc;

/// The channels one subtask writes to (per edge) and reads from (per input).
#[derive(Default)]
pub(crate) struct SubtaskIo {
    pub outputs: HashMap<usize, Vec<Arc<dyn AnyChannel>>>,
    pub inputs: [Vec<Arc<dyn AnyChannel>>; 2],
}

/// One channel, with where it runs, for reports.
pub(crate) struct WiredChannel {
    pub edge: usize,
    pub source_subtask: usize,
    pub target_subtask: usize,
    pub channel: Arc<dyn AnyChannel>,
}

/// Figures of one channel after a run.
#[derive(Debug, Clone)]
pub struct ChannelReport {
    /// Name of the sending vertex.
    pub source_vertex: String,
    /// Sending subtask.
    pub source_subtask: usize,
    /// Name of the receiving vertex.
    pub target_vertex: String,
    /// Receiving subtask.
    pub target_subtask: usize,
    /// Occupancy figures.
    pub stats: ChannelStats,
}

/// Creates every channel and sorts them into per-subtask inputs and outputs.
/// `tasks[v][i]` is subtask `i` of vertex `v`.
pub(crate) fn wire(graph: &JobGraph, tasks: &[Vec<Arc<TaskShared>>]) -> (Vec<Vec<SubtaskIo>>, Vec<WiredChannel>) {
    let mut io: Vec<Vec<SubtaskIo>> = graph
        .vertices
        .iter()
        .map(|v| (0..v.parallelism).map(|_| SubtaskIo::default()).collect())
        .collect();
    let mut all = Vec::new();
    let config = &graph.config;
    for edge in &graph.edges {
        let (sv, tv) = (edge.source_vertex, edge.target_vertex);
        let (sp, tp) = (graph.vertices[sv].parallelism, graph.vertices[tv].parallelism);
        for source in 0..sp {
            let targets: Vec<usize> = if edge.kind.is_pointwise() {
                vec![source % tp]
            } else {
                (0..tp).collect()
            };
            let mut outputs = Vec::with_capacity(targets.len());
            for target in targets {
                let channel = edge.record_type.new_channel(
                    config.channel_capacity,
                    config.buffer_size,
                    tasks[sv][source].signal().clone(),
                    tasks[tv][target].signal().clone(),
                );
                io[tv][target].inputs[edge.target_input].push(channel.clone());
                outputs.push(channel.clone());
                all.push(WiredChannel {
                    edge: edge.id,
                    source_subtask: source,
                    target_subtask: target,
                    channel,
                });
            }
            io[sv][source].outputs.insert(edge.id, outputs);
        }
    }
    (io, all)
}
