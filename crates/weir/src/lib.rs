//! # Weir
//!
//! A stream processing engine: a typed DataStream API over a runtime of chained
//! operators, bounded channels with backpressure and key-group partitioned state.
//!
//! Applications depend on this crate only:
//!
//! ```
//! use weir::prelude::*;
//!
//! let env = StreamExecutionEnvironment::new();
//! env.set_parallelism(2);
//! let totals = env
//!     .from_sequence(1, 1_000)
//!     .map(|n| (n % 3, n))
//!     .key_by(|(k, _)| *k)
//!     .sum(|(_, n)| n)
//!     .collect();
//! env.execute("totals per remainder").unwrap();
//! let grand_total: i64 = totals
//!     .take()
//!     .into_iter()
//!     .fold(std::collections::HashMap::new(), |mut m, (k, n)| {
//!         let e = m.entry(k).or_insert(0);
//!         *e = n.max(*e);
//!         m
//!     })
//!     .values()
//!     .sum();
//! assert_eq!(grand_total, 500_500);
//! ```
//!
//! The crates behind it: [`core`] (records, errors, key groups), [`runtime`] (job
//! graphs, tasks, channels), [`state`] (keyed state), [`connectors`] (built-in
//! sources and sinks), [`connector_api`] (the light API connectors and formats are
//! written against) and [`datastream`] (the API). See `docs/architecture.md`.

pub use weir_connector_api as connector_api;
pub use weir_connectors as connectors;
pub use weir_core as core;
pub use weir_datastream as datastream;
pub use weir_runtime as runtime;
pub use weir_state as state;

/// Everything a typical job needs.
pub mod prelude {
    pub use weir_connectors::{
        CollectHandle, CollectSink, CollectionSource, DiscardingSink, GeneratorSource, IteratorSource, PrintSink,
        SequenceSource, TextFileSink, TextFileSource,
    };
    pub use weir_connectors::{FileSink, IdempotentSink, KeyValueStore, MemoryKeyValueStore, WriteAheadLogSink};
    pub use weir_core::{BoxError, Data, ExecutionConfig, Result, StreamRecord, WeirError};
    pub use weir_core::{CheckpointMode, RestartStrategy, RocksDbOptions, StateBackendConfig};
    pub use weir_datastream::functions::TimeDomain;
    pub use weir_datastream::functions::{
        CoProcessFunction, Context, KeyedCoProcessFunction, KeyedContext, KeyedProcessFunction, ProcessFunction,
    };
    pub use weir_datastream::join::TaggedUnion;
    pub use weir_datastream::window::{
        ContinuousEventTimeTrigger, ContinuousProcessingTimeTrigger, CountEvictor, CountTrigger,
        EventTimeSessionWindows, EventTimeTrigger, Evictor, GlobalWindow, GlobalWindows, ProcessWindowFunction,
        ProcessingTimeSessionWindows, ProcessingTimeTrigger, PurgingTrigger, SlidingEventTimeWindows,
        SlidingProcessingTimeWindows, TimeEvictor, TimeWindow, Trigger, TriggerContext, TriggerResult,
        TumblingEventTimeWindows, TumblingProcessingTimeWindows, Window, WindowAssigner, WindowContext, WindowedStream,
    };
    pub use weir_datastream::{
        AggregateFunction, AggregatingStateDescriptor, Collector, ConnectedStreams, DataStream, DataStreamSink,
        KeyedConnectedStreams, KeyedStream, ListStateDescriptor, MapStateDescriptor, OperatorStateStore,
        Redistribution, ReducingStateDescriptor, StateTtlConfig, StreamExecutionEnvironment, TtlUpdate,
        ValueStateDescriptor,
    };
    pub use weir_datastream::{
        BoundedOutOfOrderness, OutputTag, WatermarkGenerator, WatermarkOutput, WatermarkStrategy,
    };
    pub use weir_runtime::sink::transactional::{ExactlyOnce, TransactionContext, TransactionalSink};
    pub use weir_runtime::{JobClient, JobHandle, JobResult, JobStatus};
}
