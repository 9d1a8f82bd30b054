//! `weir nexmark generate` and `weir nexmark run`: the Nexmark benchmark.
//!
//! `generate` writes the events as JSON lines (Flink's Kafka JSON) or CSV files so
//! that other engines read the very same data; `run` executes queries on Weir and
//! prints one JSON line per query: events, wall and CPU seconds of the process
//! (generator included, as the Flink harness counts), events per second and per
//! CPU-second.

use crate::values;
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use weir_nexmark::{write_csv, write_json_lines, EventGenerator, GeneratorConfig, NexmarkConfig};
use weir_nexmark_queries::{run, NexmarkError, Query, QueryOutput, RunOptions};

/// `weir nexmark ...`.
#[derive(Debug, Subcommand)]
pub enum NexmarkCommand {
    /// Write generated events to files (JSON lines or CSV).
    Generate(GenerateArgs),
    /// Run queries and print one JSON line of measurements per query.
    Run(RunArgs),
    /// Compare the final rows two `run --output-dir` directories hold, query by
    /// query (the DataStream and the SQL versions, say); exits 1 if any differ.
    Compare(CompareArgs),
}

/// Options of `weir nexmark compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// One run's output directory.
    left: PathBuf,
    /// The other's.
    right: PathBuf,
    /// Queries: `q0` … `q22`, a comma-separated list, or `all` (queries missing
    /// from both directories are skipped).
    #[arg(long, short, default_value = "all")]
    query: String,
}

/// The generator's settings (Flink's names in parentheses).
#[derive(Debug, Args)]
pub struct GeneratorArgs {
    /// Events to generate, at least 1 (`events.num`; for an endless stream use
    /// --unbounded).
    #[arg(long, default_value_t = 10_000_000, value_parser = values::positive_count, conflicts_with = "unbounded")]
    events: u64,
    /// Generate events without end (Flink's `events.num` = 0): `generate` writes
    /// and `run` runs until interrupted.
    #[arg(long)]
    unbounded: bool,
    /// Event-time rate: events per second of event time (`first-event.rate`).
    #[arg(long, default_value_t = 10_000)]
    first_event_rate: u32,
    /// Seed of the generator's randomness (0: the data of Flink's seeded generators).
    #[arg(long, default_value_t = 0)]
    seed: i64,
}

impl GeneratorArgs {
    fn config(&self) -> NexmarkConfig {
        NexmarkConfig {
            // The generator's own convention: 0 events means no end.
            num_events: if self.unbounded { 0 } else { self.events },
            first_event_rate: self.first_event_rate,
            next_event_rate: self.first_event_rate,
            seed: self.seed,
            ..NexmarkConfig::default()
        }
    }
}

/// File formats of `generate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object per line, as Flink's Nexmark Kafka source reads them.
    Json,
    /// person.csv, auction.csv and bid.csv with a header line.
    Csv,
}

/// Options of `weir nexmark generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    generator: GeneratorArgs,
    /// File format.
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Where to write: a file for JSON (`-` for standard output), a directory for CSV.
    #[arg(long, short)]
    output: PathBuf,
}

/// Options of `weir nexmark run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    generator: GeneratorArgs,
    /// Queries: `q0` … `q22`, a comma-separated list, or `all`.
    #[arg(long, short, default_value = "all")]
    query: String,
    /// Parallelism of every operator (at least 1).
    #[arg(long, short, default_value_t = 1, value_parser = values::positive_usize)]
    parallelism: usize,
    /// Emit at most this many events per second in total, a positive number
    /// (default: as fast as possible).
    #[arg(long, value_parser = values::rate)]
    rate: Option<f64>,
    /// Write each query's rows as JSON lines into this directory (`<query>.jsonl`,
    /// a directory of `part-<subtask>` files at parallelism above 1) instead of
    /// discarding them.
    #[arg(long)]
    output_dir: Option<PathBuf>,
    /// Read the events from this JSON-lines file (as `weir nexmark generate`
    /// writes it; also a directory or a glob of such files) through the file
    /// source and the JSON format, instead of generating them. The generator
    /// options and --rate are then not used.
    #[arg(long, conflicts_with_all = ["rate", "unbounded", "events"])]
    input: Option<PathBuf>,
    /// Run the SQL versions: the Flink Nexmark repository's SQL texts planned by
    /// Weir's SQL layer (`crates/weir-nexmark-queries/sql/`). With --output-dir
    /// each query writes its changelog as `changelog-json` part files into
    /// `DIR/<query>.jsonl/`.
    #[arg(long, conflicts_with = "input")]
    sql: bool,
}

/// Errors of `weir nexmark`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// A query failed or was not valid.
    #[error(transparent)]
    Nexmark(#[from] NexmarkError),
    /// The generator configuration is invalid.
    #[error("bad generator settings: {0}")]
    Config(#[from] weir_nexmark::ConfigError),
    /// A SQL query could not be planned or failed.
    #[error(transparent)]
    Sql(#[from] crate::nexmark_sql::SqlRunError),
    /// Output files could not be compared.
    #[error(transparent)]
    Compare(#[from] weir_nexmark_queries::compare::CompareError),
    /// Two runs' rows differ.
    #[error("{0}")]
    Differ(String),
    /// Options that do not fit together.
    #[error("{0}")]
    Usage(String),
    /// A file could not be written.
    #[error("cannot write '{path}': {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn write_error(path: &Path) -> impl Fn(std::io::Error) -> CommandError + '_ {
    move |source| CommandError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Runs `weir nexmark <command>`.
pub fn run_command(command: NexmarkCommand) -> Result<(), CommandError> {
    match command {
        NexmarkCommand::Generate(args) => generate(args),
        NexmarkCommand::Run(args) => run_queries(args),
        NexmarkCommand::Compare(args) => compare(args),
    }
}

/// A progress bar over `total` events, or a counter when there is no end.
fn progress(total: Option<u64>) -> ProgressBar {
    match total {
        Some(total) => {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template("{bar:40} {human_pos}/{human_len} events ({per_sec}, eta {eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        }
        None => {
            let bar = ProgressBar::no_length();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {human_pos} events ({per_sec}; unbounded, Ctrl-C stops)")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar
        }
    }
}

fn generate(args: GenerateArgs) -> Result<(), CommandError> {
    let config = args.generator.config();
    let generator = EventGenerator::new(GeneratorConfig::new(&config)?);
    let bar = progress((!args.generator.unbounded).then_some(config.num_events));
    let events = generator.enumerate().map(|(i, event)| {
        if i % 65_536 == 0 {
            bar.set_position(i as u64);
        }
        event
    });
    let counts = match args.format {
        Format::Json if args.output == Path::new("-") => {
            let stdout = std::io::stdout();
            write_json_lines(events, stdout.lock()).map_err(write_error(&args.output))?
        }
        Format::Json => {
            let path = &args.output;
            let mut out = BufWriter::new(File::create(path).map_err(write_error(path))?);
            let counts = write_json_lines(events, &mut out).map_err(write_error(path))?;
            out.flush().map_err(write_error(path))?;
            counts
        }
        Format::Csv => {
            let dir = &args.output;
            std::fs::create_dir_all(dir).map_err(write_error(dir))?;
            let open = |name: &str| -> Result<BufWriter<File>, CommandError> {
                let path = dir.join(name);
                Ok(BufWriter::new(File::create(&path).map_err(write_error(&path))?))
            };
            let (persons, auctions, bids) = (open("person.csv")?, open("auction.csv")?, open("bid.csv")?);
            write_csv(events, persons, auctions, bids, true).map_err(write_error(dir))?
        }
    };
    bar.finish_and_clear();
    eprintln!(
        "wrote {} events ({} persons, {} auctions, {} bids) to {}",
        counts.total(),
        counts.persons,
        counts.auctions,
        counts.bids,
        args.output.display()
    );
    Ok(())
}

fn queries(text: &str) -> Result<Vec<Query>, NexmarkError> {
    if text.trim() == "all" {
        return Ok(Query::all().collect());
    }
    text.split(',').map(str::parse).collect()
}

fn run_queries(args: RunArgs) -> Result<(), CommandError> {
    let config = args.generator.config();
    let queries = queries(&args.query)?;
    if args.generator.unbounded && queries.len() != 1 {
        return Err(CommandError::Usage(format!(
            "--unbounded runs one query until it is interrupted; '{}' names {} (choose one with -q)",
            args.query,
            queries.len()
        )));
    }
    if let Some(dir) = &args.output_dir {
        std::fs::create_dir_all(dir).map_err(write_error(dir))?;
    }
    let mut failed = None;
    for query in queries {
        let output = match &args.output_dir {
            Some(dir) => QueryOutput::File(dir.join(format!("{query}.jsonl"))),
            None => QueryOutput::Discard,
        };
        let options = RunOptions {
            query,
            config: config.clone(),
            parallelism: args.parallelism,
            rate_limit: args.rate,
            output,
            input: args.input.clone(),
        };
        let result = if args.sql {
            let output = args.output_dir.as_ref().map(|dir| dir.join(format!("{query}.jsonl")));
            crate::nexmark_sql::run(&crate::nexmark_sql::SqlRun {
                query,
                config: &config,
                parallelism: args.parallelism,
                rate_limit: args.rate,
                output: output.as_deref(),
            })
            .map_err(CommandError::from)
        } else {
            run(&options).map(|(report, _)| report).map_err(CommandError::from)
        };
        match result {
            Ok(report) => {
                println!("{}", serde_json::to_string(&report).unwrap_or_default());
                let _ = std::io::stdout().flush();
            }
            Err(e) => {
                eprintln!("{query}: {e}");
                failed = Some(e);
            }
        }
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// `weir nexmark compare`: one line per query, `same` or what differs.
fn compare(args: CompareArgs) -> Result<(), CommandError> {
    use weir_nexmark_queries::compare::compare as compare_rows;
    let mut differing = Vec::new();
    for query in queries(&args.query)? {
        let name = format!("{query}.jsonl");
        let (left, right) = (args.left.join(&name), args.right.join(&name));
        match (left.exists(), right.exists()) {
            (false, false) => continue,
            (true, true) => {}
            (l, _) => {
                let missing = if l { &right } else { &left };
                println!("{query}: missing {}", missing.display());
                differing.push(query);
                continue;
            }
        }
        let comparison = compare_rows(&left, &right)?;
        if comparison.same() {
            println!("{query}: same ({} rows)", comparison.left_rows);
        } else {
            println!(
                "{query}: differ: {} rows left, {} right, {} distinct rows differ",
                comparison.left_rows, comparison.right_rows, comparison.differing
            );
            for (row, n) in &comparison.only_left {
                println!("  only left ({n}x): {row}");
            }
            for (row, n) in &comparison.only_right {
                println!("  only right ({n}x): {row}");
            }
            differing.push(query);
        }
    }
    if differing.is_empty() {
        Ok(())
    } else {
        let names: Vec<String> = differing.iter().map(ToString::to_string).collect();
        Err(CommandError::Differ(format!("rows differ in {}", names.join(", "))))
    }
}
