//! `DataStream`: a stream of records of one type, and its transformations.

use crate::connected::ConnectedStreams;
use crate::environment::StreamExecutionEnvironment;
use crate::functions::{FnProcess, ProcessFunction};
use crate::keyed::KeyedStream;
use crate::operators::{Filter, FlatMap, FunctionHost, Map, Node, Process, TimestampsAndWatermarks};
use std::fmt::{Debug, Display};
use std::hash::Hash;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::Arc;
use weir_connectors::{CollectHandle, CollectSink, DiscardingSink, FileSink, PrintSink, TextFileSink};
use weir_core::{BoxError, Data};
use weir_runtime::erased::stream_type;
use weir_runtime::factory::{one_input_factory, BuildContext};
use weir_runtime::graph::{ChainingStrategy, NodeId, OperatorFactory, Partitioning, StreamNode};
use weir_runtime::operator::{Collector, Input, OutputTag};
use weir_runtime::partitioner;
use weir_runtime::sink::transactional::ExactlyOnce;
use weir_runtime::sink::{Sink, SinkContext, SinkOperator};
use weir_runtime::watermark::{SplitWatermarks, WatermarkStrategy};

/// Where a stream's records come from: a node's main output or one of its side
/// outputs, and how they are partitioned towards the next operator.
#[derive(Clone)]
pub(crate) struct Upstream {
    pub node: NodeId,
    pub partitioning: Partitioning,
    pub side_output: Option<String>,
}

impl Upstream {
    pub(crate) fn with_partitioning(&self, partitioning: Partitioning) -> Upstream {
        Upstream {
            partitioning,
            ..self.clone()
        }
    }
}

/// A [`DataStream`] without its environment, so `Send`: kept by what outlives the
/// definition of one job and runs on other threads (a SQL session binding a
/// stream to a table name), and turned back into the stream by
/// [`StreamExecutionEnvironment::stream`] while that job is being built.
pub struct StreamHandle<T> {
    pub(crate) job_id: u64,
    pub(crate) inputs: Vec<Upstream>,
    pub(crate) node: Option<NodeId>,
    _type: PhantomData<fn() -> T>,
}

impl<T> StreamHandle<T> {
    pub(crate) fn attach(&self, env: StreamExecutionEnvironment) -> DataStream<T> {
        DataStream {
            env,
            inputs: self.inputs.clone(),
            node: self.node,
            _type: PhantomData,
        }
    }
}

impl<T> Clone for StreamHandle<T> {
    fn clone(&self) -> Self {
        StreamHandle {
            job_id: self.job_id,
            inputs: self.inputs.clone(),
            node: self.node,
            _type: PhantomData,
        }
    }
}

/// A stream of records of type `T`.
///
/// Transformations take `&self`, so one stream can feed several operators (each
/// gets every record). The attribute setters (`name`, `uid`, `set_parallelism`, …)
/// apply to the operator that produced the stream.
pub struct DataStream<T> {
    pub(crate) env: StreamExecutionEnvironment,
    /// The producing nodes with the partitioning towards the next operator.
    pub(crate) inputs: Vec<Upstream>,
    /// The single operator that produced this stream, if there is one.
    pub(crate) node: Option<NodeId>,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for DataStream<T> {
    fn clone(&self) -> Self {
        DataStream {
            env: self.env.clone(),
            inputs: self.inputs.clone(),
            node: self.node,
            _type: PhantomData,
        }
    }
}

impl<T> Debug for DataStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataStream")
            .field("type", &std::any::type_name::<T>())
            .field("node", &self.node)
            .finish()
    }
}

/// A sink added to a job; its setters configure the sink operator.
#[derive(Debug)]
pub struct DataStreamSink {
    pub(crate) stream: DataStream<()>,
}

macro_rules! node_setters {
    () => {
        /// Sets the operator's name (shown in plans, logs, metrics and errors).
        pub fn name(self, name: &str) -> Self {
            self.configure("name", |n| n.name = name.to_string())
        }

        /// Sets a stable id for the operator, so that its state can be matched to it
        /// across changes of the job. Must be unique within the job.
        pub fn uid(self, uid: &str) -> Self {
            self.configure("uid", |n| n.uid = Some(uid.to_string()))
        }

        /// Sets the operator's parallelism.
        pub fn set_parallelism(self, parallelism: usize) -> Self {
            self.configure("set_parallelism", |n| n.parallelism = Some(parallelism))
        }

        /// Sets the operator's number of key groups.
        pub fn set_max_parallelism(self, max_parallelism: usize) -> Self {
            self.configure("set_max_parallelism", |n| {
                n.max_parallelism = Some(max_parallelism)
            })
        }

        /// Runs the operator in a task of its own.
        pub fn disable_chaining(self) -> Self {
            self.configure("disable_chaining", |n| n.chaining = ChainingStrategy::Never)
        }

        /// Starts a new chain at this operator (later operators may chain to it).
        pub fn start_new_chain(self) -> Self {
            self.configure("start_new_chain", |n| n.chaining = ChainingStrategy::Head)
        }
    };
}

impl DataStreamSink {
    node_setters!();

    fn configure(self, what: &str, update: impl FnOnce(&mut StreamNode)) -> Self {
        DataStreamSink {
            stream: self.stream.configure(what, update),
        }
    }
}

impl<T: Data> DataStream<T> {
    pub(crate) fn from_node(env: StreamExecutionEnvironment, node: NodeId) -> Self {
        DataStream {
            env,
            inputs: vec![Upstream {
                node,
                partitioning: Partitioning::Default,
                side_output: None,
            }],
            node: Some(node),
            _type: PhantomData,
        }
    }

    node_setters!();

    fn configure(self, what: &str, update: impl FnOnce(&mut StreamNode)) -> Self {
        match self.node {
            Some(node) => self.env.update_node(node, update),
            None => self.env.misuse(format!(
                "{what}() was called on a union or a re-partitioned stream, which is not an operator; \
                 call it on the operator that produced the stream"
            )),
        }
        self
    }

    /// The environment this stream belongs to.
    pub fn environment(&self) -> &StreamExecutionEnvironment {
        &self.env
    }

    /// The parallelism set on the operator that produced this stream; `None` when
    /// it runs at the environment's default, or for a union or re-partitioned
    /// stream (not one operator's output).
    pub fn parallelism(&self) -> Option<usize> {
        let node = self.node?;
        self.env.state.borrow().nodes.get(node).and_then(|n| n.parallelism)
    }

    /// This stream without its environment (see [`StreamHandle`]).
    pub fn handle(&self) -> StreamHandle<T> {
        StreamHandle {
            job_id: self.env.state.borrow().job_id,
            inputs: self.inputs.clone(),
            node: self.node,
            _type: PhantomData,
        }
    }

    fn with_partitioning(&self, partitioning: Partitioning) -> DataStream<T> {
        DataStream {
            env: self.env.clone(),
            inputs: self
                .inputs
                .iter()
                .map(|u| u.with_partitioning(partitioning.clone()))
                .collect(),
            node: None,
            _type: PhantomData,
        }
    }

    /// Adds a one-input operator fed by this stream.
    pub(crate) fn one_input<O: Data>(
        &self,
        name: &str,
        make: impl Fn(&BuildContext, Box<dyn Input<O>>) -> Result<Box<dyn Input<T>>, BoxError> + Send + Sync + 'static,
    ) -> DataStream<O> {
        let factory = OperatorFactory::OneInput(one_input_factory::<T, O, _>(make));
        let inputs = self.inputs.iter().map(|u| (u.clone(), 0)).collect();
        let id = self.env.add_node(name, factory, stream_type::<O>(), inputs);
        DataStream::from_node(self.env.clone(), id)
    }

    /// Applies `f` to every record.
    pub fn map<O: Data>(&self, f: impl FnMut(T) -> O + Clone + Send + Sync + 'static) -> DataStream<O> {
        self.one_input("map", move |ctx, out| {
            Ok(Node::boxed(
                ctx,
                Map {
                    meta: ctx.meta.clone(),
                    f: f.clone(),
                },
                out,
            ))
        })
    }

    /// Keeps the records for which `f` returns true.
    pub fn filter(&self, f: impl FnMut(&T) -> bool + Clone + Send + Sync + 'static) -> DataStream<T> {
        self.one_input("filter", move |ctx, out| {
            Ok(Node::boxed(
                ctx,
                Filter {
                    meta: ctx.meta.clone(),
                    f: f.clone(),
                },
                out,
            ))
        })
    }

    /// Emits every item `f` returns for each record (none, one or many).
    pub fn flat_map<O: Data, R: IntoIterator<Item = O> + 'static>(
        &self,
        f: impl FnMut(T) -> R + Clone + Send + Sync + 'static,
    ) -> DataStream<O> {
        self.one_input("flat_map", move |ctx, out| {
            Ok(Node::boxed(
                ctx,
                FlatMap {
                    meta: ctx.meta.clone(),
                    f: f.clone(),
                },
                out,
            ))
        })
    }

    /// Runs a [`ProcessFunction`] on every record.
    pub fn process<O: Data, P: ProcessFunction<T, O> + Sync>(&self, function: P) -> DataStream<O> {
        self.one_input("process", move |ctx, out| {
            Ok(Node::boxed(
                ctx,
                Process {
                    host: FunctionHost::new(ctx),
                    function: function.clone(),
                    _types: PhantomData,
                },
                out,
            ))
        })
    }

    /// Runs a closure with a context and a collector on every record.
    pub fn process_fn<O: Data>(
        &self,
        f: impl FnMut(T, &mut crate::functions::Context<'_>, &mut Collector<'_, O>) -> Result<(), BoxError>
            + Clone
            + Send
            + Sync
            + 'static,
    ) -> DataStream<O> {
        self.process(FnProcess(f))
    }

    /// Gives every record its event time and emits watermarks, both from `strategy`
    /// (records keep their timestamp if the strategy has no assigner). Watermarks
    /// from upstream are replaced, except the final one when the input ends. Prefer
    /// [`StreamExecutionEnvironment::from_source`] when the source can apply the
    /// strategy per split.
    pub fn assign_timestamps_and_watermarks(&self, strategy: WatermarkStrategy<T>) -> DataStream<T> {
        self.one_input("timestamps/watermarks", move |ctx, out| {
            Ok(Node::boxed(
                ctx,
                TimestampsAndWatermarks {
                    meta: ctx.meta.clone(),
                    watermarks: SplitWatermarks::new(strategy.clone()),
                    task: ctx.task.clone(),
                    interval_ms: weir_core::time::millis(ctx.config.auto_watermark_interval),
                },
                out,
            ))
        })
    }

    /// Partitions the stream by key: records with equal keys go to the same subtask
    /// of the next operator, which can keep state per key.
    pub fn key_by<K: Data + Hash + Eq>(
        &self,
        key_selector: impl Fn(&T) -> K + Send + Sync + 'static,
    ) -> KeyedStream<K, T> {
        KeyedStream::new(self, Arc::new(key_selector))
    }

    /// The records a source could not decode, when its bad-record policy is
    /// `dead-letter` (`BadRecordPolicy::SideOutput`): each with the source, split,
    /// position, bytes and error. Call it on the stream `add_source` returned; send
    /// it to any sink. It travels with the source's records, so it is exactly-once
    /// under checkpoints like they are.
    pub fn dead_letters(&self) -> DataStream<weir_connector_api::bad_record::DeadLetter> {
        self.get_side_output(&OutputTag::new(weir_connector_api::bad_record::DEAD_LETTER_OUTPUT))
    }

    /// The stream of the records the operator producing this stream sends to side
    /// output `tag` (from process functions with `Collector::output`, or late records
    /// of windows).
    pub fn get_side_output<U: Data>(&self, tag: &OutputTag<U>) -> DataStream<U> {
        let Some(node) = self.node else {
            self.env.misuse(format!(
                "get_side_output('{}') was called on a union or a re-partitioned stream; call it on the \
                 stream of the operator that emits the side output",
                tag.name()
            ));
            return DataStream {
                env: self.env.clone(),
                inputs: Vec::new(),
                node: None,
                _type: PhantomData,
            };
        };
        let name = tag.name().to_string();
        self.env.update_node(node, |n| {
            if !n.side_outputs.iter().any(|(existing, _)| *existing == name) {
                n.side_outputs.push((name.clone(), stream_type::<U>()));
            }
        });
        DataStream {
            env: self.env.clone(),
            inputs: vec![Upstream {
                node,
                partitioning: Partitioning::Default,
                side_output: Some(name),
            }],
            node: None,
            _type: PhantomData,
        }
    }

    /// Merges this stream with `other` (same type); records keep their order per
    /// input but interleave between inputs.
    pub fn union(&self, other: &DataStream<T>) -> DataStream<T> {
        DataStream {
            env: self.env.clone(),
            inputs: self.inputs.iter().chain(&other.inputs).cloned().collect(),
            node: None,
            _type: PhantomData,
        }
    }

    /// Pairs this stream with `other` (of another type) for a two-input operator.
    pub fn connect<U: Data>(&self, other: &DataStream<U>) -> ConnectedStreams<T, U> {
        ConnectedStreams::new(self.clone(), other.clone())
    }

    /// Subtask i of this operator sends to subtask i of the next (equal parallelism).
    pub fn forward(&self) -> DataStream<T> {
        self.with_partitioning(Partitioning::Given(partitioner::forward::<T>()))
    }

    /// Distributes records round-robin over the next operator's subtasks.
    pub fn rebalance(&self) -> DataStream<T> {
        self.with_partitioning(Partitioning::Given(partitioner::rebalance::<T>()))
    }

    /// Distributes records uniformly at random (seeded by the job's seed).
    pub fn shuffle(&self) -> DataStream<T> {
        self.with_partitioning(Partitioning::Given(partitioner::shuffle::<T>()))
    }

    /// Sends every record to every subtask of the next operator.
    pub fn broadcast(&self) -> DataStream<T> {
        self.with_partitioning(Partitioning::Given(partitioner::broadcast::<T>()))
    }

    /// Sends every record to subtask 0 of the next operator.
    pub fn global(&self) -> DataStream<T> {
        self.with_partitioning(Partitioning::Given(partitioner::global::<T>()))
    }

    /// Sends each record to the subtask `partitioner(key, subtasks)` chooses, where
    /// `key = key_selector(record)`. A choice out of range fails the job.
    pub fn partition_custom<K: 'static>(
        &self,
        partitioner: impl Fn(&K, usize) -> usize + Clone + Send + Sync + 'static,
        key_selector: impl Fn(&T) -> K + Clone + Send + Sync + 'static,
    ) -> DataStream<T> {
        self.with_partitioning(Partitioning::Given(partitioner::custom::<T, K, _, _>(
            key_selector,
            partitioner,
        )))
    }

    /// Sends records to downstream subtasks as `factory`'s partitioners choose (for
    /// example a [`weir_runtime::partitioner::splitting`] one that splits batches of
    /// rows by key group, so that the next operator may keep keyed state).
    pub fn partition_with(&self, factory: Arc<dyn partitioner::PartitionerFactory>) -> DataStream<T> {
        self.with_partitioning(Partitioning::Given(factory))
    }

    /// Adds a custom operator (see [`crate::custom`]): `make` builds one instance per
    /// subtask from the subtask's build context (its state after a restore, its
    /// identity, its task).
    pub fn transform<O: Data, Op: crate::custom::Operator<T, O> + 'static>(
        &self,
        name: &str,
        make: impl Fn(&BuildContext) -> Result<Op, BoxError> + Send + Sync + 'static,
    ) -> DataStream<O> {
        self.one_input(name, move |ctx, out| Ok(Node::boxed(ctx, make(ctx)?, out)))
    }

    /// Writes the stream to `sink`.
    pub fn add_sink(&self, sink: impl Sink<T>) -> DataStreamSink {
        let sink = Arc::new(sink);
        let stream = self.one_input::<()>("sink", move |ctx, _out| {
            let writer = sink.create_writer(&SinkContext {
                info: ctx.info.clone(),
                checkpointing: ctx.checkpointing(),
                restored: SinkOperator::<T>::restored_state(&ctx.restored),
            })?;
            Ok(Box::new(SinkOperator::new(
                ctx.meta.clone(),
                ctx.operator_id.clone(),
                writer,
            )))
        });
        DataStreamSink { stream }
    }

    /// Prints every record (`Debug` form) to standard output.
    pub fn print(&self) -> DataStreamSink
    where
        T: Debug,
    {
        self.add_sink(PrintSink).name("print")
    }

    /// Writes every record (`Display` form) as a line of text: to the file `path` at
    /// parallelism 1, else to `path/part-<subtask>`.
    pub fn write_as_text(&self, path: impl Into<PathBuf>) -> DataStreamSink
    where
        T: Display,
    {
        let path = path.into();
        let name = format!("text file {}", path.display());
        self.add_sink(TextFileSink::new(path)).name(&name)
    }

    /// Writes every record (`Display` form) as a line into files in `dir`, exactly
    /// once: files become visible when the checkpoint covering them completes (or
    /// when the input ends, without checkpoints). See [`FileSink`].
    pub fn sink_to_files(&self, dir: impl Into<PathBuf>) -> DataStreamSink
    where
        T: Display,
    {
        let dir = dir.into();
        let name = format!("files {}", dir.display());
        self.add_sink(ExactlyOnce::new(FileSink::new(dir))).name(&name)
    }

    /// Drops every record.
    pub fn discard(&self) -> DataStreamSink {
        self.add_sink(DiscardingSink).name("discard")
    }

    /// Collects every record in memory; read them through the handle once the job
    /// has run (or while it runs).
    pub fn collect(&self) -> CollectHandle<T> {
        let (sink, handle) = CollectSink::new();
        self.add_sink(sink).name("collect");
        handle
    }
}
