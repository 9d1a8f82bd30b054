//! [`SqlPlanner`]: a DataFusion session over the catalog (case-sensitive
//! identifiers, Flink types), producing optimized logical plans of queries.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::Column;
use datafusion::datasource::{source_as_provider, ViewTable};
use datafusion::execution::SessionStateBuilder;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

use crate::error::SqlError;
use crate::front::tvf::{CUMULATE_FUNCTION, HOP_FUNCTION, SESSION_FUNCTION, TUMBLE_FUNCTION};
use crate::front::{Catalog, ColumnKind, FlinkTypePlanner, TableDef};
use crate::functions::register_flink_functions;
use crate::plan::lookup_tables::{as_of_udf, lookup_name, rewrite_temporal_tables, versioned_name, TemporalTable};
use crate::plan::providers::{InputSchemas, SchemaTable, WindowFunction, WindowScan};

const SCRATCH: &str = "__weir_scratch";

/// A catalog table as planned: its columns and expressions over them.
#[derive(Debug, Clone)]
pub struct PlannedTable {
    /// The declaration.
    pub def: TableDef,
    /// Physical and computed columns in declaration order (metadata columns are
    /// not read yet).
    pub schema: SchemaRef,
    /// Per column of `schema`: its index in the physical schema, or the computed
    /// expression over the physical columns (unqualified).
    pub columns: Vec<Result<usize, Expr>>,
    /// The watermark expression over `schema`'s columns (unqualified).
    pub watermark: Option<Expr>,
}

/// Plans queries over a catalog with DataFusion.
pub struct SqlPlanner {
    ctx: SessionContext,
    tables: HashMap<String, PlannedTable>,
    views: HashMap<String, LogicalPlan>,
    /// The names of the Rust table functions.
    table_functions: HashSet<String>,
}

fn df(e: datafusion::error::DataFusionError) -> SqlError {
    SqlError::Plan(e.to_string())
}

impl SqlPlanner {
    /// A planner over the catalog's tables and views.
    pub fn new(catalog: &Catalog) -> Result<Self, SqlError> {
        let mut config = SessionConfig::new();
        config.options_mut().sql_parser.enable_ident_normalization = false;
        config.options_mut().sql_parser.map_string_types_to_utf8view = false;
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_default_features()
            .with_type_planner(Arc::new(FlinkTypePlanner))
            .build();
        let ctx = SessionContext::new_with_state(state);
        register_flink_functions(&ctx);
        ctx.register_udf(as_of_udf());
        let table_functions = register_user_functions(&ctx, catalog)?;
        ctx.register_udtf(
            super::lateral::LATERAL_FUNCTION,
            Arc::new(super::lateral::LateralFunction),
        );
        let inputs: InputSchemas = Arc::new(Mutex::new(HashMap::new()));
        for name in [TUMBLE_FUNCTION, HOP_FUNCTION, CUMULATE_FUNCTION, SESSION_FUNCTION] {
            ctx.register_udtf(
                name,
                Arc::new(WindowFunction {
                    name,
                    inputs: inputs.clone(),
                }),
            );
        }
        let mut planner = SqlPlanner {
            ctx,
            tables: HashMap::new(),
            views: HashMap::new(),
            table_functions,
        };
        for table in catalog.tables() {
            let planned = planner.plan_table(table)?;
            planner
                .ctx
                .register_table(
                    table.name.as_str(),
                    Arc::new(SchemaTable {
                        name: table.name.clone(),
                        schema: planned.schema.clone(),
                    }),
                )
                .map_err(df)?;
            for marker in [lookup_name(&table.name), versioned_name(&table.name)] {
                planner.register_marker(&marker, planned.schema.clone())?;
            }
            lock(&inputs)?.insert(table.name.clone(), planned.schema.clone());
            planner.tables.insert(table.name.clone(), planned);
        }
        // Views may use views: register until no more progress.
        let mut pending: Vec<_> = catalog.views().collect();
        while !pending.is_empty() {
            let mut failed = Vec::new();
            let mut last_error = None;
            for view in pending.iter().copied() {
                match planner.logical_plan(&view.query) {
                    Ok(mut plan) => {
                        if !view.columns.is_empty() {
                            if view.columns.len() != plan.schema().fields().len() {
                                return Err(SqlError::Plan(format!(
                                    "view '{}' names {} columns, its query has {}",
                                    view.name,
                                    view.columns.len(),
                                    plan.schema().fields().len()
                                )));
                            }
                            let exprs: Vec<Expr> = plan
                                .schema()
                                .columns()
                                .into_iter()
                                .zip(&view.columns)
                                .map(|(c, n)| Expr::Column(c).alias(n))
                                .collect();
                            plan = datafusion::logical_expr::LogicalPlanBuilder::from(plan)
                                .project(exprs)
                                .and_then(|b| b.build())
                                .map_err(df)?;
                        }
                        let schema = Arc::new(plan.schema().as_arrow().clone());
                        let provider = ViewTable::new(plan.clone(), Some(view.query_text.clone()));
                        planner
                            .ctx
                            .register_table(view.name.as_str(), Arc::new(provider))
                            .map_err(df)?;
                        planner.register_marker(&versioned_name(&view.name), schema.clone())?;
                        lock(&inputs)?.insert(view.name.clone(), schema);
                        let optimized = planner.ctx.state().optimize(&plan).map_err(df)?;
                        planner.views.insert(view.name.clone(), optimized);
                    }
                    Err(e) => {
                        failed.push(view);
                        last_error = Some(e);
                    }
                }
            }
            if failed.len() == pending.len() {
                return Err(last_error.unwrap_or_else(|| SqlError::Plan("views cannot be planned".into())));
            }
            pending = failed;
        }
        Ok(planner)
    }

    /// The logical plan of a query, before optimization.
    pub fn logical_plan(&self, query: &ast::Query) -> Result<LogicalPlan, SqlError> {
        let mut query = query.clone();
        super::legacy_windows::rewrite_legacy_windows(&mut query)?;
        super::column_names::flink_column_names(&mut query);
        rewrite_temporal_tables(&mut query, &|name| self.temporal_table(name))?;
        super::lateral::rewrite_lateral_tables(&mut query, &|name| {
            self.table_functions.iter().any(|f| f.eq_ignore_ascii_case(name))
        })?;
        let statement = DfStatement::Statement(Box::new(ast::Statement::Query(Box::new(query))));
        // Every table is registered in memory, so planning never waits: polled once,
        // without an executor (a caller may already be inside one).
        use futures::FutureExt;
        let plan = match self.ctx.state().statement_to_plan(statement).now_or_never() {
            Some(plan) => plan.map_err(df)?,
            None => return Err(SqlError::Plan("planning waited on a table provider".into())),
        };
        super::lateral::check_table_function_calls(&plan, &self.table_functions)?;
        super::lateral::decorrelate_lateral_tables(plan)
    }

    /// Registers a schema-only table under a marker name (a lookup table, a
    /// versioned table or view).
    fn register_marker(&self, name: &str, schema: SchemaRef) -> Result<(), SqlError> {
        self.ctx
            .register_table(
                name,
                Arc::new(SchemaTable {
                    name: name.to_string(),
                    schema,
                }),
            )
            .map_err(df)?;
        Ok(())
    }

    /// What `name`, read `FOR SYSTEM_TIME AS OF`, is: a table with a `PRIMARY KEY`
    /// and a watermark or a view with an event-time column is versioned, another
    /// table a lookup table.
    fn temporal_table(&self, name: &str) -> Result<TemporalTable, SqlError> {
        if let Some(table) = self.tables.get(name) {
            return Ok(match table.def.rowtime() {
                Some(time) if !table.def.primary_key.is_empty() => TemporalTable::Versioned { time: time.to_string() },
                _ => TemporalTable::Lookup,
            });
        }
        let Some(view) = self.views.get(name) else {
            return Err(SqlError::Unsupported {
                feature: format!("FOR SYSTEM_TIME AS OF on '{name}', which is neither a table nor a view"),
                position: None,
            });
        };
        let time = view
            .schema()
            .columns()
            .into_iter()
            .find(|c| {
                let timestamp = view
                    .schema()
                    .qualified_field_from_column(c)
                    .is_ok_and(|(_, f)| matches!(f.data_type(), arrow::datatypes::DataType::Timestamp(_, _)));
                timestamp && self.is_event_time(view, c)
            })
            .ok_or_else(|| SqlError::Unsupported {
                feature: format!(
                    "FOR SYSTEM_TIME AS OF view '{name}', which has no event-time column (a versioned view keeps \
                     its rows' event time, e.g. a deduplication: ROW_NUMBER() OVER (PARTITION BY key ORDER BY \
                     time DESC) = 1)"
                ),
                position: None,
            })?;
        Ok(TemporalTable::Versioned { time: time.name })
    }

    /// The optimized logical plan of a query.
    pub fn plan_query(&self, query: &ast::Query) -> Result<LogicalPlan, SqlError> {
        let plan = self.logical_plan(query)?;
        self.ctx.state().optimize(&plan).map_err(df)
    }

    /// A planned table.
    pub fn table(&self, name: &str) -> Option<&PlannedTable> {
        self.tables.get(name)
    }

    /// The optimized plan of a view.
    pub fn view(&self, name: &str) -> Option<&LogicalPlan> {
        self.views.get(name)
    }

    /// The optimized plan of a view keeping only its columns at `columns`, so that
    /// what computes the others is left out (a window TVF over a view reads only
    /// what the query above it uses).
    pub fn view_columns(&self, name: &str, columns: &[usize]) -> Result<Option<LogicalPlan>, SqlError> {
        let Some(view) = self.views.get(name) else {
            return Ok(None);
        };
        if columns.len() == view.schema().fields().len() {
            return Ok(Some(view.clone()));
        }
        let exprs = columns
            .iter()
            .map(|&i| {
                if i >= view.schema().fields().len() {
                    return Err(SqlError::Plan(format!("view '{name}' has no column {i}")));
                }
                Ok(Expr::Column(Column::from(view.schema().qualified_field(i))))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let plan = datafusion::logical_expr::LogicalPlanBuilder::from(view.clone())
            .project(exprs)
            .and_then(|b| b.build())
            .map_err(df)?;
        self.ctx.state().optimize(&plan).map(Some).map_err(df)
    }

    /// Whether `column` of `plan`'s rows is an event-time column (a table's `WATERMARK FOR` column,
    /// a window TVF's time column or `window_time`, or a timestamp column of
    /// `VALUES`), through projections, filters, aliases, OVER windows and `UNION
    /// ALL`.
    pub fn is_event_time(&self, plan: &LogicalPlan, column: &Column) -> bool {
        let Ok(index) = plan.schema().index_of_column(column) else {
            return false;
        };
        match plan {
            LogicalPlan::Projection(p) => match p.expr.get(index).map(|e| e.clone().unalias()) {
                Some(Expr::Column(c)) => self.is_event_time(&p.input, &c),
                _ => false,
            },
            LogicalPlan::Filter(f) => self.is_event_time(&f.input, column),
            LogicalPlan::Window(w) => {
                let inner = w.input.schema().columns();
                inner.get(index).is_some_and(|c| self.is_event_time(&w.input, c))
            }
            LogicalPlan::SubqueryAlias(a) => {
                let inner = a.input.schema().columns();
                inner.get(index).is_some_and(|c| self.is_event_time(&a.input, c))
            }
            LogicalPlan::Union(u) => u.inputs.iter().all(|input| {
                let inner = input.schema().columns();
                inner.get(index).is_some_and(|c| self.is_event_time(input, c))
            }),
            LogicalPlan::Values(_) => true,
            LogicalPlan::TableScan(scan) => {
                let Ok(provider) = source_as_provider(&scan.source) else {
                    return false;
                };
                let any: &dyn std::any::Any = provider.as_ref();
                let name = scan.projected_schema.field(index).name();
                if let Some(table) = any.downcast_ref::<SchemaTable>() {
                    self.table(&table.name)
                        .is_some_and(|t| t.def.rowtime() == Some(name.as_str()))
                } else if let Some(window) = any.downcast_ref::<WindowScan>() {
                    *name == window.tvf.time_column || name == "window_time"
                } else {
                    false
                }
            }
            _ => false,
        }
    }

    /// Plans `SELECT expr FROM scratch` over `schema`, returning the unqualified
    /// expression and its field.
    fn plan_expr(&self, schema: SchemaRef, expr: &ast::Expr, name: &str) -> Result<(Expr, Field), SqlError> {
        let _ = self.ctx.deregister_table(SCRATCH).map_err(df)?;
        self.ctx
            .register_table(
                SCRATCH,
                Arc::new(SchemaTable {
                    name: SCRATCH.into(),
                    schema,
                }),
            )
            .map_err(df)?;
        let parsed = Parser::parse_sql(&GenericDialect {}, &format!("SELECT 1 FROM {SCRATCH}"))
            .map_err(|e| SqlError::Plan(e.to_string()))?;
        let Some(ast::Statement::Query(mut query)) = parsed.into_iter().next() else {
            return Err(SqlError::Plan("scratch query".into()));
        };
        if let ast::SetExpr::Select(select) = query.body.as_mut() {
            select.projection = vec![ast::SelectItem::UnnamedExpr(expr.clone())];
        }
        let plan = self.logical_plan(&query);
        let _ = self.ctx.deregister_table(SCRATCH).map_err(df)?;
        let plan = plan.map_err(|e| SqlError::Plan(format!("column '{name}': {e}")))?;
        let LogicalPlan::Projection(projection) = &plan else {
            return Err(SqlError::Plan(format!("column '{name}': unexpected plan")));
        };
        let Some(expr) = projection.expr.first() else {
            return Err(SqlError::Plan(format!("column '{name}': no expression")));
        };
        let field = plan.schema().field(0).as_ref().clone().with_name(name);
        Ok((unqualify(expr.clone().unalias())?, field))
    }

    fn plan_table(&self, table: &TableDef) -> Result<PlannedTable, SqlError> {
        let mut fields = Vec::new();
        let mut columns = Vec::new();
        for (name, kind) in table.columns() {
            match kind {
                ColumnKind::Physical => {
                    let index = table.schema.index_of(&name)?;
                    fields.push(table.schema.field(index).clone());
                    columns.push(Ok(index));
                }
                ColumnKind::Computed => {
                    let Some(computed) = table.computed_column(&name) else {
                        continue;
                    };
                    let (expr, field) = self.plan_expr(table.schema.clone(), &computed.expr, &name)?;
                    fields.push(field);
                    columns.push(Err(expr));
                }
                ColumnKind::Metadata => {}
            }
        }
        let schema = Arc::new(Schema::new(fields));
        let watermark = match &table.watermark {
            // The stream's own watermarks pass through: nothing to compute.
            Some(spec) if spec.is_source_watermark() => None,
            Some(spec) => Some(self.plan_expr(schema.clone(), &spec.expr, "watermark")?.0),
            None => None,
        };
        Ok(PlannedTable {
            def: table.clone(),
            schema,
            columns,
            watermark,
        })
    }
}

/// The catalog's Rust functions (scalar, aggregate and table functions) under their
/// own names, and under the names `CREATE FUNCTION` gave them; returns the names
/// of the table functions (which `LATERAL TABLE` calls and nothing else may).
fn register_user_functions(ctx: &SessionContext, catalog: &Catalog) -> Result<HashSet<String>, SqlError> {
    use crate::functions::renamed::Renamed;
    let mut table_functions = HashSet::new();
    for (_, udf) in catalog.registered_functions() {
        ctx.register_udf(udf.as_ref().clone());
    }
    for (_, udaf) in catalog.registered_aggregate_functions() {
        ctx.register_udaf(udaf.as_ref().clone());
    }
    for (_, udf) in catalog.registered_table_functions() {
        ctx.register_udf(udf.as_ref().clone());
        table_functions.insert(udf.name().to_string());
    }
    for def in catalog.functions() {
        let registered = &def.registered_name;
        if let Some((_, udf)) = catalog.registered_functions().find(|(name, _)| *name == registered) {
            ctx.register_udf(Renamed::udf(&def.name, udf.clone()));
        } else if let Some((_, udaf)) = catalog
            .registered_aggregate_functions()
            .find(|(name, _)| *name == registered)
        {
            ctx.register_udaf(crate::functions::renamed::RenamedAggregate::udaf(
                &def.name,
                udaf.clone(),
            ));
        } else if let Some((_, udf)) = catalog
            .registered_table_functions()
            .find(|(name, _)| *name == registered)
        {
            ctx.register_udf(Renamed::udf(&def.name, udf.clone()));
            table_functions.insert(def.name.clone());
        } else {
            return Err(SqlError::Plan(format!(
                "function '{}' is created AS '{}', but no function is registered under that name \
                 (register a Rust function with SqlSession::register_function, \
                 register_aggregate_function or register_table_function)",
                def.name, def.registered_name
            )));
        }
    }
    Ok(table_functions)
}

fn lock<T>(m: &Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>, SqlError> {
    m.lock().map_err(|_| SqlError::Plan("planner lock poisoned".into()))
}

/// Drops relation qualifiers from the expression's columns.
pub fn unqualify(expr: Expr) -> Result<Expr, SqlError> {
    expr.transform_up(|e| match e {
        Expr::Column(c) if c.relation.is_some() => Ok(Transformed::yes(Expr::Column(Column::new_unqualified(c.name)))),
        e => Ok(Transformed::no(e)),
    })
    .map(|t| t.data)
    .map_err(df)
}
