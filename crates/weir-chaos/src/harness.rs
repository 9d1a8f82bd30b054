//! The process-kill harness: runs the job binary as a child process, kills it with
//! SIGKILL as the round's seeded plans say, restarts it from the latest retained
//! checkpoint until the job finishes, then checks the committed output against
//! the oracle.

use crate::error::ChaosError;
use crate::job::Backend;
use crate::markers::{Marker, REPLY};
use crate::oracle::{self, Comparison, Guarantee};
use crate::plan::{KillPlan, PlanSpace, Planner};
use crate::retained;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};
use weir::core::CheckpointMode;

/// The environment variable holding the number of kills each test makes at least.
pub const KILLS_VAR: &str = "WEIR_CHAOS_KILLS";
/// The environment variable that reruns one round with the given seed.
pub const SEED_VAR: &str = "WEIR_CHAOS_SEED";
/// A run that takes longer than this is reported as hanging. Generous: it only
/// turns a hang into a failure, it does not measure speed.
pub const HANG_LIMIT: Duration = Duration::from_secs(180);
/// The phrase of the runtime's refusal to restore unaligned channel state at
/// another parallelism.
const UNALIGNED_RESCALE_REFUSAL: &str = "restores only at the same parallelism";

/// One configuration of the job and how it is killed.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Name in messages: the test function's name, so that messages say how to
    /// rerun it.
    pub name: String,
    /// Checkpoint mode.
    pub mode: CheckpointMode,
    /// State backend.
    pub backend: Backend,
    /// Parallelisms a run picks from (seeded); with more than one, every restart
    /// changes the parallelism (a rescale) as `rescale` says.
    pub parallelism: Vec<usize>,
    /// Which way restarts change the parallelism.
    pub rescale: Rescale,
    /// Input records per round.
    pub records: u64,
    /// Keys (a multiple of every parallelism).
    pub keys: u64,
    /// Records per second of the whole source, so that a run lives long enough to
    /// be killed several times.
    pub rate: f64,
    /// Checkpoint interval.
    pub interval: Duration,
    /// Kills planned per round (a round is one job from start to finish).
    pub kills_per_round: u32,
    /// Kill only after the sources finished (restarting from checkpoints taken
    /// at the end of the input) instead of only before.
    pub end_of_input: bool,
}

impl Scenario {
    /// A scenario at parallelism 2 with the default job size.
    pub fn new(name: &str, mode: CheckpointMode, backend: Backend) -> Scenario {
        Scenario {
            name: name.to_string(),
            mode,
            backend,
            parallelism: vec![2],
            rescale: Rescale::Any,
            records: 20_000,
            keys: 600,
            rate: 10_000.0,
            interval: Duration::from_millis(50),
            kills_per_round: 5,
            end_of_input: false,
        }
    }

    /// Every restart picks another parallelism out of `choices`.
    pub fn rescaling(self, choices: &[usize]) -> Scenario {
        self.rescaling_towards(Rescale::Any, choices)
    }

    /// Every restart picks another parallelism out of `choices`, in direction
    /// `rescale` where there is one.
    pub fn rescaling_towards(mut self, rescale: Rescale, choices: &[usize]) -> Scenario {
        self.parallelism = choices.to_vec();
        self.rescale = rescale;
        self
    }

    /// Kills only after the sources finished.
    pub fn killing_after_end_of_input(mut self) -> Scenario {
        self.end_of_input = true;
        self
    }

    /// What the committed output must satisfy.
    pub fn guarantee(&self) -> Guarantee {
        match self.mode {
            CheckpointMode::AtLeastOnce => Guarantee::AtLeastOnce,
            _ => Guarantee::ExactlyOnce,
        }
    }

    fn rescales(&self) -> bool {
        self.parallelism.len() > 1
    }

    fn label(&self) -> String {
        let direction = match (self.rescales(), self.rescale) {
            (false, _) | (true, Rescale::Any) => "",
            (true, Rescale::Up) => ", scaling up",
            (true, Rescale::Down) => ", scaling down",
        };
        format!(
            "{} ({}, {}, parallelism {}{direction})",
            self.name,
            self.mode.name(),
            self.backend.name(),
            self.parallelism
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("/")
        )
    }

    /// About how long a run lasts without kills.
    fn run_time(&self) -> Duration {
        if self.rate > 0.0 {
            Duration::from_secs_f64((self.records as f64 / self.rate).min(60.0))
        } else {
            Duration::from_secs(1)
        }
    }
}

/// Which way a rescaling scenario changes the parallelism on restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rescale {
    /// To any other parallelism.
    Any,
    /// To a larger one (fresh starts at the smallest; at the largest, it stays).
    Up,
    /// To a smaller one (fresh starts at the largest; at the smallest, it stays).
    Down,
}

/// How much a test does: set from the environment by [`Budget::from_env`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Rounds are run until at least this many kills happened.
    pub kills: u32,
    /// Run only the round with this seed.
    pub seed: Option<u64>,
}

impl Budget {
    /// `WEIR_CHAOS_KILLS` (default `default_kills`) and `WEIR_CHAOS_SEED`; an
    /// unparsable value is an error naming the variable.
    pub fn from_env(default_kills: u32) -> Result<Budget, ChaosError> {
        let read = |name: &str| -> Result<Option<u64>, ChaosError> {
            match std::env::var(name) {
                Ok(text) => text
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| ChaosError::Option(format!("{name}={text} is not a non-negative integer"))),
                Err(_) => Ok(None),
            }
        };
        let kills = match read(KILLS_VAR)? {
            Some(kills) => u32::try_from(kills).map_err(|_| ChaosError::Option(format!("{KILLS_VAR} is too large")))?,
            None => default_kills,
        };
        Ok(Budget {
            kills,
            seed: read(SEED_VAR)?,
        })
    }
}

/// What a kill interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum KillPoint {
    /// A seeded moment.
    Moment,
    /// A completed checkpoint before a sink subtask committed it.
    BeforeCommit,
    /// A restore, before a sink subtask committed the restored transactions.
    Restore,
    /// The end of the job, after the sources finished.
    EndOfInput,
}

impl fmt::Display for KillPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KillPoint::Moment => "at a random moment",
            KillPoint::BeforeCommit => "after a checkpoint completed, before the commit",
            KillPoint::Restore => "during a restore",
            KillPoint::EndOfInput => "after the sources finished",
        })
    }
}

/// Figures of the rounds a test ran.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// The scenario.
    pub scenario: String,
    /// Rounds (jobs run from start to finish) and their seeds.
    pub seeds: Vec<u64>,
    /// Processes started.
    pub runs: u32,
    /// Kills by what they interrupted.
    pub kills: BTreeMap<KillPoint, u32>,
    /// Restores at another parallelism that the runtime refused (unaligned
    /// channel state), retried at the checkpoint's parallelism.
    pub refused_rescales: u32,
    /// Restores at another parallelism than the checkpoint's that succeeded.
    pub rescales: u32,
    /// Duplicated output lines accepted by an at-least-once guarantee.
    pub duplicates: usize,
    /// Wall time.
    pub elapsed: Duration,
}

impl Summary {
    /// Kills in total.
    pub fn total_kills(&self) -> u32 {
        self.kills.values().sum()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kills: Vec<String> = self.kills.iter().map(|(point, n)| format!("{n} {point}")).collect();
        write!(
            f,
            "{}: {} rounds (seeds {}), {} runs, {} kills ({}), {} rescales, {} refused rescales, {} duplicates \
             (at-least-once), {:.1} s",
            self.scenario,
            self.seeds.len(),
            seed_list(&self.seeds),
            self.runs,
            self.total_kills(),
            kills.join(", "),
            self.rescales,
            self.refused_rescales,
            self.duplicates,
            self.elapsed.as_secs_f64()
        )
    }
}

fn seed_list(seeds: &[u64]) -> String {
    match (seeds.first(), seeds.last()) {
        (Some(first), Some(last)) if seeds.len() > 2 => format!("{first}..={last}"),
        _ => seeds.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", "),
    }
}

/// A round that went wrong: everything needed to understand and rerun it.
#[derive(Debug)]
pub struct Failure {
    /// The scenario's label.
    pub scenario: String,
    /// The test to rerun.
    pub test: String,
    /// The round's seed.
    pub seed: u64,
    /// What went wrong.
    pub reason: String,
    /// One line per run of the round.
    pub runs: Vec<String>,
    /// The round's directory (kept): checkpoints, output, logs of every run.
    pub work_dir: Option<PathBuf>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "process-kill test {}, seed {}: {}",
            self.scenario, self.seed, self.reason
        )?;
        writeln!(f, "runs of this round:")?;
        for run in &self.runs {
            writeln!(f, "  {run}")?;
        }
        if let Some(dir) = &self.work_dir {
            writeln!(f, "files (checkpoints, output, each run's stderr): {}", dir.display())?;
        }
        write!(
            f,
            "rerun: {SEED_VAR}={} cargo test --release -p weir-chaos --test process_kill -- --exact {}",
            self.seed, self.test
        )
    }
}

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

enum Event {
    Line(String),
    Closed,
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
        let mut watch = Watch {
            plan,
            stdin,
            events,
            spawned,
            recent: VecDeque::new(),
            notifications: 0,
            sink_opens: 0,
            sources_finished: false,
            notifications_after_end: 0,
        };
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
                if status.success() && !watch.recent.iter().any(|l| l == "JOB_FINISHED") {
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

/// Watches one child's marker lines, answers them and decides when to kill.
struct Watch {
    plan: KillPlan,
    stdin: ChildStdin,
    events: Receiver<Event>,
    spawned: Instant,
    recent: VecDeque<String>,
    notifications: u32,
    sink_opens: u32,
    sources_finished: bool,
    notifications_after_end: u32,
}

impl Watch {
    fn recent_lines(&self) -> String {
        if self.recent.is_empty() {
            return "(none)".into();
        }
        self.recent.iter().cloned().collect::<Vec<_>>().join(" | ")
    }

    fn reply(&mut self) {
        // A child that died meanwhile cannot read it; its exit is seen next.
        let _ = writeln!(self.stdin, "{REPLY}").and_then(|()| self.stdin.flush());
    }

    /// Returns what to kill at, or `None` once the child closed its output.
    fn until_kill_or_exit(&mut self, restoring: bool) -> Result<Option<(KillPoint, String)>, String> {
        let hang_deadline = self.spawned + HANG_LIMIT;
        loop {
            let kill_at = match self.plan {
                KillPlan::After(delay) if !self.sources_finished => Some(self.spawned + delay),
                _ => None,
            };
            let deadline = kill_at.map_or(hang_deadline, |k| k.min(hang_deadline));
            let event = match self
                .events
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(event) => event,
                Err(RecvTimeoutError::Disconnected) => Event::Closed,
                Err(RecvTimeoutError::Timeout) => {
                    if let (Some(at), KillPlan::After(delay)) = (kill_at, self.plan) {
                        if Instant::now() >= at {
                            return Ok(Some((
                                KillPoint::Moment,
                                format!("{} ms after the start", delay.as_millis()),
                            )));
                        }
                    }
                    if Instant::now() >= hang_deadline {
                        return Err(format!(
                            "the job did not finish within {HANG_LIMIT:?} (hang?); plan: {}; last lines on its \
                             stdout: {}",
                            self.plan,
                            self.recent_lines()
                        ));
                    }
                    continue;
                }
            };
            let line = match event {
                Event::Line(line) => line,
                Event::Closed => return Ok(None),
            };
            if self.recent.len() == 8 {
                self.recent.pop_front();
            }
            self.recent.push_back(line.clone());
            let Some(marker) = Marker::parse(&line) else {
                continue;
            };
            if let Some(kill) = self.on_marker(&marker, restoring) {
                return Ok(Some(kill));
            }
            if marker.waits() {
                self.reply();
            }
        }
    }

    /// Whether to kill the child now, held at `marker`.
    fn on_marker(&mut self, marker: &Marker, restoring: bool) -> Option<(KillPoint, String)> {
        match *marker {
            Marker::SourcesFinished => {
                self.sources_finished = true;
                if !self.plan.survives_end_of_input() {
                    // Checkpoints taken from now on have every source finished: a
                    // restore from them is another test's subject.
                    self.plan = KillPlan::Finish;
                }
                None
            }
            Marker::SinkOpen { subtask, .. } => {
                self.sink_opens += 1;
                match self.plan {
                    KillPlan::DuringRestore(n) if restoring && self.sink_opens == n => Some((
                        KillPoint::Restore,
                        format!("while sink subtask {subtask} was held before committing its restored transactions"),
                    )),
                    _ => None,
                }
            }
            Marker::CheckpointCompleted { id, subtask } => {
                self.notifications += 1;
                if self.sources_finished {
                    self.notifications_after_end += 1;
                }
                match self.plan {
                    KillPlan::AtCheckpointCompleted(n) if self.notifications == n => Some((
                        KillPoint::BeforeCommit,
                        format!("after checkpoint {id} completed, before sink subtask {subtask} committed it"),
                    )),
                    KillPlan::AfterSourcesFinished(n) if self.notifications_after_end == n => Some((
                        KillPoint::EndOfInput,
                        format!(
                            "after the sources finished and checkpoint {id} completed, before sink subtask \
                             {subtask} committed it"
                        ),
                    )),
                    _ => None,
                }
            }
            _ => None,
        }
    }
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
