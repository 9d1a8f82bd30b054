//! Upsert changelogs made into retract changelogs (Flink's `ChangelogNormalize`):
//! the rows of an upsert source (`upsert-kafka`) are keyed by the table's primary
//! key, with `+I`/`+U` meaning "the row of this key is now this" and `-D` meaning
//! "this key has no row" (a delete may carry only the key columns). Operators
//! downstream need the previous version of a row to take it back, so this
//! operator keeps the last row of each key in keyed state and emits:
//!
//! | input | last row of the key | output |
//! | --- | --- | --- |
//! | `+I`/`+U` new | none | `+I` new |
//! | `+I`/`+U` new | old ≠ new | `-U` old, `+U` new |
//! | `+I`/`+U` new | old = new | nothing |
//! | `-D` | old | `-D` old (the whole row) |
//! | `-D` | none | nothing |
//!
//! `-U` rows of the input are dropped (an upsert changelog carries none; the
//! `+U` that follows says everything). The output is a retract changelog whose
//! upsert key is the primary key.

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::SchemaRef;
use arrow::row::RowConverter;
use weir_core::StreamRecord;
use weir_datastream::custom::{Input, Operator, OperatorState};
use weir_runtime::failure::OperatorMeta;
use weir_state::{KeyedStateStore, ValueStateDescriptor};

use crate::batch::{RowBatch, RowKind};
use crate::error::SqlError;
use crate::exec::keys::{self, GroupKeys};
use crate::exec::output;

/// The normalizing operator (see the [module](self)).
pub struct ChangelogNormalize {
    /// For failure reports.
    meta: OperatorMeta,
    /// The primary key columns.
    key: GroupKeys,
    /// Output schema: the table's columns and the kind column.
    schema: SchemaRef,
    /// Encodings: keys, whole rows (the table's columns).
    converters: [RowConverter; 2],
    /// Keyed state.
    store: KeyedStateStore<Vec<u8>>,
    /// The last row of each key, row-encoded.
    last: ValueStateDescriptor<Vec<u8>>,
}

fn state_error(e: weir_state::StateError) -> SqlError {
    SqlError::Plan(format!("changelog normalize state: {e}"))
}

impl ChangelogNormalize {
    /// Keeps each key's state `ttl` of processing time after its last write
    /// (`table.exec.state.ttl`), when given.
    pub fn with_state_ttl(mut self, ttl: &Option<weir_state::StateTtlConfig>) -> Self {
        self.last = crate::exec::translate::with_ttl(self.last, ttl);
        self
    }

    /// The operator over `store`, keyed by `key`, for rows of `schema` (which ends
    /// with the kind column).
    pub fn new(
        meta: OperatorMeta,
        key: GroupKeys,
        schema: SchemaRef,
        store: KeyedStateStore<Vec<u8>>,
    ) -> Result<Self, SqlError> {
        let types: Vec<_> = schema
            .fields()
            .iter()
            .take(schema.fields().len().saturating_sub(1))
            .map(|f| f.data_type().clone())
            .collect();
        Ok(ChangelogNormalize {
            meta,
            converters: [key.converter()?, output::row_converter(&types)?],
            key,
            schema,
            store,
            last: ValueStateDescriptor::new("last row"),
        })
    }

    fn apply(&mut self, batch: &RowBatch) -> Result<Option<RecordBatch>, SqlError> {
        let [keys_converter, rows] = &self.converters;
        let width = self.schema.fields().len().saturating_sub(1);
        let data: Vec<ArrayRef> = batch
            .batch()
            .columns()
            .get(..width)
            .ok_or_else(|| {
                SqlError::Plan(format!(
                    "a changelog batch of {} columns, expected {} and the kind",
                    batch.batch().num_columns(),
                    width
                ))
            })?
            .to_vec();
        let (_, keys) = self.key.keys(keys_converter, batch.batch())?;
        let encoded = rows.convert_columns(&data)?;
        let mut out_rows: Vec<Vec<u8>> = Vec::new();
        let mut kinds: Vec<RowKind> = Vec::new();
        for (key, key_rows) in keys::rows_by_key(keys.iter().map(Vec::as_slice)) {
            let current = self.store.key(key.to_vec());
            let mut state = self.store.value(&self.last, &current).map_err(state_error)?;
            let mut last = state.get().map_err(state_error)?;
            let before = last.clone();
            for row in key_rows {
                match batch.kind(row) {
                    RowKind::Insert | RowKind::UpdateAfter => {
                        let new = encoded.row(row).as_ref().to_vec();
                        match last.as_deref() {
                            Some(old) if old == new.as_slice() => continue,
                            Some(old) => {
                                out_rows.push(old.to_vec());
                                kinds.push(RowKind::UpdateBefore);
                                out_rows.push(new.clone());
                                kinds.push(RowKind::UpdateAfter);
                            }
                            None => {
                                out_rows.push(new.clone());
                                kinds.push(RowKind::Insert);
                            }
                        }
                        last = Some(new);
                    }
                    RowKind::Delete => {
                        if let Some(old) = last.take() {
                            out_rows.push(old);
                            kinds.push(RowKind::Delete);
                        }
                    }
                    RowKind::UpdateBefore => {}
                }
            }
            if last != before {
                match last {
                    Some(row) => state.set(row).map_err(state_error)?,
                    None => state.clear().map_err(state_error)?,
                }
            }
        }
        if kinds.is_empty() {
            return Ok(None);
        }
        let parser = rows.parser();
        let columns = rows.convert_rows(out_rows.iter().map(|r| parser.parse(r)))?;
        let count = kinds.len();
        Ok(Some(output::batch(
            &self.schema,
            columns,
            Vec::new(),
            Some(kinds),
            count,
        )?))
    }
}

impl Operator<RowBatch, RowBatch> for ChangelogNormalize {
    fn process(&mut self, record: StreamRecord<RowBatch>, out: &mut dyn Input<RowBatch>) {
        let result = self.apply(&record.value);
        output::send(&self.meta, "changelog normalize", result, out);
    }

    fn snapshot(&mut self, _: u64) -> OperatorState {
        output::keyed_snapshot(&mut self.store)
    }
}

/// The schema of an upsert source's batches for a table of `schema` keyed by
/// the columns at `key`: the other columns nullable (a delete may carry only
/// the key), the kind column last.
pub fn upsert_source_schema(schema: &arrow::datatypes::Schema, key: &[usize]) -> SchemaRef {
    let fields: Vec<_> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| match key.contains(&i) {
            true => f.as_ref().clone(),
            false => f.as_ref().clone().with_nullable(true),
        })
        .collect();
    output::with_kind(&arrow::datatypes::Schema::new(fields))
}
