//! SQL rows as a [`RecordKind`] of Weir's connector registries: records are
//! [`RowBatch`]es, described by the table's Arrow schema (its physical columns).
//! Connector factories written against `weir-connector-api` (the filesystem
//! sink's) build sinks of SQL rows through a [`Registry`](weir_connector_api::registry::Registry)
//! of this kind.

use arrow::datatypes::SchemaRef;
use weir_connector_api::registry::RecordKind;
use weir_sql::batch::RowBatch;

/// Batches of SQL rows with the table's schema.
pub struct SqlRows;

impl RecordKind for SqlRows {
    type Record = RowBatch;
    type Schema = SchemaRef;
}
