//! Schema-only DataFusion table providers: catalog tables ([`SchemaTable`]) and window
//! TVF scans ([`WindowScan`], made by the `weir_*` table functions). They are never
//! executed by DataFusion; the stream translation recognises them in `TableScan`s.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;

use crate::error::SqlError;
use crate::front::tvf::WINDOW_COLUMNS;
use crate::front::WindowTvf;

/// A catalog table: its physical and computed columns.
#[derive(Debug)]
pub struct SchemaTable {
    /// The table name.
    pub name: String,
    /// Physical then computed columns.
    pub schema: SchemaRef,
}

#[async_trait::async_trait]
impl TableProvider for SchemaTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
    fn table_type(&self) -> TableType {
        TableType::Base
    }
    async fn scan(
        &self,
        _state: &dyn Session,
        _projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        Err(DataFusionError::NotImplemented(format!(
            "table '{}' is a streaming table: run it as a Weir job",
            self.name
        )))
    }
}

/// A window TVF applied to a table or view: the input's columns and the window
/// columns (`window_start`, `window_end`, `window_time`, `TIMESTAMP(3)`).
#[derive(Debug)]
pub struct WindowScan {
    /// The window.
    pub tvf: WindowTvf,
    /// The input's columns then the window columns.
    pub schema: SchemaRef,
}

impl WindowScan {
    /// The number of the input's columns (before the window columns).
    pub fn input_width(&self) -> usize {
        self.schema.fields().len().saturating_sub(WINDOW_COLUMNS.len())
    }

    /// The input columns a scan of `projection` (all columns when `None`) needs:
    /// those it keeps and the time column, in order.
    pub fn input_columns(&self, projection: Option<&[usize]>) -> Result<Vec<usize>, SqlError> {
        let width = self.input_width();
        let time = self.schema.index_of(&self.tvf.time_column)?;
        let mut columns: Vec<usize> = match projection {
            Some(projection) => projection.iter().copied().filter(|&i| i < width).collect(),
            None => (0..width).collect(),
        };
        columns.push(time);
        columns.sort_unstable();
        columns.dedup();
        Ok(columns)
    }
}

#[async_trait::async_trait]
impl TableProvider for WindowScan {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
    fn table_type(&self) -> TableType {
        TableType::Base
    }
    async fn scan(
        &self,
        _state: &dyn Session,
        _projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        Err(DataFusionError::NotImplemented(format!(
            "window TVF over '{}' is streaming: run it as a Weir job",
            self.tvf.table
        )))
    }
}

/// Schemas of the tables and views a window TVF may read, filled as they are
/// registered.
pub type InputSchemas = Arc<Mutex<HashMap<String, SchemaRef>>>;

/// One of the `weir_*` window table functions.
#[derive(Debug)]
pub struct WindowFunction {
    /// `weir_tumble`, ...
    pub name: &'static str,
    /// The inputs it may read.
    pub inputs: InputSchemas,
}

impl TableFunctionImpl for WindowFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> DfResult<Arc<dyn TableProvider>> {
        let tvf = WindowTvf::from_table_function(self.name, args.exprs())
            .map_err(|e| DataFusionError::Plan(e.to_string()))?;
        let input = self
            .inputs
            .lock()
            .map_err(|_| DataFusionError::Internal("window inputs lock poisoned".into()))?
            .get(&tvf.table)
            .cloned()
            .ok_or_else(|| DataFusionError::Plan(format!("window TVF: unknown table or view '{}'", tvf.table)))?;
        let Some(time) = input.fields().iter().find(|f| f.name() == &tvf.time_column) else {
            return Err(DataFusionError::Plan(format!(
                "window TVF: '{}' has no column '{}'",
                tvf.table, tvf.time_column
            )));
        };
        if !matches!(time.data_type(), DataType::Timestamp(_, _)) {
            return Err(DataFusionError::Plan(format!(
                "window TVF: time column '{}' must be a timestamp, is {}",
                tvf.time_column,
                time.data_type()
            )));
        }
        let mut fields: Vec<Field> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
        for column in WINDOW_COLUMNS {
            fields.push(Field::new(
                column,
                DataType::Timestamp(TimeUnit::Millisecond, None),
                false,
            ));
        }
        Ok(Arc::new(WindowScan {
            tvf,
            schema: Arc::new(Schema::new(fields)),
        }))
    }
}
