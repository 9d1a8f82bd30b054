//! What the `weir` command writes besides its own output: log lines on stderr
//! (`RUST_LOG`, default `warn`; colours only when stderr is a terminal), and the job
//! events a user must not miss printed as lines of their own on stdout, among the
//! live table: each restart with its cause, the checkpoint a job resumed from, and
//! checkpoints skipped on the way.
//! Those events are taken from the runtime's log (the runtime has no other channel
//! for them yet) and left out of the stderr log, so they show once.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::sync::atomic::{AtomicU32, Ordering};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Filter, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// Restarts printed so far (see [`restarts_shown`]).
static RESTARTS_SHOWN: AtomicU32 = AtomicU32::new(0);

/// How many restart lines the console has printed: a caller that sees more
/// restarts than this prints the missing ones itself.
pub fn restarts_shown() -> u32 {
    RESTARTS_SHOWN.load(Ordering::Acquire)
}

/// Counts a restart the caller printed itself.
pub fn count_restart_shown() {
    RESTARTS_SHOWN.fetch_add(1, Ordering::AcqRel);
}

/// A job event the console shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Note {
    /// The job restarts after a failure (the runtime's WARN line, with the cause).
    Restart,
    /// The job starts from a checkpoint or savepoint (the runtime's INFO line), or
    /// a checkpoint was skipped while choosing one (a WARN line).
    Restore,
}

/// The message and the other fields of an event.
#[derive(Default)]
struct Fields {
    message: String,
    checkpoint: Option<String>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => {
                let _ = write!(self.message, "{value:?}");
            }
            "checkpoint" => self.checkpoint = Some(format!("{value:?}")),
            _ => {}
        }
    }
}

/// Events of the runtime and of checkpoint storage.
fn from_the_runtime(metadata: &Metadata<'_>) -> bool {
    let target = metadata.target();
    target.starts_with("weir_runtime") || target.starts_with("weir_checkpoint")
}

/// Whether `event` is one the console shows, and which.
fn note(event: &Event<'_>) -> Option<(Note, Fields)> {
    let metadata = event.metadata();
    if !from_the_runtime(metadata) {
        return None;
    }
    let level = *metadata.level();
    if level != Level::WARN && level != Level::INFO {
        return None;
    }
    let mut fields = Fields::default();
    event.record(&mut fields);
    let message = fields.message.to_lowercase();
    let note = if level == Level::WARN && message.contains("restart") {
        Note::Restart
    } else if level == Level::WARN && message.contains("skip") && message.contains("checkpoint") {
        // A checkpoint passed over while choosing where to resume.
        Note::Restore
    } else if level == Level::INFO
        && fields.checkpoint.is_some()
        && (message.starts_with("starting from") || message.starts_with("restoring from") || message.contains("resum"))
    {
        Note::Restore
    } else {
        return None;
    };
    Some((note, fields))
}

/// Prints the events [`note`] picks on stdout.
struct ConsoleNotes;

impl<S: Subscriber> Layer<S> for ConsoleNotes {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let Some((note, fields)) = note(event) else {
            return;
        };
        let mut stdout = std::io::stdout().lock();
        match note {
            Note::Restart => {
                RESTARTS_SHOWN.fetch_add(1, Ordering::AcqRel);
                let _ = writeln!(stdout, "restart: {}", fields.message);
            }
            Note::Restore => {
                let checkpoint = fields
                    .checkpoint
                    .filter(|id| !fields.message.contains(&format!("checkpoint {id}")))
                    .map(|id| format!(" (checkpoint {id})"))
                    .unwrap_or_default();
                let _ = writeln!(stdout, "restore: {}{checkpoint}", fields.message);
            }
        }
        let _ = stdout.flush();
    }
}

/// The stderr log's filter: `RUST_LOG` (default `warn`), minus what the console
/// shows.
struct LogFilter(EnvFilter);

impl<S: Subscriber> Filter<S> for LogFilter {
    fn enabled(&self, metadata: &Metadata<'_>, cx: &Context<'_, S>) -> bool {
        Filter::enabled(&self.0, metadata, cx)
    }

    fn callsite_enabled(&self, metadata: &'static Metadata<'static>) -> tracing::subscriber::Interest {
        let interest = Filter::<S>::callsite_enabled(&self.0, metadata);
        // Events the console may show are decided one by one (`event_enabled`).
        if interest.is_always() && from_the_runtime(metadata) {
            tracing::subscriber::Interest::sometimes()
        } else {
            interest
        }
    }

    fn event_enabled(&self, event: &Event<'_>, _: &Context<'_, S>) -> bool {
        note(event).is_none()
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Filter::<S>::max_level_hint(&self.0)
    }
}

/// Installs the log on stderr and the console's job events on stdout.
pub fn init() {
    let env = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let log = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_filter(LogFilter(env));
    let notes = ConsoleNotes.with_filter(tracing_subscriber::filter::filter_fn(|metadata| {
        from_the_runtime(metadata) && *metadata.level() <= Level::INFO
    }));
    let _ = tracing_subscriber::registry().with(log).with(notes).try_init();
}
