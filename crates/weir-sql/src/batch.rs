//! The record type of SQL streams: a batch of rows ([`RowBatch`]), with the kind of
//! change each row is ([`RowKind`]) when the stream is updating.
//!
//! SQL operators move Arrow record batches through the same channels, barriers,
//! watermarks and checkpoints as typed records: a [`RowBatch`] is one record of a
//! `DataStream<RowBatch>`. Event time is a column of the batch (the table's time
//! attribute), not the record's timestamp. An *insert-only* stream's batches have
//! only the query's columns; an *updating* stream's batches have one more, last,
//! column [`KIND_COLUMN`] (`Int8`, the [`RowKind`] of each row), so that filters and
//! `take` keep rows and their kinds together and column indexes of the query's
//! columns are the same in both modes.
//!
//! Batches cross process boundaries and are stored as channel state by unaligned
//! checkpoints in the Arrow IPC stream format.

use arrow::array::{Array, Int8Array, RecordBatch};
use arrow::datatypes::{DataType, Field};
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Name of the column holding each row's [`RowKind`] in an updating stream.
pub const KIND_COLUMN: &str = "_weir_kind";

/// The kind of change a row of a changelog is (Flink's `+I`, `-U`, `+U`, `-D`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(i8)]
pub enum RowKind {
    /// `+I`: a new row.
    Insert = 0,
    /// `-U`: the previous version of an updated row (retracted).
    UpdateBefore = 1,
    /// `+U`: the new version of an updated row.
    UpdateAfter = 2,
    /// `-D`: a deleted row.
    Delete = 3,
}

impl RowKind {
    /// The kind stored as `code` in [`KIND_COLUMN`], if valid.
    pub fn from_code(code: i8) -> Option<RowKind> {
        match code {
            0 => Some(RowKind::Insert),
            1 => Some(RowKind::UpdateBefore),
            2 => Some(RowKind::UpdateAfter),
            3 => Some(RowKind::Delete),
            _ => None,
        }
    }

    /// Flink's short form: `+I`, `-U`, `+U`, `-D`.
    pub fn short(self) -> &'static str {
        match self {
            RowKind::Insert => "+I",
            RowKind::UpdateBefore => "-U",
            RowKind::UpdateAfter => "+U",
            RowKind::Delete => "-D",
        }
    }

    /// Whether the row adds to the result (`+I`, `+U`) rather than retracting from it.
    pub fn is_addition(self) -> bool {
        matches!(self, RowKind::Insert | RowKind::UpdateAfter)
    }
}

/// The field of [`KIND_COLUMN`].
pub fn kind_field() -> Field {
    Field::new(KIND_COLUMN, DataType::Int8, false)
}

/// One record of a SQL stream: a batch of rows.
#[derive(Debug, Clone)]
pub struct RowBatch(pub RecordBatch);

impl RowBatch {
    /// The rows.
    pub fn batch(&self) -> &RecordBatch {
        &self.0
    }

    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.0.num_rows()
    }

    /// The kinds of the rows, when the batch is from an updating stream (its last
    /// column is [`KIND_COLUMN`]).
    pub fn kinds(&self) -> Option<&Int8Array> {
        let schema = self.0.schema_ref();
        let last = schema.fields().len().checked_sub(1)?;
        if schema.field(last).name() != KIND_COLUMN {
            return None;
        }
        self.0.column(last).as_any().downcast_ref::<Int8Array>()
    }

    /// The kind of row `row` (`Insert` for insert-only batches and invalid codes).
    pub fn kind(&self, row: usize) -> RowKind {
        self.kinds()
            .and_then(|kinds| RowKind::from_code(kinds.value(row)))
            .unwrap_or(RowKind::Insert)
    }

    /// Encodes the batch in the Arrow IPC stream format.
    pub fn to_ipc(&self) -> Result<Vec<u8>, arrow::error::ArrowError> {
        let mut bytes = Vec::new();
        let mut writer = StreamWriter::try_new(&mut bytes, self.0.schema_ref())?;
        writer.write(&self.0)?;
        writer.finish()?;
        drop(writer);
        Ok(bytes)
    }

    /// Decodes a batch written by [`to_ipc`](Self::to_ipc).
    pub fn from_ipc(bytes: &[u8]) -> Result<RowBatch, arrow::error::ArrowError> {
        let mut reader = StreamReader::try_new(bytes, None)?;
        match reader.next() {
            Some(batch) => Ok(RowBatch(batch?)),
            None => Err(arrow::error::ArrowError::IpcError(
                "an IPC stream without a batch".into(),
            )),
        }
    }
}

impl Serialize for RowBatch {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let bytes = self.to_ipc().map_err(serde::ser::Error::custom)?;
        serializer.serialize_bytes(&bytes)
    }
}

impl<'de> Deserialize<'de> for RowBatch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes: serde_bytes::ByteBuf = serde_bytes::ByteBuf::deserialize(deserializer)?;
        RowBatch::from_ipc(&bytes).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::Schema;
    use std::sync::Arc;

    #[test]
    fn batches_survive_bincode_with_their_kinds() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
            kind_field(),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![1, 2])),
                Arc::new(StringArray::from(vec![Some("a"), None])),
                Arc::new(Int8Array::from(vec![
                    RowKind::UpdateBefore as i8,
                    RowKind::UpdateAfter as i8,
                ])),
            ],
        )
        .unwrap();
        let bytes = bincode::serde::encode_to_vec(RowBatch(batch.clone()), bincode::config::standard()).unwrap();
        let (back, _): (RowBatch, _) = bincode::serde::decode_from_slice(&bytes, bincode::config::standard()).unwrap();
        assert_eq!(back.0, batch);
        assert_eq!(back.kind(0), RowKind::UpdateBefore);
        assert_eq!(back.kind(1), RowKind::UpdateAfter);
        assert!(RowBatch::from_ipc(&bytes[..3]).is_err());
    }
}
