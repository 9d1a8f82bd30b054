//! The translation of an optimized DataFusion logical plan into a
//! `DataStream<RowBatch>`: table scans (source, computed columns, watermark), window
//! TVF scans, filters, projections, aliases and keyed window aggregates. Any other
//! plan node is [`SqlError::Unsupported`].

use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::common::DFSchema;
use datafusion::datasource::source_as_provider;
use datafusion::logical_expr::{Aggregate, Expr, ExprSchemable, LogicalPlan, TableScan};
use weir_datastream::custom::{keyed_store, Timers};
use weir_datastream::{Collector, DataStream, StreamExecutionEnvironment};
use weir_runtime::partitioner::{self, WriterContext};
use weir_state::ValueStateDescriptor;

use crate::batch::RowBatch;
use crate::connector::SqlConnectors;
use crate::error::SqlError;
use crate::exec::aggregate::{AggCall, AggKind, GroupKeys, KeyPartitioner, WindowAggregate};
use crate::exec::eval::{self, physical};
use crate::exec::watermark::WatermarkOperator;
use crate::exec::window::WindowAssigner;
use crate::front::WindowKind;
use crate::plan::planner::PlannedTable;
use crate::plan::{SchemaTable, SqlPlanner, WindowScan};

fn unsupported(feature: impl Into<String>) -> SqlError {
    SqlError::Unsupported {
        feature: feature.into(),
        position: None,
    }
}

/// The name of a plan node (`Join`, `Sort`, ...).
fn node_name(plan: &LogicalPlan) -> String {
    let text = format!("{}", plan.display());
    text.split([':', ' ']).next().unwrap_or("plan node").to_string()
}

/// Translates plans into streams of one environment.
pub struct Translator<'a> {
    /// The job's environment.
    pub env: &'a StreamExecutionEnvironment,
    /// The planner (tables and views).
    pub planner: &'a SqlPlanner,
    /// Connectors of the tables.
    pub connectors: &'a SqlConnectors,
}

impl Translator<'_> {
    /// The stream of `plan`'s rows (insert-only).
    pub fn stream(&self, plan: &LogicalPlan) -> Result<DataStream<RowBatch>, SqlError> {
        match plan {
            LogicalPlan::Projection(p) => {
                let input = self.stream(&p.input)?;
                let exprs = p
                    .expr
                    .iter()
                    .map(|e| physical(e, p.input.schema()))
                    .collect::<Result<Vec<_>, _>>()?;
                let schema: SchemaRef = Arc::new(p.schema.as_arrow().clone());
                Ok(input
                    .process_fn(move |b: RowBatch, _, out: &mut Collector<'_, RowBatch>| {
                        eval::emit("projection", out, || eval::project(&exprs, &schema, b.batch()))
                    })
                    .name("Projection"))
            }
            LogicalPlan::Filter(f) => {
                let input = self.stream(&f.input)?;
                let predicate = physical(&f.predicate, f.input.schema())?;
                Ok(input
                    .process_fn(move |b: RowBatch, _, out: &mut Collector<'_, RowBatch>| {
                        eval::emit("filter", out, || eval::filter(&predicate, b.batch()))
                    })
                    .name("Filter"))
            }
            LogicalPlan::SubqueryAlias(a) => self.stream(&a.input),
            LogicalPlan::TableScan(scan) => self.scan(scan),
            LogicalPlan::Aggregate(agg) => self.aggregate(agg),
            LogicalPlan::Join(_) => Err(unsupported("Join in streaming SQL (yet)")),
            other => Err(unsupported(format!("{} in streaming SQL (yet)", node_name(other)))),
        }
    }

    fn scan(&self, scan: &TableScan) -> Result<DataStream<RowBatch>, SqlError> {
        if !scan.filters.is_empty() || scan.fetch.is_some() {
            return Err(unsupported("filters or limits pushed into a table scan"));
        }
        let provider: Arc<dyn TableProvider> = source_as_provider(&scan.source)?;
        let any: &dyn std::any::Any = provider.as_ref();
        let (stream, schema) = if let Some(table) = any.downcast_ref::<SchemaTable>() {
            let planned = self
                .planner
                .table(&table.name)
                .ok_or_else(|| SqlError::Plan(format!("unknown table '{}'", table.name)))?;
            (self.table(planned)?, table.schema.clone())
        } else if let Some(window) = any.downcast_ref::<WindowScan>() {
            (self.window(window)?, window.schema.clone())
        } else {
            return Err(unsupported(format!("scan of '{}' in streaming SQL", scan.table_name)));
        };
        Ok(match &scan.projection {
            Some(indices) if *indices != (0..schema.fields().len()).collect::<Vec<_>>() => {
                let indices = indices.clone();
                stream
                    .process_fn(move |b: RowBatch, _, out: &mut Collector<'_, RowBatch>| {
                        eval::emit("scan projection", out, || Ok(b.batch().project(&indices)?))
                    })
                    .name("Projection")
            }
            _ => stream,
        })
    }

    /// A table's rows: its source, computed columns and watermark.
    fn table(&self, planned: &PlannedTable) -> Result<DataStream<RowBatch>, SqlError> {
        let source = self
            .connectors
            .source(&planned.def)?
            .create_source(self.env, &planned.def, None)?;
        let physical_schema = DFSchema::try_from(planned.def.schema.as_ref().clone())?;
        let full_schema = DFSchema::try_from(planned.schema.as_ref().clone())?;
        let mut stream = source;
        if planned.columns.iter().any(|c| c.is_err())
            || planned.def.schema.fields().len() != planned.schema.fields().len()
        {
            let exprs = planned
                .columns
                .iter()
                .map(|c| match c {
                    Ok(index) => physical(
                        &Expr::Column(physical_schema.columns()[*index].clone()),
                        &physical_schema,
                    ),
                    Err(expr) => physical(expr, &physical_schema),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let schema = planned.schema.clone();
            stream = stream
                .process_fn(move |b: RowBatch, _, out: &mut Collector<'_, RowBatch>| {
                    eval::emit("computed columns", out, || eval::project(&exprs, &schema, b.batch()))
                })
                .name("Computed columns");
        }
        if let Some(watermark) = &planned.watermark {
            let expr = physical(watermark, &full_schema)?;
            stream = stream.transform("Watermark", move |ctx| {
                Ok(WatermarkOperator::new(ctx.meta.clone(), expr.clone()))
            });
        }
        Ok(stream)
    }

    /// A window TVF's rows: its input's rows with their windows.
    fn window(&self, window: &WindowScan) -> Result<DataStream<RowBatch>, SqlError> {
        if matches!(window.tvf.kind, WindowKind::Session { .. }) {
            return Err(unsupported("SESSION windows in streaming SQL (yet)"));
        }
        let input = if let Some(table) = self.planner.table(&window.tvf.table) {
            self.table(table)?
        } else if let Some(view) = self.planner.view(&window.tvf.table) {
            self.stream(view)?
        } else {
            return Err(SqlError::Plan(format!("unknown table or view '{}'", window.tvf.table)));
        };
        let time_index = window.schema.index_of(&window.tvf.time_column)?;
        let assigner = WindowAssigner {
            kind: window.tvf.kind.clone(),
            offset_ms: window.tvf.offset_ms,
            time_index,
            schema: window.schema.clone(),
        };
        Ok(input
            .process_fn(move |b: RowBatch, _, out: &mut Collector<'_, RowBatch>| {
                eval::emit("window assignment", out, || assigner.assign(b.batch()))
            })
            .name(window.tvf.function_name()))
    }

    fn aggregate(&self, agg: &Aggregate) -> Result<DataStream<RowBatch>, SqlError> {
        let input_schema = agg.input.schema();
        let group_exprs = &agg.group_expr;
        if group_exprs.iter().any(|e| matches!(e, Expr::GroupingSet(_))) {
            return Err(unsupported("GROUPING SETS in streaming SQL (yet)"));
        }
        let Some(window_end) = (0..group_exprs.len()).find(|i| agg.schema.field(*i).name() == "window_end") else {
            return Err(unsupported(
                "GROUP BY without window_end (an updating aggregate) in streaming SQL (yet)",
            ));
        };
        let keys = GroupKeys {
            exprs: group_exprs
                .iter()
                .map(|e| physical(e, input_schema))
                .collect::<Result<Vec<_>, _>>()?,
            types: (0..group_exprs.len())
                .map(|i| agg.schema.field(i).data_type().clone())
                .collect(),
        };
        let mut aggs = Vec::new();
        for expr in &agg.aggr_expr {
            let Expr::AggregateFunction(call) = expr.clone().unalias() else {
                return Err(unsupported(format!("aggregate expression {expr}")));
            };
            let name = call.func.name().to_ascii_lowercase();
            if call.params.distinct && name != "count" {
                return Err(unsupported(format!(
                    "{}(DISTINCT) in window aggregates (yet)",
                    name.to_uppercase()
                )));
            }
            if call.params.filter.is_some() || !call.params.order_by.is_empty() {
                return Err(unsupported(format!("FILTER or ORDER BY in {name}")));
            }
            let arg = match call.params.args.as_slice() {
                [] => Expr::Literal(datafusion::common::ScalarValue::Int64(Some(1)), None),
                [arg] => arg.clone(),
                _ => return Err(unsupported(format!("{name} with several arguments"))),
            };
            let arg_type = arg.get_type(input_schema.as_ref())?;
            let kind = match name.as_str() {
                "count" if call.params.distinct => {
                    if !min_max_type(&arg_type) {
                        return Err(unsupported(format!("COUNT(DISTINCT) of {arg_type} (yet)")));
                    }
                    AggKind::CountDistinct
                }
                "count" => AggKind::Count,
                "sum" if arg_type.is_integer() => AggKind::SumInt,
                "sum" if arg_type.is_floating() => AggKind::SumFloat,
                "avg" if arg_type.is_integer() || arg_type.is_floating() => AggKind::Avg,
                "min" | "max" if min_max_type(&arg_type) => {
                    if name == "min" {
                        AggKind::Min
                    } else {
                        AggKind::Max
                    }
                }
                _ => {
                    return Err(unsupported(format!(
                        "aggregate {name}({arg_type}) in streaming SQL (yet)"
                    )))
                }
            };
            aggs.push(AggCall {
                kind,
                arg: physical(&arg, input_schema)?,
            });
        }
        let input = self.stream(&agg.input)?;
        let schema: SchemaRef = Arc::new(agg.schema.as_arrow().clone());
        let part_keys = keys.clone();
        Ok(input
            .partition_with(partitioner::splitting(move |c: &WriterContext| {
                KeyPartitioner::new(part_keys.clone(), c.target_max_parallelism, c.meta.clone())
            }))
            .transform("Window aggregate", move |ctx| {
                let mut store = keyed_store::<Vec<u8>>(ctx)?;
                let mut timers = Timers::new("window");
                timers.restore(&mut store)?;
                Ok(WindowAggregate {
                    meta: ctx.meta.clone(),
                    converter: keys.converter()?,
                    keys: keys.clone(),
                    window_end,
                    aggs: aggs.clone(),
                    schema: schema.clone(),
                    store,
                    timers,
                    accs: ValueStateDescriptor::new("accumulators"),
                    watermark: i64::MIN,
                    late: 0,
                })
            }))
    }
}

fn min_max_type(t: &DataType) -> bool {
    t.is_integer()
        || t.is_floating()
        || matches!(
            t,
            DataType::Timestamp(_, _)
                | DataType::Date32
                | DataType::Date64
                | DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
                | DataType::Boolean
        )
}
