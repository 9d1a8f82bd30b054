//! Assigning timestamps and generating watermarks inside a job.

use super::Operator;
use std::sync::Arc;
use std::time::Instant;
use weir_core::{processing_time_now, StreamRecord, Timestamp, Watermark, WatermarkStatus};
use weir_runtime::failure::{guard, OperatorMeta};
use weir_runtime::operator::Input;
use weir_runtime::task::TaskShared;
use weir_runtime::watermark::SplitWatermarks;

/// Gives records their event time and emits watermarks (periodically and when the
/// generator punctuates). Upstream watermarks are replaced by its own, except the
/// final one at the end of input.
pub(crate) struct TimestampsAndWatermarks<T> {
    pub meta: OperatorMeta,
    pub watermarks: SplitWatermarks<T>,
    pub task: Arc<TaskShared>,
    pub interval_ms: i64,
}

impl<T: 'static> TimestampsAndWatermarks<T> {
    fn schedule(&self) {
        self.task
            .register_processing_timer(processing_time_now().saturating_add(self.interval_ms.max(1)));
    }

    fn emit_change(&mut self, out: &mut dyn Input<T>) {
        let change = self.watermarks.take_change();
        if let Some(status) = change.status {
            out.process_status(status);
        }
        if let Some(watermark) = change.watermark {
            out.process_watermark(Watermark::new(watermark));
        }
    }
}

impl<T: Send + 'static> Operator<T, T> for TimestampsAndWatermarks<T> {
    fn open(&mut self) {
        self.schedule();
    }

    #[inline]
    fn process(&mut self, record: StreamRecord<T>, out: &mut dyn Input<T>) {
        if self.watermarks.activate() {
            out.process_status(WatermarkStatus::Active);
        }
        let watermarks = &mut self.watermarks;
        let timestamp = guard(&self.meta, || watermarks.on_record(0, &record.value, record.timestamp));
        out.process(StreamRecord {
            value: record.value,
            timestamp,
        });
        self.emit_change(out);
    }

    fn watermark(&mut self, watermark: Watermark, out: &mut dyn Input<T>) {
        if watermark == Watermark::MAX {
            out.process_watermark(watermark);
        }
    }

    fn status(&mut self, _: WatermarkStatus, _: &mut dyn Input<T>) {}

    fn on_processing_time(&mut self, _: Timestamp, out: &mut dyn Input<T>) {
        self.watermarks.on_periodic(Instant::now());
        self.emit_change(out);
        self.schedule();
    }
}
