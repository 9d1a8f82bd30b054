//! The translation of an optimized DataFusion logical plan into a stream of
//! [`RowBatch`]es with its changelog mode ([`SqlStream`]): table scans (source,
//! computed columns, watermark), window TVF scans, filters, projections, aliases,
//! keyed window aggregates, updating aggregates, regular joins (inner, outer, semi,
//! anti), lookup joins, temporal joins and unions. Any other plan node is [`SqlError::Unsupported`].

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Int8Array, RecordBatch, RecordBatchOptions};
use arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::{DFSchema, JoinType, NullEquality};
use datafusion::datasource::source_as_provider;
use datafusion::logical_expr::{Aggregate, Expr, ExprSchemable, Join, LogicalPlan, TableScan, Union, Values};
use datafusion::physical_expr::expressions::Column as PhysicalColumn;
use datafusion::physical_expr::PhysicalExpr;
use weir_datastream::custom::{keyed_store, Timers};
use weir_datastream::{Collector, DataStream, StreamExecutionEnvironment};
use weir_state::{ListStateDescriptor, StateTtlConfig, ValueStateDescriptor};

use crate::batch::{RowBatch, RowKind, KIND_COLUMN};
use crate::bridge::{StreamTables, DATASTREAM_CONNECTOR};
use crate::connector::{ChangelogMode, SqlConnectors};
use crate::error::SqlError;
use crate::exec::accumulator::AggCall;
use crate::exec::changelog_normalize::ChangelogNormalize;
use crate::exec::eval::{self, physical};
use crate::exec::group_aggregate::GroupAggregate;
use crate::exec::join::{JoinKind, JoinSide, JoinSpec, StreamingJoin};
use crate::exec::keys::GroupKeys;
use crate::exec::output;
use crate::exec::session_aggregate::SessionAggregate;
use crate::exec::unnest::UnnestSpec;
use crate::exec::watermark::{WatermarkExpr, WatermarkOperator};
use crate::exec::window::{WindowAssigner, WindowColumn};
use crate::exec::window_aggregate::WindowAggregate;
use crate::exec::SqlStream;
use crate::front::{TableDef, WindowKind};
use crate::plan::planner::PlannedTable;
use crate::plan::read_fields::{read_fields, TableReads};
use crate::plan::{SchemaTable, SqlPlanner, WindowScan};

fn unsupported(feature: impl Into<String>) -> SqlError {
    SqlError::Unsupported {
        feature: feature.into(),
        position: None,
    }
}

/// `descriptor` with the state TTL `ttl`, if any.
pub(crate) fn with_ttl<V>(
    descriptor: ValueStateDescriptor<V>,
    ttl: &Option<StateTtlConfig>,
) -> ValueStateDescriptor<V> {
    match ttl {
        Some(ttl) => descriptor.with_ttl(ttl.clone()),
        None => descriptor,
    }
}

/// Whether `expr` only selects: a column, or a field of a struct column (no copy).
fn selects_only(expr: &Expr) -> bool {
    match expr {
        Expr::Alias(a) => selects_only(&a.expr),
        Expr::Column(_) => true,
        Expr::ScalarFunction(call) if call.func.name() == "get_field" => match call.args.as_slice() {
            [inner, Expr::Literal(..)] => selects_only(inner),
            _ => false,
        },
        _ => false,
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
    /// Rank limits of `ROW_NUMBER()` columns (by the window node's column name),
    /// set by the filters above them.
    pub(crate) limits: RefCell<HashMap<String, i64>>,
    /// The struct fields the query reads (set by [`Translator::query`]).
    reads: RefCell<TableReads>,
    /// Each table's rows, read once per query however many times it is scanned.
    tables: RefCell<HashMap<String, SqlStream>>,
    /// Tables made from DataStreams.
    streams: Option<&'a StreamTables>,
    /// `table.exec.state.ttl`: how long updating operators keep a key's state
    /// after its last write.
    pub(crate) state_ttl: Option<StateTtlConfig>,
}

impl<'a> Translator<'a> {
    /// A translator of plans over `planner`'s tables into jobs on `env`.
    pub fn new(env: &'a StreamExecutionEnvironment, planner: &'a SqlPlanner, connectors: &'a SqlConnectors) -> Self {
        Translator {
            env,
            planner,
            connectors,
            limits: RefCell::new(HashMap::new()),
            reads: RefCell::new(TableReads::default()),
            tables: RefCell::new(HashMap::new()),
            streams: None,
            state_ttl: None,
        }
    }

    /// Gives the state of updating aggregates, regular joins, Top-N and changelog
    /// normalization a time-to-live (`table.exec.state.ttl`): a key's state
    /// expires `ttl` of processing time after its last write, as in Flink (a later
    /// row of the key starts over; window, interval and OVER state is cleaned by
    /// watermarks instead).
    pub fn with_state_ttl(mut self, ttl: Option<std::time::Duration>) -> Self {
        self.state_ttl = ttl.map(StateTtlConfig::new);
        self
    }

    /// Reads the tables of `streams` from their DataStreams.
    pub fn with_streams(mut self, streams: &'a StreamTables) -> Self {
        self.streams = Some(streams);
        self
    }
}

impl Translator<'_> {
    /// The stream of a query's rows: [`stream`](Translator::stream) with the
    /// sources told which struct fields the query reads.
    pub fn query(&self, plan: &LogicalPlan) -> Result<SqlStream, SqlError> {
        *self.reads.borrow_mut() = read_fields(self.planner, plan);
        self.stream(plan)
    }

    /// The stream of `plan`'s rows, with what it carries.
    pub fn stream(&self, plan: &LogicalPlan) -> Result<SqlStream, SqlError> {
        match plan {
            LogicalPlan::Projection(p) => {
                // Columns and struct fields taken over a filter are taken first, so
                // that the filter copies only them, not every column of its input.
                let fused = match p.input.as_ref() {
                    LogicalPlan::Filter(f) if p.expr.iter().all(selects_only) => Some(f),
                    _ => None,
                };
                let (input, predicate) = match fused {
                    Some(f) => {
                        self.note_rank_limits(f)?;
                        (self.stream(&f.input)?, Some(physical(&f.predicate, f.input.schema())?))
                    }
                    None => (self.stream(&p.input)?, None),
                };
                let mut exprs = p
                    .expr
                    .iter()
                    .map(|e| physical(e, p.input.schema()))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut schema: SchemaRef = Arc::new(p.schema.as_arrow().clone());
                if input.is_updating() {
                    // The kind column rides along, last.
                    let kind: Arc<dyn PhysicalExpr> =
                        Arc::new(PhysicalColumn::new(KIND_COLUMN, p.input.schema().fields().len()));
                    exprs.push(kind);
                    schema = output::with_kind(&schema);
                }
                let name = match predicate {
                    Some(_) => format!("Filter [{}], projection", input.mode.name()),
                    None => format!("Projection [{}]", input.mode.name()),
                };
                let upsert_key = input.upsert_key.as_ref().and_then(|key| {
                    key.iter()
                        .map(|k| {
                            p.expr.iter().position(|e| match e.clone().unalias() {
                                Expr::Column(c) => p.input.schema().index_of_column(&c).ok() == Some(*k),
                                _ => false,
                            })
                        })
                        .collect::<Option<Vec<_>>>()
                });
                Ok(SqlStream {
                    stream: input
                        .stream
                        .process_fn(
                            move |b: RowBatch, _, out: &mut Collector<'_, RowBatch>| match &predicate {
                                Some(predicate) => eval::emit("filter", out, || {
                                    eval::filter_projected(predicate, &exprs, &schema, b.batch())
                                }),
                                None => eval::emit("projection", out, || eval::project(&exprs, &schema, b.batch())),
                            },
                        )
                        .name(&name),
                    mode: input.mode,
                    upsert_key,
                })
            }
            LogicalPlan::Filter(f) => {
                self.note_rank_limits(f)?;
                let input = self.stream(&f.input)?;
                let predicate = physical(&f.predicate, f.input.schema())?;
                let name = format!("Filter [{}]", input.mode.name());
                Ok(input.map_stream(|s| {
                    s.process_fn(move |b: RowBatch, _, out: &mut Collector<'_, RowBatch>| {
                        eval::emit("filter", out, || eval::filter(&predicate, b.batch()))
                    })
                    .name(&name)
                }))
            }
            LogicalPlan::SubqueryAlias(a) => self.stream(&a.input),
            LogicalPlan::TableScan(scan) => self.scan(scan),
            LogicalPlan::Aggregate(agg) => self.aggregate(agg),
            LogicalPlan::Join(join) => self.join(join),
            LogicalPlan::Union(union) => self.union(union),
            LogicalPlan::Window(window) => self.window_node(window),
            LogicalPlan::Limit(limit) => self.limit(limit),
            LogicalPlan::Sort(sort) => self.sort(sort),
            LogicalPlan::Values(values) => Ok(SqlStream::insert_only(self.values(values)?)),
            LogicalPlan::Unnest(unnest) => self.unnest(unnest),
            LogicalPlan::EmptyRelation(empty) => {
                // `SELECT 1` (one row without columns) or a relation the optimizer
                // proved empty.
                let schema: SchemaRef = Arc::new(empty.schema.as_arrow().clone());
                let rows = usize::from(empty.produce_one_row);
                let batch = RecordBatch::try_new_with_options(
                    schema.clone(),
                    schema
                        .fields()
                        .iter()
                        .map(|f| arrow::array::new_null_array(f.data_type(), rows))
                        .collect(),
                    &RecordBatchOptions::new().with_row_count(Some(rows)),
                )?;
                let batches = if rows > 0 { vec![RowBatch(batch)] } else { Vec::new() };
                Ok(SqlStream::insert_only(self.env.from_collection(batches).name("Values")))
            }
            other => Err(unsupported(format!("{} in streaming SQL (yet)", node_name(other)))),
        }
    }

    /// `Unnest` (table functions, `UNNEST`): a stateless per-batch operator; an
    /// updating input's kinds ride along with the rows they produce.
    fn unnest(&self, unnest: &datafusion::logical_expr::Unnest) -> Result<SqlStream, SqlError> {
        // A select list's `unnest(x)` names its (one-level) recursion explicitly.
        if unnest.options.recursions.iter().any(|r| r.depth != 1) {
            return Err(unsupported("UNNEST of nested lists (recursive unnest)"));
        }
        let list = match unnest.list_type_columns.as_slice() {
            [] => None,
            [(column, how)] if how.depth == 1 => Some(*column),
            [_] => return Err(unsupported("UNNEST of nested lists (recursive unnest)")),
            _ => return Err(unsupported("UNNEST of several lists at once (yet)")),
        };
        let input = self.stream(&unnest.input)?;
        let fields: Vec<arrow::datatypes::Field> = unnest.schema.fields().iter().map(|f| f.as_ref().clone()).collect();
        let mut schema = UnnestSpec::output_schema(&fields);
        if input.is_updating() {
            schema = output::with_kind(&schema);
        }
        let spec = UnnestSpec {
            list,
            structs: unnest.struct_type_columns.clone(),
            null_handling: unnest.options.null_handling,
            input_width: unnest.input.schema().fields().len(),
            schema,
        };
        let name = format!("Unnest [{}]", input.mode.name());
        Ok(SqlStream {
            stream: input
                .stream
                .process_fn(move |b: RowBatch, _, out: &mut Collector<'_, RowBatch>| {
                    eval::emit("unnest", out, || spec.apply(b.batch()))
                })
                .name(&name),
            mode: input.mode,
            // Rows of one input row are no longer told apart by its key.
            upsert_key: None,
        })
    }

    /// `VALUES (...), (...)`: a bounded stream of one batch.
    fn values(&self, values: &Values) -> Result<DataStream<RowBatch>, SqlError> {
        let schema: SchemaRef = Arc::new(values.schema.as_arrow().clone());
        let empty = DFSchema::empty();
        let one_row = RecordBatch::try_new_with_options(
            Arc::new(arrow::datatypes::Schema::empty()),
            Vec::new(),
            &RecordBatchOptions::new().with_row_count(Some(1)),
        )?;
        let mut columns = vec![Vec::new(); schema.fields().len()];
        for row in &values.values {
            for (column, expr) in columns.iter_mut().zip(row) {
                let value = eval::evaluate(&physical(expr, &empty)?, &one_row)?;
                column.push(datafusion::common::ScalarValue::try_from_array(&value, 0)?);
            }
        }
        let columns = columns
            .into_iter()
            .zip(schema.fields())
            .map(|(values, field)| output::column(field, values))
            .collect::<Result<Vec<_>, _>>()?;
        let batch = RecordBatch::try_new_with_options(
            schema,
            columns,
            &RecordBatchOptions::new().with_row_count(Some(values.values.len())),
        )?;
        Ok(self.env.from_collection(vec![RowBatch(batch)]).name("Values"))
    }

    fn union(&self, union: &Union) -> Result<SqlStream, SqlError> {
        let inputs = union
            .inputs
            .iter()
            .map(|i| self.stream(i))
            .collect::<Result<Vec<_>, _>>()?;
        let updating = inputs.iter().any(SqlStream::is_updating);
        let schema: SchemaRef = Arc::new(union.schema.as_arrow().clone());
        let target = if updating { output::with_kind(&schema) } else { schema };
        let mut merged: Option<DataStream<RowBatch>> = None;
        for input in inputs {
            // Every input is brought to the union's schema (names and nullability
            // differ between branches), with all-`+I` kinds added to insert-only
            // branches of an updating union.
            let target = target.clone();
            let add_kinds = updating && !input.is_updating();
            let stream = input
                .stream
                .process_fn(move |b: RowBatch, _, out: &mut Collector<'_, RowBatch>| {
                    eval::emit("union", out, || {
                        let mut columns = b.batch().columns().to_vec();
                        if add_kinds {
                            columns.push(Arc::new(Int8Array::from(vec![RowKind::Insert as i8; b.num_rows()])));
                        }
                        Ok(RecordBatch::try_new_with_options(
                            target.clone(),
                            columns,
                            &RecordBatchOptions::new().with_row_count(Some(b.num_rows())),
                        )?)
                    })
                })
                .name("Union input");
            merged = Some(match merged {
                Some(m) => m.union(&stream),
                None => stream,
            });
        }
        let stream = merged.ok_or_else(|| SqlError::Plan("UNION without inputs".into()))?;
        Ok(SqlStream {
            stream,
            mode: ChangelogMode::retract_if(updating),
            upsert_key: None,
        })
    }

    fn join(&self, join: &Join) -> Result<SqlStream, SqlError> {
        if let Some(temporal) = self.temporal_join(join)? {
            return Ok(temporal);
        }
        if let Some(lookup) = self.lookup_join(join)? {
            return Ok(lookup);
        }
        let kind = match join.join_type {
            JoinType::Inner => JoinKind::Inner,
            JoinType::Left => JoinKind::Outer {
                left: true,
                right: false,
            },
            JoinType::Right => JoinKind::Outer {
                left: false,
                right: true,
            },
            JoinType::Full => JoinKind::Outer {
                left: true,
                right: true,
            },
            JoinType::LeftSemi => JoinKind::Semi,
            JoinType::LeftAnti if join.null_aware => {
                return Err(unsupported(
                    "NOT IN over a nullable column in streaming SQL (a null-aware anti join: one NULL on \
                     the right empties the result; write NOT EXISTS or make the columns NOT NULL)",
                ))
            }
            JoinType::LeftAnti => JoinKind::Anti,
            other => {
                return Err(unsupported(format!(
                    "{other} JOIN in streaming SQL (yet; INNER, LEFT, RIGHT, FULL OUTER, semi and anti joins work)"
                )))
            }
        };
        let window = self.window_join_times(join);
        let interval = match window {
            Some(_) => None,
            None => self.interval_bounds(join)?,
        };
        if join.on.is_empty() && interval.is_none() {
            return Err(unsupported(
                "a join without an equality condition (a cross join) in streaming SQL",
            ));
        }
        let left_schema = join.left.schema();
        let right_schema = join.right.schema();
        let (left_side, right_side) = join_sides(&join.on, left_schema, right_schema)?;
        let pair_schema = left_schema.join(right_schema)?;
        let filter = match &join.filter {
            Some(f) => Some(physical(f, &pair_schema)?),
            None => None,
        };
        let pair_schema: SchemaRef = Arc::new(pair_schema.as_arrow().clone());
        let left = self.stream(&join.left)?;
        let right = self.stream(&join.right)?;
        let updating_inputs = left.is_updating() || right.is_updating();
        let updating = updating_inputs || kind.always_updating();
        let plain: SchemaRef = Arc::new(join.schema.as_arrow().clone());
        let schema = if updating { output::with_kind(&plain) } else { plain };
        let spec = JoinSpec {
            left: left_side,
            right: right_side,
            kind,
            filter,
            nulls_match: join.null_equality == NullEquality::NullEqualsNull,
            schema,
            pair_schema,
            updating,
        };
        if let Some(bounds) = interval.filter(|_| !updating_inputs) {
            // Event-time columns of insert-only inputs (an updating input, such as a
            // deduplication, keeps its event time but joins as a regular join).
            return self.interval_join(join, spec, (left, right), bounds);
        }
        if let Some(times) = window.filter(|_| !updating_inputs && kind.has_right_columns()) {
            return self.interval_join(join, spec, (left, right), times);
        }
        let connected = left
            .stream
            .partition_with(spec.left.keys.partitioning())
            .connect(&right.stream.partition_with(spec.right.keys.partitioning()));
        let mode = ChangelogMode::retract_if(updating);
        let ttl = self.state_ttl.clone();
        let stream = connected.transform(&format!("{} [{}]", kind.name(), mode.name()), move |ctx| {
            Ok(StreamingJoin::new(ctx.meta.clone(), spec.clone(), keyed_store::<Vec<u8>>(ctx)?)?.with_state_ttl(&ttl))
        });
        Ok(SqlStream {
            stream,
            mode,
            upsert_key: None,
        })
    }

    fn scan(&self, scan: &TableScan) -> Result<SqlStream, SqlError> {
        // A limit pushed into the scan (`scan.fetch`) is a hint: the `Limit` above
        // it stays and applies it.
        if !scan.filters.is_empty() {
            return Err(unsupported("filters pushed into a table scan"));
        }
        let provider: Arc<dyn TableProvider> = source_as_provider(&scan.source)?;
        let any: &dyn std::any::Any = provider.as_ref();
        let (stream, schema) = if let Some(table) = any.downcast_ref::<SchemaTable>() {
            if let Some(looked_up) = crate::plan::lookup_tables::looked_up(&table.name) {
                return Err(unsupported(format!(
                    "reading '{looked_up}' FOR SYSTEM_TIME AS OF other than as the right side of a join on its columns (a lookup join)"
                )));
            }
            if let Some(source) = crate::plan::lookup_tables::versioned(&table.name) {
                return Err(unsupported(format!(
                    "reading '{source}' FOR SYSTEM_TIME AS OF other than as the right side of a temporal join"
                )));
            }
            let planned = self
                .planner
                .table(&table.name)
                .ok_or_else(|| SqlError::Plan(format!("unknown table '{}'", table.name)))?;
            (self.table(planned)?, table.schema.clone())
        } else if let Some(window) = any.downcast_ref::<WindowScan>() {
            // The window scan takes only the columns of the projection.
            return self
                .window(window, scan.projection.as_deref())
                .map(SqlStream::insert_only);
        } else {
            return Err(unsupported(format!("scan of '{}' in streaming SQL", scan.table_name)));
        };
        Ok(match &scan.projection {
            Some(indices) if *indices != (0..schema.fields().len()).collect::<Vec<_>>() => {
                let upsert_key = stream.upsert_key.as_ref().and_then(|key| {
                    key.iter()
                        .map(|k| indices.iter().position(|i| i == k))
                        .collect::<Option<Vec<_>>>()
                });
                let mut indices = indices.clone();
                if stream.is_updating() {
                    // The kind column rides along, last.
                    indices.push(schema.fields().len());
                }
                let name = format!("Projection [{}]", stream.mode.name());
                SqlStream {
                    stream: stream
                        .stream
                        .process_fn(move |b: RowBatch, _, out: &mut Collector<'_, RowBatch>| {
                            eval::emit("scan projection", out, || Ok(b.batch().project(&indices)?))
                        })
                        .name(&name),
                    mode: stream.mode,
                    upsert_key,
                }
            }
            _ => stream,
        })
    }

    /// A table's rows: its source, computed columns and watermark, made once per
    /// query (a self-join or two views of one table share one source, as one
    /// Flink source feeds the Nexmark views).
    fn table(&self, planned: &PlannedTable) -> Result<SqlStream, SqlError> {
        if let Some(stream) = self.tables.borrow().get(&planned.def.name) {
            return Ok(stream.clone());
        }
        let stream = self.new_table(planned)?;
        self.tables
            .borrow_mut()
            .insert(planned.def.name.clone(), stream.clone());
        Ok(stream)
    }

    /// A table's source: its DataStream, or its connector's source.
    fn source(&self, def: &TableDef) -> Result<(DataStream<RowBatch>, ChangelogMode, &'static str), SqlError> {
        let bound = match (self.streams, def.connector()) {
            (Some(streams), Some(DATASTREAM_CONNECTOR)) => streams.rows(self.env, def)?,
            _ => None,
        };
        if let Some((stream, mode)) = bound {
            return Ok((stream, mode, DATASTREAM_CONNECTOR));
        }
        if def.watermark.as_ref().is_some_and(|w| w.is_source_watermark()) {
            return Err(SqlError::Plan(format!(
                "table '{}': SOURCE_WATERMARK() is the watermark of tables made from DataStreams; \
                 declare one of the table's own (WATERMARK FOR col AS col - INTERVAL ...)",
                def.name
            )));
        }
        let connector = self.connectors.source(def)?;
        let mode = connector.changelog_mode(def)?;
        let source = connector.create_pruned_source(self.env, def, None, &self.reads.borrow().table(&def.name))?;
        Ok((source, mode, connector.name()))
    }

    fn new_table(&self, planned: &PlannedTable) -> Result<SqlStream, SqlError> {
        let (source, mut mode, connector_name) = self.source(&planned.def)?;
        let physical_schema = DFSchema::try_from(planned.def.schema.as_ref().clone())?;
        let full_schema = DFSchema::try_from(planned.schema.as_ref().clone())?;
        let mut stream = source;
        let primary_key = |schema: &SchemaRef| -> Result<Vec<usize>, SqlError> {
            planned
                .def
                .primary_key
                .iter()
                .map(|name| {
                    schema.index_of(name).map_err(|_| {
                        SqlError::Plan(format!(
                            "table '{}': PRIMARY KEY column '{name}' is not a physical column",
                            planned.def.name
                        ))
                    })
                })
                .collect()
        };
        if mode == ChangelogMode::Upsert {
            let key = primary_key(&planned.def.schema)?;
            if key.is_empty() {
                return Err(SqlError::Plan(format!(
                    "table '{}' (connector '{}') is an upsert changelog: it needs a PRIMARY KEY (...) NOT ENFORCED",
                    planned.def.name, connector_name
                )));
            }
            let exprs: Vec<Expr> = key
                .iter()
                .map(|i| Expr::Column(physical_schema.columns()[*i].clone()))
                .collect();
            let keys = GroupKeys::plan(&exprs, &physical_schema)?;
            let schema = output::with_kind(&planned.def.schema);
            let ttl = self.state_ttl.clone();
            stream =
                stream
                    .partition_with(keys.partitioning())
                    .transform("Changelog normalize [retract]", move |ctx| {
                        Ok(ChangelogNormalize::new(
                            ctx.meta.clone(),
                            keys.clone(),
                            schema.clone(),
                            keyed_store::<Vec<u8>>(ctx)?,
                        )?
                        .with_state_ttl(&ttl))
                    });
            mode = ChangelogMode::Retract;
        }
        let updating = mode != ChangelogMode::InsertOnly;
        if planned.columns.iter().any(|c| c.is_err())
            || planned.def.schema.fields().len() != planned.schema.fields().len()
        {
            let mut exprs = planned
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
            let mut schema = planned.schema.clone();
            if updating {
                let kind: Arc<dyn PhysicalExpr> =
                    Arc::new(PhysicalColumn::new(KIND_COLUMN, planned.def.schema.fields().len()));
                exprs.push(kind);
                schema = output::with_kind(&schema);
            }
            stream = stream
                .process_fn(move |b: RowBatch, _, out: &mut Collector<'_, RowBatch>| {
                    eval::emit("computed columns", out, || eval::project(&exprs, &schema, b.batch()))
                })
                .name("Computed columns");
        }
        if let Some(watermark) = &planned.watermark {
            let expr = WatermarkExpr::plan(watermark, &full_schema)?;
            stream = stream.transform("Watermark", move |ctx| {
                Ok(WatermarkOperator::new(ctx.meta.clone(), expr.clone()))
            });
        }
        let upsert_key = match updating {
            true => Some(primary_key(&planned.schema)?).filter(|key| !key.is_empty()),
            false => None,
        };
        Ok(SqlStream {
            stream,
            mode,
            upsert_key,
        })
    }

    /// A window TVF's rows: its input's rows with their windows, only the columns
    /// at `projection` (all when `None`). A view under the TVF computes only the
    /// columns the projection and the time column need.
    fn window(&self, window: &WindowScan, projection: Option<&[usize]>) -> Result<DataStream<RowBatch>, SqlError> {
        let needed = window.input_columns(projection)?;
        // Where each needed input column is in the input's batches.
        let (input, positions): (DataStream<RowBatch>, Vec<usize>) =
            if let Some(table) = self.planner.table(&window.tvf.table) {
                let table_stream = self.table(table)?;
                if table_stream.is_updating() {
                    return Err(unsupported(format!(
                        "a window TVF over '{}', a changelog table (window TVFs take insert-only input)",
                        window.tvf.table
                    )));
                }
                (table_stream.stream, needed.clone())
            } else if let Some(view) = self.planner.view_columns(&window.tvf.table, &needed)? {
                let view_stream = self.stream(&view)?;
                if view_stream.is_updating() {
                    return Err(unsupported(format!(
                        "a window TVF over '{}', whose rows are updated (window TVFs take insert-only input)",
                        window.tvf.table
                    )));
                }
                (view_stream.stream, (0..needed.len()).collect())
            } else {
                return Err(SqlError::Plan(format!("unknown table or view '{}'", window.tvf.table)));
            };
        let position = |index: usize| -> Result<usize, SqlError> {
            needed
                .iter()
                .position(|&n| n == index)
                .and_then(|at| positions.get(at).copied())
                .ok_or_else(|| SqlError::Plan(format!("window TVF column {index} is not read")))
        };
        let all: Vec<usize> = (0..window.schema.fields().len()).collect();
        let projection = projection.unwrap_or(&all);
        let columns = projection
            .iter()
            .map(|&i| {
                if i < window.input_width() {
                    return position(i).map(WindowColumn::Input);
                }
                window
                    .schema
                    .fields()
                    .get(i)
                    .and_then(|f| WindowColumn::named(f.name()))
                    .ok_or_else(|| SqlError::Plan(format!("window TVF has no column {i}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let time_index = position(window.schema.index_of(&window.tvf.time_column)?)?;
        let assigner = WindowAssigner {
            kind: window.tvf.kind.clone(),
            offset_ms: window.tvf.offset_ms,
            time_index,
            columns,
            schema: Arc::new(window.schema.project(projection)?),
        };
        Ok(input
            .process_fn(move |b: RowBatch, _, out: &mut Collector<'_, RowBatch>| {
                eval::emit("window assignment", out, || assigner.assign(b.batch()))
            })
            .name(window.tvf.function_name()))
    }

    fn aggregate(&self, agg: &Aggregate) -> Result<SqlStream, SqlError> {
        let input_schema = agg.input.schema();
        let group_exprs = &agg.group_expr;
        if group_exprs.iter().any(|e| matches!(e, Expr::GroupingSet(_))) {
            return Err(unsupported("GROUPING SETS in streaming SQL (yet)"));
        }
        let keys = GroupKeys {
            exprs: group_exprs
                .iter()
                .map(|e| physical(e, input_schema))
                .collect::<Result<Vec<_>, _>>()?,
            types: (0..group_exprs.len())
                .map(|i| agg.schema.field(i).data_type().clone())
                .collect(),
        };
        let input = self.stream(&agg.input)?;
        let aggs = agg
            .aggr_expr
            .iter()
            .map(|e| AggCall::plan(e, input_schema, input.is_updating()))
            .collect::<Result<Vec<_>, _>>()?;
        let schema: SchemaRef = Arc::new(agg.schema.as_arrow().clone());
        let window_end = (0..group_exprs.len()).find(|i| {
            agg.schema.field(*i).name() == "window_end"
                || matches!(&group_exprs[*i], Expr::Column(c) if is_window_end(&agg.input, c))
        });
        let Some(window_end) = window_end else {
            let partitioned = input.stream.partition_with(keys.partitioning());
            // An updating aggregate: a retract changelog keyed by the group columns.
            let retracting = input.is_updating();
            let schema = output::with_kind(&schema);
            let ttl = self.state_ttl.clone();
            let stream = partitioned.transform("Group aggregate [retract]", move |ctx| {
                Ok(GroupAggregate {
                    meta: ctx.meta.clone(),
                    converter: keys.converter()?,
                    keys: keys.clone(),
                    aggs: aggs.clone(),
                    retracting,
                    schema: schema.clone(),
                    store: keyed_store::<Vec<u8>>(ctx)?,
                    groups: with_ttl(ValueStateDescriptor::new("groups"), &ttl),
                })
            });
            return Ok(SqlStream {
                stream,
                mode: ChangelogMode::Retract,
                upsert_key: Some((0..group_exprs.len()).collect()),
            });
        };
        if input.is_updating() {
            return Err(unsupported(
                "a window aggregate over updated rows (window aggregates take insert-only input)",
            ));
        }
        if let Some(gap_ms) = session_gap(&agg.input) {
            let window_start = (0..group_exprs.len())
                .find(|i| agg.schema.field(*i).name() == "window_start")
                .ok_or_else(|| unsupported("a SESSION window aggregate without window_start in GROUP BY"))?;
            let others: Vec<usize> = (0..group_exprs.len())
                .filter(|i| *i != window_start && *i != window_end)
                .collect();
            let session_keys = GroupKeys {
                exprs: others.iter().map(|i| keys.exprs[*i].clone()).collect(),
                types: others.iter().map(|i| keys.types[*i].clone()).collect(),
            };
            let time = GroupKeys {
                exprs: vec![keys.exprs[window_start].clone()],
                types: vec![keys.types[window_start].clone()],
            };
            let stream = input.stream.partition_with(session_keys.partitioning()).transform(
                "Session window aggregate [insert-only]",
                move |ctx| {
                    let mut store = keyed_store::<Vec<u8>>(ctx)?;
                    let mut timers = Timers::new("session");
                    timers.restore(&mut store)?;
                    Ok(SessionAggregate {
                        meta: ctx.meta.clone(),
                        converter: session_keys.converter()?,
                        keys: session_keys.clone(),
                        time: time.clone(),
                        window_columns: (window_start, window_end),
                        gap_ms,
                        aggs: aggs.clone(),
                        schema: schema.clone(),
                        store,
                        timers,
                        rows: ListStateDescriptor::new("session rows"),
                        next_timer: ValueStateDescriptor::new("session timer"),
                        watermark: i64::MIN,
                        late: 0,
                    })
                },
            );
            return Ok(SqlStream::insert_only(stream));
        }
        let partitioned = input.stream.partition_with(keys.partitioning());
        let stream = partitioned.transform("Window aggregate [insert-only]", move |ctx| {
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
        });
        Ok(SqlStream::insert_only(stream))
    }
}

/// The gap of the session window TVF whose rows `plan` aggregates, if it reads one
/// (through projections and filters).
fn session_gap(plan: &LogicalPlan) -> Option<i64> {
    match plan {
        LogicalPlan::TableScan(scan) => {
            let provider = source_as_provider(&scan.source).ok()?;
            let any: &dyn std::any::Any = provider.as_ref();
            match &any.downcast_ref::<WindowScan>()?.tvf.kind {
                WindowKind::Session { gap_ms, .. } => Some(*gap_ms),
                _ => None,
            }
        }
        LogicalPlan::Projection(p) => session_gap(&p.input),
        LogicalPlan::Filter(f) => session_gap(&f.input),
        LogicalPlan::SubqueryAlias(a) => session_gap(&a.input),
        _ => None,
    }
}

/// Whether `column` of `plan`'s rows is the `window_end` of a window aggregate or
/// window TVF below, under whatever name projections gave it (Flink's window
/// attribute propagation: a window aggregate over a window aggregate's results,
/// grouped by its window, is a window aggregate too).
fn is_window_end(plan: &LogicalPlan, column: &datafusion::common::Column) -> bool {
    is_window_column(plan, column, "window_end")
}

/// Whether `column` of `plan`'s rows is the window column `name` (`window_start`,
/// `window_end`) of a window aggregate or window TVF below.
/// Both inputs of an equi-join on `on` (left, right expression pairs of one type)
/// over rows of `left` and `right`.
pub(crate) fn join_sides(
    on: &[(Expr, Expr)],
    left: &DFSchema,
    right: &DFSchema,
) -> Result<(JoinSide, JoinSide), SqlError> {
    let mut keys = [Vec::new(), Vec::new()];
    let mut types = Vec::new();
    for (l, r) in on {
        let (lt, rt) = (l.get_type(left)?, r.get_type(right)?);
        if lt != rt {
            return Err(SqlError::Plan(format!(
                "join key {l} is {lt} but {r} is {rt}: cast one side"
            )));
        }
        keys[0].push(physical(l, left)?);
        keys[1].push(physical(r, right)?);
        types.push(lt);
    }
    let [left_keys, right_keys] = keys;
    let side = |exprs: Vec<Arc<dyn PhysicalExpr>>, schema: &DFSchema| JoinSide {
        keys: GroupKeys {
            exprs,
            types: types.clone(),
        },
        types: schema.fields().iter().map(|f| f.data_type().clone()).collect(),
    };
    Ok((side(left_keys, left), side(right_keys, right)))
}

pub(crate) fn is_window_column(plan: &LogicalPlan, column: &datafusion::common::Column, name: &str) -> bool {
    let Ok(index) = plan.schema().index_of_column(column) else {
        return false;
    };
    match plan {
        LogicalPlan::Projection(p) => match p.expr.get(index).map(|e| e.clone().unalias()) {
            Some(Expr::Column(c)) => is_window_column(&p.input, &c, name),
            _ => false,
        },
        LogicalPlan::Filter(f) => is_window_column(&f.input, column, name),
        LogicalPlan::SubqueryAlias(a) => {
            let inner = a.input.schema().columns();
            inner.get(index).is_some_and(|c| is_window_column(&a.input, c, name))
        }
        LogicalPlan::Aggregate(a) => match a.group_expr.get(index) {
            Some(Expr::Column(c)) => c.name == name || is_window_column(&a.input, c, name),
            _ => false,
        },
        LogicalPlan::TableScan(_) => column.name == name,
        _ => false,
    }
}
