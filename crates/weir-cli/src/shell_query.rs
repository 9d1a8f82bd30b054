//! A query run from the `weir sql` shell: its rows reach the shell through a
//! channel sink while the job runs in the background, and are shown by the
//! session's result mode (`sql-client.execution.result-mode`):
//!
//! - `table` (the default): the rows the changelog leaves ([`ResultTable`]), drawn
//!   again in place a few times a second on a terminal (at most a screenful, then
//!   `… N more rows`), printed once at the end otherwise;
//! - `changelog`: every change as it comes, `+I[...]`, `-U[...]`, `+U[...]`,
//!   `-D[...]`;
//! - `tableau`: every change as it comes, as a row of a table with an `op` column
//!   (column widths from the column types).
//!
//! Ctrl-C cancels the job and leaves what was shown on the screen.

use crate::shell_table::{self, cut, render, Layout, ResultTable};
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};
use weir::prelude::*;
use weir::runtime::sink::{Sink, SinkContext, SinkWriter};
use weir_sql::batch::RowBatch;
use weir_sql::datafusion::arrow::datatypes::{DataType, SchemaRef};
use weir_sql::front::ResultMode;

/// How often a table result is drawn again at most.
const REFRESH: Duration = Duration::from_millis(200);

/// How long the shell waits for rows before looking at the job and Ctrl-C again.
const POLL: Duration = Duration::from_millis(50);

/// Batches in flight between the job and the shell (the job waits when full).
const CHANNEL_BATCHES: usize = 64;

/// Sends every batch of a query's result to the shell.
struct ChannelSink {
    sender: SyncSender<RowBatch>,
}

struct ChannelWriter {
    sender: SyncSender<RowBatch>,
}

impl Sink<RowBatch> for ChannelSink {
    fn create_writer(&self, _: &SinkContext) -> Result<Box<dyn SinkWriter<RowBatch>>, BoxError> {
        Ok(Box::new(ChannelWriter {
            sender: self.sender.clone(),
        }))
    }
}

impl SinkWriter<RowBatch> for ChannelWriter {
    fn write(&mut self, batch: RowBatch, _: Option<i64>) -> Result<(), BoxError> {
        if batch.num_rows() > 0 {
            // The shell stops reading only when it cancels the job.
            let _ = self.sender.send(batch);
        }
        Ok(())
    }
}

/// Adds a sink to `stream` whose batches the returned receiver gets.
pub fn channel(stream: &DataStream<RowBatch>) -> Receiver<RowBatch> {
    let (sender, receiver) = mpsc::sync_channel(CHANNEL_BATCHES);
    stream.add_sink(ChannelSink { sender }).name("weir sql shell");
    receiver
}

/// How the shell shows a query's result.
#[derive(Debug, Clone)]
pub struct Display {
    /// The session's result mode.
    pub mode: ResultMode,
    /// Draw the table again in place (on a terminal) rather than once at the end.
    pub live: bool,
    /// Rows a table result keeps (`sql-client.execution.max-table-result.rows`).
    pub max_rows: usize,
    /// Widest column on screen, in characters (`sql-client.display.max-column-width`).
    pub max_width: usize,
}

/// How a query ended.
#[derive(Debug)]
pub enum Ending {
    /// Its sources ended and every row was shown.
    Finished(Duration),
    /// Ctrl-C cancelled it.
    Cancelled,
    /// The job failed.
    Failed(String),
}

/// Runs the query whose job `client` runs and whose rows `rows` receives, showing
/// them on `out` until the job ends or Ctrl-C (`interrupts` counts them) cancels it.
pub fn show(
    client: JobClient,
    rows: Receiver<RowBatch>,
    schema: &SchemaRef,
    display: &Display,
    interrupts: &AtomicU64,
    out: &mut dyn Write,
) -> io::Result<Ending> {
    let interrupted_before = interrupts.load(Ordering::SeqCst);
    let mut view = View::new(schema, display);
    view.start(out)?;
    let mut drawn = Instant::now();
    let mut dirty = true;
    let cancelled = loop {
        match rows.recv_timeout(POLL) {
            Ok(batch) => {
                view.add(&batch, out)?;
                dirty = true;
            }
            Err(RecvTimeoutError::Timeout) => {}
            // Every writer is gone: the job is ending.
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(POLL),
        }
        if interrupts.load(Ordering::SeqCst) != interrupted_before {
            break true;
        }
        if client.is_finished() {
            // Every writer has ended: what they sent is in the channel.
            while let Ok(batch) = rows.try_recv() {
                view.add(&batch, out)?;
            }
            break false;
        }
        if dirty && drawn.elapsed() >= REFRESH {
            view.refresh(out, "running · Ctrl-C stops the query")?;
            drawn = Instant::now();
            dirty = false;
        }
    };
    // Writers waiting on a full channel get an error and return.
    drop(rows);
    let ending = if cancelled {
        client.cancel();
        let _ = client.wait();
        Ending::Cancelled
    } else {
        match client.wait() {
            Ok(result) => Ending::Finished(result.elapsed),
            Err(e) => Ending::Failed(e.to_string()),
        }
    };
    view.end(&ending, out)?;
    Ok(ending)
}

/// What is shown of a query's result.
enum View {
    Table(TableView),
    Changelog { changes: u64 },
    Tableau(TableauView),
}

struct TableView {
    table: ResultTable,
    layout: Layout,
    live: bool,
    /// Lines drawn last time (live only), to go back over.
    drawn: usize,
}

struct TableauView {
    titles: Vec<String>,
    widths: Vec<usize>,
    right: Vec<bool>,
    changes: u64,
}

impl View {
    fn new(schema: &SchemaRef, display: &Display) -> View {
        let fields = schema.fields();
        let columns: Vec<String> = fields.iter().map(|f| f.name().clone()).collect();
        let right: Vec<bool> = fields.iter().map(|f| f.data_type().is_numeric()).collect();
        match display.mode {
            ResultMode::Table => View::Table(TableView {
                table: ResultTable::new(display.max_rows),
                layout: Layout {
                    columns,
                    right,
                    max_width: display.live.then_some(display.max_width),
                },
                live: display.live,
                drawn: 0,
            }),
            ResultMode::Changelog => View::Changelog { changes: 0 },
            ResultMode::Tableau => {
                let mut widths = vec![2];
                widths.extend(fields.iter().map(|f| {
                    type_width(f.data_type())
                        .min(display.max_width)
                        .max(shell_table::width(f.name()))
                }));
                let mut all_right = vec![false];
                all_right.extend(right);
                let mut titles = vec!["op".to_string()];
                titles.extend(columns);
                View::Tableau(TableauView {
                    titles,
                    widths,
                    right: all_right,
                    changes: 0,
                })
            }
        }
    }

    fn start(&mut self, out: &mut dyn Write) -> io::Result<()> {
        match self {
            View::Table(view) => {
                if view.live {
                    view.draw(out, "waiting for rows · Ctrl-C stops the query")?;
                }
            }
            View::Changelog { .. } => {}
            View::Tableau(view) => {
                let border = shell_table::border(&view.widths);
                let titles: Vec<String> = view
                    .titles
                    .iter()
                    .zip(&view.widths)
                    .map(|(title, w)| cut(title, Some(*w)))
                    .collect();
                writeln!(out, "{border}")?;
                writeln!(out, "{}", shell_table::row_line(&titles, &view.widths, &[]))?;
                writeln!(out, "{border}")?;
                out.flush()?;
            }
        }
        Ok(())
    }

    fn add(&mut self, batch: &RowBatch, out: &mut dyn Write) -> io::Result<()> {
        match self {
            View::Table(view) => view.table.apply_batch(batch).map_err(io::Error::other),
            View::Changelog { changes } => {
                for line in weir_sql::rows::format_rows(batch).map_err(io::Error::other)? {
                    *changes += 1;
                    writeln!(out, "{line}")?;
                }
                out.flush()
            }
            View::Tableau(view) => {
                for (kind, values) in weir_sql::rows::row_values(batch).map_err(io::Error::other)? {
                    view.changes += 1;
                    let mut cells = vec![kind.short().to_string()];
                    cells.extend(values);
                    let cells: Vec<String> = cells
                        .iter()
                        .zip(&view.widths)
                        .map(|(value, w)| cut(value, Some(*w)))
                        .collect();
                    writeln!(out, "{}", shell_table::row_line(&cells, &view.widths, &view.right))?;
                }
                out.flush()
            }
        }
    }

    fn refresh(&mut self, out: &mut dyn Write, status: &str) -> io::Result<()> {
        match self {
            View::Table(view) if view.live => view.draw(out, status),
            _ => Ok(()),
        }
    }

    fn end(&mut self, ending: &Ending, out: &mut dyn Write) -> io::Result<()> {
        let how = match ending {
            Ending::Finished(elapsed) => format!("finished in {:.2}s", elapsed.as_secs_f64()),
            Ending::Cancelled => "cancelled".to_string(),
            Ending::Failed(_) => "failed".to_string(),
        };
        match self {
            View::Table(view) => {
                let mut status = format!(
                    "{} row{} ({} changes), {how}",
                    view.table.len(),
                    if view.table.len() == 1 { "" } else { "s" },
                    view.table.changes()
                );
                if view.table.dropped() > 0 {
                    status.push_str(&format!(
                        "; {} oldest rows dropped (sql-client.execution.max-table-result.rows)",
                        view.table.dropped()
                    ));
                }
                if view.table.unmatched() > 0 {
                    status.push_str(&format!("; {} retractions of rows not shown", view.table.unmatched()));
                }
                if view.live {
                    view.draw(out, &status)?;
                } else {
                    for line in render(&view.layout, view.table.rows(), None) {
                        writeln!(out, "{line}")?;
                    }
                    writeln!(out, "{status}")?;
                }
            }
            View::Changelog { changes } => writeln!(out, "{changes} changes, {how}")?,
            View::Tableau(view) => {
                writeln!(out, "{}", shell_table::border(&view.widths))?;
                writeln!(out, "Received a total of {} rows, {how}", view.changes)?;
            }
        }
        out.flush()
    }
}

impl TableView {
    /// Draws the table over the one drawn before (at most a screenful).
    fn draw(&mut self, out: &mut dyn Write, status: &str) -> io::Result<()> {
        let (height, width) = console::Term::stdout().size();
        let (height, width) = (usize::from(height), usize::from(width));
        // Borders, titles, `… more rows` and the status line take 6 lines.
        let limit = height.saturating_sub(7).max(1);
        let mut lines = render(&self.layout, self.table.rows(), Some(limit));
        lines.push(status.to_string());
        let mut text = String::new();
        if self.drawn > 0 {
            // To the start of the first line drawn, and clear from there.
            text.push_str(&format!("\x1b[{}F", self.drawn));
        }
        text.push_str("\x1b[J");
        for line in &lines {
            // A line as wide as the terminal would wrap and break the count.
            text.push_str(&console::truncate_str(line, width.saturating_sub(1).max(1), ""));
            text.push('\n');
        }
        out.write_all(text.as_bytes())?;
        out.flush()?;
        self.drawn = lines.len();
        Ok(())
    }
}

/// The characters a value of `data_type` usually takes (tableau column widths).
fn type_width(data_type: &DataType) -> usize {
    match data_type {
        DataType::Boolean => 5,
        DataType::Int8 | DataType::UInt8 => 4,
        DataType::Int16 | DataType::UInt16 => 6,
        DataType::Int32 | DataType::UInt32 => 11,
        DataType::Int64 | DataType::UInt64 => 20,
        DataType::Float16 | DataType::Float32 | DataType::Float64 => 12,
        DataType::Decimal32(p, _)
        | DataType::Decimal64(p, _)
        | DataType::Decimal128(p, _)
        | DataType::Decimal256(p, _) => usize::from(*p) + 2,
        DataType::Date32 | DataType::Date64 => 10,
        DataType::Time32(_) | DataType::Time64(_) => 12,
        DataType::Timestamp(_, _) => 23,
        _ => usize::MAX,
    }
}
