//! The execution environment: where a job is defined and run.

use crate::stream::{DataStream, StreamHandle, Upstream};
use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use weir_connectors::{CollectionSource, IteratorSource, SequenceSource, TextFileSource};
use weir_core::{CheckpointMode, Data, ExecutionConfig, RestartStrategy, Result, WeirError};
use weir_runtime::erased::{stream_type, StreamType};
use weir_runtime::factory::{source_factory, source_factory_with_watermarks};
use weir_runtime::graph::{ChainingStrategy, NodeId, OperatorFactory, StreamEdge, StreamGraph, StreamNode};
use weir_runtime::source::Source;
use weir_runtime::watermark::WatermarkStrategy;
use weir_runtime::{JobClient, JobGraph, JobResult};

pub(crate) struct EnvState {
    pub config: ExecutionConfig,
    pub nodes: Vec<StreamNode>,
    pub edges: Vec<StreamEdge>,
    /// API misuse found while the job was defined; reported by `execute`.
    pub misuse: Vec<String>,
    /// Identifies this environment's job being built (a new one after `execute`),
    /// for [`StreamHandle`]s.
    pub job_id: u64,
}

/// A process-wide counter of [`EnvState::job_id`]s.
fn next_job_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Defines and runs jobs in this process.
///
/// Streams created from an environment add operators to its job; [`execute`]
/// runs the job and clears the environment for the next one.
///
/// ```
/// use weir_datastream::StreamExecutionEnvironment;
///
/// let env = StreamExecutionEnvironment::new();
/// env.set_parallelism(2);
/// let evens = env.from_sequence(1, 100).filter(|n| n % 2 == 0).map(|n| n * 10);
/// let out = evens.collect();
/// env.execute("evens").unwrap();
/// let mut got = out.take();
/// got.sort();
/// assert_eq!(got.len(), 50);
/// assert_eq!(got[0], 20);
/// ```
///
/// [`execute`]: StreamExecutionEnvironment::execute
#[derive(Clone)]
pub struct StreamExecutionEnvironment {
    pub(crate) state: Rc<RefCell<EnvState>>,
}

impl Default for StreamExecutionEnvironment {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for StreamExecutionEnvironment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("StreamExecutionEnvironment")
            .field("config", &state.config)
            .field("operators", &state.nodes.len())
            .finish()
    }
}

impl StreamExecutionEnvironment {
    /// A local environment whose default parallelism is the number of CPU cores.
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        Self::with_config(ExecutionConfig {
            default_parallelism: cores,
            ..ExecutionConfig::default()
        })
    }

    /// A local environment with `config`.
    pub fn with_config(config: ExecutionConfig) -> Self {
        StreamExecutionEnvironment {
            state: Rc::new(RefCell::new(EnvState {
                config,
                nodes: Vec::new(),
                edges: Vec::new(),
                misuse: Vec::new(),
                job_id: next_job_id(),
            })),
        }
    }

    /// Sets the parallelism of operators that do not set their own.
    pub fn set_parallelism(&self, parallelism: usize) -> &Self {
        self.state.borrow_mut().config.default_parallelism = parallelism;
        self
    }

    /// The parallelism of operators that do not set their own.
    pub fn parallelism(&self) -> usize {
        self.state.borrow().config.default_parallelism
    }

    /// Sets the number of key groups of operators that do not set their own
    /// (default 128). It bounds how far keyed state can be scaled out later.
    pub fn set_max_parallelism(&self, max_parallelism: usize) -> &Self {
        self.state.borrow_mut().config.max_parallelism = max_parallelism;
        self
    }

    /// Sets how long a partly filled buffer may wait before it is sent
    /// (`Duration::ZERO`: send every record at once; default 100 ms).
    pub fn set_buffer_timeout(&self, timeout: Duration) -> &Self {
        self.state.borrow_mut().config.buffer_timeout = timeout;
        self
    }

    /// Sets the number of records per network buffer (default 1024).
    pub fn set_buffer_size(&self, records: usize) -> &Self {
        self.state.borrow_mut().config.buffer_size = records;
        self
    }

    /// Sets how many buffers a channel holds before its sender waits (default 4).
    pub fn set_channel_capacity(&self, buffers: usize) -> &Self {
        self.state.borrow_mut().config.channel_capacity = buffers;
        self
    }

    /// Sets how many estimated bytes of records a channel holds before its sender
    /// waits (default 8 MiB): what bounds memory when records are large.
    pub fn set_channel_capacity_bytes(&self, bytes: usize) -> &Self {
        self.state.borrow_mut().config.channel_capacity_bytes = bytes;
        self
    }

    /// Runs every operator in a task of its own (no chaining).
    pub fn disable_operator_chaining(&self) -> &Self {
        self.state.borrow_mut().config.chaining = false;
        self
    }

    /// The stream `handle` was taken from, if it belongs to the job this
    /// environment is building (not another environment's, not an executed job's).
    pub fn stream<T: Data>(&self, handle: &StreamHandle<T>) -> Option<DataStream<T>> {
        let job_id = self.state.borrow().job_id;
        (handle.job_id == job_id).then(|| handle.attach(self.clone()))
    }

    /// Sets the seed of the runtime's randomized decisions (shuffle partitioning).
    pub fn set_seed(&self, seed: u64) -> &Self {
        self.state.borrow_mut().config.seed = seed;
        self
    }

    /// Takes a checkpoint every `interval`: the job's state and source positions are
    /// saved so that after a failure it resumes from the last checkpoint with
    /// exactly-once state (the other checkpoint settings have defaults).
    pub fn enable_checkpointing(&self, interval: Duration) -> &Self {
        self.state.borrow_mut().config.checkpointing.interval = Some(interval);
        self
    }

    /// Sets how barriers are handled: aligned (default), unaligned or at-least-once.
    pub fn set_checkpoint_mode(&self, mode: CheckpointMode) -> &Self {
        self.state.borrow_mut().config.checkpointing.mode = mode;
        self
    }

    /// In aligned mode, switches a checkpoint to unaligned at a task that has been
    /// aligning for longer than `timeout`.
    pub fn set_alignment_timeout(&self, timeout: Duration) -> &Self {
        self.state.borrow_mut().config.checkpointing.alignment_timeout = Some(timeout);
        self
    }

    /// Aborts checkpoints that take longer than `timeout` (default 10 minutes).
    pub fn set_checkpoint_timeout(&self, timeout: Duration) -> &Self {
        self.state.borrow_mut().config.checkpointing.timeout = timeout;
        self
    }

    /// Sets the least time between the end of a checkpoint and the next trigger.
    pub fn set_min_pause_between_checkpoints(&self, pause: Duration) -> &Self {
        self.state.borrow_mut().config.checkpointing.min_pause = pause;
        self
    }

    /// Sets how many checkpoints may be in flight at once (default 1).
    pub fn set_max_concurrent_checkpoints(&self, checkpoints: usize) -> &Self {
        self.state.borrow_mut().config.checkpointing.max_concurrent = checkpoints;
        self
    }

    /// Sets how many consecutive failed checkpoints are tolerated before the job
    /// fails over (default 0).
    pub fn set_tolerable_checkpoint_failures(&self, failures: u32) -> &Self {
        self.state.borrow_mut().config.checkpointing.tolerable_failures = failures;
        self
    }

    /// Sets how many completed checkpoints are kept (default 3).
    pub fn set_retained_checkpoints(&self, checkpoints: usize) -> &Self {
        self.state.borrow_mut().config.checkpointing.retained = checkpoints;
        self
    }

    /// Sets how long cancelled tasks may take to stop (default 30 s;
    /// `Duration::ZERO` waits forever): tasks still running after it (an operator
    /// that never returns) fail the job with an error naming them, so cancelling a
    /// job or failing over never hangs. Long-running user code should check
    /// `SubtaskInfo::is_cancelled` (on a function's context or `open` argument, a
    /// source reader's or sink writer's context) and return.
    pub fn set_task_cancellation_timeout(&self, timeout: Duration) -> &Self {
        self.state.borrow_mut().config.task_cancellation_timeout = timeout;
        self
    }

    /// Sets the directory under which each run keeps its checkpoints (default: the
    /// system's temporary directory): a local path or an S3 URL such as
    /// `s3://bucket/checkpoints`, with credentials and endpoint taken from the
    /// environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
    /// `AWS_ENDPOINT`, `AWS_ALLOW_HTTP`).
    pub fn set_checkpoint_dir(&self, dir: impl Into<PathBuf>) -> &Self {
        self.state.borrow_mut().config.checkpointing.directory = dir.into();
        self
    }

    /// Sets how reads of checkpoint storage are retried while it is unavailable
    /// during a restore (default: 8 tries, 100 ms doubling up to 5 s apart). A
    /// damaged checkpoint is not retried but skipped for an older valid one; a
    /// completed checkpoint that stays unreadable fails the job.
    pub fn set_checkpoint_storage_retry(&self, retry: weir_core::StorageRetry) -> &Self {
        self.state.borrow_mut().config.checkpointing.storage_retry = retry;
        self
    }

    /// Sets what happens when a task fails (default: no restart without
    /// checkpoints; restart every second with them).
    pub fn set_restart_strategy(&self, strategy: RestartStrategy) -> &Self {
        self.state.borrow_mut().config.restart_strategy = Some(strategy);
        self
    }

    /// Chooses where keyed state lives: [`StateBackendConfig::Heap`] (default) or
    /// [`StateBackendConfig::RocksDb`] for state larger than memory.
    ///
    /// [`StateBackendConfig::Heap`]: weir_core::StateBackendConfig::Heap
    /// [`StateBackendConfig::RocksDb`]: weir_core::StateBackendConfig::RocksDb
    pub fn set_state_backend(&self, backend: weir_core::StateBackendConfig) -> &Self {
        self.state.borrow_mut().config.state_backend = backend;
        self
    }

    /// Lets the job start from a checkpoint or savepoint that holds state of
    /// operators (by uid) it no longer has, dropping that state (default: such a
    /// restore fails and names the operators).
    pub fn set_allow_non_restored_state(&self, allow: bool) -> &Self {
        self.state.borrow_mut().config.allow_non_restored_state = allow;
        self
    }

    /// Starts the job from a savepoint or retained checkpoint: a `chk-<n>` or
    /// savepoint directory, or a job's checkpoint directory (its newest valid
    /// checkpoint); local or `s3://…`.
    pub fn restore_from(&self, path: impl Into<PathBuf>) -> &Self {
        self.state.borrow_mut().config.restore_from = Some(path.into());
        self
    }

    /// The current configuration.
    pub fn config(&self) -> ExecutionConfig {
        self.state.borrow().config.clone()
    }

    /// Adds a node and its input edges; returns the node's id.
    pub(crate) fn add_node(
        &self,
        name: &str,
        operator: OperatorFactory,
        output_type: Arc<dyn StreamType>,
        inputs: Vec<(Upstream, usize)>,
    ) -> NodeId {
        let mut state = self.state.borrow_mut();
        let id = state.nodes.len();
        state.nodes.push(StreamNode {
            id,
            name: name.to_string(),
            uid: None,
            parallelism: None,
            max_parallelism: None,
            operator,
            output_type,
            chaining: ChainingStrategy::Always,
            side_outputs: Vec::new(),
        });
        for (upstream, target_input) in inputs {
            state.edges.push(StreamEdge {
                source: upstream.node,
                target: id,
                target_input,
                partitioning: upstream.partitioning,
                side_output: upstream.side_output,
            });
        }
        id
    }

    /// Changes node `id` (used by the stream setters).
    pub(crate) fn update_node(&self, id: NodeId, update: impl FnOnce(&mut StreamNode)) {
        if let Some(node) = self.state.borrow_mut().nodes.get_mut(id) {
            update(node);
        }
    }

    /// Records a misuse of the API, reported when the job is executed.
    pub(crate) fn misuse(&self, message: String) {
        self.state.borrow_mut().misuse.push(message);
    }

    /// A stream of what `source` reads. Sources that cannot be split run at
    /// parallelism 1.
    pub fn add_source<T: Data>(&self, source: impl Source<T>) -> DataStream<T> {
        let single = source.max_parallelism() == Some(1);
        let id = self.add_node(
            "source",
            OperatorFactory::Source(source_factory::<T>(Arc::new(source))),
            stream_type::<T>(),
            Vec::new(),
        );
        if single {
            self.update_node(id, |n| n.parallelism = Some(1));
        }
        DataStream::from_node(self.clone(), id)
    }

    /// A stream of what `source` reads, with event time and watermarks from
    /// `strategy` applied per source split (a split without data stops holding event
    /// time back after the strategy's idleness timeout).
    pub fn from_source<T: Data>(
        &self,
        source: impl Source<T>,
        strategy: WatermarkStrategy<T>,
        name: &str,
    ) -> DataStream<T> {
        let single = source.max_parallelism() == Some(1);
        let id = self.add_node(
            name,
            OperatorFactory::Source(source_factory_with_watermarks::<T>(Arc::new(source), strategy)),
            stream_type::<T>(),
            Vec::new(),
        );
        if single {
            self.update_node(id, |n| n.parallelism = Some(1));
        }
        DataStream::from_node(self.clone(), id)
    }

    /// Sets how often watermark generators emit periodic watermarks (default 200 ms).
    pub fn set_auto_watermark_interval(&self, interval: Duration) -> &Self {
        self.state.borrow_mut().config.auto_watermark_interval = interval;
        self
    }

    /// A stream of the given elements (split across the source's subtasks; in order
    /// at parallelism 1).
    pub fn from_collection<T: Data + Sync>(&self, items: impl IntoIterator<Item = T>) -> DataStream<T> {
        self.add_source(CollectionSource::new(items)).name("collection")
    }

    /// A stream of what `iterator` yields (parallelism 1).
    pub fn from_iter<T: Data>(&self, iterator: impl Iterator<Item = T> + Send + 'static) -> DataStream<T> {
        self.add_source(IteratorSource::new(iterator)).name("iterator")
    }

    /// The numbers `start..=end`, split into contiguous ranges across subtasks.
    pub fn from_sequence(&self, start: i64, end: i64) -> DataStream<i64> {
        self.add_source(SequenceSource::new(start, end)).name("sequence")
    }

    /// The lines of a text file, or of every file in a directory.
    pub fn read_text_file(&self, path: impl Into<PathBuf>) -> DataStream<String> {
        let path = path.into();
        let name = format!("text file {}", path.display());
        self.add_source(TextFileSource::new(path)).name(&name)
    }

    /// The job defined so far, as a stream graph.
    pub fn stream_graph(&self, job_name: &str) -> Result<StreamGraph> {
        let state = self.state.borrow();
        if !state.misuse.is_empty() {
            return Err(WeirError::Config(state.misuse.join("; ")));
        }
        Ok(StreamGraph {
            job_name: job_name.to_string(),
            nodes: state.nodes.clone(),
            edges: state.edges.clone(),
            config: state.config.clone(),
        })
    }

    /// The physical plan of the job defined so far: chains, parallelism, edges.
    pub fn explain(&self, job_name: &str) -> Result<String> {
        Ok(JobGraph::from_stream_graph(self.stream_graph(job_name)?)?.to_string())
    }

    /// Starts the job defined so far and returns a handle on it; the environment is
    /// cleared for the next job.
    pub fn execute_async(&self, job_name: &str) -> Result<JobClient> {
        let graph = JobGraph::from_stream_graph(self.stream_graph(job_name)?)?;
        {
            let mut state = self.state.borrow_mut();
            state.nodes.clear();
            state.edges.clear();
            state.job_id = next_job_id();
        }
        let tasks: usize = graph.vertices.iter().map(|v| v.parallelism).sum();
        tracing::info!(
            job = job_name,
            vertices = graph.vertices.len(),
            tasks,
            "starting job\n{graph}"
        );
        weir_runtime::execute(graph)
    }

    /// Runs the job defined so far to completion and returns its result; the
    /// environment is cleared for the next job.
    pub fn execute(&self, job_name: &str) -> Result<JobResult> {
        let result = self.execute_async(job_name)?.wait();
        match &result {
            Ok(r) => tracing::info!(job = job_name, elapsed = ?r.elapsed, "job finished"),
            Err(e) => tracing::error!(job = job_name, "job failed: {e}"),
        }
        result
    }
}
