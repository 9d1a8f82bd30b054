//! Event time and windows: user sessions, sliding page-view counts and late
//! clicks.
//!
//! `cargo run -p weir --example windows`
//!
//! Clicks arrive out of order (up to 2 s). Event time comes from the clicks
//! themselves; a punctuated watermark generator moves event time after every
//! click to 2 s behind the newest one (periodic generators, such as
//! `for_bounded_out_of_orderness`, emit on a timer instead). A session closes after
//! 5 s without clicks of its user; page views are counted over the last 10 s every
//! 5 s; a click more than 2 s behind the watermark (beyond the allowed lateness) is
//! reported on a side output instead of being dropped silently.

use serde::{Deserialize, Serialize};
use std::time::Duration;
use weir::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Click {
    user: String,
    page: String,
    /// Event time, ms.
    at: i64,
}

fn click(user: &str, page: &str, seconds: f64) -> Click {
    Click {
        user: user.to_string(),
        page: page.to_string(),
        at: (seconds * 1000.0) as i64,
    }
}

/// Clicks with timestamps, in the order they arrive.
fn clicks() -> Vec<Click> {
    vec![
        click("ann", "home", 0.0),
        click("bob", "home", 1.0),
        click("ann", "shoes", 3.5),
        click("ann", "cart", 2.0), // out of order, within the bound
        click("bob", "socks", 4.0),
        click("ann", "pay", 7.0),
        click("bob", "home", 12.0),
        click("ann", "home", 18.0),
        click("bob", "cart", 3.0), // 13 s late: past every window and the lateness
        click("ann", "shoes", 21.0),
    ]
}

/// After every click: the newest timestamp so far minus 2 s.
struct TwoSecondsBehind {
    newest: i64,
}

impl WatermarkGenerator<Click> for TwoSecondsBehind {
    fn on_event(&mut self, _: &Click, timestamp: i64, output: &mut WatermarkOutput) {
        self.newest = self.newest.max(timestamp);
        output.emit_watermark(self.newest - 2_000);
    }

    fn on_periodic_emit(&mut self, _: &mut WatermarkOutput) {}
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2);
    let strategy = WatermarkStrategy::for_generator(|| TwoSecondsBehind { newest: i64::MIN })
        .with_timestamp_assigner(|c: &Click, _| c.at);
    // One reader, one click per poll: event time moves click by click, in the
    // order below.
    let clicks = env
        .from_source(
            CollectionSource::new(clicks()).with_records_per_poll(1),
            strategy,
            "clicks",
        )
        .set_parallelism(1);

    // Sessions per user: a full-window function sees every click of a session.
    let late = OutputTag::<Click>::new("late clicks");
    let sessions = clicks
        .key_by(|c| c.user.clone())
        .window(EventTimeSessionWindows::with_gap(Duration::from_secs(5)))
        .allowed_lateness(Duration::from_secs(2))
        .side_output_late_data(&late)
        .process_fn(|ctx, clicks: Vec<Click>, out: &mut Collector<'_, String>| {
            let mut pages: Vec<&str> = clicks.iter().map(|c| c.page.as_str()).collect();
            pages.sort_unstable();
            let w = ctx.window();
            out.collect(format!(
                "session of {} from {:.1} s to {:.1} s: {} clicks ({})",
                ctx.key(),
                w.start as f64 / 1000.0,
                w.end as f64 / 1000.0,
                clicks.len(),
                pages.join(", ")
            ));
            Ok(())
        });
    let late_clicks = sessions.get_side_output(&late).map(|c| format!("late click: {c:?}"));

    // Views per page over the last 10 s, every 5 s: counted incrementally, each
    // click stored once (in its 5 s slice), not once per window.
    let views = clicks
        .map(|c| (c.page, 1u64))
        .key_by(|v| v.0.clone())
        .window(SlidingEventTimeWindows::of(
            Duration::from_secs(10),
            Duration::from_secs(5),
        ))
        .reduce_with(
            |a, b| (a.0, a.1 + b.1),
            weir::datastream::window::FnProcessWindow(
                |ctx: &mut WindowContext<'_, String, TimeWindow>,
                 counts: Vec<(String, u64)>,
                 out: &mut Collector<'_, String>| {
                    for (page, n) in counts {
                        let w = ctx.window();
                        out.collect(format!(
                            "{page}: {n} views in [{} s, {} s)",
                            w.start / 1000,
                            w.end / 1000
                        ));
                    }
                    Ok(())
                },
            ),
        );

    sessions.union(&late_clicks).union(&views).print();
    env.execute("windows")?;
    Ok(())
}
