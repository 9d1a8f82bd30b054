//! Building one subtask: its operator chain and the task around it.

use super::restore::JobRestore;
use super::wiring::SubtaskIo;
use crate::factory::BuildContext;
use crate::failure::{FailureCause, OperatorFailure, OperatorMeta};
use crate::graph::{JobGraph, NodeId, OperatorFactory};
use crate::operator::{AnyInput, SideOutputs};
use crate::snapshot::{take_end_of_input, Restored};
use crate::task::{TaskBody, TaskReporter, TaskShared};
use crate::writer::WriterContext;
use std::sync::Arc;
use weir_core::{ExecutionConfig, SubtaskInfo};

pub(crate) struct SubtaskBuilder<'a> {
    pub graph: &'a JobGraph,
    pub config: &'a Arc<ExecutionConfig>,
    pub subtask: usize,
    pub attempt: u32,
    pub task: &'a Arc<TaskShared>,
    pub io: SubtaskIo,
    pub restore: Option<&'a JobRestore>,
    pub reporter: Option<Arc<dyn TaskReporter>>,
    pub state_backend: &'a weir_state::StateBackend,
}

impl SubtaskBuilder<'_> {
    fn meta(&self, node: NodeId) -> OperatorMeta {
        OperatorMeta::new(
            self.graph.nodes[node].name.as_str(),
            self.subtask,
            self.graph.node_parallelism[node],
        )
    }

    fn info(&self, node: NodeId) -> SubtaskInfo {
        let mut info = SubtaskInfo::new(
            self.graph.nodes[node].name.clone(),
            self.subtask,
            self.graph.node_parallelism[node],
            self.graph.node_max_parallelism[node],
        );
        info.attempt = self.attempt;
        info.cancellation = self.task.cancellation().clone();
        info
    }

    fn restored(&self, node: NodeId) -> Result<Restored, OperatorFailure> {
        let Some(restore) = self.restore else {
            return Ok(None);
        };
        let info = self.info(node);
        restore
            .operator(
                &self.graph.operator_id(node),
                self.subtask,
                info.parallelism,
                info.key_group_range(),
            )
            .map_err(|e| self.failure(node, FailureCause::Restore(e)))
    }

    fn context(&self, node: NodeId) -> Result<BuildContext, OperatorFailure> {
        let is_head = self.graph.vertices[self.graph.node_vertex[node]].head == node;
        let channel_state = match (self.restore, is_head) {
            (Some(restore), true) => restore
                .channel_state(
                    &self.graph.operator_id(node),
                    self.subtask,
                    self.graph.node_parallelism[node],
                )
                .map_err(|e| self.failure(node, FailureCause::Restore(e)))?,
            _ => Vec::new(),
        };
        let restored = self.restored(node)?;
        let (restored, restored_input_ended) = match is_head {
            true => take_end_of_input(restored, self.subtask, self.graph.node_parallelism[node]),
            false => (restored, false),
        };
        Ok(BuildContext {
            info: self.info(node),
            meta: self.meta(node),
            operator_id: self.graph.operator_id(node),
            task: self.task.clone(),
            config: self.config.clone(),
            restored,
            restored_input_ended,
            channel_state: Arc::new(channel_state),
            reporter: self.reporter.clone(),
            state_backend: self.state_backend.clone(),
        })
    }

    fn failure(&self, node: NodeId, cause: FailureCause) -> OperatorFailure {
        let meta = self.meta(node);
        OperatorFailure {
            operator: meta.name,
            subtask: meta.subtask,
            parallelism: meta.parallelism,
            cause,
        }
    }

    fn error(&self, node: NodeId, cause: impl std::fmt::Display) -> OperatorFailure {
        self.failure(node, FailureCause::Error(cause.to_string()))
    }

    /// Everything `node` emits into: chained operators and record writers, on its
    /// main output and its side outputs.
    fn outputs(&mut self, node: NodeId) -> Result<AnyInput, OperatorFailure> {
        let graph = self.graph;
        let mut by_output: Vec<(Option<String>, Vec<AnyInput>)> = vec![(None, Vec::new())];
        let mut push = |side: &Option<String>, element: AnyInput| match by_output.iter_mut().find(|(s, _)| s == side) {
            Some((_, elements)) => elements.push(element),
            None => by_output.push((side.clone(), vec![element])),
        };
        for (target, side) in &graph.chained_outputs[node] {
            let element = self.operator(*target)?;
            push(side, element);
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
                seed: self.config.seed ^ ((edge.id as u64) << 32) ^ u64::from(self.attempt),
            };
            let writer = edge
                .partitioner
                .create_writer(&context, channels)
                .map_err(|e| self.error(node, e))?;
            push(&edge.side_output, writer);
        }
        let stream_node = &graph.nodes[node];
        let mut main = None;
        let mut side = Vec::new();
        for (name, elements) in by_output {
            let record_type = stream_node
                .output_type_of(name.as_deref())
                .ok_or_else(|| self.error(node, format!("unknown side output {name:?}")))?;
            let joined = record_type.fan_out(elements).map_err(|e| self.error(node, e))?;
            match name {
                None => main = Some(joined),
                Some(name) => side.push(record_type.side_output(name, joined).map_err(|e| self.error(node, e))?),
            }
        }
        let main = main.ok_or_else(|| self.error(node, "internal error: no main output"))?;
        stream_node
            .output_type
            .with_side_outputs(main, SideOutputs::new(side))
            .map_err(|e| self.error(node, e))
    }

    /// A chained (non-head) one-input operator with its downstream chain.
    fn operator(&mut self, node: NodeId) -> Result<AnyInput, OperatorFailure> {
        let output = self.outputs(node)?;
        match &self.graph.nodes[node].operator {
            OperatorFactory::OneInput(factory) => factory
                .create_operator(&self.context(node)?, output)
                .map_err(|e| self.error(node, e)),
            _ => Err(self.error(node, "internal error: only one-input operators can be chained")),
        }
    }

    /// The task of the vertex headed by `head`.
    pub fn task(mut self, head: NodeId) -> Result<Box<dyn TaskBody>, OperatorFailure> {
        let context = self.context(head)?;
        match self.graph.nodes[head].operator.clone() {
            OperatorFactory::Source(factory) => {
                let output = self.outputs(head)?;
                factory.create_task(&context, output).map_err(|e| self.error(head, e))
            }
            OperatorFactory::OneInput(factory) => {
                let output = self.outputs(head)?;
                let operator = factory
                    .create_operator(&context, output)
                    .map_err(|e| self.error(head, e))?;
                let inputs = std::mem::take(&mut self.io.inputs[0]);
                factory
                    .create_task(&context, operator, inputs)
                    .map_err(|e| self.error(head, e))
            }
            OperatorFactory::TwoInput(factory) => {
                let output = self.outputs(head)?;
                let inputs1 = std::mem::take(&mut self.io.inputs[0]);
                let inputs2 = std::mem::take(&mut self.io.inputs[1]);
                factory
                    .create_task(&context, output, inputs1, inputs2)
                    .map_err(|e| self.error(head, e))
            }
        }
    }
}
