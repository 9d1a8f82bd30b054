//! The jobs the `weir sql` shell started in the background (`INSERT INTO`,
//! statement sets): named as Flink names them (`insert-into_<table>`), listed by
//! `SHOW JOBS`, stopped by `STOP JOB`, and reported when they end.

use std::time::Duration;
use weir::prelude::*;

/// A job started from the shell.
struct Job {
    name: String,
    handle: JobHandle,
    /// The client until the job's end was reported.
    client: Option<JobClient>,
    /// How long it ran, once ended.
    ran: Option<Duration>,
}

/// The jobs started from the shell.
#[derive(Default)]
pub struct Jobs {
    jobs: Vec<Job>,
}

impl Jobs {
    /// No jobs.
    pub fn new() -> Self {
        Self::default()
    }

    /// `base`, or `base-2`, `base-3`, ... when a job already has that name.
    pub fn unique_name(&self, base: &str) -> String {
        let taken = |name: &str| self.jobs.iter().any(|j| j.name == name);
        if !taken(base) {
            return base.to_string();
        }
        (2..)
            .map(|n| format!("{base}-{n}"))
            .find(|name| !taken(name))
            .unwrap_or_else(|| base.to_string())
    }

    /// Keeps track of the job `client` runs, named `name`.
    pub fn add(&mut self, name: String, client: JobClient) {
        self.jobs.push(Job {
            name,
            handle: client.handle(),
            client: Some(client),
            ran: None,
        });
    }

    /// Jobs still running.
    pub fn running(&self) -> usize {
        self.jobs.iter().filter(|j| j.client.is_some()).count()
    }

    /// A line for each job that ended since the last call: finished, failed (why)
    /// or cancelled.
    pub fn reap(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        for job in &mut self.jobs {
            if !job.client.as_ref().is_some_and(JobClient::is_finished) {
                continue;
            }
            let Some(client) = job.client.take() else { continue };
            job.ran = Some(job.handle.elapsed());
            let line = match (client.wait(), job.handle.status()) {
                (Ok(result), _) => format!(
                    "[INFO] Job '{}' finished in {:.2}s.",
                    job.name,
                    result.elapsed.as_secs_f64()
                ),
                (Err(_), JobStatus::Cancelled) => format!("[INFO] Job '{}' cancelled.", job.name),
                (Err(e), _) => format!("[ERROR] Job '{}' failed: {e}", job.name),
            };
            lines.push(line);
        }
        lines
    }

    /// `SHOW JOBS`: id, name, status and run time of each job, oldest first.
    pub fn rows(&self) -> Vec<Vec<String>> {
        self.jobs
            .iter()
            .map(|job| {
                let ran = job.ran.unwrap_or_else(|| job.handle.elapsed());
                vec![
                    job.handle.job_id().to_string(),
                    job.name.clone(),
                    job.handle.status().name().to_string(),
                    format!("{:.1}s", ran.as_secs_f64()),
                ]
            })
            .collect()
    }

    /// The running job named or with id `job`.
    pub fn find_running(&self, job: &str) -> Result<&JobHandle, String> {
        let found = self
            .jobs
            .iter()
            .find(|j| j.name == job || j.handle.job_id() == job)
            .ok_or_else(|| format!("no job '{job}' was started here (SHOW JOBS lists them)"))?;
        if found.client.is_none() || found.handle.is_finished() {
            return Err(format!("job '{}' is not running", found.name));
        }
        Ok(&found.handle)
    }

    /// Cancels every running job; their names.
    pub fn cancel_all(&mut self) -> Vec<String> {
        let mut names = Vec::new();
        for job in &mut self.jobs {
            if let Some(client) = job.client.take() {
                if !client.is_finished() {
                    names.push(job.name.clone());
                }
                client.cancel();
                let _ = client.wait();
            }
        }
        names
    }
}
