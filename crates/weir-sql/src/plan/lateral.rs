//! Table functions (Flink's `LATERAL TABLE`) and `CROSS JOIN UNNEST(array)`.
//!
//! A Rust table function is a scalar function returning, per input row, the list of
//! rows it produces (see [`crate::functions::table`]). Planning goes in three steps:
//!
//! 1. In the query text ([`rewrite_lateral_tables`]), `LATERAL TABLE(f(args)) AS
//!    T(c1, ...)` (and an `UNNEST(array)` joined to the tables before it) becomes
//!    `LATERAL (SELECT * FROM __weir_lateral(f(args))) AS T(c1, ...)`: DataFusion
//!    plans the call with the columns of the tables on its left as outer references
//!    and hands it to [`LateralFunction`], which makes a [`LateralScan`] of the
//!    rows' columns (the struct fields of the list's elements).
//! 2. Before optimization ([`decorrelate_lateral_tables`]), a join with a
//!    `LateralScan` (inner: `,`, `CROSS JOIN`, `JOIN ... ON TRUE`; or `LEFT JOIN ...
//!    ON TRUE`) becomes a projection of the left side's columns and the call (outer
//!    references now plain columns), an `Unnest` of the list (rows whose list is
//!    empty or NULL dropped, or kept once with NULLs for a LEFT join), an `Unnest` of
//!    the struct into its fields, and a projection naming them as the join did. The
//!    optimizer sees plain columns (a left column the call reads is kept) and the
//!    translator turns each `Unnest` into a stateless per-batch operator.
//! 3. [`check_table_function_calls`] refuses a table function called as a scalar
//!    function, before step 2 makes the calls visible.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef};
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DFSchema, NullHandling, UnnestOptions};
use datafusion::datasource::{source_as_provider, TableType};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::type_coercion::functions::fields_with_udf;
use datafusion::logical_expr::{
    EmptyRelation, Expr, ExprSchemable, Join, JoinType, LogicalPlan, LogicalPlanBuilder, ReturnFieldArgs,
};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::sql::sqlparser::ast::{
    self, FunctionArg, FunctionArgExpr, FunctionArguments, ObjectNamePart, Query, SetExpr, TableFactor, VisitMut,
    VisitorMut,
};

use crate::error::SqlError;
use crate::functions::table::row_fields;

/// The table function the query text's lateral calls are rewritten into.
pub const LATERAL_FUNCTION: &str = "__weir_lateral";

/// The column holding the call's list (then each row) in the rewritten plan.
const LATERAL_COLUMN: &str = "__weir_lateral_rows";

fn unsupported(feature: impl Into<String>) -> SqlError {
    SqlError::Unsupported {
        feature: feature.into(),
        position: None,
    }
}

/// Rewrites `LATERAL TABLE(f(args))` and joined `UNNEST(array)`s of `query` (its
/// subqueries included) into lateral subqueries over [`LATERAL_FUNCTION`];
/// `is_table_function` tells which names are table functions (anything else in
/// `LATERAL TABLE(...)` is an error naming it).
pub fn rewrite_lateral_tables(query: &mut Query, is_table_function: &dyn Fn(&str) -> bool) -> Result<(), SqlError> {
    match query.visit(&mut Rewriter { is_table_function }) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(e) => Err(e),
    }
}

struct Rewriter<'a> {
    is_table_function: &'a dyn Fn(&str) -> bool,
}

/// `LATERAL (SELECT * FROM __weir_lateral(call)) alias`.
fn lateral_subquery(call: ast::Expr, alias: Option<ast::TableAlias>) -> Result<TableFactor, SqlError> {
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::parser::Parser;
    let template = format!("SELECT * FROM {LATERAL_FUNCTION}(0)");
    let parsed = Parser::parse_sql(&GenericDialect {}, &template).map_err(|e| SqlError::Plan(e.to_string()))?;
    let Some(ast::Statement::Query(mut subquery)) = parsed.into_iter().next() else {
        return Err(SqlError::Plan("the lateral table template is not a query".into()));
    };
    let SetExpr::Select(select) = subquery.body.as_mut() else {
        return Err(SqlError::Plan("the lateral table template is not a SELECT".into()));
    };
    let Some(TableFactor::Table { args: Some(args), .. }) = select.from.first_mut().map(|f| &mut f.relation) else {
        return Err(SqlError::Plan(
            "the lateral table template has no table function".into(),
        ));
    };
    args.args = vec![FunctionArg::Unnamed(FunctionArgExpr::Expr(call))];
    Ok(TableFactor::Derived {
        lateral: true,
        subquery,
        alias,
        sample: None,
    })
}

impl Rewriter<'_> {
    /// The call in `LATERAL TABLE(call)`, checked to be a table function's.
    fn table_function_call(&self, args: &[FunctionArg]) -> Result<ast::Expr, SqlError> {
        let call = match args {
            [FunctionArg::Unnamed(FunctionArgExpr::Expr(call @ ast::Expr::Function(_)))] => call,
            _ => {
                return Err(SqlError::Plan(
                    "LATERAL TABLE takes one call of a table function: LATERAL TABLE(f(args)) AS T(c1, ...)".into(),
                ))
            }
        };
        let ast::Expr::Function(function) = call else {
            return Err(SqlError::Plan("LATERAL TABLE takes a function call".into()));
        };
        let name = function.name.to_string();
        if !(self.is_table_function)(&name) {
            return Err(SqlError::Plan(format!(
                "'{name}' is not a table function: LATERAL TABLE calls functions registered with \
                 SqlSession::register_table_function"
            )));
        }
        if !matches!(function.args, FunctionArguments::List(_) | FunctionArguments::None) {
            return Err(SqlError::Plan(format!("table function '{name}': unexpected arguments")));
        }
        Ok(call.clone())
    }

    /// `UNNEST(array)` joined to the tables before it, rewritten (other UNNESTs
    /// are left to DataFusion).
    fn rewrite_unnest(factor: &mut TableFactor) -> Result<(), SqlError> {
        let TableFactor::UNNEST {
            alias,
            array_exprs,
            with_offset,
            with_ordinality,
            ..
        } = factor
        else {
            return Ok(());
        };
        if *with_offset || *with_ordinality {
            return Err(unsupported("UNNEST WITH OFFSET or WITH ORDINALITY"));
        }
        let [array] = array_exprs.as_slice() else {
            return Err(unsupported("UNNEST of several arrays in a join (yet)"));
        };
        *factor = lateral_subquery(array.clone(), alias.take())?;
        Ok(())
    }

    fn rewrite_set_expr(body: &mut SetExpr) -> Result<(), SqlError> {
        match body {
            SetExpr::Select(select) => {
                for (i, from) in select.from.iter_mut().enumerate() {
                    if i > 0 {
                        Self::rewrite_unnest(&mut from.relation)?;
                    }
                    for join in &mut from.joins {
                        Self::rewrite_unnest(&mut join.relation)?;
                    }
                }
                Ok(())
            }
            SetExpr::SetOperation { left, right, .. } => {
                Self::rewrite_set_expr(left)?;
                Self::rewrite_set_expr(right)
            }
            _ => Ok(()),
        }
    }
}

impl VisitorMut for Rewriter<'_> {
    type Break = SqlError;

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<SqlError> {
        match Self::rewrite_set_expr(&mut query.body) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<SqlError> {
        let TableFactor::Function {
            lateral: true,
            name,
            args,
            with_ordinality,
            alias,
        } = factor
        else {
            return ControlFlow::Continue(());
        };
        let is_table =
            matches!(name.0.as_slice(), [ObjectNamePart::Identifier(id)] if id.value.eq_ignore_ascii_case("TABLE"));
        if !is_table {
            return ControlFlow::Break(unsupported(format!(
                "LATERAL {name}(...): table functions are called as LATERAL TABLE({name}(...))"
            )));
        }
        if *with_ordinality {
            return ControlFlow::Break(unsupported("LATERAL TABLE(...) WITH ORDINALITY"));
        }
        let rewritten = self
            .table_function_call(args)
            .and_then(|call| lateral_subquery(call, alias.take()));
        match rewritten {
            Ok(rewritten) => {
                *factor = rewritten;
                ControlFlow::Continue(())
            }
            Err(e) => ControlFlow::Break(e),
        }
    }
}

/// The rows a lateral call produces: the call (its arguments may be outer
/// references to the columns on the join's left) and their columns. Schema only:
/// [`decorrelate_lateral_tables`] replaces it before optimization.
#[derive(Debug)]
pub struct LateralScan {
    /// The call (or the array of an `UNNEST`), returning a list of rows.
    pub call: Expr,
    /// What the call is, for errors (`table function 'f'`, `UNNEST`).
    pub what: String,
    /// The element type is a struct whose fields are the columns (else one column).
    pub struct_rows: bool,
    /// The rows' columns.
    pub schema: SchemaRef,
}

#[async_trait::async_trait]
impl TableProvider for LateralScan {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
    fn table_type(&self) -> TableType {
        TableType::Temporary
    }
    async fn scan(
        &self,
        _state: &dyn Session,
        _projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        Err(DataFusionError::NotImplemented(format!(
            "{} is planned as an unnest by Weir",
            self.what
        )))
    }
}

/// The `__weir_lateral(call)` table function.
#[derive(Debug)]
pub struct LateralFunction;

/// The return field of `call` (arguments coerced as the analyzer will), with what
/// it calls.
fn call_field(call: &Expr) -> Result<(FieldRef, String), SqlError> {
    let empty = DFSchema::empty();
    let Expr::ScalarFunction(f) = call else {
        return Ok((call.to_field(&empty)?.1, "UNNEST".into()));
    };
    let name = f.func.name().to_string();
    let what = format!("table function '{name}'");
    let fields = f
        .args
        .iter()
        .map(|a| a.to_field(&empty).map(|(_, field)| field))
        .collect::<Result<Vec<_>, _>>()?;
    let coerced = fields_with_udf(&fields, f.func.as_ref()).map_err(|e| SqlError::Plan(format!("{what}: {e}")))?;
    let literals: Vec<_> = f
        .args
        .iter()
        .map(|a| match a {
            Expr::Literal(value, _) => Some(value),
            _ => None,
        })
        .collect();
    let returned = f
        .func
        .return_field_from_args(ReturnFieldArgs {
            arg_fields: &coerced,
            scalar_arguments: &literals,
        })
        .map_err(|e| SqlError::Plan(format!("{what}: {e}")))?;
    Ok((returned, what))
}

impl TableFunctionImpl for LateralFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> DfResult<Arc<dyn TableProvider>> {
        let [call] = args.exprs() else {
            return Err(DataFusionError::Plan(format!("{LATERAL_FUNCTION} takes one call")));
        };
        let scan = (|| -> Result<LateralScan, SqlError> {
            let (returned, what) = call_field(call)?;
            let name = what.clone();
            let fields = row_fields(&name, returned.data_type())?;
            let struct_rows = matches!(
                returned.data_type(),
                DataType::List(e) | DataType::LargeList(e) | DataType::FixedSizeList(e, _)
                    if matches!(e.data_type(), DataType::Struct(_))
            );
            // LEFT joins and NULL lists make every column nullable.
            let fields: Vec<Field> = fields.iter().map(|f| f.as_ref().clone().with_nullable(true)).collect();
            Ok(LateralScan {
                call: call.clone(),
                what,
                struct_rows,
                schema: Arc::new(Schema::new(fields)),
            })
        })()
        .map_err(|e| match e {
            SqlError::DataFusion(e) => e,
            other => DataFusionError::Plan(other.to_string()),
        })?;
        Ok(Arc::new(scan))
    }
}

/// Refuses a call of a table function (`names`) as a scalar function anywhere in
/// `plan` (the calls in `LATERAL TABLE(...)` are not in the plan's expressions yet).
pub fn check_table_function_calls(plan: &LogicalPlan, names: &HashSet<String>) -> Result<(), SqlError> {
    if names.is_empty() {
        return Ok(());
    }
    let mut found = None;
    plan.apply_with_subqueries(|node| {
        node.apply_expressions(|e| {
            e.apply(|e| {
                if let Expr::ScalarFunction(f) = e {
                    if names.contains(f.func.name()) {
                        found = Some(f.func.name().to_string());
                        return Ok(TreeNodeRecursion::Stop);
                    }
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    })?;
    match found {
        Some(name) => Err(SqlError::Plan(format!(
            "'{name}' is a table function, not a scalar function: call it in FROM as \
             LATERAL TABLE({name}(...)) AS T(...)"
        ))),
        None => Ok(()),
    }
}

/// The lateral scan `plan` reads (through aliases and projections of columns), and
/// for each of `plan`'s columns the scan column it is.
fn lateral_columns(plan: &LogicalPlan) -> Option<(Arc<dyn TableProvider>, Vec<usize>)> {
    match plan {
        LogicalPlan::SubqueryAlias(a) => lateral_columns(&a.input),
        LogicalPlan::Projection(p) => {
            let (scan, below) = lateral_columns(&p.input)?;
            let columns = p
                .expr
                .iter()
                .map(|e| match e.clone().unalias() {
                    Expr::Column(c) => p
                        .input
                        .schema()
                        .index_of_column(&c)
                        .ok()
                        .and_then(|i| below.get(i).copied()),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?;
            Some((scan, columns))
        }
        LogicalPlan::TableScan(t) => {
            let provider = source_as_provider(&t.source).ok()?;
            let columns = match &t.projection {
                Some(projection) => projection.clone(),
                None => (0..as_lateral(&provider)?.schema.fields().len()).collect(),
            };
            Some((provider, columns))
        }
        _ => None,
    }
}

fn as_lateral(provider: &Arc<dyn TableProvider>) -> Option<&LateralScan> {
    let any: &dyn std::any::Any = provider.as_ref();
    any.downcast_ref::<LateralScan>()
}

/// Replaces every join with a lateral call (and a lateral call read alone) by an
/// unnest of the call over the join's left side (see the module's doc).
pub fn decorrelate_lateral_tables(plan: LogicalPlan) -> Result<LogicalPlan, SqlError> {
    let mut has_lateral = false;
    plan.apply_with_subqueries(|node| {
        if lateral_columns(node).is_some() {
            has_lateral = true;
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    if !has_lateral {
        return Ok(plan);
    }
    // Joins first, innermost first (a lateral call may read an earlier one's
    // columns); then lateral calls read alone.
    let mut error = None;
    let joined = plan
        .transform_up_with_subqueries(|node| {
            let LogicalPlan::Join(join) = &node else {
                return Ok(Transformed::no(node));
            };
            if lateral_columns(&join.right).is_none() {
                return Ok(Transformed::no(node));
            }
            match rewrite_join(join) {
                Ok(plan) => Ok(Transformed::yes(plan)),
                Err(e) => {
                    error = Some(e);
                    Ok(Transformed::new(node, false, TreeNodeRecursion::Stop))
                }
            }
        })?
        .data;
    if let Some(e) = error {
        return Err(e);
    }
    let alone = joined
        .transform_down_with_subqueries(|node| {
            if !matches!(
                node,
                LogicalPlan::SubqueryAlias(_) | LogicalPlan::Projection(_) | LogicalPlan::TableScan(_)
            ) || lateral_columns(&node).is_none()
            {
                return Ok(Transformed::no(node));
            }
            match rewrite_alone(&node) {
                Ok(plan) => Ok(Transformed::new(plan, true, TreeNodeRecursion::Jump)),
                Err(e) => {
                    error = Some(e);
                    Ok(Transformed::new(node, false, TreeNodeRecursion::Stop))
                }
            }
        })?
        .data;
    match error {
        Some(e) => Err(e),
        None => Ok(alone),
    }
}

/// A join of `left` with the lateral call of `join.right`.
fn rewrite_join(join: &Join) -> Result<LogicalPlan, SqlError> {
    let null_handling = match join.join_type {
        JoinType::Inner => NullHandling::Drop,
        JoinType::Left => NullHandling::PreserveAndExpandEmpty,
        other => {
            return Err(unsupported(format!(
                "a {other} join with a table function (CROSS JOIN, `,` and LEFT JOIN ... ON TRUE work)"
            )))
        }
    };
    let mut condition: Vec<Expr> = join
        .on
        .iter()
        .map(|(l, r)| l.clone().eq(r.clone()))
        .chain(join.filter.clone())
        .filter(|e| {
            !matches!(
                e,
                Expr::Literal(datafusion::common::ScalarValue::Boolean(Some(true)), _)
            )
        })
        .collect();
    if join.join_type == JoinType::Left && !condition.is_empty() {
        return Err(unsupported(
            "LEFT JOIN LATERAL TABLE(...) ON a condition other than TRUE (filter the rows in WHERE)",
        ));
    }
    let plan = unnest_over(join.left.as_ref().clone(), &join.right, null_handling)?;
    let builder = LogicalPlanBuilder::from(plan);
    let builder = match condition.len() {
        0 => builder,
        _ => {
            let mut all = condition.remove(0);
            for c in condition {
                all = all.and(c);
            }
            builder.filter(all)?
        }
    };
    Ok(builder.build()?)
}

/// A lateral call read alone (`SELECT * FROM LATERAL TABLE(f('a b'))`): over one
/// row without columns.
fn rewrite_alone(plan: &LogicalPlan) -> Result<LogicalPlan, SqlError> {
    let one_row = LogicalPlan::EmptyRelation(EmptyRelation {
        produce_one_row: true,
        schema: Arc::new(DFSchema::empty()),
    });
    unnest_over(one_row, plan, NullHandling::Drop)
}

/// `left`'s columns, then `right`'s (a lateral call over `left`'s columns) for
/// each row the call produces.
fn unnest_over(left: LogicalPlan, right: &LogicalPlan, null_handling: NullHandling) -> Result<LogicalPlan, SqlError> {
    let Some((provider, columns)) = lateral_columns(right) else {
        return Err(SqlError::Plan("not a lateral table".into()));
    };
    let Some(scan) = as_lateral(&provider) else {
        return Err(SqlError::Plan("not a lateral table".into()));
    };
    let call = scan
        .call
        .clone()
        .transform(|e| match e {
            Expr::OuterReferenceColumn(_, c) => Ok(Transformed::yes(Expr::Column(c))),
            e => Ok(Transformed::no(e)),
        })?
        .data;
    // The rows' columns are nullable (a LEFT join pads with NULLs): the list is
    // cast to one of nullable fields.
    let element = if scan.struct_rows {
        DataType::Struct(scan.schema.fields().clone())
    } else {
        match scan.schema.fields().first() {
            Some(field) => field.data_type().clone(),
            None => return Err(SqlError::Plan(format!("{}: no columns", scan.what))),
        }
    };
    let list = DataType::List(Arc::new(Field::new("item", element, true)));
    let call = Expr::Cast(datafusion::logical_expr::Cast::new(Box::new(call), list));
    let left_columns: Vec<Expr> = left.schema().columns().into_iter().map(Expr::Column).collect();
    let mut projected = left_columns.clone();
    projected.push(call.alias(LATERAL_COLUMN));
    let mut builder = LogicalPlanBuilder::from(left)
        .project(projected)
        .map_err(|e| SqlError::Plan(format!("{}: {e}", scan.what)))?
        .unnest_column_with_options(
            LATERAL_COLUMN,
            UnnestOptions {
                null_handling,
                recursions: Vec::new(),
            },
        )?;
    if scan.struct_rows {
        builder = builder.unnest_column(LATERAL_COLUMN)?;
    }
    let right_schema = right.schema();
    let mut exprs = left_columns;
    for (i, column) in columns.iter().enumerate() {
        let (qualifier, field) = right_schema.qualified_field(i);
        let source = if scan.struct_rows {
            let name = scan
                .schema
                .fields()
                .get(*column)
                .map(|f| f.name().clone())
                .ok_or_else(|| SqlError::Plan(format!("{}: no column {column}", scan.what)))?;
            Column::from_name(format!("{LATERAL_COLUMN}.{name}"))
        } else {
            Column::from_name(LATERAL_COLUMN)
        };
        exprs.push(Expr::Column(source).alias_qualified(qualifier.cloned(), field.name()));
    }
    Ok(builder.project(exprs)?.build()?)
}
