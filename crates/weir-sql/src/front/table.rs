//! A table declared with `CREATE TABLE`: physical columns as an Arrow schema,
//! computed and metadata columns, the watermark, the primary key and the connector
//! options.

use std::collections::BTreeMap;

use arrow::datatypes::{DataType, SchemaRef};
use datafusion::sql::sqlparser::ast;

/// A column computed from other columns: `name AS expr`.
#[derive(Debug, Clone, PartialEq)]
pub struct ComputedColumn {
    /// The column name.
    pub name: String,
    /// Its index among all declared columns (physical, computed and metadata), in
    /// declaration order.
    pub position: usize,
    /// The expression.
    pub expr: ast::Expr,
    /// The expression's text as written.
    pub text: String,
}

/// A metadata column: `name TYPE METADATA [FROM 'key'] [VIRTUAL]`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataColumn {
    /// The column name.
    pub name: String,
    /// Its index among all declared columns, in declaration order.
    pub position: usize,
    /// Its type.
    pub data_type: DataType,
    /// Whether it may be null.
    pub nullable: bool,
    /// The connector's metadata key (`FROM 'key'`); the column name when not given.
    pub key: String,
    /// `VIRTUAL`: read-only, not written by sinks.
    pub is_virtual: bool,
}

/// `WATERMARK FOR column AS expr`.
#[derive(Debug, Clone, PartialEq)]
pub struct WatermarkSpec {
    /// The event-time (rowtime) column.
    pub column: String,
    /// The watermark expression, e.g. `dateTime - INTERVAL '4' SECOND`.
    pub expr: ast::Expr,
    /// The expression's text as written.
    pub text: String,
}

impl WatermarkSpec {
    /// `SOURCE_WATERMARK()`: the watermarks of the stream the table is made from
    /// (tables from DataStreams only).
    pub fn is_source_watermark(&self) -> bool {
        let text: String = self.text.chars().filter(|c| !c.is_whitespace()).collect();
        text.eq_ignore_ascii_case("SOURCE_WATERMARK()")
    }
}

/// Where a declared column comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Read from the connector: a field of [`TableDef::schema`].
    Physical,
    /// Computed: an entry of [`TableDef::computed`].
    Computed,
    /// Connector metadata: an entry of [`TableDef::metadata`].
    Metadata,
}

/// A table declared with `CREATE TABLE`.
#[derive(Debug, Clone, PartialEq)]
pub struct TableDef {
    /// The table name as written (dotted when qualified).
    pub name: String,
    /// `CREATE TEMPORARY TABLE`.
    pub temporary: bool,
    /// The physical columns, in declaration order. Primary-key columns are not null.
    pub schema: SchemaRef,
    /// The computed columns, in declaration order.
    pub computed: Vec<ComputedColumn>,
    /// The metadata columns, in declaration order.
    pub metadata: Vec<MetadataColumn>,
    /// The watermark, if declared.
    pub watermark: Option<WatermarkSpec>,
    /// The primary key columns (declared `NOT ENFORCED`), or empty.
    pub primary_key: Vec<String>,
    /// `PARTITIONED BY (...)` columns, or empty.
    pub partitioned_by: Vec<String>,
    /// The `WITH (...)` options.
    pub options: BTreeMap<String, String>,
    /// `COMMENT '...'` of the table.
    pub comment: Option<String>,
    /// Column comments by column name.
    pub column_comments: BTreeMap<String, String>,
}

impl TableDef {
    /// The `connector` option.
    pub fn connector(&self) -> Option<&str> {
        self.options.get("connector").map(String::as_str)
    }

    /// All declared column names with their kind, in declaration order.
    pub fn columns(&self) -> Vec<(String, ColumnKind)> {
        let mut out: Vec<(usize, String, ColumnKind)> = Vec::new();
        let mut physical = self.schema.fields().iter();
        let total = self.schema.fields().len() + self.computed.len() + self.metadata.len();
        for position in 0..total {
            if let Some(c) = self.computed.iter().find(|c| c.position == position) {
                out.push((position, c.name.clone(), ColumnKind::Computed));
            } else if let Some(m) = self.metadata.iter().find(|m| m.position == position) {
                out.push((position, m.name.clone(), ColumnKind::Metadata));
            } else if let Some(f) = physical.next() {
                out.push((position, f.name().clone(), ColumnKind::Physical));
            }
        }
        out.into_iter().map(|(_, name, kind)| (name, kind)).collect()
    }

    /// The computed column of that name.
    pub fn computed_column(&self, name: &str) -> Option<&ComputedColumn> {
        self.computed.iter().find(|c| c.name == name)
    }

    /// Whether the table declares a watermark (an event-time attribute).
    pub fn rowtime(&self) -> Option<&str> {
        self.watermark.as_ref().map(|w| w.column.as_str())
    }
}
