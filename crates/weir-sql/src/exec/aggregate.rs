//! Keyed window aggregates: `GROUP BY window_start, window_end, keys...` with COUNT,
//! SUM, MIN, MAX, AVG and COUNT(DISTINCT).
//!
//! Rows are partitioned by the key group of their whole group row (window columns
//! included) encoded with Arrow's row format ([`KeyPartitioner`]); the operator
//! ([`WindowAggregate`]) keeps one list of accumulators per group row in keyed state
//! (heap or RocksDB, checkpointed and restored with the key groups) and an
//! event-time timer at `window_end - 1`; when the watermark passes it the group's
//! row is emitted (insert-only) and its state cleared. Rows of windows the watermark
//! already passed are dropped as late.
//!
//! Accumulators are Weir's own ([`Acc`]), serializable, rather than DataFusion's
//! `Accumulator` states: simpler to keep per key in keyed state.

use std::cmp::Ordering;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array, RecordBatch, UInt32Array};
use arrow::compute::{cast, take_record_batch};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::row::{RowConverter, SortField};
use datafusion::common::ScalarValue;
use datafusion::physical_expr::PhysicalExpr;
use serde::{Deserialize, Serialize};
use weir_core::keygroup::{key_group_for_key, subtask_for_key_group};
use weir_core::{StreamRecord, Watermark};
use weir_datastream::custom::{Input, Operator, OperatorState, Timers};
use weir_datastream::functions::TimeDomain;
use weir_runtime::partitioner::{Partitioner, Selection};
use weir_state::{KeyedStateStore, ValueStateDescriptor};

use crate::batch::RowBatch;
use crate::error::SqlError;
use crate::exec::eval::evaluate;
use weir_runtime::failure::{fail, OperatorMeta};

/// An aggregate function of a window aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggKind {
    /// `COUNT(x)`, `COUNT(*)`.
    Count,
    /// `SUM` of integers.
    SumInt,
    /// `SUM` of floats.
    SumFloat,
    /// `MIN`.
    Min,
    /// `MAX`.
    Max,
    /// `AVG`.
    Avg,
    /// `COUNT(DISTINCT x)`.
    CountDistinct,
}

/// A value kept by MIN/MAX.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// Integers, timestamps, dates.
    Int(i64),
    /// Floats.
    Float(f64),
    /// Strings.
    Str(String),
    /// Booleans.
    Bool(bool),
}

impl Value {
    fn from_scalar(value: &ScalarValue) -> Option<Value> {
        Some(match value {
            ScalarValue::Int8(Some(v)) => Value::Int(*v as i64),
            ScalarValue::Int16(Some(v)) => Value::Int(*v as i64),
            ScalarValue::Int32(Some(v)) => Value::Int(*v as i64),
            ScalarValue::Int64(Some(v)) => Value::Int(*v),
            ScalarValue::UInt8(Some(v)) => Value::Int(*v as i64),
            ScalarValue::UInt16(Some(v)) => Value::Int(*v as i64),
            ScalarValue::UInt32(Some(v)) => Value::Int(*v as i64),
            ScalarValue::UInt64(Some(v)) => Value::Int(*v as i64),
            ScalarValue::Float32(Some(v)) => Value::Float(*v as f64),
            ScalarValue::Float64(Some(v)) => Value::Float(*v),
            ScalarValue::TimestampMillisecond(Some(v), _)
            | ScalarValue::TimestampSecond(Some(v), _)
            | ScalarValue::TimestampMicrosecond(Some(v), _)
            | ScalarValue::TimestampNanosecond(Some(v), _)
            | ScalarValue::Date64(Some(v)) => Value::Int(*v),
            ScalarValue::Date32(Some(v)) => Value::Int(*v as i64),
            ScalarValue::Utf8(Some(v)) | ScalarValue::LargeUtf8(Some(v)) | ScalarValue::Utf8View(Some(v)) => {
                Value::Str(v.clone())
            }
            ScalarValue::Boolean(Some(v)) => Value::Bool(*v),
            _ => return None,
        })
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(v) => Some(*v as f64),
            Value::Float(v) => Some(*v),
            _ => None,
        }
    }

    fn compare(&self, other: &Value) -> Ordering {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::Float(a), Value::Float(b)) => a.total_cmp(b),
            (Value::Str(a), Value::Str(b)) => a.cmp(b),
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            _ => Ordering::Equal,
        }
    }

    fn to_scalar(&self) -> ScalarValue {
        match self {
            Value::Int(v) => ScalarValue::Int64(Some(*v)),
            Value::Float(v) => ScalarValue::Float64(Some(*v)),
            Value::Str(v) => ScalarValue::Utf8(Some(v.clone())),
            Value::Bool(v) => ScalarValue::Boolean(Some(*v)),
        }
    }
}

/// The state of one aggregate of one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Acc {
    /// Non-null rows.
    Count(i64),
    /// Integer sum, `None` before the first non-null value.
    SumInt(Option<i64>),
    /// Float sum.
    SumFloat(Option<f64>),
    /// Smallest value.
    Min(Option<Value>),
    /// Largest value.
    Max(Option<Value>),
    /// Sum and count.
    Avg(f64, i64),
    /// The distinct values seen, sorted.
    Distinct(Vec<Value>),
}

impl Acc {
    /// A fresh accumulator.
    pub fn new(kind: AggKind) -> Acc {
        match kind {
            AggKind::Count => Acc::Count(0),
            AggKind::SumInt => Acc::SumInt(None),
            AggKind::SumFloat => Acc::SumFloat(None),
            AggKind::Min => Acc::Min(None),
            AggKind::Max => Acc::Max(None),
            AggKind::Avg => Acc::Avg(0.0, 0),
            AggKind::CountDistinct => Acc::Distinct(Vec::new()),
        }
    }

    /// Adds a value (nulls are ignored).
    pub fn add(&mut self, value: Option<Value>) {
        let Some(value) = value else { return };
        match self {
            Acc::Count(n) => *n += 1,
            Acc::SumInt(s) => {
                if let Value::Int(v) = value {
                    *s = Some(s.unwrap_or(0).wrapping_add(v));
                }
            }
            Acc::SumFloat(s) => {
                if let Some(v) = value.as_f64() {
                    *s = Some(s.unwrap_or(0.0) + v);
                }
            }
            Acc::Min(m) => {
                if m.as_ref().is_none_or(|m| value.compare(m) == Ordering::Less) {
                    *m = Some(value);
                }
            }
            Acc::Max(m) => {
                if m.as_ref().is_none_or(|m| value.compare(m) == Ordering::Greater) {
                    *m = Some(value);
                }
            }
            Acc::Avg(sum, count) => {
                if let Some(v) = value.as_f64() {
                    *sum += v;
                    *count += 1;
                }
            }
            Acc::Distinct(values) => {
                if let Err(at) = values.binary_search_by(|v| v.compare(&value)) {
                    values.insert(at, value);
                }
            }
        }
    }

    /// The result (to be cast to the aggregate's type).
    pub fn result(&self) -> ScalarValue {
        match self {
            Acc::Count(n) => ScalarValue::Int64(Some(*n)),
            Acc::SumInt(s) => ScalarValue::Int64(*s),
            Acc::SumFloat(s) => ScalarValue::Float64(*s),
            Acc::Min(m) | Acc::Max(m) => m.as_ref().map(Value::to_scalar).unwrap_or(ScalarValue::Null),
            Acc::Avg(sum, count) => ScalarValue::Float64((*count > 0).then(|| sum / *count as f64)),
            Acc::Distinct(values) => ScalarValue::Int64(Some(values.len() as i64)),
        }
    }
}

/// One aggregate call: its kind and argument.
#[derive(Debug, Clone)]
pub struct AggCall {
    /// The function.
    pub kind: AggKind,
    /// The argument (a literal for `COUNT(*)`).
    pub arg: Arc<dyn PhysicalExpr>,
}

/// Encodes group rows as keys.
#[derive(Debug, Clone)]
pub struct GroupKeys {
    /// The group expressions.
    pub exprs: Vec<Arc<dyn PhysicalExpr>>,
    /// Their types.
    pub types: Vec<DataType>,
}

impl GroupKeys {
    /// A converter of the group columns to rows.
    pub fn converter(&self) -> Result<RowConverter, SqlError> {
        Ok(RowConverter::new(
            self.types.iter().map(|t| SortField::new(t.clone())).collect(),
        )?)
    }

    /// The group columns of a batch.
    pub fn columns(&self, batch: &RecordBatch) -> Result<Vec<ArrayRef>, SqlError> {
        self.exprs.iter().map(|e| evaluate(e, batch)).collect()
    }

    /// The key of every row.
    pub fn keys(
        &self,
        converter: &RowConverter,
        batch: &RecordBatch,
    ) -> Result<(Vec<ArrayRef>, Vec<Vec<u8>>), SqlError> {
        let columns = self.columns(batch)?;
        let rows = converter.convert_columns(&columns)?;
        let keys = (0..rows.num_rows()).map(|i| rows.row(i).as_ref().to_vec()).collect();
        Ok((columns, keys))
    }
}

/// Splits batches by the key group of each row's group key.
pub struct KeyPartitioner {
    meta: OperatorMeta,
    keys: GroupKeys,
    converter: Option<RowConverter>,
    max_parallelism: usize,
}

impl KeyPartitioner {
    /// Partitions by `keys` for a keyed operator of `max_parallelism`.
    pub fn new(keys: GroupKeys, max_parallelism: usize, meta: OperatorMeta) -> Self {
        let converter = keys.converter().ok();
        KeyPartitioner {
            meta,
            keys,
            converter,
            max_parallelism,
        }
    }

    fn channels_of(&self, batch: &RecordBatch, channels: usize) -> Result<Vec<Vec<u32>>, SqlError> {
        let converter = self
            .converter
            .as_ref()
            .ok_or_else(|| SqlError::Plan("group key types cannot be encoded".into()))?;
        let (_, keys) = self.keys.keys(converter, batch)?;
        let mut per_channel = vec![Vec::new(); channels];
        for (row, key) in keys.iter().enumerate() {
            let group = key_group_for_key(key, self.max_parallelism);
            per_channel[subtask_for_key_group(self.max_parallelism, channels, group)].push(row as u32);
        }
        Ok(per_channel)
    }
}

impl Partitioner<RowBatch> for KeyPartitioner {
    const SPLITS: bool = true;

    fn select(&mut self, _: &RowBatch, _: usize) -> Selection {
        Selection::All
    }

    fn split(
        &mut self,
        record: StreamRecord<RowBatch>,
        channels: usize,
        parts: &mut Vec<(usize, StreamRecord<RowBatch>)>,
    ) {
        let batch = record.value.batch();
        let per_channel = match self.channels_of(batch, channels) {
            Ok(per_channel) => per_channel,
            Err(e) => fail(&self.meta, format!("partitioning by group key: {e}")),
        };
        for (channel, rows) in per_channel.into_iter().enumerate() {
            if rows.is_empty() {
                continue;
            }
            let part = if rows.len() == batch.num_rows() {
                Ok(batch.clone())
            } else {
                take_record_batch(batch, &UInt32Array::from(rows))
            };
            match part {
                Ok(part) => parts.push((
                    channel,
                    StreamRecord {
                        value: RowBatch(part),
                        timestamp: record.timestamp,
                    },
                )),
                Err(e) => fail(&self.meta, format!("partitioning by group key: {e}")),
            }
        }
    }
}

/// The keyed window aggregate operator.
pub struct WindowAggregate {
    /// For failure reports.
    pub meta: OperatorMeta,
    /// Group keys.
    pub keys: GroupKeys,
    /// Index of `window_end` among the group columns.
    pub window_end: usize,
    /// Aggregates.
    pub aggs: Vec<AggCall>,
    /// Output schema: group columns then aggregates.
    pub schema: SchemaRef,
    /// Row encoding of the group columns.
    pub converter: RowConverter,
    /// Keyed state.
    pub store: KeyedStateStore<Vec<u8>>,
    /// Window-end timers.
    pub timers: Timers<Vec<u8>, ()>,
    /// Accumulators per group.
    pub accs: ValueStateDescriptor<Vec<Acc>>,
    /// The last watermark.
    pub watermark: i64,
    /// Late rows dropped.
    pub late: u64,
}

impl WindowAggregate {
    fn add(&mut self, batch: &RecordBatch) -> Result<(), SqlError> {
        let (columns, keys) = self.keys.keys(&self.converter, batch)?;
        let ends = cast(&columns[self.window_end], &DataType::Int64)?;
        let ends = ends
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| SqlError::Plan("window_end is not a timestamp".into()))?;
        let args = self
            .aggs
            .iter()
            .map(|a| evaluate(&a.arg, batch))
            .collect::<Result<Vec<_>, _>>()?;
        let state_error = |e: weir_state::StateError| SqlError::Plan(format!("window aggregate state: {e}"));
        for (row, key) in keys.into_iter().enumerate() {
            let fire = ends.value(row) - 1;
            if fire <= self.watermark {
                self.late += 1;
                continue;
            }
            let current = self.store.key(key);
            let mut state = self.store.value(&self.accs, &current).map_err(state_error)?;
            let mut accs = match state.get().map_err(state_error)? {
                Some(accs) => accs,
                None => self.aggs.iter().map(|a| Acc::new(a.kind)).collect(),
            };
            for (acc, arg) in accs.iter_mut().zip(&args) {
                let value = ScalarValue::try_from_array(arg, row)?;
                acc.add(Value::from_scalar(&value));
            }
            state.set(accs).map_err(state_error)?;
            self.timers
                .register(&mut self.store, &current, TimeDomain::EventTime, (), fire)
                .map_err(state_error)?;
        }
        Ok(())
    }

    fn fire(&mut self, until: i64) -> Result<Option<RecordBatch>, SqlError> {
        let state_error = |e: weir_state::StateError| SqlError::Plan(format!("window aggregate state: {e}"));
        let mut keys = Vec::new();
        let mut results: Vec<Vec<ScalarValue>> = vec![Vec::new(); self.aggs.len()];
        while let Some((current, (), _)) = self
            .timers
            .pop_due(&mut self.store, TimeDomain::EventTime, until)
            .map_err(state_error)?
        {
            let mut state = self.store.value(&self.accs, &current).map_err(state_error)?;
            let Some(accs) = state.get().map_err(state_error)? else {
                continue;
            };
            state.clear().map_err(state_error)?;
            for (out, acc) in results.iter_mut().zip(&accs) {
                out.push(acc.result());
            }
            keys.push(current.key().clone());
        }
        if keys.is_empty() {
            return Ok(None);
        }
        let parser = self.converter.parser();
        let rows: Vec<_> = keys.iter().map(|k| parser.parse(k)).collect();
        let mut columns = self.converter.convert_rows(rows)?;
        for values in results {
            let field = self.schema.field(columns.len());
            let array = if values.iter().all(ScalarValue::is_null) {
                arrow::array::new_null_array(field.data_type(), values.len())
            } else {
                let first = values
                    .iter()
                    .find(|v| !v.is_null())
                    .map(ScalarValue::data_type)
                    .unwrap_or(DataType::Null);
                let values = values
                    .into_iter()
                    .map(|v| {
                        if v.is_null() {
                            ScalarValue::try_from(&first)
                        } else {
                            Ok(v)
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let array = ScalarValue::iter_to_array(values)?;
                cast(&array, field.data_type())?
            };
            columns.push(array);
        }
        Ok(Some(RecordBatch::try_new(self.schema.clone(), columns)?))
    }
}

impl Operator<RowBatch, RowBatch> for WindowAggregate {
    fn process(&mut self, record: StreamRecord<RowBatch>, _: &mut dyn Input<RowBatch>) {
        if let Err(e) = self.add(record.value.batch()) {
            fail(&self.meta, format!("window aggregate: {e}"));
        }
    }

    fn watermark(&mut self, watermark: Watermark, out: &mut dyn Input<RowBatch>) {
        if watermark.timestamp <= self.watermark {
            return;
        }
        self.watermark = watermark.timestamp;
        match self.fire(watermark.timestamp) {
            Ok(Some(batch)) => out.process(StreamRecord::new(RowBatch(batch))),
            Ok(None) => {}
            Err(e) => fail(&self.meta, format!("window aggregate: {e}")),
        }
        out.process_watermark(watermark);
    }

    fn snapshot(&mut self, _: u64) -> OperatorState {
        OperatorState {
            keyed: Some(self.store.snapshot()),
            operator: None,
        }
    }
}
