//! End-to-end exactly-once: checkpoints, a failure, and the two-phase-commit file
//! sink.
//!
//! `cargo run --release -p weir --example exactly_once_files`
//!
//! The job counts words per key with checkpoints every 20 ms. One operator fails
//! once, after two checkpoints completed; the job restarts from the last checkpoint,
//! the source replays from its stored position, and the file sink commits each
//! checkpoint's output exactly once. The example then reads the committed files and
//! checks that every record is there exactly once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir::prelude::*;

const RECORDS: u64 = 200_000;

/// Fails once (in the first attempt) after it has seen two checkpoints complete.
#[derive(Clone)]
struct FailOnce {
    completed: Arc<AtomicU64>,
    attempt: u32,
}

impl ProcessFunction<u64, u64> for FailOnce {
    fn open(&mut self, subtask: &weir::core::SubtaskInfo) -> Result<(), BoxError> {
        self.attempt = subtask.attempt;
        Ok(())
    }

    fn process_element(&mut self, v: u64, _: &mut Context<'_>, out: &mut Collector<'_, u64>) -> Result<(), BoxError> {
        if self.attempt == 0 && self.completed.load(Ordering::SeqCst) >= 2 {
            return Err("a simulated crash".into());
        }
        out.collect(v);
        Ok(())
    }

    fn notify_checkpoint_complete(&mut self, _: u64) -> Result<(), BoxError> {
        self.completed.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn main() -> Result<(), WeirError> {
    let dir = std::env::temp_dir().join(format!("weir-exactly-once-{}", std::process::id()));
    let out = dir.join("out");
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2)
        .enable_checkpointing(Duration::from_millis(20))
        .set_checkpoint_dir(dir.join("checkpoints"));
    env.add_source(
        GeneratorSource::new(|i| i)
            .with_count(RECORDS)
            .with_rate_limit(1_000_000.0),
    )
    .process(FailOnce {
        completed: Arc::new(AtomicU64::new(0)),
        attempt: 0,
    })
    .name("fails once")
    .key_by(|i| i % 100)
    .map(|i| format!("record {i}"))
    .sink_to_files(&out);
    let result = env.execute("exactly-once files")?;

    let mut lines = Vec::new();
    for entry in std::fs::read_dir(&out).map_err(|e| WeirError::io(&out, e))? {
        let path = entry.map_err(|e| WeirError::io(&out, e))?.path();
        let text = std::fs::read_to_string(&path).map_err(|e| WeirError::io(&path, e))?;
        lines.extend(text.lines().map(String::from));
    }
    let total = lines.len();
    lines.sort();
    lines.dedup();
    println!(
        "{} restart(s), {} checkpoints; {total} lines committed, {} distinct, {RECORDS} expected",
        result.restarts,
        result.checkpoints.len(),
        lines.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
    if total as u64 == RECORDS && lines.len() as u64 == RECORDS {
        println!("exactly once: every record committed once");
        Ok(())
    } else {
        Err(WeirError::Internal("output is not exactly once".into()))
    }
}
