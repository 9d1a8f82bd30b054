//! Temporal joins in the query text: `JOIN t FOR SYSTEM_TIME AS OF x AS s ON ...`.
//! DataFusion plans no table versions, so the reference is rewritten before
//! planning, by what `t` is ([`TemporalTable`]):
//!
//! - a **lookup table** (a catalog table without both a `PRIMARY KEY` and a
//!   watermark): the reference becomes [`lookup_name`]`(t)` (aliased `s`, or `t`
//!   without an alias), registered by the planner as a
//!   [`SchemaTable`](crate::plan::SchemaTable) of `t`'s columns under that name; the
//!   translator turns a join with it into a lookup join;
//! - a **versioned table or view** (a table with a `PRIMARY KEY` and a watermark, or
//!   a view with an event-time column, such as a deduplication on event time): the
//!   reference becomes [`versioned_name`]`(t)`, and the join's `ON` condition gets the
//!   conjunct [`AS_OF_FUNCTION`]`(x, s.<t's event time>)`, which carries the `AS OF`
//!   time into the plan (and keeps `t`'s event-time column in it); the translator
//!   turns the join into an event-time temporal join.

use std::ops::ControlFlow;

use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr, Ident, Join, JoinConstraint, JoinOperator, ObjectName, ObjectNamePart, Query, SetExpr,
    TableAlias, TableFactor, TableVersion, VisitMut, VisitorMut,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

use crate::error::SqlError;

/// The prefix of the names lookup tables are planned under.
const PREFIX: &str = "__weir_lookup__";

/// The prefix of the names versioned tables and views are planned under.
const VERSIONED: &str = "__weir_versioned__";

/// The marker function of a temporal join's condition: `__weir_as_of(x, s.t)` says
/// that the join takes, for a left row at time `x`, the right row version current
/// at that time (`t` orders the versions). Always true when evaluated.
pub const AS_OF_FUNCTION: &str = "__weir_as_of";

/// What a name read `FOR SYSTEM_TIME AS OF` is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemporalTable {
    /// A catalog table joined by looking up its rows.
    Lookup,
    /// A versioned table or view whose versions are ordered by its event-time
    /// column `time`.
    Versioned {
        /// The event-time column.
        time: String,
    },
}

/// The name a versioned table or view is planned under in a temporal join.
pub fn versioned_name(source: &str) -> String {
    format!("{VERSIONED}{source}")
}

/// The versioned table or view a name stands for.
pub fn versioned(name: &str) -> Option<&str> {
    name.strip_prefix(VERSIONED)
}

/// [`AS_OF_FUNCTION`] (registered by the planner; the translator removes it from
/// the join condition).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct AsOfFunction {
    signature: Signature,
}

impl Default for AsOfFunction {
    fn default() -> Self {
        AsOfFunction {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for AsOfFunction {
    fn name(&self) -> &str {
        AS_OF_FUNCTION
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, _: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        Ok(ColumnarValue::Scalar(ScalarValue::Boolean(Some(true))))
    }
}

/// The marker function as a DataFusion UDF.
pub fn as_of_udf() -> datafusion::logical_expr::ScalarUDF {
    datafusion::logical_expr::ScalarUDF::new_from_shared_impl(Arc::new(AsOfFunction::default()))
}

fn unsupported(feature: String) -> SqlError {
    SqlError::Unsupported {
        feature,
        position: None,
    }
}

/// The name a catalog table is planned under when it is read as a lookup table.
pub fn lookup_name(table: &str) -> String {
    format!("{PREFIX}{table}")
}

/// The catalog table a lookup name stands for.
pub fn looked_up(name: &str) -> Option<&str> {
    name.strip_prefix(PREFIX)
}

/// Rewrites `t FOR SYSTEM_TIME AS OF x` in `query` (subqueries included) into a
/// reference to `t`'s lookup table or, in a `[LEFT] JOIN ... ON`, to its versions;
/// `classify` tells what a name is (an error for a name that is neither a table
/// nor a view that can be read so).
pub fn rewrite_temporal_tables(
    query: &mut Query,
    classify: &dyn Fn(&str) -> Result<TemporalTable, SqlError>,
) -> Result<(), SqlError> {
    match query.visit(&mut Rewriter { classify }) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(e) => Err(e),
    }
}

struct Rewriter<'a> {
    classify: &'a dyn Fn(&str) -> Result<TemporalTable, SqlError>,
}

impl Rewriter<'_> {
    /// Rewrites the temporal joins with versioned tables of the selects of `body`
    /// (nested queries are visited on their own).
    fn versioned_joins(&self, body: &mut SetExpr) -> Result<(), SqlError> {
        match body {
            SetExpr::Select(select) => {
                for from in &mut select.from {
                    for join in &mut from.joins {
                        self.versioned_join(join)?;
                    }
                }
            }
            SetExpr::SetOperation { left, right, .. } => {
                self.versioned_joins(left)?;
                self.versioned_joins(right)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn versioned_join(&self, join: &mut Join) -> Result<(), SqlError> {
        let TableFactor::Table {
            name,
            alias,
            version: version @ Some(TableVersion::ForSystemTimeAsOf(_)),
            ..
        } = &mut join.relation
        else {
            return Ok(());
        };
        let [ObjectNamePart::Identifier(ident)] = name.0.as_slice() else {
            return Ok(()); // refused when the table factor is visited
        };
        let table = ident.value.clone();
        let TemporalTable::Versioned { time } = (self.classify)(&table)? else {
            return Ok(());
        };
        let Some(TableVersion::ForSystemTimeAsOf(as_of)) = version.take() else {
            return Ok(());
        };
        let constraint = match &mut join.join_operator {
            JoinOperator::Join(c) | JoinOperator::Inner(c) | JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => c,
            _ => {
                return Err(unsupported(format!(
                    "a temporal join with '{table}' other than [INNER] JOIN or LEFT JOIN"
                )))
            }
        };
        let JoinConstraint::On(on) = constraint else {
            return Err(unsupported(format!(
                "a temporal join with '{table}' without ON (equate its primary key with the left side's columns)"
            )));
        };
        let alias_name = match alias {
            Some(a) => a.name.clone(),
            None => {
                let name = Ident::with_span(ident.span, table.clone());
                *alias = Some(TableAlias {
                    explicit: true,
                    name: name.clone(),
                    columns: Vec::new(),
                    at: None,
                });
                name
            }
        };
        let call = format!(
            "{AS_OF_FUNCTION}({as_of}, {}.{})",
            Ident::with_quote('"', alias_name.value),
            Ident::with_quote('"', time)
        );
        let call = Parser::new(&GenericDialect {})
            .try_with_sql(&call)
            .and_then(|mut p| p.parse_expr())
            .map_err(|e| {
                SqlError::Plan(format!(
                    "the AS OF time {as_of} of the temporal join with '{table}': {e}"
                ))
            })?;
        *on = Expr::BinaryOp {
            left: Box::new(Expr::Nested(Box::new(on.clone()))),
            op: BinaryOperator::And,
            right: Box::new(call),
        };
        *name = ObjectName(vec![ObjectNamePart::Identifier(Ident::with_span(
            ident.span,
            versioned_name(&table),
        ))]);
        Ok(())
    }
}

impl VisitorMut for Rewriter<'_> {
    type Break = SqlError;

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<SqlError> {
        match self.versioned_joins(&mut query.body) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<SqlError> {
        let TableFactor::Table {
            name, alias, version, ..
        } = factor
        else {
            return ControlFlow::Continue(());
        };
        match version {
            None => return ControlFlow::Continue(()),
            Some(TableVersion::ForSystemTimeAsOf(_)) => {}
            Some(other) => {
                return ControlFlow::Break(SqlError::Unsupported {
                    feature: format!("table version {other}"),
                    position: None,
                })
            }
        }
        let [ObjectNamePart::Identifier(ident)] = name.0.as_slice() else {
            return ControlFlow::Break(SqlError::Unsupported {
                feature: format!("FOR SYSTEM_TIME AS OF on the qualified name {name}"),
                position: None,
            });
        };
        let table = ident.value.clone();
        match (self.classify)(&table) {
            Ok(TemporalTable::Lookup) => {}
            Ok(TemporalTable::Versioned { .. }) => {
                return ControlFlow::Break(unsupported(format!(
                    "'{table}' FOR SYSTEM_TIME AS OF other than on the right of [LEFT] JOIN ... ON (a temporal join)"
                )))
            }
            Err(e) => return ControlFlow::Break(e),
        }
        if alias.is_none() {
            *alias = Some(TableAlias {
                explicit: true,
                name: Ident::with_span(ident.span, table.clone()),
                columns: Vec::new(),
                at: None,
            });
        }
        *name = ObjectName(vec![ObjectNamePart::Identifier(Ident::with_span(
            ident.span,
            lookup_name(&table),
        ))]);
        *version = None;
        ControlFlow::Continue(())
    }
}
