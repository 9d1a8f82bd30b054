//! Weir's typed DataStream API.
//!
//! A job starts from a [`StreamExecutionEnvironment`]: sources create
//! [`DataStream`]s, transformations derive new streams, sinks consume them, and
//! [`StreamExecutionEnvironment::execute`] runs the whole job.
//!
//! ```
//! use weir_datastream::StreamExecutionEnvironment;
//!
//! let env = StreamExecutionEnvironment::new();
//! env.set_parallelism(2);
//! let counts = env
//!     .from_collection(vec!["to be or".to_string(), "not to be".to_string()])
//!     .flat_map(|line: String| line.split(' ').map(|w| (w.to_string(), 1u64)).collect::<Vec<_>>())
//!     .key_by(|(word, _)| word.clone())
//!     .sum(|(_, n)| n)
//!     .collect();
//! env.execute("word count").unwrap();
//! let mut finals = std::collections::BTreeMap::new();
//! for (word, n) in counts.take() {
//!     let e = finals.entry(word).or_insert(0);
//!     *e = n.max(*e);
//! }
//! assert_eq!(finals["to"], 2);
//! assert_eq!(finals["or"], 1);
//! ```

mod connected;
pub mod custom;
mod environment;
pub mod functions;
pub mod join;
mod keyed;
mod operators;
mod state;
mod stream;
pub mod window;

pub use connected::{ConnectedStreams, KeyedConnectedStreams};
pub use environment::StreamExecutionEnvironment;
pub use keyed::{KeySelector, KeyedStream};
pub use stream::{DataStream, DataStreamSink, StreamHandle};
pub use weir_connectors::CollectHandle;
pub use weir_runtime::operator::{Collector, OutputTag};
pub use weir_runtime::watermark::{BoundedOutOfOrderness, WatermarkGenerator, WatermarkOutput, WatermarkStrategy};
pub use weir_state::{
    AggregateFunction, AggregatingStateDescriptor, ListStateDescriptor, MapStateDescriptor, OperatorStateStore,
    Redistribution, ReducingStateDescriptor, StateTtlConfig, TtlUpdate, ValueStateDescriptor,
};
pub use window::WindowedStream;
