//! Building one subtask: its operator chain and the task around it.

use super::wiring::SubtaskIo;
use crate::erased::AnyInput;
use crate::factory::BuildContext;
use crate::failure::{FailureCause, OperatorFailure, OperatorMeta};
use crate::graph::{JobGraph, NodeId, OperatorFactory};
use crate::partitioner::WriterContext;
use crate::task::{TaskBody, TaskShared};
use std::sync::Arc;
use weir_core::{ExecutionConfig, SubtaskInfo};

pub(crate) struct SubtaskBuilder<'a> {
    pub graph: &'a JobGraph,
    pub config: &'a Arc<ExecutionConfig>,
    pub subtask: usize,
    pub attempt: u32,
    pub task: &'a Arc<TaskShared>,
    pub io: SubtaskIo,
}

impl SubtaskBuilder<'_> {
    fn meta(&self, node: NodeId) -> OperatorMeta {
        OperatorMeta::new(
            self.graph.nodes[node].name.as_str(),
            self.subtask,
            self.graph.node_parallelism[node],
        )
    }

    fn context(&self, node: NodeId) -> BuildContext {
        let mut info = SubtaskInfo::new(
            self.graph.nodes[node].name.clone(),
            self.subtask,
            self.graph.node_parallelism[node],
            self.graph.node_max_parallelism[node],
        );
        info.attempt = self.attempt;
        BuildContext {
            info,
            meta: self.meta(node),
            task: self.task.clone(),
            config: self.config.clone(),
        }
    }

    fn failure(&self, node: NodeId, cause: impl std::fmt::Display) -> OperatorFailure {
        let meta = self.meta(node);
        OperatorFailure {
            operator: meta.name,
            subtask: meta.subtask,
            parallelism: meta.parallelism,
            cause: FailureCause::Error(cause.to_string()),
        }
    }

    /// Everything `node` emits into: chained operators and record writers.
    fn outputs(&mut self, node: NodeId) -> Result<AnyInput, OperatorFailure> {
        let graph = self.graph;
        let mut outputs = Vec::new();
        for &target in &graph.chained_outputs[node] {
            outputs.push(self.operator(target)?);
        }
        for edge in graph.edges_from_node(node) {
            let channels = self.io.outputs.remove(&edge.id).unwrap_or_default();
            let target_head = graph.vertices[edge.target_vertex].head;
            let context = WriterContext {
                meta: self.meta(node),
                task: self.task.clone(),
                buffer_size: self.config.buffer_size,
                flush_every_record: self.config.buffer_timeout.is_zero(),
                target_max_parallelism: graph.node_max_parallelism[target_head],
                subtask: self.subtask,
                seed: self.config.seed ^ ((edge.id as u64) << 32),
            };
            let writer = edge
                .partitioner
                .create_writer(&context, channels)
                .map_err(|e| self.failure(node, e))?;
            outputs.push(writer);
        }
        graph.nodes[node]
            .output_type
            .fan_out(outputs)
            .map_err(|e| self.failure(node, e))
    }

    /// A chained (non-head) one-input operator with its downstream chain.
    fn operator(&mut self, node: NodeId) -> Result<AnyInput, OperatorFailure> {
        let output = self.outputs(node)?;
        match &self.graph.nodes[node].operator {
            OperatorFactory::OneInput(factory) => factory
                .create_operator(&self.context(node), output)
                .map_err(|e| self.failure(node, e)),
            _ => Err(self.failure(
                node,
                "internal error: only one-input operators can be chained",
            )),
        }
    }

    /// The task of the vertex headed by `head`.
    pub fn task(mut self, head: NodeId) -> Result<Box<dyn TaskBody>, OperatorFailure> {
        let context = self.context(head);
        match self.graph.nodes[head].operator.clone() {
            OperatorFactory::Source(factory) => {
                let output = self.outputs(head)?;
                factory
                    .create_task(&context, output)
                    .map_err(|e| self.failure(head, e))
            }
            OperatorFactory::OneInput(factory) => {
                let operator = self.operator(head)?;
                let inputs = std::mem::take(&mut self.io.inputs[0]);
                factory
                    .create_task(&context, operator, inputs)
                    .map_err(|e| self.failure(head, e))
            }
            OperatorFactory::TwoInput(factory) => {
                let output = self.outputs(head)?;
                let inputs1 = std::mem::take(&mut self.io.inputs[0]);
                let inputs2 = std::mem::take(&mut self.io.inputs[1]);
                factory
                    .create_task(&context, output, inputs1, inputs2)
                    .map_err(|e| self.failure(head, e))
            }
        }
    }
}
