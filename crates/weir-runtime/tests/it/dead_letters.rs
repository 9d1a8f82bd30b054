//! Records a source cannot decode, under the `dead-letter` policy, reach the
//! source's dead-letter side output and any sink: exactly once across a failure
//! (they travel with the source's records through the checkpoint barriers). A
//! job that does not consume them fails naming the record instead of dropping it.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{assert_same_lines, committed_lines, quiet_injected_panics, run_with_watchdog};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir_connector_api::bad_record::{BadRecord, BadRecordHandler, BadRecordPolicy};
use weir_connector_api::codec::{decode_state, encode_state};
use weir_connector_api::format::{FormatError, FormatErrorKind};
use weir_connector_api::source::{Boundedness, PollStatus, ReaderContext, Source, SourceOutput, SourceReader};
use weir_core::{BoxError, RestartStrategy};
use weir_datastream::StreamExecutionEnvironment;

const LINES: usize = 3_000;

fn line(i: usize) -> String {
    if i % 7 == 3 {
        format!("bad-{i}")
    } else {
        i.to_string()
    }
}

/// Numbers, one per line, some of them not numbers.
struct Lines {
    policy: BadRecordPolicy,
    /// Half-way, wait until a checkpoint completed.
    wait_for_checkpoint: bool,
}

struct LinesReader {
    wait_for_checkpoint: bool,
    next: usize,
    handler: BadRecordHandler,
    completed: bool,
}

impl Source<u64> for Lines {
    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }
    fn max_parallelism(&self) -> Option<usize> {
        Some(1)
    }
    fn create_reader(&self, context: &ReaderContext) -> Result<Box<dyn SourceReader<u64>>, BoxError> {
        let next = match context.restored.as_ref().and_then(|s| s.first()) {
            Some(bytes) => decode_state(bytes, "the line number")?,
            None => 0,
        };
        Ok(Box::new(LinesReader {
            wait_for_checkpoint: self.wait_for_checkpoint,
            next,
            handler: BadRecordHandler::new("numbers", self.policy.clone()),
            completed: false,
        }))
    }
}

impl SourceReader<u64> for LinesReader {
    fn poll_next(&mut self, output: &mut SourceOutput<'_, u64>) -> Result<PollStatus, BoxError> {
        if self.wait_for_checkpoint && self.next >= LINES / 2 && !self.completed {
            // Half-way, wait for a checkpoint of this attempt, so the failure
            // after it restores from a checkpoint.
            return Ok(PollStatus::Pending {
                retry_at: Some(std::time::Instant::now() + Duration::from_millis(1)),
            });
        }
        for _ in 0..8 {
            if self.next == LINES {
                return Ok(PollStatus::Finished);
            }
            let text = line(self.next);
            match text.parse() {
                Ok(n) => output.collect(n),
                Err(e) => {
                    let error = FormatError::new(FormatErrorKind::Type, format!("not a number: {e}"));
                    let position = format!("line {}", self.next + 1);
                    output.bad_record(
                        &self.handler,
                        BadRecord {
                            split: "numbers.txt",
                            position: &position,
                            bytes: text.as_bytes(),
                            error: &error,
                        },
                    )?;
                }
            }
            self.next += 1;
        }
        Ok(PollStatus::MoreAvailable)
    }
    fn snapshot_state(&mut self, _: u64) -> Result<Vec<Vec<u8>>, BoxError> {
        Ok(vec![encode_state(&self.next)?])
    }
    fn notify_checkpoint_complete(&mut self, _: u64) -> Result<(), BoxError> {
        self.completed = true;
        Ok(())
    }
}

#[test]
fn dead_letters_reach_a_sink_exactly_once_across_a_failure() {
    quiet_injected_panics();
    run_with_watchdog("dead letters".into(), |dir| {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(2)
            .enable_checkpointing(Duration::from_millis(5))
            .set_checkpoint_dir(dir.join("checkpoints"))
            .set_restart_strategy(RestartStrategy::FixedDelay {
                attempts: 3,
                delay: Duration::ZERO,
            });
        let numbers = env
            .add_source(Lines {
                policy: BadRecordPolicy::SideOutput,
                wait_for_checkpoint: true,
            })
            .uid("numbers");
        let failed = Arc::new(AtomicBool::new(false));
        numbers
            .map(move |n: u64| {
                if n == 2_000 && !failed.swap(true, Ordering::SeqCst) {
                    panic!("injected fault at {n}");
                }
                n.to_string()
            })
            .uid("fail once")
            .sink_to_files(dir.join("good"))
            .uid("good");
        numbers
            .dead_letters()
            .map(|l| {
                format!(
                    "{} {} {} {}",
                    l.split,
                    l.position,
                    String::from_utf8_lossy(&l.payload),
                    l.error
                )
            })
            .uid("letters")
            .sink_to_files(dir.join("bad"))
            .uid("bad");
        let result = env.execute("dead letters").unwrap();
        assert_eq!(result.restarts, 1, "the injected fault restarted the job once");
        assert!(result.restored_from.is_some(), "the restart restored a checkpoint");

        let mut good: Vec<String> = (0..LINES).filter(|i| i % 7 != 3).map(|i| i.to_string()).collect();
        let mut bad: Vec<String> = (0..LINES)
            .filter(|i| i % 7 == 3)
            .map(|i| {
                format!(
                    "numbers.txt line {} bad-{i} wrong type: not a number: invalid digit found in string",
                    i + 1
                )
            })
            .collect();
        good.sort();
        bad.sort();
        assert_same_lines("records", &committed_lines(&dir.join("good")).0, &good);
        assert_same_lines("dead letters", &committed_lines(&dir.join("bad")).0, &bad);
    });
}

#[test]
fn dead_letters_nobody_consumes_fail_the_job_naming_the_record() {
    let env = StreamExecutionEnvironment::new();
    env.add_source(Lines {
        policy: BadRecordPolicy::SideOutput,
        wait_for_checkpoint: false,
    })
    .collect();
    let error = env.execute("unconsumed dead letters").unwrap_err().to_string();
    assert!(
        error.contains("dead_letters()") && error.contains("numbers.txt, line 4"),
        "{error}"
    );
}

#[test]
fn skipped_records_are_counted_and_the_rest_arrives() {
    let env = StreamExecutionEnvironment::new();
    let numbers = env
        .add_source(Lines {
            policy: BadRecordPolicy::Skip,
            wait_for_checkpoint: false,
        })
        .collect();
    env.execute("skip").unwrap();
    assert_eq!(numbers.take().len(), (0..LINES).filter(|i| i % 7 != 3).count());
}
