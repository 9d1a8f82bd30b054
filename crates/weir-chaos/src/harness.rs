//! The process-kill harness: runs the job binary as a child process, kills it with
//! SIGKILL as the round's seeded plans say, restarts it from the latest retained
//! checkpoint until the job finishes, then checks the committed output against
//! the oracle.

use crate::error::ChaosError;
use crate::oracle::{self, Comparison};
use crate::plan::{KillPlan, PlanSpace, Planner};
use crate::report::{Failure, KillPoint, Summary};
use crate::retained;
use crate::scenario::{Budget, Rescale, Scenario};
use crate::watch::{Event, Watch, HANG_LIMIT};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use weir::core::CheckpointMode;

/// The phrase of the runtime's refusal to restore unaligned channel state at
/// another parallelism.
const UNALIGNED_RESCALE_REFUSAL: &str = "restores only at the same parallelism";

/// Runs the job binary and kills it.
#[derive(Debug, Clone)]
pub struct Harness {
    job: PathBuf,
}

/// What one child process did.
enum RunEnd {
    Killed(KillPoint, String),
    Exited(ExitStatus),
}

/// The child, killed and reaped if the harness gives up on it.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The directories of one round.
struct RoundDirs {
    root: tempfile::TempDir,
    checkpoints: PathBuf,
    output: PathBuf,
    rocksdb: PathBuf,
    logs: PathBuf,
}

impl RoundDirs {
    fn new(scenario: &Scenario, seed: u64) -> Result<RoundDirs, ChaosError> {
        let root = tempfile::Builder::new()
            .prefix(&format!("weir-chaos-{}-{seed}-", scenario.name))
            .tempdir()
            .map_err(|e| ChaosError::io(std::env::temp_dir(), e))?;
        let dirs = RoundDirs {
            checkpoints: root.path().join("checkpoints"),
            output: root.path().join("output"),
            rocksdb: root.path().join("rocksdb"),
            logs: root.path().join("logs"),
            root,
        };
        for dir in [&dirs.checkpoints, &dirs.rocksdb, &dirs.logs] {
            std::fs::create_dir_all(dir).map_err(|e| ChaosError::io(dir, e))?;
        }
        Ok(dirs)
    }
}

/// The checkpoint the next run resumes from.
#[derive(Debug, Clone)]
struct Retained {
    job_dir: PathBuf,
    parallelism: usize,
    newest: u64,
}

impl Harness {
    /// A harness running `job_binary` (`weir-chaos-job`; tests get its path from
    /// `env!("CARGO_BIN_EXE_weir-chaos-job")`).
    pub fn new(job_binary: impl Into<PathBuf>) -> Harness {
        Harness { job: job_binary.into() }
    }

    /// Runs rounds of `scenario` until `budget.kills` kills happened (or the one
    /// round of `budget.seed`).
    pub fn run(&self, scenario: &Scenario, budget: Budget) -> Result<Summary, Box<Failure>> {
        let started = Instant::now();
        let mut summary = Summary {
            scenario: scenario.label(),
            ..Summary::default()
        };
        let seeds: Box<dyn Iterator<Item = u64>> = match budget.seed {
            Some(seed) => Box::new(std::iter::once(seed)),
            None => Box::new(1..),
        };
        // Rounds whose plans did not fire (the job ended first) make no kills;
        // this bounds the rounds should that keep happening.
        let most_rounds = u64::from(budget.kills) + 3;
        for seed in seeds {
            self.round(scenario, seed, &mut summary)?;
            summary.seeds.push(seed);
            if budget.seed.is_some() || summary.total_kills() >= budget.kills {
                break;
            }
            if summary.seeds.len() as u64 >= most_rounds {
                return Err(Box::new(Failure {
                    scenario: scenario.label(),
                    test: scenario.name.clone(),
                    seed,
                    reason: format!(
                        "only {} kills happened in {} rounds (wanted {}): the kill plans keep missing the job",
                        summary.total_kills(),
                        summary.seeds.len(),
                        budget.kills
                    ),
                    runs: Vec::new(),
                    work_dir: None,
                }));
            }
        }
        summary.elapsed = started.elapsed();
        Ok(summary)
    }

    /// One round: the job from its start to its end, killed
    /// `scenario.kills_per_round` times.
    fn round(&self, scenario: &Scenario, seed: u64, summary: &mut Summary) -> Result<(), Box<Failure>> {
        let mut log = Vec::new();
        let fail = |reason: String, log: &[String], dirs: Option<RoundDirs>| {
            Box::new(Failure {
                scenario: scenario.label(),
                test: scenario.name.clone(),
                seed,
                reason,
                runs: log.to_vec(),
                work_dir: dirs.map(|d| d.root.keep()),
            })
        };
        let dirs = RoundDirs::new(scenario, seed).map_err(|e| fail(e.to_string(), &log, None))?;
        match self.round_in(scenario, seed, &dirs, summary, &mut log) {
            Ok(()) => Ok(()),
            Err(reason) => Err(fail(reason, &log, Some(dirs))),
        }
    }

    fn round_in(
        &self,
        scenario: &Scenario,
        seed: u64,
        dirs: &RoundDirs,
        summary: &mut Summary,
        log: &mut Vec<String>,
    ) -> Result<(), String> {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut planner = Planner::new();
        let mut kills_left = scenario.kills_per_round;
        let mut retained: Option<Retained> = None;
        let mut forced_parallelism = None;
        let most_runs = scenario.kills_per_round * 3 + 10;
        for run in 0.. {
            if run >= most_runs {
                return Err(format!("the job did not finish in {most_runs} runs"));
            }
            let parallelism = forced_parallelism
                .take()
                .unwrap_or_else(|| choose_parallelism(&mut rng, scenario, retained.as_ref()));
            let plan = if kills_left == 0 {
                KillPlan::Finish
            } else {
                planner.choose(
                    &mut rng,
                    PlanSpace {
                        restoring: retained.is_some(),
                        parallelism,
                        run_time: scenario.run_time(),
                        end_of_input: scenario.end_of_input,
                    },
                )
            };
            let before = retained::job_dirs(&dirs.checkpoints).map_err(|e| e.to_string())?;
            let stderr_path = dirs.logs.join(format!("run-{run}.stderr"));
            let from = retained.as_ref().map_or("a fresh start".to_string(), |r| {
                format!("chk-{} of {}", r.newest, r.job_dir.display())
            });
            let mut line = format!("run {run}: parallelism {parallelism}, from {from}, plan: {plan}");
            summary.runs += 1;
            if retained.as_ref().is_some_and(|r| r.parallelism != parallelism) {
                summary.rescales += 1;
            }
            let end = self.run_child(scenario, dirs, parallelism, retained.as_ref(), plan, &stderr_path);
            let end = match end {
                Ok(end) => end,
                Err(reason) => {
                    log.push(line);
                    return Err(format!("run {run}: {reason} (its stderr: {})", stderr_path.display()));
                }
            };
            // The run's own job directory, if it got as far as creating one.
            let after = retained::job_dirs(&dirs.checkpoints).map_err(|e| e.to_string())?;
            let own: Vec<PathBuf> = after.difference(&before).cloned().collect();
            match end {
                RunEnd::Killed(point, what) => {
                    kills_left = kills_left.saturating_sub(1);
                    *summary.kills.entry(point).or_default() += 1;
                    line.push_str(&format!(" -> killed {what}"));
                }
                RunEnd::Exited(status) if status.success() => {
                    line.push_str(" -> finished");
                    log.push(line);
                    return self.check_output(scenario, dirs, summary);
                }
                RunEnd::Exited(status) => {
                    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
                    let refused = stderr.contains(UNALIGNED_RESCALE_REFUSAL);
                    match &retained {
                        Some(r)
                            if refused
                                && r.parallelism != parallelism
                                && scenario.mode == CheckpointMode::Unaligned =>
                        {
                            line.push_str(" -> refused to restore unaligned channel state at another parallelism");
                            summary.rescales -= 1;
                            summary.refused_rescales += 1;
                            forced_parallelism = Some(r.parallelism);
                        }
                        _ => {
                            line.push_str(&format!(" -> exited with {status}"));
                            log.push(line);
                            return Err(format!(
                                "run {run} failed ({status}): {}\n(its stderr: {})",
                                last_lines(&stderr, 12),
                                stderr_path.display()
                            ));
                        }
                    }
                }
            }
            log.push(line);
            // Resume from the newest run that completed a checkpoint; drop the rest.
            for dir in own {
                let completed = retained::completed_checkpoints(&dir).map_err(|e| e.to_string())?;
                match completed.last() {
                    Some(&newest) => {
                        if let Some(old) = retained.replace(Retained {
                            job_dir: dir,
                            parallelism,
                            newest,
                        }) {
                            retained::remove_job_dir(&old.job_dir).map_err(|e| e.to_string())?;
                        }
                    }
                    None => retained::remove_job_dir(&dir).map_err(|e| e.to_string())?,
                }
            }
        }
        Err("unreachable: the run loop ended".into())
    }

    fn check_output(&self, scenario: &Scenario, dirs: &RoundDirs, summary: &mut Summary) -> Result<(), String> {
        let expected = oracle::expected(scenario.records, scenario.keys);
        let committed = oracle::read_committed(&dirs.output).map_err(|e| e.to_string())?;
        let comparison = Comparison::new(&expected, &committed);
        if !comparison.holds(scenario.guarantee()) {
            return Err(format!("the committed output is wrong: {comparison}"));
        }
        summary.duplicates += comparison.duplicated.iter().map(|(_, n)| n - 1).sum::<usize>();
        Ok(())
    }

    /// Runs one child process to its end or its kill.
    fn run_child(
        &self,
        scenario: &Scenario,
        dirs: &RoundDirs,
        parallelism: usize,
        retained: Option<&Retained>,
        plan: KillPlan,
        stderr_path: &Path,
    ) -> Result<RunEnd, String> {
        let stderr = std::fs::File::create(stderr_path).map_err(|e| format!("{}: {e}", stderr_path.display()))?;
        let mut command = Command::new(&self.job);
        command
            .arg("--checkpoint-dir")
            .arg(&dirs.checkpoints)
            .arg("--output")
            .arg(&dirs.output)
            .arg("--rocksdb-dir")
            .arg(&dirs.rocksdb)
            .arg("--interval")
            .arg(format!("{}ms", scenario.interval.as_millis().max(1)))
            .arg("--mode")
            .arg(scenario.mode.name())
            .arg("--state-backend")
            .arg(scenario.backend.name())
            .arg("--parallelism")
            .arg(parallelism.to_string())
            .arg("--records")
            .arg(scenario.records.to_string())
            .arg("--keys")
            .arg(scenario.keys.to_string())
            .arg("--rate")
            .arg(scenario.rate.to_string())
            .arg("--interactive")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr);
        if let Some(retained) = retained {
            command.arg("--restore-from").arg(&retained.job_dir);
        }
        let spawned = Instant::now();
        let mut child = ChildGuard(command.spawn().map_err(|e| {
            ChaosError::Spawn {
                program: self.job.clone(),
                source: e,
            }
            .to_string()
        })?);
        let stdin = child.0.stdin.take().ok_or("the child has no standard input")?;
        let stdout = child.0.stdout.take().ok_or("the child has no standard output")?;
        let (lines, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines.send(Event::Line(line)).is_err() {
                    return;
                }
            }
            let _ = lines.send(Event::Closed);
        });
        let mut watch = Watch::new(plan, stdin, events, spawned);
        let killed = watch.until_kill_or_exit(retained.is_some())?;
        match killed {
            Some((point, what)) => {
                child.0.kill().map_err(|e| format!("cannot kill the job: {e}"))?;
                child.0.wait().map_err(|e| format!("cannot reap the killed job: {e}"))?;
                Ok(RunEnd::Killed(point, what))
            }
            None => {
                let status = wait_with_deadline(&mut child.0, spawned + HANG_LIMIT)
                    .map_err(|e| format!("{e}; last lines on its stdout: {}", watch.recent_lines()))?;
                if status.success() && !watch.saw_job_finished() {
                    return Err(format!(
                        "the job exited successfully without reporting JOB_FINISHED; last lines: {}",
                        watch.recent_lines()
                    ));
                }
                Ok(RunEnd::Exited(status))
            }
        }
    }
}

/// Picks the parallelism of the next run: for a rescaling scenario another one
/// than the retained checkpoint's, in the scenario's direction (the same one
/// when there is none that way).
fn choose_parallelism(rng: &mut fastrand::Rng, scenario: &Scenario, retained: Option<&Retained>) -> usize {
    let all = &scenario.parallelism;
    let pick = |rng: &mut fastrand::Rng, choices: &[usize]| choices.get(rng.usize(..choices.len().max(1))).copied();
    if !scenario.rescales() {
        return pick(rng, all).unwrap_or(1);
    }
    let Some(current) = retained.map(|r| r.parallelism) else {
        let fresh = match scenario.rescale {
            Rescale::Up => all.iter().min().copied(),
            Rescale::Down => all.iter().max().copied(),
            Rescale::Any => pick(rng, all),
        };
        return fresh.unwrap_or(1);
    };
    let choices: Vec<usize> = match scenario.rescale {
        Rescale::Up => all.iter().copied().filter(|&p| p > current).collect(),
        Rescale::Down => all.iter().copied().filter(|&p| p < current).collect(),
        Rescale::Any => all.iter().copied().filter(|&p| p != current).collect(),
    };
    pick(rng, &choices).unwrap_or(current)
}

/// Waits for the child to exit, killing it at `deadline`.
fn wait_with_deadline(child: &mut Child, deadline: Instant) -> Result<ExitStatus, String> {
    loop {
        if let Some(status) = child.try_wait().map_err(|e| format!("cannot wait for the job: {e}"))? {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "the job closed its output but did not exit within {HANG_LIMIT:?} (hang?)"
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
