//! Type erasure at the seams of the job graph.
//!
//! The API is generic over record types, but a job graph holds operators of many
//! types. Operators are therefore stored as factories behind object-safe traits, and
//! the typed pieces they exchange while a task is being built (chain elements,
//! channels) travel as [`AnyInput`] and [`AnyChannel`] and
//! are downcast once, at build time. Records themselves are never boxed.

use crate::channel::{AnyChannel, Channel};
use crate::operator::{FanOut, NoOutput, SideOutput, SideOutputs, TypedSideOutput, WithSideOutputs};
use crate::partitioner::{self, PartitionerFactory};
use crate::record_size;
use crate::signal::TaskSignal;
use serde::Serialize;
use std::marker::PhantomData;
use std::sync::Arc;
use weir_core::{Result, WeirError};

/// The type-erased chain element (defined with the chain traits, so that the
/// partitioners, which build record writers, and this module both import it from
/// below).
pub use crate::operator::AnyInput;

/// Operations on a record type that the executor needs without knowing the type.
pub trait StreamType: Send + Sync {
    /// The Rust type name, for messages.
    fn type_name(&self) -> &'static str;

    /// A channel for records of this type, holding at most `capacity` buffers of
    /// `buffer_size` records and `capacity_bytes` estimated bytes.
    fn new_channel(
        &self,
        capacity: usize,
        capacity_bytes: usize,
        buffer_size: usize,
        sender: Arc<TaskSignal>,
        receiver: Arc<TaskSignal>,
    ) -> Arc<dyn AnyChannel>;

    /// Combines the outputs of one operator into one element: nothing consumes the
    /// stream (records dropped), one consumer (itself), or several (clones).
    fn fan_out(&self, outputs: Vec<AnyInput>) -> Result<AnyInput>;

    /// Forward partitioning for this type (the default between operators of equal
    /// parallelism).
    fn forward(&self) -> Arc<dyn PartitionerFactory>;

    /// Round-robin partitioning for this type (the default between operators of
    /// different parallelism).
    fn rebalance(&self) -> Arc<dyn PartitionerFactory>;

    /// Makes `output` (of this type) the side output `name`.
    fn side_output(&self, name: String, output: AnyInput) -> Result<Box<dyn SideOutput>>;

    /// Joins the main output `main` (of this type) with `side` outputs.
    fn with_side_outputs(&self, main: AnyInput, side: SideOutputs) -> Result<AnyInput>;
}

struct TypeOps<T>(PhantomData<fn() -> T>);

impl<T: Clone + Send + Serialize + 'static> StreamType for TypeOps<T> {
    fn type_name(&self) -> &'static str {
        std::any::type_name::<T>()
    }

    fn new_channel(
        &self,
        capacity: usize,
        capacity_bytes: usize,
        buffer_size: usize,
        sender: Arc<TaskSignal>,
        receiver: Arc<TaskSignal>,
    ) -> Arc<dyn AnyChannel> {
        Arc::new(
            Channel::<T>::new(capacity, buffer_size, sender, receiver)
                .with_byte_bound(capacity_bytes, record_size::estimator::<T>()),
        )
    }

    fn fan_out(&self, outputs: Vec<AnyInput>) -> Result<AnyInput> {
        let mut typed = outputs
            .into_iter()
            .map(AnyInput::downcast::<T>)
            .collect::<Result<Vec<_>>>()?;
        Ok(match typed.len() {
            0 => AnyInput::new::<T>(Box::new(NoOutput)),
            1 => AnyInput::new(typed.pop().ok_or_else(|| WeirError::Internal("empty fan-out".into()))?),
            _ => AnyInput::new::<T>(Box::new(FanOut::new(typed))),
        })
    }

    fn forward(&self) -> Arc<dyn PartitionerFactory> {
        partitioner::forward::<T>()
    }

    fn rebalance(&self) -> Arc<dyn PartitionerFactory> {
        partitioner::rebalance::<T>()
    }

    fn side_output(&self, name: String, output: AnyInput) -> Result<Box<dyn SideOutput>> {
        Ok(Box::new(TypedSideOutput::new(name, output.downcast::<T>()?)))
    }

    fn with_side_outputs(&self, main: AnyInput, side: SideOutputs) -> Result<AnyInput> {
        if side.is_empty() {
            return Ok(main);
        }
        Ok(AnyInput::new::<T>(Box::new(WithSideOutputs::new(
            main.downcast::<T>()?,
            side,
        ))))
    }
}

/// The [`StreamType`] of `T` (`Serialize` sizes records for channels bounded in
/// bytes, see [`crate::record_size`]).
pub fn stream_type<T: Clone + Send + Serialize + 'static>() -> Arc<dyn StreamType> {
    Arc::new(TypeOps::<T>(PhantomData))
}
