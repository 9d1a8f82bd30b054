//! Sinks see their input watermark (`SinkWriter::write_watermark`): in order,
//! never ahead of a record still to come, and the end of time at the end.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::Duration;
use weir::core::Watermark;
use weir::prelude::*;
use weir::runtime::sink::{Sink, SinkContext, SinkWriter};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Seen {
    Record(i64),
    Watermark(i64),
}

#[derive(Clone, Default)]
struct Recording(Arc<Mutex<Vec<Seen>>>);

impl SinkWriter<u64> for Recording {
    fn write(&mut self, _: u64, timestamp: Option<i64>) -> Result<(), BoxError> {
        self.0.lock().unwrap().push(Seen::Record(timestamp.unwrap()));
        Ok(())
    }

    fn write_watermark(&mut self, watermark: Watermark) -> Result<(), BoxError> {
        self.0.lock().unwrap().push(Seen::Watermark(watermark.timestamp));
        Ok(())
    }
}

impl Sink<u64> for Recording {
    fn create_writer(&self, _: &SinkContext) -> Result<Box<dyn SinkWriter<u64>>, BoxError> {
        Ok(Box::new(self.clone()))
    }
}

#[test]
fn a_sink_receives_its_input_watermarks() {
    const RECORDS: u64 = 50_000;
    let recording = Recording::default();
    let sink = recording.clone();
    common::no_hang("sink watermarks", move || {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(1)
            .set_auto_watermark_interval(Duration::from_millis(1));
        env.add_source(GeneratorSource::new(|i| i).with_count(RECORDS))
            .assign_timestamps_and_watermarks(
                WatermarkStrategy::for_monotonous_timestamps().with_timestamp_assigner(|i: &u64, _| *i as i64),
            )
            .add_sink(sink);
        env.execute("sink watermarks").unwrap()
    });
    let seen = recording.0.lock().unwrap().clone();
    let records = seen.iter().filter(|s| matches!(s, Seen::Record(_))).count();
    assert_eq!(records as u64, RECORDS);
    let mut watermark = i64::MIN;
    for s in &seen {
        match *s {
            Seen::Watermark(w) => {
                assert!(w >= watermark, "watermark {w} after {watermark}");
                watermark = w;
            }
            Seen::Record(t) => assert!(t > watermark, "record at {t} behind watermark {watermark}"),
        }
    }
    assert_eq!(
        seen.last(),
        Some(&Seen::Watermark(i64::MAX)),
        "the end of input ends event time at the sink"
    );
}
