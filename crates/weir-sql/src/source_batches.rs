//! Turning a source's records into [`RowBatch`]es: what every SQL source that
//! reads records one at a time (generated events, lines of files, messages) needs
//! between its source and the query.
//!
//! A [`BatchBuilder`] collects the records and builds a batch of the table's
//! columns from them; [`to_batches`] puts it behind the source as an operator that
//! sends a batch when [`BATCH_ROWS`] records are in and sends the partial batch
//! on before each watermark, checkpoint barrier, flush and the end of the input,
//! so no record waits behind a barrier or a watermark.
//!
//! ```
//! use arrow::array::{Int64Array, RecordBatch};
//! use arrow::datatypes::{DataType, Field, Schema};
//! use std::sync::Arc;
//! use weir_core::BoxError;
//! use weir_sql::source_batches::{to_batches, BatchBuilder};
//!
//! struct Numbers(Vec<i64>);
//!
//! impl BatchBuilder<i64> for Numbers {
//!     fn push(&mut self, record: i64) {
//!         self.0.push(record);
//!     }
//!     fn len(&self) -> usize {
//!         self.0.len()
//!     }
//!     fn take_batch(&mut self) -> Result<Option<RecordBatch>, BoxError> {
//!         if self.0.is_empty() {
//!             return Ok(None);
//!         }
//!         let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
//!         let column = Arc::new(Int64Array::from(std::mem::take(&mut self.0)));
//!         Ok(Some(RecordBatch::try_new(schema, vec![column])?))
//!     }
//! }
//!
//! let env = weir_datastream::StreamExecutionEnvironment::new();
//! let numbers = env.from_collection((0..10i64).collect::<Vec<_>>());
//! let _batches = to_batches(&numbers, "numbers batches", |_| Ok(Numbers(Vec::new())));
//! ```

use crate::batch::RowBatch;
use arrow::array::RecordBatch;
use weir_core::{BoxError, Data, StreamRecord, Watermark};
use weir_datastream::custom::{BuildContext, Input, Operator};
use weir_datastream::DataStream;
use weir_runtime::failure::{fail, OperatorMeta};

/// How many records a source batch holds at most.
pub const BATCH_ROWS: usize = 1024;

/// Collects a source's records and builds batches of the table's columns.
pub trait BatchBuilder<T>: Send + 'static {
    /// Adds a record to the next batch.
    fn push(&mut self, record: T);

    /// How many records wait for the next batch.
    fn len(&self) -> usize;

    /// Whether no record waits.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The batch of the records pushed since the last one, `None` when there are
    /// none. An error fails the job, naming the operator.
    fn take_batch(&mut self) -> Result<Option<RecordBatch>, BoxError>;
}

/// Puts `make`'s builder behind `stream` as the operator `name`, turning its
/// records into batches (see the module documentation for when they are sent).
/// Give the result a uid as any operator of a job that is restored.
pub fn to_batches<T: Data, B: BatchBuilder<T>>(
    stream: &DataStream<T>,
    name: &str,
    make: impl Fn(&BuildContext) -> Result<B, BoxError> + Send + Sync + 'static,
) -> DataStream<RowBatch> {
    stream.transform(name, move |ctx| -> Result<ToBatches<B>, BoxError> {
        Ok(ToBatches {
            meta: ctx.meta.clone(),
            builder: make(ctx)?,
        })
    })
}

/// The operator of [`to_batches`].
struct ToBatches<B> {
    meta: OperatorMeta,
    builder: B,
}

impl<B> ToBatches<B> {
    fn emit<T>(&mut self, out: &mut dyn Input<RowBatch>)
    where
        B: BatchBuilder<T>,
    {
        match self.builder.take_batch() {
            Ok(Some(batch)) => out.process(StreamRecord::new(RowBatch(batch))),
            Ok(None) => {}
            Err(e) => fail(&self.meta, e),
        }
    }
}

impl<T, B: BatchBuilder<T>> Operator<T, RowBatch> for ToBatches<B> {
    fn process(&mut self, record: StreamRecord<T>, out: &mut dyn Input<RowBatch>) {
        self.builder.push(record.value);
        if self.builder.len() >= BATCH_ROWS {
            self.emit(out);
        }
    }

    fn watermark(&mut self, watermark: Watermark, out: &mut dyn Input<RowBatch>) {
        self.emit(out);
        out.process_watermark(watermark);
    }

    fn end_input(&mut self, out: &mut dyn Input<RowBatch>) {
        self.emit(out);
    }

    fn flush(&mut self, out: &mut dyn Input<RowBatch>) {
        self.emit(out);
    }

    fn before_barrier(&mut self, _: u64, out: &mut dyn Input<RowBatch>) {
        self.emit(out);
    }
}
