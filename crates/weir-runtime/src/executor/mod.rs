//! The local executor: runs a [`JobGraph`] in this process, one thread per subtask.
//!
//! [`execute`] creates every task and channel, starts the task threads and a job
//! master thread, and returns a [`JobClient`]. The master waits for the tasks; when one
//! fails it cancels all others (they stop at their next record or wake-up, including
//! senders blocked on a full channel) and the job fails with the failing operator's
//! name, subtask and cause. When all tasks finish, the job's [`JobResult`] is ready.

mod build;
mod wiring;

pub use wiring::ChannelReport;

use crate::failure::{into_failure, FailureCause, OperatorFailure, OperatorMeta};
use crate::graph::{JobGraph, OperatorFactory};
use crate::task::{TaskCommand, TaskShared};
use build::SubtaskBuilder;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use weir_core::{Result, WeirError};

/// Figures of one vertex after (or during) a run.
#[derive(Debug, Clone)]
pub struct VertexReport {
    /// The chain's name.
    pub name: String,
    /// Number of subtasks.
    pub parallelism: usize,
    /// Records its subtasks took in (from channels, or from the source reader).
    pub records_in: u64,
}

/// The outcome of a job that finished.
#[derive(Debug, Clone)]
pub struct JobResult {
    /// Name of the job.
    pub job_name: String,
    /// Wall time from start to the end of the last task.
    pub elapsed: Duration,
    /// Figures per vertex, in graph order.
    pub vertices: Vec<VertexReport>,
    /// Figures per channel.
    pub channels: Vec<ChannelReport>,
}

struct TaskEvent {
    outcome: std::result::Result<(), OperatorFailure>,
}

struct JobState {
    job_name: String,
    vertex_names: Vec<String>,
    tasks: Vec<Vec<Arc<TaskShared>>>,
    source_vertices: Vec<usize>,
    user_cancelled: AtomicBool,
    started: Instant,
}

impl JobState {
    fn cancel_all(&self) {
        for task in self.tasks.iter().flatten() {
            task.cancel();
        }
    }

    fn vertex_reports(&self) -> Vec<VertexReport> {
        self.tasks
            .iter()
            .zip(&self.vertex_names)
            .map(|(subtasks, name)| VertexReport {
                name: name.clone(),
                parallelism: subtasks.len(),
                records_in: subtasks
                    .iter()
                    .map(|t| t.metrics.records_in.load(Ordering::Relaxed))
                    .sum(),
            })
            .collect()
    }
}

/// A handle on a running job.
pub struct JobClient {
    state: Arc<JobState>,
    master: Option<JoinHandle<Result<JobResult>>>,
}

impl std::fmt::Debug for JobClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobClient")
            .field("job_name", &self.state.job_name)
            .finish()
    }
}

impl JobClient {
    /// Name of the job.
    pub fn job_name(&self) -> &str {
        &self.state.job_name
    }

    /// Ends the job gracefully: sources stop reading as if their input had ended, and
    /// everything already read is processed and written before the job finishes.
    pub fn stop(&self) {
        for &vertex in &self.state.source_vertices {
            for task in &self.state.tasks[vertex] {
                task.post(TaskCommand::Stop);
            }
        }
    }

    /// Aborts the job: tasks stop at once; [`wait`](Self::wait) returns
    /// [`WeirError::Cancelled`].
    pub fn cancel(&self) {
        self.state.user_cancelled.store(true, Ordering::Release);
        self.state.cancel_all();
    }

    /// Whether the job has ended (finished, failed or cancelled).
    pub fn is_finished(&self) -> bool {
        self.master.as_ref().is_none_or(|m| m.is_finished())
    }

    /// Live figures per vertex.
    pub fn vertex_reports(&self) -> Vec<VertexReport> {
        self.state.vertex_reports()
    }

    /// Time since the job started.
    pub fn elapsed(&self) -> Duration {
        self.state.started.elapsed()
    }

    /// Waits for the job to end and returns its result.
    pub fn wait(mut self) -> Result<JobResult> {
        let Some(master) = self.master.take() else {
            return Err(WeirError::Internal("job already waited for".into()));
        };
        master
            .join()
            .map_err(|_| WeirError::Internal("the job master thread panicked".into()))?
    }
}

impl Drop for JobClient {
    fn drop(&mut self) {
        // A dropped client of a running job cancels it rather than leaking threads.
        if let Some(master) = self.master.take() {
            if !master.is_finished() {
                self.state.user_cancelled.store(true, Ordering::Release);
                self.state.cancel_all();
            }
            let _ = master.join();
        }
    }
}

/// Starts `graph` in this process and returns a handle on the running job.
pub fn execute(graph: JobGraph) -> Result<JobClient> {
    let graph = Arc::new(graph);
    let config = Arc::new(graph.config.clone());
    let tasks: Vec<Vec<Arc<TaskShared>>> = graph
        .vertices
        .iter()
        .map(|v| {
            (0..v.parallelism)
                .map(|_| Arc::new(TaskShared::new()))
                .collect()
        })
        .collect();
    let (io, wired) = wiring::wire(&graph, &tasks);
    let state = Arc::new(JobState {
        job_name: graph.job_name.clone(),
        vertex_names: graph.vertices.iter().map(|v| v.name.clone()).collect(),
        tasks: tasks.clone(),
        source_vertices: graph
            .vertices
            .iter()
            .filter(|v| matches!(graph.nodes[v.head].operator, OperatorFactory::Source(_)))
            .map(|v| v.id)
            .collect(),
        user_cancelled: AtomicBool::new(false),
        started: Instant::now(),
    });

    let (events, received) = mpsc::channel::<TaskEvent>();
    let mut handles = Vec::new();
    for (vertex, subtask_io) in graph.vertices.iter().zip(io) {
        for (subtask, io) in subtask_io.into_iter().enumerate() {
            let graph = graph.clone();
            let config = config.clone();
            let task = tasks[vertex.id][subtask].clone();
            let task_events = events.clone();
            let head = vertex.head;
            let meta = OperatorMeta::new(vertex.name.as_str(), subtask, vertex.parallelism);
            let thread_name = format!("weir-{}-{subtask}", graph.nodes[head].name);
            let spawned = std::thread::Builder::new()
                .name(thread_name)
                .spawn(move || {
                    let outcome = match catch_unwind(AssertUnwindSafe(|| {
                        let builder = SubtaskBuilder {
                            graph: &graph,
                            config: &config,
                            subtask,
                            attempt: 0,
                            task: &task,
                            io,
                        };
                        let mut body = builder.task(head)?;
                        body.run(&task);
                        Ok(())
                    })) {
                        Ok(result) => result,
                        Err(payload) => Err(into_failure(payload, &meta)),
                    };
                    let _ = task_events.send(TaskEvent { outcome });
                });
            match spawned {
                Ok(handle) => handles.push(handle),
                Err(e) => {
                    state.cancel_all();
                    drop(events);
                    for h in handles {
                        let _ = h.join();
                    }
                    return Err(WeirError::Internal(format!(
                        "could not start a thread for '{}' subtask {subtask}: {e}",
                        vertex.name
                    )));
                }
            }
        }
    }
    drop(events);

    let master_state = state.clone();
    let total = handles.len();
    let master = std::thread::Builder::new()
        .name("weir-job-master".into())
        .spawn(move || {
            let mut failure: Option<OperatorFailure> = None;
            for _ in 0..total {
                let Ok(event) = received.recv() else { break };
                if let Err(f) = event.outcome {
                    if failure.is_none() && matches!(f.cause, FailureCause::Error(_)) {
                        tracing::error!(
                            operator = %f.operator,
                            subtask = f.subtask,
                            "task failed, cancelling the job: {:?}",
                            f.cause
                        );
                        failure = Some(f);
                        master_state.cancel_all();
                    }
                }
            }
            for handle in handles {
                let _ = handle.join();
            }
            if let Some(f) = failure {
                let FailureCause::Error(cause) = f.cause else {
                    unreachable!("only errors are kept")
                };
                return Err(WeirError::TaskFailed {
                    operator: f.operator.to_string(),
                    subtask: f.subtask,
                    parallelism: f.parallelism,
                    cause,
                });
            }
            if master_state.user_cancelled.load(Ordering::Acquire) {
                return Err(WeirError::Cancelled);
            }
            let channels = wired
                .iter()
                .map(|w| {
                    let edge = &graph.edges[w.edge];
                    ChannelReport {
                        source_vertex: graph.vertices[edge.source_vertex].name.clone(),
                        source_subtask: w.source_subtask,
                        target_vertex: graph.vertices[edge.target_vertex].name.clone(),
                        target_subtask: w.target_subtask,
                        stats: w.channel.stats(),
                    }
                })
                .collect();
            Ok(JobResult {
                job_name: master_state.job_name.clone(),
                elapsed: master_state.started.elapsed(),
                vertices: master_state.vertex_reports(),
                channels,
            })
        })
        .map_err(|e| {
            state.cancel_all();
            WeirError::Internal(format!("could not start the job master thread: {e}"))
        })?;

    Ok(JobClient {
        state,
        master: Some(master),
    })
}
