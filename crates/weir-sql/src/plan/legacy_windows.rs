//! Flink's legacy group windows, rewritten into window table functions before
//! planning:
//!
//! ```sql
//! SELECT id, TUMBLE_START(dateTime, INTERVAL '10' SECOND) AS s, count(*)
//! FROM person P GROUP BY id, TUMBLE(dateTime, INTERVAL '10' SECOND)
//! -- becomes
//! SELECT id, P.window_start AS s, count(*)
//! FROM weir_tumble('person', 'dateTime', INTERVAL '10' SECOND) AS P
//! GROUP BY id, P.window_start, P.window_end
//! ```
//!
//! `TUMBLE(t, size)`, `HOP(t, slide, size)` and `SESSION(t, gap)` in `GROUP BY`
//! (a session is per the other `GROUP BY` columns, as Flink's group session
//! window), and their `_START`, `_END` and `_ROWTIME` auxiliary functions in the
//! select list and `HAVING`. The `FROM` clause must be one table or view (with an
//! optional alias); anything else is an `unsupported` error naming the form to use
//! instead.

use crate::error::SqlError;
use crate::front::tvf::{HOP_FUNCTION, SESSION_FUNCTION, TUMBLE_FUNCTION};
use datafusion::sql::sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr, Query, Select, SetExpr, TableFactor, VisitMut,
    VisitorMut,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use std::ops::ControlFlow;

/// Rewrites the legacy group windows of `query` and of the queries nested in it.
pub fn rewrite_legacy_windows(query: &mut Query) -> Result<(), SqlError> {
    match query.visit(&mut Rewriter) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(()),
    }
}

struct Rewriter;

impl VisitorMut for Rewriter {
    type Break = SqlError;

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<SqlError> {
        match rewrite_body(&mut query.body) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }
}

fn rewrite_body(body: &mut SetExpr) -> Result<(), SqlError> {
    match body {
        SetExpr::Select(select) => rewrite_select(select),
        SetExpr::SetOperation { left, right, .. } => {
            rewrite_body(left)?;
            rewrite_body(right)
        }
        _ => Ok(()),
    }
}

/// The kinds of legacy group window.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Tumble,
    Hop,
    Session,
}

impl Kind {
    fn of(name: &str) -> Option<Kind> {
        match name.to_ascii_uppercase().as_str() {
            "TUMBLE" => Some(Kind::Tumble),
            "HOP" => Some(Kind::Hop),
            "SESSION" => Some(Kind::Session),
            _ => None,
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Kind::Tumble => "TUMBLE",
            Kind::Hop => "HOP",
            Kind::Session => "SESSION",
        }
    }

    fn function(self) -> &'static str {
        match self {
            Kind::Tumble => TUMBLE_FUNCTION,
            Kind::Hop => HOP_FUNCTION,
            Kind::Session => SESSION_FUNCTION,
        }
    }

    fn durations(self) -> usize {
        match self {
            Kind::Hop => 2,
            Kind::Tumble | Kind::Session => 1,
        }
    }
}

/// A window call's kind and its arguments' SQL text.
fn window_call(expr: &Expr) -> Option<(Kind, Vec<String>)> {
    let Expr::Function(function) = expr else {
        return None;
    };
    let kind = Kind::of(&function.name.to_string())?;
    let FunctionArguments::List(list) = &function.args else {
        return None;
    };
    let args = list
        .args
        .iter()
        .map(|arg| match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.to_string()),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    Some((kind, args))
}

fn unsupported(what: &str) -> SqlError {
    SqlError::unsupported(what, None)
}

fn parse_error(e: impl std::fmt::Display) -> SqlError {
    SqlError::Plan(format!("legacy group window: {e}"))
}

fn parse_expr(text: &str) -> Result<Expr, SqlError> {
    Parser::new(&GenericDialect {})
        .try_with_sql(text)
        .and_then(|mut p| p.parse_expr())
        .map_err(parse_error)
}

fn rewrite_select(select: &mut Select) -> Result<(), SqlError> {
    let GroupByExpr::Expressions(groups, _) = &mut select.group_by else {
        return Ok(());
    };
    let windows: Vec<usize> = (0..groups.len())
        .filter(|i| window_call(&groups[*i]).is_some())
        .collect();
    let Some(&at) = windows.first() else {
        return Ok(());
    };
    if windows.len() > 1 {
        return Err(unsupported("more than one group window in one GROUP BY"));
    }
    let Some((kind, args)) = window_call(&groups[at]) else {
        return Ok(());
    };
    if args.len() != 1 + kind.durations() {
        return Err(SqlError::Plan(format!(
            "{}() in GROUP BY takes a time column and {} interval(s), got {} arguments",
            kind.prefix(),
            kind.durations(),
            args.len()
        )));
    }
    let time_column = args[0]
        .rsplit('.')
        .next()
        .unwrap_or(&args[0])
        .trim_matches('"')
        .to_string();
    // The one table the window reads.
    let single = select.from.len() == 1 && select.from[0].joins.is_empty();
    let (table, alias) = match select.from.first().map(|f| &f.relation) {
        Some(TableFactor::Table {
            name,
            alias,
            args: None,
            ..
        }) if single => (name.to_string(), alias.as_ref().map(|a| a.name.to_string())),
        _ => {
            return Err(unsupported(&format!(
                "GROUP BY {}(...) over a join or a subquery (use the window table function \
                 TABLE({}(TABLE t, DESCRIPTOR(col), ...)) on a view instead)",
                kind.prefix(),
                kind.prefix()
            )))
        }
    };
    let alias = alias.unwrap_or_else(|| table.clone());
    // The other GROUP BY columns: a session's partition.
    let mut call_args = vec![format!("'{table}'"), format!("'{time_column}'")];
    call_args.extend(args[1..].iter().cloned());
    if kind == Kind::Session {
        let keys: Vec<String> = groups
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != at)
            .map(|(_, g)| g.to_string().rsplit('.').next().unwrap_or_default().to_string())
            .collect();
        call_args.push(format!("'{}'", keys.join(",")));
    }
    let factor_text = format!("{}({}) AS {alias}", kind.function(), call_args.join(", "));
    let factor = Parser::new(&GenericDialect {})
        .try_with_sql(&factor_text)
        .and_then(|mut p| p.parse_table_factor())
        .map_err(parse_error)?;
    groups.splice(
        at..=at,
        [
            parse_expr(&format!("{alias}.window_start"))?,
            parse_expr(&format!("{alias}.window_end"))?,
        ],
    );
    select.from[0].relation = factor;
    // The auxiliary functions.
    let mut auxiliary = Auxiliary {
        prefix: kind.prefix(),
        alias: &alias,
    };
    for item in &mut select.projection {
        if let ControlFlow::Break(e) = item.visit(&mut auxiliary) {
            return Err(e);
        }
    }
    if let Some(having) = &mut select.having {
        if let ControlFlow::Break(e) = having.visit(&mut auxiliary) {
            return Err(e);
        }
    }
    Ok(())
}

/// Replaces `TUMBLE_START(...)` and friends with the window columns.
struct Auxiliary<'a> {
    prefix: &'static str,
    alias: &'a str,
}

impl VisitorMut for Auxiliary<'_> {
    type Break = SqlError;

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<SqlError> {
        let Expr::Function(function) = expr else {
            return ControlFlow::Continue(());
        };
        let name = function.name.to_string().to_ascii_uppercase();
        let Some(suffix) = name.strip_prefix(self.prefix).and_then(|s| s.strip_prefix('_')) else {
            return ControlFlow::Continue(());
        };
        let column = match suffix {
            "START" => "window_start",
            "END" => "window_end",
            "ROWTIME" => "window_time",
            _ => return ControlFlow::Break(unsupported(&name)),
        };
        match parse_expr(&format!("{}.{column}", self.alias)) {
            Ok(replacement) => {
                *expr = replacement;
                ControlFlow::Continue(())
            }
            Err(e) => ControlFlow::Break(e),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::front::{parse_statement, Statement};

    fn rewritten(sql: &str) -> Result<String, SqlError> {
        let Statement::Query(mut query) = parse_statement(sql).unwrap().statement else {
            panic!("not a query")
        };
        rewrite_legacy_windows(&mut query)?;
        Ok(query.to_string())
    }

    #[test]
    fn tumble_hop_and_session_become_window_functions() {
        assert_eq!(
            rewritten(
                "SELECT P.id, TUMBLE_START(P.dateTime, INTERVAL '10' SECOND) AS s, \
                 TUMBLE_END(P.dateTime, INTERVAL '10' SECOND) AS e FROM person P \
                 GROUP BY P.id, TUMBLE(P.dateTime, INTERVAL '10' SECOND)"
            )
            .unwrap(),
            "SELECT P.id, P.window_start AS s, P.window_end AS e FROM weir_tumble('person', 'dateTime', \
             INTERVAL '10' SECOND) AS P GROUP BY P.id, P.window_start, P.window_end"
        );
        assert_eq!(
            rewritten("SELECT count(*) FROM bid GROUP BY HOP(dateTime, INTERVAL '2' SECOND, INTERVAL '10' SECOND)")
                .unwrap(),
            "SELECT count(*) FROM weir_hop('bid', 'dateTime', INTERVAL '2' SECOND, INTERVAL '10' SECOND) AS bid \
             GROUP BY bid.window_start, bid.window_end"
        );
        assert_eq!(
            rewritten(
                "SELECT B.bidder, SESSION_ROWTIME(B.dateTime, INTERVAL '10' SECOND) FROM bid B \
                 GROUP BY B.bidder, SESSION(B.dateTime, INTERVAL '10' SECOND) \
                 HAVING SESSION_END(B.dateTime, INTERVAL '10' SECOND) > TIMESTAMP '2015-07-15 00:00:00'"
            )
            .unwrap(),
            "SELECT B.bidder, B.window_time FROM weir_session('bid', 'dateTime', INTERVAL '10' SECOND, 'bidder') \
             AS B GROUP BY B.bidder, B.window_start, B.window_end \
             HAVING B.window_end > TIMESTAMP '2015-07-15 00:00:00'"
        );
    }

    #[test]
    fn queries_without_group_windows_are_unchanged_and_bad_forms_are_errors() {
        let plain = "SELECT a, count(*) FROM t GROUP BY a";
        assert_eq!(rewritten(plain).unwrap(), plain);
        let join = rewritten("SELECT 1 FROM a JOIN b ON a.k = b.k GROUP BY TUMBLE(a.ts, INTERVAL '1' SECOND)");
        assert!(join.unwrap_err().to_string().contains("over a join"));
        let args = rewritten("SELECT 1 FROM a GROUP BY HOP(ts, INTERVAL '1' SECOND)");
        assert!(args.unwrap_err().to_string().contains("takes a time column and 2"));
        let proctime = rewritten(
            "SELECT TUMBLE_PROCTIME(ts, INTERVAL '1' SECOND) FROM a GROUP BY TUMBLE(ts, INTERVAL '1' SECOND)",
        );
        assert!(proctime.unwrap_err().to_string().contains("TUMBLE_PROCTIME"));
    }
}
