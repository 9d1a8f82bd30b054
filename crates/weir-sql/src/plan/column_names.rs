//! Flink's names for unaliased select items: `SELECT person.id FROM datagen` yields a
//! column `id` (the last part of the compound name), where DataFusion would name
//! a struct field access `datagen.person[id]`. For a table-qualified column
//! (`bid.price`) the name is the same either way.

use datafusion::sql::sqlparser::ast::{Expr, Query, SelectItem, SetExpr, VisitMut, VisitorMut};
use std::ops::ControlFlow;

/// Aliases every unaliased compound-identifier select item of `query` (and of the
/// queries nested in it) to its last part.
pub fn flink_column_names(query: &mut Query) {
    let _ = query.visit(&mut Names);
}

struct Names;

impl VisitorMut for Names {
    type Break = ();

    fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        name_items(&mut query.body);
        ControlFlow::Continue(())
    }
}

fn name_items(body: &mut SetExpr) {
    match body {
        SetExpr::Select(select) => {
            for item in &mut select.projection {
                if let SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts)) = item {
                    if let Some(last) = parts.last().cloned() {
                        let expr = Expr::CompoundIdentifier(std::mem::take(parts));
                        *item = SelectItem::ExprWithAlias { expr, alias: last };
                    }
                }
            }
        }
        SetExpr::SetOperation { left, right, .. } => {
            name_items(left);
            name_items(right);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::front::{parse_statement, Statement};

    #[test]
    fn struct_fields_are_named_by_their_last_part() {
        let Statement::Query(mut query) =
            parse_statement("SELECT person.id, b.price AS p, x FROM datagen UNION ALL SELECT bid.auction, 1, y FROM t")
                .unwrap()
                .statement
        else {
            panic!("not a query")
        };
        flink_column_names(&mut query);
        assert_eq!(
            query.to_string(),
            "SELECT person.id AS id, b.price AS p, x FROM datagen UNION ALL SELECT bid.auction AS auction, 1, y FROM t"
        );
    }
}
