//! Keys of SQL rows: group keys of aggregates and join keys, encoded with Arrow's
//! row format ([`GroupKeys`]), and the partitioner that splits batches by the key
//! group of each row's key ([`KeyPartitioner`]), so that a keyed operator after it
//! gets every row of a key in one subtask.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::DataType;
use arrow::row::RowConverter;
use datafusion::physical_expr::PhysicalExpr;
use weir_core::keygroup::{key_group_for_key, subtask_for_key_group};
use weir_core::StreamRecord;
use weir_runtime::failure::{fail, OperatorMeta};
use weir_runtime::partitioner::{self, Partitioner, PartitionerFactory, Selection, WriterContext};

use crate::batch::RowBatch;
use crate::error::SqlError;
use crate::exec::eval::evaluate;

/// Encodes key columns of rows as byte keys.
#[derive(Debug, Clone)]
pub struct GroupKeys {
    /// The key expressions.
    pub exprs: Vec<Arc<dyn PhysicalExpr>>,
    /// Their types.
    pub types: Vec<DataType>,
}

impl GroupKeys {
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
        if self.exprs.is_empty() {
            return Ok((Vec::new(), vec![Vec::new(); batch.num_rows()]));
        }
        let columns = self.columns(batch)?;
        let rows = converter.convert_columns(&columns)?;
        let keys = (0..rows.num_rows()).map(|i| rows.row(i).as_ref().to_vec()).collect();
        Ok((columns, keys))
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

/// The rows of each key (by index), keys in order of first appearance.
pub fn rows_by_key(keys: &[Vec<u8>]) -> Vec<(&[u8], Vec<usize>)> {
    let mut order: Vec<(&[u8], Vec<usize>)> = Vec::new();
    let mut index: std::collections::HashMap<&[u8], usize> = std::collections::HashMap::new();
    for (row, key) in keys.iter().enumerate() {
        let at = *index.entry(key.as_slice()).or_insert_with(|| {
            order.push((key.as_slice(), Vec::new()));
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
