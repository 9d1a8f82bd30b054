//! Creating the channels of every network edge.

use crate::channel::{AnyChannel, ChannelStats};
use crate::graph::{ExecutionGraph, JobGraph};
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

/// Creates the channels of `execution` and sorts them into per-subtask inputs and
/// outputs. `tasks[v][i]` is subtask `i` of vertex `v`.
pub(crate) fn wire(
    graph: &JobGraph,
    execution: &ExecutionGraph,
    tasks: &[Vec<Arc<TaskShared>>],
) -> (Vec<Vec<SubtaskIo>>, Vec<WiredChannel>) {
    let mut io: Vec<Vec<SubtaskIo>> = execution
        .subtasks
        .iter()
        .map(|&n| (0..n).map(|_| SubtaskIo::default()).collect())
        .collect();
    let mut all = Vec::with_capacity(execution.channels.len());
    let config = &graph.config;
    for spec in &execution.channels {
        let (source, target) = (spec.source, spec.target);
        let channel = graph.edges[spec.edge].record_type.new_channel(
            config.channel_capacity,
            config.channel_capacity_bytes,
            config.buffer_size,
            tasks[source.vertex][source.subtask].signal().clone(),
            tasks[target.vertex][target.subtask].signal().clone(),
        );
        io[target.vertex][target.subtask].inputs[spec.target_input].push(channel.clone());
        io[source.vertex][source.subtask]
            .outputs
            .entry(spec.edge)
            .or_default()
            .push(channel.clone());
        all.push(WiredChannel {
            edge: spec.edge,
            source_subtask: source.subtask,
            target_subtask: target.subtask,
            channel,
        });
    }
    (io, all)
}
