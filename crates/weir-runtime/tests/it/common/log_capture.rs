//! One process-wide tracing subscriber for the tests that check what a job logs.
//!
//! All tests of this binary share the process, so there is one global subscriber,
//! installed by the first test that asks for the log; tests running meanwhile log
//! into it too, so a test looks only for lines naming its own job, cause or paths.

use std::sync::{Mutex, Once};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};

/// The level and text of every INFO, WARN and ERROR event since [`install`].
static LINES: Mutex<Vec<(Level, String)>> = Mutex::new(Vec::new());

struct Text(String);

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={value:?}", field.name()));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push_str(&format!(" {}={value}", field.name()));
    }
}

struct Capture;

impl Subscriber for Capture {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= Level::INFO
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut text = Text(String::new());
        event.record(&mut text);
        lines().push((*event.metadata().level(), text.0));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

fn lines() -> std::sync::MutexGuard<'static, Vec<(Level, String)>> {
    LINES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Installs the capturing subscriber (once per process); call it before the job
/// whose log a test checks starts.
pub fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        tracing::subscriber::set_global_default(Capture)
            .expect("only this module installs a global tracing subscriber in this binary");
    });
}

/// The lines logged at `level` that contain `needle`, in order.
pub fn lines_containing(level: Level, needle: &str) -> Vec<String> {
    lines()
        .iter()
        .filter(|(l, text)| *l == level && text.contains(needle))
        .map(|(_, text)| text.clone())
        .collect()
}

/// Everything captured so far, one event a line (for messages of failed asserts).
pub fn text() -> String {
    lines().iter().map(|(level, text)| format!("{level}{text}\n")).collect()
}
