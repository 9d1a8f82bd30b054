//! `weir sql` without `-f`: an interactive SQL shell, like Flink's SQL client.
//!
//! Lines are edited with rustyline and kept in a history file
//! (`~/.weir_sql_history`, `--history FILE`, `--no-history`; one that cannot be
//! read or written is a warning). A statement ends at a `;` outside quotes and
//! comments and may span lines ([`StatementSplitter`]). DDL, `SET`, `SHOW`,
//! `DESCRIBE` and `EXPLAIN` run at once through the [`SqlSession`]; a query runs as
//! a job whose result is shown while it runs ([`shell_query`]); `INSERT INTO` and
//! statement sets start a job in the background ([`Jobs`]). A bad statement prints
//! its error and the shell goes on.
//!
//! With standard input not a terminal, statements are read from it without
//! prompts and results printed without cursor movement (a table result once, at
//! the query's end); at the end of the input the shell waits for the jobs it
//! started, and exits with an error if a statement failed.

use crate::error_chain::error_chain;
use crate::job_args::{JobArgs, SetupError};
use crate::shell_commands::{self, ShellCommand};
use crate::shell_jobs::Jobs;
use crate::shell_query::{self, Display, Ending};
use crate::shell_split::StatementSplitter;
use crate::shell_table::{render, Layout};
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{Config, Editor};
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use weir::prelude::*;
use weir_sql::connector::SqlConnectors;
use weir_sql::front::{ParsedStatement, Statement};
use weir_sql::job::SqlJob;
use weir_sql::script::SqlSession;

const PROMPT: &str = "Weir SQL> ";
const CONTINUATION: &str = "       -> ";

/// `sql-client.execution.max-table-result.rows` (Flink's key and default).
const MAX_TABLE_ROWS: (&str, usize) = ("sql-client.execution.max-table-result.rows", 1_000_000);
/// `sql-client.display.max-column-width` (Flink's key and default).
const MAX_COLUMN_WIDTH: (&str, usize) = ("sql-client.display.max-column-width", 30);

/// Errors that end the shell (a statement's own errors are printed and the shell
/// goes on).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShellError {
    /// Options that cannot be used as given.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// Standard output cannot be written.
    #[error("cannot write the shell's output: {0}")]
    Output(#[source] io::Error),
    /// Standard input cannot be read.
    #[error("cannot read the shell's input: {0}")]
    Input(#[source] io::Error),
    /// The line editor failed.
    #[error("the line editor failed: {0}")]
    Editor(#[from] ReadlineError),
    /// Statements read from standard input failed (each was reported).
    #[error("{0} statement(s) failed")]
    Failed(usize),
}

/// What the shell is given on the command line.
pub struct ShellOptions<'a> {
    /// The job options every job started from the shell gets.
    pub job: &'a JobArgs,
    /// Print a job's plan before starting it.
    pub explain: bool,
    /// The history file, `None` for no history.
    pub history: Option<PathBuf>,
}

/// Ctrl-C as the shell sees it.
#[derive(Default)]
struct Interrupts {
    /// Ctrl-Cs so far (a running query is cancelled when this changes).
    count: AtomicU64,
    /// Exit at once on Ctrl-C (while waiting for piped input).
    exit: AtomicBool,
}

/// Runs the shell until `QUIT`, Ctrl-D or the end of the input.
pub fn run(options: ShellOptions<'_>) -> Result<(), ShellError> {
    if options.job.restore.is_some() {
        return Err(SetupError::Usage(
            "--restore needs -f FILE: the shell starts a new job for every query and INSERT".into(),
        )
        .into());
    }
    options.job.check()?;
    let interrupts = Arc::new(Interrupts::default());
    let handler = interrupts.clone();
    if let Err(e) = ctrlc::set_handler(move || {
        if handler.exit.load(Ordering::SeqCst) {
            std::process::exit(130);
        }
        handler.count.fetch_add(1, Ordering::SeqCst);
    }) {
        tracing::warn!("cannot install the Ctrl-C handler ({e}); a running query cannot be stopped");
    }
    let interactive = io::stdin().is_terminal();
    let mut input = if interactive {
        Input::editor(options.history.clone())
    } else {
        Input::Piped(io::stdin().lock())
    };
    let mut connectors = weir_sql::connectors::builtin();
    weir_sql_connectors::register(&mut connectors);
    let mut shell = Shell {
        session: SqlSession::new(connectors.clone()),
        connectors,
        job: options.job,
        explain: options.explain,
        jobs: Jobs::new(),
        interrupts: interrupts.clone(),
        live: interactive && io::stdout().is_terminal(),
        failures: 0,
    };
    if interactive {
        shell.say("Weir SQL shell. Statements end with ';'. HELP; shows what there is, QUIT; or Ctrl-D leaves.")?;
    }
    let mut splitter = StatementSplitter::new();
    'input: loop {
        for line in shell.jobs.reap() {
            shell.say(&line)?;
        }
        let prompt = if splitter.is_pending() { CONTINUATION } else { PROMPT };
        interrupts.exit.store(!interactive, Ordering::SeqCst);
        let line = input.read(prompt);
        interrupts.exit.store(false, Ordering::SeqCst);
        match line? {
            Line::Text(line) => {
                let bare = line.trim().trim_end_matches(';').trim().to_ascii_uppercase();
                let statements = if !splitter.is_pending() && ["QUIT", "EXIT", "HELP"].contains(&bare.as_str()) {
                    // Allowed without the `;`.
                    vec![bare]
                } else {
                    splitter.push_line(&line)
                };
                for statement in statements {
                    input.remember(&statement);
                    if shell.execute(&statement)? == Flow::Quit {
                        break 'input;
                    }
                }
            }
            Line::Interrupted => splitter.clear(),
            Line::Eof => {
                if !interactive {
                    if let Some(rest) = splitter.take_rest() {
                        shell.execute(&rest)?;
                    }
                }
                break;
            }
        }
    }
    shell.leave(interactive)?;
    match shell.failures {
        n if n > 0 && !interactive => Err(ShellError::Failed(n)),
        _ => Ok(()),
    }
}

/// A line read, or why none was.
enum Line {
    Text(String),
    Interrupted,
    Eof,
}

/// Where statements come from.
enum Input {
    /// A terminal: rustyline with a history file.
    Editor {
        editor: Box<Editor<(), FileHistory>>,
        history: Option<PathBuf>,
        /// A history write failed already (warned once).
        warned: bool,
    },
    /// A pipe or a file.
    Piped(io::StdinLock<'static>),
}

impl Input {
    fn editor(history: Option<PathBuf>) -> Input {
        let config = Config::builder()
            .auto_add_history(false)
            .max_history_size(10_000)
            .and_then(|c| c.history_ignore_dups(true))
            .map(|c| c.build());
        let editor = config.and_then(Editor::<(), FileHistory>::with_config);
        let mut editor = match editor {
            Ok(editor) => Box::new(editor),
            Err(e) => {
                tracing::warn!("no line editing ({e}); reading plain lines");
                return Input::Piped(io::stdin().lock());
            }
        };
        if let Some(path) = &history {
            if path.exists() {
                if let Err(e) = editor.load_history(path) {
                    eprintln!("warning: cannot read the history file {} ({e})", path.display());
                }
            }
        }
        Input::Editor {
            editor,
            history,
            warned: false,
        }
    }

    fn read(&mut self, prompt: &str) -> Result<Line, ShellError> {
        match self {
            Input::Editor { editor, .. } => match editor.readline(prompt) {
                Ok(line) => Ok(Line::Text(line)),
                Err(ReadlineError::Interrupted) => Ok(Line::Interrupted),
                Err(ReadlineError::Eof) => Ok(Line::Eof),
                Err(e) => Err(e.into()),
            },
            Input::Piped(stdin) => {
                let mut line = String::new();
                match stdin.read_line(&mut line) {
                    Ok(0) => Ok(Line::Eof),
                    Ok(_) => {
                        let text = line.strip_suffix('\n').unwrap_or(&line);
                        Ok(Line::Text(text.strip_suffix('\r').unwrap_or(text).to_string()))
                    }
                    Err(e) => Err(ShellError::Input(e)),
                }
            }
        }
    }

    /// Adds `statement` to the history (and its file).
    fn remember(&mut self, statement: &str) {
        let Input::Editor {
            editor,
            history,
            warned,
        } = self
        else {
            return;
        };
        if !matches!(editor.add_history_entry(format!("{statement};")), Ok(true)) {
            return;
        }
        if let Some(path) = history {
            if let Err(e) = editor.append_history(path.as_path()) {
                if !*warned {
                    eprintln!(
                        "warning: cannot write the history file {} ({e}); history is kept for this session only",
                        path.display()
                    );
                    *warned = true;
                }
            }
        }
    }
}

/// Whether to go on reading statements.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    Quit,
}

/// The shell's state: the SQL session and the jobs it started.
struct Shell<'a> {
    session: SqlSession,
    connectors: SqlConnectors,
    job: &'a JobArgs,
    explain: bool,
    jobs: Jobs,
    interrupts: Arc<Interrupts>,
    /// Results drawn in place (a terminal).
    live: bool,
    /// Statements that failed.
    failures: usize,
}

impl Shell<'_> {
    fn say(&self, text: &str) -> Result<(), ShellError> {
        let mut out = io::stdout().lock();
        writeln!(out, "{text}")
            .and_then(|()| out.flush())
            .map_err(ShellError::Output)
    }

    fn error(&mut self, message: &str) {
        self.failures += 1;
        eprintln!("[ERROR] {message}");
    }

    fn table(&self, columns: &[&str], rows: &[Vec<String>]) -> Result<(), ShellError> {
        if rows.is_empty() {
            return self.say("Empty set");
        }
        let layout = Layout {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            right: Vec::new(),
            max_width: None,
        };
        let mut lines = render(&layout, rows.iter(), None);
        lines.push(format!(
            "{} row{} in set",
            rows.len(),
            if rows.len() == 1 { "" } else { "s" }
        ));
        self.say(&lines.join("\n"))
    }

    /// Runs one statement as typed (without its `;`).
    fn execute(&mut self, text: &str) -> Result<Flow, ShellError> {
        if let Some(command) = shell_commands::parse(text) {
            return match command {
                Ok(command) => self.command(command),
                Err(usage) => {
                    self.error(&usage);
                    Ok(Flow::Continue)
                }
            };
        }
        let statements = match weir_sql::front::parse_script(text) {
            Ok(statements) => statements,
            Err(e) => {
                self.error(&error_chain(&e));
                return Ok(Flow::Continue);
            }
        };
        for statement in statements {
            if let Err(message) = self.statement(statement)? {
                self.error(&message);
                break;
            }
        }
        Ok(Flow::Continue)
    }

    fn command(&mut self, command: ShellCommand) -> Result<Flow, ShellError> {
        match command {
            ShellCommand::Quit => return Ok(Flow::Quit),
            ShellCommand::Help => self.say(shell_commands::HELP)?,
            ShellCommand::Clear => {
                if self.live {
                    let mut out = io::stdout().lock();
                    write!(out, "\x1b[2J\x1b[H")
                        .and_then(|()| out.flush())
                        .map_err(ShellError::Output)?;
                }
            }
            ShellCommand::ShowJobs => {
                for line in self.jobs.reap() {
                    self.say(&line)?;
                }
                self.table(&["job id", "job name", "status", "run time"], &self.jobs.rows())?;
            }
            ShellCommand::StopJob { job, savepoint } => match self.stop_job(&job, savepoint) {
                Ok(message) => self.say(&message)?,
                Err(message) => self.error(&message),
            },
        }
        Ok(Flow::Continue)
    }

    fn stop_job(&self, job: &str, savepoint: bool) -> Result<String, String> {
        let handle = self.jobs.find_running(job)?;
        if !savepoint {
            handle.cancel();
            return Ok(format!("[INFO] Job '{job}' is being cancelled."));
        }
        let dir = self
            .job
            .savepoint_dir
            .clone()
            .or_else(|| {
                self.session
                    .catalog()
                    .options()
                    .get("state.savepoints.dir")
                    .map(PathBuf::from)
            })
            .ok_or("no savepoint directory: start the shell with --savepoint-dir or SET 'state.savepoints.dir'")?;
        let path = handle
            .stop_with_savepoint(&dir)
            .map_err(|e| format!("the savepoint of job '{job}' failed: {e}"))?;
        Ok(format!(
            "[INFO] Job '{job}' stopped with savepoint {} (resume with weir sql -f FILE --restore)",
            path.display()
        ))
    }

    /// Runs a parsed statement; `Err` is the statement's own error, for the user.
    fn statement(&mut self, parsed: ParsedStatement) -> Result<Result<(), String>, ShellError> {
        let catalog = self.session.catalog();
        match &parsed.statement {
            Statement::Query(query) => return self.query(query),
            Statement::Insert(insert) => {
                let name = format!("insert-into_{}", insert.table);
                return self.submit(parsed.clone(), &name);
            }
            Statement::StatementSet(inserts) => {
                let tables: Vec<&str> = inserts.iter().map(|i| i.table.as_str()).collect();
                let name = format!("insert-into_{}", tables.join(","));
                return self.submit(parsed.clone(), &name);
            }
            Statement::ShowTables => self.table(&["table name"], &one_column(catalog.show_tables()))?,
            Statement::ShowViews => self.table(&["view name"], &one_column(catalog.show_views()))?,
            Statement::ShowFunctions => self.table(&["function name"], &one_column(catalog.show_functions()))?,
            Statement::Describe { name } => {
                let rows = match catalog.describe(name) {
                    Ok(rows) => rows,
                    Err(e) => return Ok(Err(error_chain(&e))),
                };
                let rows: Vec<Vec<String>> = rows
                    .into_iter()
                    .map(|row| {
                        vec![
                            row.name,
                            row.data_type.unwrap_or_default(),
                            if row.nullable { "TRUE" } else { "FALSE" }.to_string(),
                            row.key.unwrap_or_default(),
                            row.extras.unwrap_or_default(),
                            row.watermark.unwrap_or_default(),
                        ]
                    })
                    .collect();
                self.table(&["name", "type", "null", "key", "extras", "watermark"], &rows)?;
            }
            _ => {
                let env = match self.environment() {
                    Ok(env) => env,
                    Err(message) => return Ok(Err(message)),
                };
                let outcome = match self.session.run_statements(&env, vec![parsed]) {
                    Ok(outcome) => outcome,
                    Err(e) => return Ok(Err(error_chain(&e))),
                };
                if outcome.messages.is_empty() {
                    self.say("[INFO] Execute statement succeeded.")?;
                } else {
                    self.say(&outcome.messages.join("\n"))?;
                }
            }
        }
        Ok(Ok(()))
    }

    /// A new environment with the shell's job options and the session's
    /// `parallelism.default`.
    fn environment(&self) -> Result<StreamExecutionEnvironment, String> {
        let env = StreamExecutionEnvironment::new();
        self.job.configure(&env).map_err(|e| error_chain(&e))?;
        if let Some(p) = self
            .session
            .catalog()
            .options()
            .parallelism_default()
            .map_err(|e| error_chain(&e))?
        {
            env.set_parallelism(p as usize);
        }
        Ok(env)
    }

    fn display(&self) -> Result<Display, String> {
        let options = self.session.catalog().options();
        let count = |(key, default): (&str, usize)| match options.get(key) {
            None => Ok(default),
            Some(value) => value
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("invalid value '{value}' for option '{key}': expected a positive number")),
        };
        Ok(Display {
            mode: options.result_mode().map_err(|e| error_chain(&e))?,
            live: self.live,
            max_rows: count(MAX_TABLE_ROWS)?,
            max_width: count(MAX_COLUMN_WIDTH)?,
        })
    }

    /// Runs a query and shows its result until it ends or Ctrl-C.
    fn query(
        &mut self,
        query: &weir_sql::datafusion::sql::sqlparser::ast::Query,
    ) -> Result<Result<(), String>, ShellError> {
        let prepared = self.display().and_then(|display| {
            let env = self.environment()?;
            let planned = SqlJob::plan_query(&env, self.session.catalog(), &self.connectors, query)
                .map_err(|e| error_chain(&e))?;
            let rows = shell_query::channel(&planned.stream);
            let name = "weir sql query";
            if self.explain {
                let plan = env.explain(name).map_err(|e| error_chain(&e))?;
                self.say(&plan).map_err(|e| e.to_string())?;
            }
            let client = env.execute_async(name).map_err(|e| error_chain(&e))?;
            Ok((display, planned.schema, rows, client))
        });
        let (display, schema, rows, client) = match prepared {
            Ok(prepared) => prepared,
            Err(message) => return Ok(Err(message)),
        };
        let mut out = io::stdout();
        let ending = shell_query::show(client, rows, &schema, &display, &self.interrupts.count, &mut out)
            .map_err(ShellError::Output)?;
        match ending {
            Ending::Failed(message) => Ok(Err(format!("the query failed: {message}"))),
            Ending::Finished(_) | Ending::Cancelled => Ok(Ok(())),
        }
    }

    /// Starts an `INSERT` or a statement set as a job in the background.
    fn submit(&mut self, parsed: ParsedStatement, base: &str) -> Result<Result<(), String>, ShellError> {
        let name = self.jobs.unique_name(base);
        let client = match self.start(parsed, &name) {
            Ok(client) => client,
            Err(message) => return Ok(Err(message)),
        };
        self.say(&format!(
            "[INFO] Job '{name}' submitted (id {}); SHOW JOBS lists it, STOP JOB '{name}' cancels it.",
            client.job_id()
        ))?;
        self.jobs.add(name, client);
        Ok(Ok(()))
    }

    fn start(&mut self, parsed: ParsedStatement, name: &str) -> Result<JobClient, String> {
        let env = self.environment()?;
        self.session
            .run_statements(&env, vec![parsed])
            .map_err(|e| error_chain(&e))?;
        if self.explain {
            let plan = env.explain(name).map_err(|e| error_chain(&e))?;
            self.say(&plan).map_err(|e| e.to_string())?;
        }
        env.execute_async(name).map_err(|e| error_chain(&e))
    }

    /// At `QUIT` or the end of the input: a terminal's shell cancels the jobs still
    /// running; piped input waits for them (Ctrl-C cancels them).
    fn leave(&mut self, interactive: bool) -> Result<(), ShellError> {
        if interactive {
            let cancelled = self.jobs.cancel_all();
            if !cancelled.is_empty() {
                self.say(&format!("[INFO] Cancelled the running jobs: {}.", cancelled.join(", ")))?;
            }
            return self.say("Bye.");
        }
        let interrupted = self.interrupts.count.load(Ordering::SeqCst);
        while self.jobs.running() > 0 {
            if self.interrupts.count.load(Ordering::SeqCst) != interrupted {
                let cancelled = self.jobs.cancel_all();
                self.say(&format!("[INFO] Cancelled the running jobs: {}.", cancelled.join(", ")))?;
                break;
            }
            // Polls the jobs a few times a second for their end and Ctrl-C.
            std::thread::sleep(Duration::from_millis(50));
            for line in self.jobs.reap() {
                if line.starts_with("[ERROR]") {
                    self.failures += 1;
                }
                self.say(&line)?;
            }
        }
        Ok(())
    }
}

fn one_column(values: Vec<String>) -> Vec<Vec<String>> {
    values.into_iter().map(|v| vec![v]).collect()
}
