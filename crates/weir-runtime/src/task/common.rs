//! What every task with input channels does besides processing records: react to
//! its mailbox, snapshot at barriers, hand finished snapshots to the writer, and
//! decide when it may exit.

use super::barrier::{BarrierHandler, Gates};
use super::{FlushTimer, TaskCommand, TaskReporter, TaskShared};
use crate::failure::{cancelled, fail, OperatorMeta};
use crate::message::CheckpointBarrier;
use crate::operator::ChainElement;
use crate::snapshot::{ChannelStateEntry, TaskSnapshot};
use std::sync::Arc;
use std::time::Instant;
use weir_core::ExecutionConfig;

pub(crate) struct TaskCommon {
    pub meta: OperatorMeta,
    pub reporter: Option<Arc<dyn TaskReporter>>,
    pub handler: BarrierHandler,
    pub flush: FlushTimer,
    parked: Vec<(TaskSnapshot, std::time::Duration)>,
    ended_input: bool,
    finish_requested: bool,
    /// The head operator's id, under which snapshots record the end of input.
    head_operator: Option<String>,
    /// The input had ended before the checkpoint the task was restored from.
    restored_input_ended: bool,
}

impl TaskCommon {
    pub(crate) fn new(
        meta: OperatorMeta,
        reporter: Option<Arc<dyn TaskReporter>>,
        channels: usize,
        config: &ExecutionConfig,
    ) -> Self {
        TaskCommon {
            meta,
            reporter,
            handler: BarrierHandler::new(
                channels,
                config.checkpointing.mode,
                config.checkpointing.alignment_timeout,
            ),
            flush: FlushTimer::new(config),
            parked: Vec::new(),
            ended_input: false,
            finish_requested: false,
            head_operator: None,
            restored_input_ended: false,
        }
    }

    /// Records the end of input in snapshots under `head_operator`; the task was
    /// restored with its input already ended if `restored_input_ended`.
    pub(crate) fn track_end_of_input(&mut self, head_operator: String, restored_input_ended: bool) {
        self.head_operator = Some(head_operator);
        self.restored_input_ended = restored_input_ended;
    }

    /// Handles the mailbox; unwinds if the task was cancelled.
    pub(crate) fn handle_mail(&mut self, shared: &TaskShared, chain: &mut dyn ChainElement, gates: &mut dyn Gates) {
        if shared.is_cancelled() {
            cancelled(&self.meta);
        }
        if !shared.has_mail() {
            return;
        }
        for command in shared.take_mail() {
            match command {
                TaskCommand::CheckpointComplete(id) => chain.notify_checkpoint_complete(id),
                TaskCommand::CheckpointAborted(id) => {
                    self.handler.abort(id, gates);
                    self.parked.retain(|(s, _)| s.checkpoint_id != id);
                    chain.notify_checkpoint_aborted(id);
                }
                TaskCommand::Finish => self.finish_requested = true,
                TaskCommand::Suspend => {
                    if let Some(reporter) = &self.reporter {
                        reporter.suspended();
                    }
                }
                TaskCommand::Stop | TaskCommand::TriggerCheckpoint(_) => {}
            }
        }
    }

    /// Snapshots the chain for `barrier` (which it also forwards).
    pub(crate) fn snapshot(&mut self, barrier: CheckpointBarrier, chain: &mut dyn ChainElement) {
        let started = Instant::now();
        let mut snapshot = TaskSnapshot::new(barrier.checkpoint_id);
        chain.checkpoint(&barrier, &mut snapshot);
        if let (true, Some(head)) = (self.ended_input, &self.head_operator) {
            snapshot.mark_input_ended(head, self.meta.subtask, self.meta.parallelism);
        }
        let sync_duration = started.elapsed();
        let Some(reporter) = &self.reporter else {
            return;
        };
        if barrier.unaligned {
            // Channel state is still being recorded.
            self.parked.push((snapshot, sync_duration));
        } else {
            reporter.snapshot_taken(snapshot, None, sync_duration);
        }
    }

    /// Hands over the snapshots whose channel state is complete; `locate` turns a
    /// global channel index into (input, channel).
    pub(crate) fn submit_recorded(&mut self, locate: impl Fn(usize) -> (u8, u32)) {
        for (checkpoint_id, entries) in self.handler.take_completed() {
            let Some(position) = self.parked.iter().position(|(s, _)| s.checkpoint_id == checkpoint_id) else {
                continue;
            };
            let (snapshot, sync_duration) = self.parked.remove(position);
            let Some(reporter) = &self.reporter else {
                continue;
            };
            let state: Vec<ChannelStateEntry> = entries
                .into_iter()
                .map(|(global, buffer)| {
                    let (input, channel) = locate(global);
                    ChannelStateEntry { input, channel, buffer }
                })
                .collect();
            let encoded = if state.is_empty() {
                None
            } else {
                match bincode::serde::encode_to_vec(&state, bincode::config::standard()) {
                    Ok(bytes) => Some(bytes),
                    Err(e) => fail(&self.meta, format!("cannot encode channel state: {e}")),
                }
            };
            reporter.snapshot_taken(snapshot, encoded, sync_duration);
        }
    }

    /// All inputs ended: finish the chain and tell the job master.
    pub(crate) fn end_of_data(&mut self, chain: &mut dyn ChainElement) {
        if self.ended_input {
            return;
        }
        self.ended_input = true;
        if self.restored_input_ended {
            chain.end_input_after_restore();
        } else {
            chain.end_input();
        }
        if let Some(reporter) = &self.reporter {
            reporter.end_of_input();
        }
    }

    /// Whether the task may exit once all its input channels are closed: at once
    /// without checkpoints, after the job master's finish (which follows the final
    /// checkpoint) with them.
    pub(crate) fn may_exit(&self, inputs_closed: bool) -> bool {
        inputs_closed && (self.reporter.is_none() || self.finish_requested)
    }

    /// When the task loop must wake up at the latest (alignment timeout).
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.handler.alignment_deadline()
    }
}
