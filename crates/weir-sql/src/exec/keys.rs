//! Keys of SQL rows: group keys of aggregates and join keys, encoded with Arrow's
//! row format ([`GroupKeys`]), and the partitioner that splits batches by the key
//! group of each row's key ([`KeyPartitioner`]), so that a keyed operator after it
//! gets every row of a key in one subtask.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::DataType;
use arrow::row::{RowConverter, Rows};
use datafusion::common::DFSchema;
use datafusion::logical_expr::{Expr, ExprSchemable};
use datafusion::physical_expr::PhysicalExpr;
use weir_core::keygroup::{key_group_for_key, subtask_for_key_group};
use weir_core::StreamRecord;
use weir_runtime::failure::{fail, OperatorMeta};
use weir_runtime::partitioner::{self, Partitioner, PartitionerFactory, Selection, WriterContext};

use crate::batch::RowBatch;
use crate::error::SqlError;
use crate::exec::eval::{evaluate, physical};

/// Encodes key columns of rows as byte keys.
#[derive(Debug, Clone)]
pub struct GroupKeys {
    /// The key expressions.
    pub exprs: Vec<Arc<dyn PhysicalExpr>>,
    /// Their types.
    pub types: Vec<DataType>,
}

impl GroupKeys {
    /// The keys of `exprs`, logical expressions over rows of `schema`.
    pub fn plan(exprs: &[Expr], schema: &DFSchema) -> Result<Self, SqlError> {
        Ok(GroupKeys {
            exprs: exprs.iter().map(|e| physical(e, schema)).collect::<Result<_, _>>()?,
            types: exprs.iter().map(|e| e.get_type(schema)).collect::<Result<_, _>>()?,
        })
    }

    /// A converter of the key columns to rows.
    pub fn converter(&self) -> Result<RowConverter, SqlError> {
        crate::exec::output::row_converter(&self.types)
    }

    /// The key columns of a batch.
    pub fn columns(&self, batch: &RecordBatch) -> Result<Vec<ArrayRef>, SqlError> {
        self.exprs.iter().map(|e| evaluate(e, batch)).collect()
    }

    /// The key of every row (empty keys when there are no key columns: a global
    /// aggregate).
    pub fn keys(
        &self,
        converter: &RowConverter,
        batch: &RecordBatch,
    ) -> Result<(Vec<ArrayRef>, Vec<Vec<u8>>), SqlError> {
        let encoded = self.encode(converter, batch)?;
        let keys = (0..encoded.len()).map(|row| encoded.key(row).to_vec()).collect();
        Ok((encoded.columns, keys))
    }

    /// The keys of a batch's rows, encoded once for the whole batch (no allocation
    /// per row).
    pub fn encode(&self, converter: &RowConverter, batch: &RecordBatch) -> Result<BatchKeys, SqlError> {
        if self.exprs.is_empty() {
            return Ok(BatchKeys {
                columns: Vec::new(),
                rows: None,
                len: batch.num_rows(),
            });
        }
        let columns = self.columns(batch)?;
        let rows = converter.convert_columns(&columns)?;
        Ok(BatchKeys {
            columns,
            len: rows.num_rows(),
            rows: Some(rows),
        })
    }

    /// The key columns of encoded keys (none when there are no key columns).
    pub fn decode(&self, converter: &RowConverter, keys: &[Vec<u8>]) -> Result<Vec<ArrayRef>, SqlError> {
        if self.exprs.is_empty() {
            return Ok(Vec::new());
        }
        let parser = converter.parser();
        Ok(converter.convert_rows(keys.iter().map(|k| parser.parse(k)))?)
    }

    /// A hash partitioning of batches by these keys, for a keyed operator.
    pub fn partitioning(&self) -> Arc<dyn PartitionerFactory> {
        let keys = self.clone();
        partitioner::splitting(move |c: &WriterContext| {
            KeyPartitioner::new(keys.clone(), c.target_max_parallelism, c.meta.clone())
        })
    }
}

/// The encoded keys of a batch's rows ([`GroupKeys::encode`]).
pub struct BatchKeys {
    /// The key columns.
    pub columns: Vec<ArrayRef>,
    rows: Option<Rows>,
    len: usize,
}

impl BatchKeys {
    /// The number of rows.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The key of `row` (empty without key columns).
    pub fn key(&self, row: usize) -> &[u8] {
        match &self.rows {
            Some(rows) => rows.row(row).data(),
            None => &[],
        }
    }

    /// The rows of each key, keys in order of first appearance.
    pub fn rows_by_key(&self) -> Vec<(&[u8], Vec<usize>)> {
        rows_by_key((0..self.len).map(|row| self.key(row)))
    }
}

/// The rows of each key (by index), keys in order of first appearance.
pub fn rows_by_key<'a>(keys: impl IntoIterator<Item = &'a [u8]>) -> Vec<(&'a [u8], Vec<usize>)> {
    let mut order: Vec<(&[u8], Vec<usize>)> = Vec::new();
    let mut index: HashMap<&[u8], usize, foldhash::fast::RandomState> = HashMap::default();
    for (row, key) in keys.into_iter().enumerate() {
        let at = *index.entry(key).or_insert_with(|| {
            order.push((key, Vec::new()));
            order.len() - 1
        });
        order[at].1.push(row);
    }
    order
}

/// Splits batches by the key group of each row's key.
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
            .ok_or_else(|| SqlError::Plan("key types cannot be encoded".into()))?;
        let keys = self.keys.encode(converter, batch)?;
        let mut per_channel = vec![Vec::new(); channels];
        for row in 0..keys.len() {
            let group = key_group_for_key(keys.key(row), self.max_parallelism);
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
            Err(e) => fail(&self.meta, format!("partitioning by key: {e}")),
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
                Err(e) => fail(&self.meta, format!("partitioning by key: {e}")),
            }
        }
    }
}
