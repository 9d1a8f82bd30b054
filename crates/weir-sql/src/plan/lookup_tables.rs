//! Lookup joins in the query text: `JOIN t FOR SYSTEM_TIME AS OF b.proc_time AS s`
//! names the catalog table `t` read as a lookup table. DataFusion plans no table
//! versions, so the reference is rewritten to [`lookup_name`]`(t)` (aliased `s`, or
//! `t` without an alias), registered by the planner as a
//! [`SchemaTable`](crate::plan::SchemaTable) of `t`'s columns under that name; the
//! translator turns a join with it into a lookup join.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Ident, ObjectName, ObjectNamePart, Query, TableAlias, TableFactor, TableVersion, VisitMut, VisitorMut,
};

use crate::error::SqlError;

/// The prefix of the names lookup tables are planned under.
const PREFIX: &str = "__weir_lookup__";

/// The name a catalog table is planned under when it is read as a lookup table.
pub fn lookup_name(table: &str) -> String {
    format!("{PREFIX}{table}")
}

/// The catalog table a lookup name stands for.
pub fn looked_up(name: &str) -> Option<&str> {
    name.strip_prefix(PREFIX)
}

/// Rewrites `t FOR SYSTEM_TIME AS OF x` in `query` (subqueries included) into a
/// reference to `t`'s lookup table; `is_table` tells catalog tables (a view or an
/// unknown name cannot be looked up).
pub fn rewrite_lookup_tables(query: &mut Query, is_table: &dyn Fn(&str) -> bool) -> Result<(), SqlError> {
    match query.visit(&mut Rewriter { is_table }) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(e) => Err(e),
    }
}

struct Rewriter<'a> {
    is_table: &'a dyn Fn(&str) -> bool,
}

impl VisitorMut for Rewriter<'_> {
    type Break = SqlError;

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
        if !(self.is_table)(&table) {
            return ControlFlow::Break(SqlError::Unsupported {
                feature: format!(
                    "FOR SYSTEM_TIME AS OF on '{table}', which is not a table (temporal joins with versioned views, yet)"
                ),
                position: None,
            });
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
