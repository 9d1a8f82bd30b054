//! Operator factories: how a job graph node becomes running chain elements.
//!
//! Every node of a [`StreamGraph`](crate::graph::StreamGraph) holds one factory. When a
//! task starts, it asks the factories of its chain, tail first, for one instance per
//! subtask, handing each its downstream element. The factory of the chain head also
//! builds the task around the chain (a source task, a one-input task reading channels
//! of its input type, or a two-input task).

use crate::channel::{downcast_channel, AnyChannel};
use crate::failure::OperatorMeta;
use crate::operator::{AnyInput, Input, TwoInput};
use crate::snapshot::{ChannelStateEntry, Restored};
use crate::source::{Boundedness, ReaderContext, Source, SourceWaker};
use crate::task::{
    InputGate, OneInputTask, SourceTask, TaskBody, TaskReporter, TaskShared, TwoInputTask, SPLITS_STATE,
};
use crate::watermark::WatermarkStrategy;
use std::marker::PhantomData;
use std::sync::Arc;
use weir_core::{BoxError, Data, ExecutionConfig, SubtaskInfo};

/// What a factory is given to build one subtask's instance of its node.
#[derive(Clone)]
pub struct BuildContext {
    /// The node's name, the subtask's index, the node's parallelism and key groups.
    pub info: SubtaskInfo,
    /// The same, for failure reports.
    pub meta: OperatorMeta,
    /// The operator's id: its uid, or one derived from its place in the graph. State
    /// is stored under it.
    pub operator_id: String,
    /// The task the instance runs in.
    pub task: Arc<TaskShared>,
    /// The job's runtime configuration.
    pub config: Arc<ExecutionConfig>,
    /// The operator's state after a restore (`None` on a fresh start).
    pub restored: Restored,
    /// After a restore, for the head of a chain: the task's input had already
    /// ended at the checkpoint (its chain emitted what it held at the end of input
    /// then), so the task does not end its chain's input again; a source reads
    /// nothing.
    pub restored_input_ended: bool,
    /// In-flight input to replay after a restore (used by the chain head's task).
    pub channel_state: Arc<Vec<ChannelStateEntry>>,
    /// How the task reports to the job master (set when checkpoints are enabled).
    pub reporter: Option<Arc<dyn TaskReporter>>,
    /// Where the operator's keyed state lives (shared by the job's operators).
    pub state_backend: weir_state::StateBackend,
}

impl BuildContext {
    /// Whether the job takes checkpoints.
    pub fn checkpointing(&self) -> bool {
        self.config.checkpointing.enabled()
    }
}

/// Builds source tasks.
pub trait SourceFactory: Send + Sync {
    /// Whether the source ends by itself.
    fn boundedness(&self) -> Boundedness;
    /// The largest parallelism the source supports, if limited.
    fn max_parallelism(&self) -> Option<usize>;
    /// Whether the source can replay its input from checkpointed positions.
    fn replayable(&self) -> bool;
    /// Creates the reader of one subtask and the task that polls it into `output`.
    fn create_task(&self, context: &BuildContext, output: AnyInput) -> Result<Box<dyn TaskBody>, BoxError>;
}

struct TypedSource<T> {
    source: Arc<dyn Source<T>>,
    watermarks: Option<WatermarkStrategy<T>>,
}

impl<T: Clone + Send + 'static> SourceFactory for TypedSource<T> {
    fn boundedness(&self) -> Boundedness {
        self.source.boundedness()
    }
    fn max_parallelism(&self) -> Option<usize> {
        self.source.max_parallelism()
    }
    fn replayable(&self) -> bool {
        self.source.replayable()
    }
    fn create_task(&self, context: &BuildContext, output: AnyInput) -> Result<Box<dyn TaskBody>, BoxError> {
        let output = output.downcast::<T>()?;
        let restored = context.restored.as_ref().map(|r| {
            r.operator_state
                .lists
                .iter()
                .filter(|l| l.name == SPLITS_STATE)
                .flat_map(|l| l.elements.iter().map(|e| e.to_vec()))
                .collect()
        });
        let reader = self.source.create_reader(&ReaderContext {
            info: context.info.clone(),
            waker: {
                let signal = context.task.signal().clone();
                SourceWaker::new(move || signal.notify())
            },
            restored,
        })?;
        let task = SourceTask::new(
            context.meta.clone(),
            context.operator_id.clone(),
            reader,
            output,
            &context.config,
            context.reporter.clone(),
        )
        .with_restored_input_ended(context.restored_input_ended)
        .with_state_distribution(self.source.state_distribution());
        Ok(Box::new(match &self.watermarks {
            Some(strategy) => task.with_watermarks(strategy.clone()),
            None => task,
        }))
    }
}

/// The factory of a source node.
pub fn source_factory<T: Clone + Send + 'static>(source: Arc<dyn Source<T>>) -> Arc<dyn SourceFactory> {
    Arc::new(TypedSource {
        source,
        watermarks: None,
    })
}

/// The factory of a source node whose records get timestamps and watermarks per
/// split from `strategy`.
pub fn source_factory_with_watermarks<T: Clone + Send + 'static>(
    source: Arc<dyn Source<T>>,
    strategy: WatermarkStrategy<T>,
) -> Arc<dyn SourceFactory> {
    Arc::new(TypedSource {
        source,
        watermarks: Some(strategy),
    })
}

/// Builds one-input operators (and tasks headed by one).
pub trait OneInputFactory: Send + Sync {
    /// Creates the operator of one subtask, emitting into `output`.
    fn create_operator(&self, context: &BuildContext, output: AnyInput) -> Result<AnyInput, BoxError>;
    /// Wraps the chain `head` (this node's operator) in a task reading `inputs`.
    fn create_task(
        &self,
        context: &BuildContext,
        head: AnyInput,
        inputs: Vec<Arc<dyn AnyChannel>>,
    ) -> Result<Box<dyn TaskBody>, BoxError>;
}

struct TypedOneInput<I, O, F> {
    make: F,
    _types: PhantomData<fn(I) -> O>,
}

impl<I, O, F> OneInputFactory for TypedOneInput<I, O, F>
where
    I: Data,
    O: 'static,
    F: Fn(&BuildContext, Box<dyn Input<O>>) -> Result<Box<dyn Input<I>>, BoxError> + Send + Sync,
{
    fn create_operator(&self, context: &BuildContext, output: AnyInput) -> Result<AnyInput, BoxError> {
        let output = output.downcast::<O>()?;
        Ok(AnyInput::new((self.make)(context, output)?))
    }

    fn create_task(
        &self,
        context: &BuildContext,
        head: AnyInput,
        inputs: Vec<Arc<dyn AnyChannel>>,
    ) -> Result<Box<dyn TaskBody>, BoxError> {
        let head = head.downcast::<I>()?;
        let channels = inputs
            .into_iter()
            .map(downcast_channel::<I>)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Box::new(
            OneInputTask::new(
                context.meta.clone(),
                head,
                InputGate::new(channels),
                &context.config,
                context.reporter.clone(),
                context.channel_state.to_vec(),
            )
            .with_end_of_input_state(context.operator_id.clone(), context.restored_input_ended),
        ))
    }
}

/// The factory of a one-input node: `make` builds one subtask's operator around its
/// downstream element.
pub fn one_input_factory<I, O, F>(make: F) -> Arc<dyn OneInputFactory>
where
    I: Data,
    O: 'static,
    F: Fn(&BuildContext, Box<dyn Input<O>>) -> Result<Box<dyn Input<I>>, BoxError> + Send + Sync + 'static,
{
    Arc::new(TypedOneInput {
        make,
        _types: PhantomData,
    })
}

/// Builds tasks headed by a two-input operator.
pub trait TwoInputFactory: Send + Sync {
    /// Creates the operator of one subtask and the task reading `inputs1` and
    /// `inputs2` into it.
    fn create_task(
        &self,
        context: &BuildContext,
        output: AnyInput,
        inputs1: Vec<Arc<dyn AnyChannel>>,
        inputs2: Vec<Arc<dyn AnyChannel>>,
    ) -> Result<Box<dyn TaskBody>, BoxError>;
}

struct TypedTwoInput<A, B, O, F> {
    make: F,
    _types: PhantomData<fn(A, B) -> O>,
}

impl<A, B, O, F> TwoInputFactory for TypedTwoInput<A, B, O, F>
where
    A: Data,
    B: Data,
    O: 'static,
    F: Fn(&BuildContext, Box<dyn Input<O>>) -> Result<Box<dyn TwoInput<A, B>>, BoxError> + Send + Sync,
{
    fn create_task(
        &self,
        context: &BuildContext,
        output: AnyInput,
        inputs1: Vec<Arc<dyn AnyChannel>>,
        inputs2: Vec<Arc<dyn AnyChannel>>,
    ) -> Result<Box<dyn TaskBody>, BoxError> {
        let head = (self.make)(context, output.downcast::<O>()?)?;
        let channels1 = inputs1
            .into_iter()
            .map(downcast_channel::<A>)
            .collect::<Result<Vec<_>, _>>()?;
        let channels2 = inputs2
            .into_iter()
            .map(downcast_channel::<B>)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Box::new(
            TwoInputTask::new(
                context.meta.clone(),
                head,
                InputGate::new(channels1),
                InputGate::new(channels2),
                &context.config,
                context.reporter.clone(),
                context.channel_state.to_vec(),
            )
            .with_end_of_input_state(context.operator_id.clone(), context.restored_input_ended),
        ))
    }
}

/// The factory of a two-input node.
pub fn two_input_factory<A, B, O, F>(make: F) -> Arc<dyn TwoInputFactory>
where
    A: Data,
    B: Data,
    O: 'static,
    F: Fn(&BuildContext, Box<dyn Input<O>>) -> Result<Box<dyn TwoInput<A, B>>, BoxError> + Send + Sync + 'static,
{
    Arc::new(TypedTwoInput {
        make,
        _types: PhantomData,
    })
}
