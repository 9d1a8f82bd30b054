//! Window TVFs: the token rewrite, and the rewritten SQL planned by DataFusion with
//! dummy `weir_*` table functions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast;
use weir_sql::error::SqlError;
use weir_sql::front::tvf::WINDOW_COLUMNS;
use weir_sql::front::{parse_statement, rewrite_window_tvfs, Statement, WindowKind, WindowTvf};

fn rewrite(sql: &str) -> String {
    rewrite_window_tvfs(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[test]
fn positional_forms() {
    assert_eq!(
        rewrite("SELECT * FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))"),
        "SELECT * FROM weir_tumble('bid', 'dateTime', INTERVAL '10' SECOND)"
    );
    assert_eq!(
        rewrite("SELECT * FROM TABLE(HOP(TABLE t, DESCRIPTOR(c), INTERVAL '2' SECOND, INTERVAL '10' SECOND)) AS w"),
        "SELECT * FROM weir_hop('t', 'c', INTERVAL '2' SECOND, INTERVAL '10' SECOND) AS w"
    );
    assert_eq!(
        rewrite("select * from table ( cumulate ( table t , descriptor ( c ) , interval '1' minute , interval '1' hour ) ) w"),
        "select * from weir_cumulate('t', 'c', interval '1' minute, interval '1' hour) w"
    );
    assert_eq!(
        rewrite(
            "SELECT * FROM TABLE(SESSION(TABLE bid PARTITION BY bidder, DESCRIPTOR(dateTime), INTERVAL '5' MINUTE))"
        ),
        "SELECT * FROM weir_session('bid', 'dateTime', INTERVAL '5' MINUTE, 'bidder')"
    );
    assert_eq!(
        rewrite("SELECT * FROM TABLE(SESSION(TABLE bid PARTITION BY (bidder, `auction`), DESCRIPTOR(dateTime), INTERVAL '5' MINUTE))"),
        "SELECT * FROM weir_session('bid', 'dateTime', INTERVAL '5' MINUTE, 'bidder,auction')"
    );
    assert_eq!(
        rewrite("SELECT * FROM TABLE(SESSION(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '5' MINUTE))"),
        "SELECT * FROM weir_session('bid', 'dateTime', INTERVAL '5' MINUTE, '')"
    );
    assert_eq!(
        rewrite(
            "SELECT * FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' MINUTE, INTERVAL '1' MINUTE))"
        ),
        "SELECT * FROM weir_tumble('bid', 'dateTime', INTERVAL '10' MINUTE, INTERVAL '1' MINUTE)"
    );
}

#[test]
fn named_forms() {
    assert_eq!(
        rewrite("SELECT * FROM TABLE(TUMBLE(DATA => TABLE bid, TIMECOL => DESCRIPTOR(dateTime), SIZE => INTERVAL '10' SECOND)) AS w"),
        "SELECT * FROM weir_tumble('bid', 'dateTime', INTERVAL '10' SECOND) AS w"
    );
    // Any order.
    assert_eq!(
        rewrite("SELECT * FROM TABLE(HOP(SIZE => INTERVAL '10' SECOND, SLIDE => INTERVAL '2' SECOND, TIMECOL => DESCRIPTOR(ts), DATA => TABLE t))"),
        "SELECT * FROM weir_hop('t', 'ts', INTERVAL '2' SECOND, INTERVAL '10' SECOND)"
    );
    assert_eq!(
        rewrite("SELECT * FROM TABLE(CUMULATE(DATA => TABLE t, TIMECOL => DESCRIPTOR(ts), STEP => INTERVAL '1' MINUTE, SIZE => INTERVAL '10' MINUTE))"),
        "SELECT * FROM weir_cumulate('t', 'ts', INTERVAL '1' MINUTE, INTERVAL '10' MINUTE)"
    );
    assert_eq!(
        rewrite("SELECT * FROM TABLE(SESSION(DATA => TABLE t PARTITION BY k, TIMECOL => DESCRIPTOR(ts), GAP => INTERVAL '1' MINUTE))"),
        "SELECT * FROM weir_session('t', 'ts', INTERVAL '1' MINUTE, 'k')"
    );
}

#[test]
fn rewrite_leaves_the_rest_alone() {
    let sql = "SELECT a, 'TABLE(TUMBLE(x))' FROM t /* TABLE(TUMBLE( */ GROUP BY TUMBLE(ts, INTERVAL '1' SECOND)";
    assert_eq!(rewrite(sql), sql);
    // Window joins: two TVFs in one query.
    let sql = "SELECT * FROM (SELECT * FROM TABLE(TUMBLE(TABLE l, DESCRIPTOR(ts), INTERVAL '5' MINUTE))) L \
               JOIN (SELECT * FROM TABLE(TUMBLE(TABLE r, DESCRIPTOR(ts), INTERVAL '5' MINUTE))) R \
               ON L.window_start = R.window_start";
    let out = rewrite(sql);
    assert!(
        out.contains("FROM weir_tumble('l', 'ts', INTERVAL '5' MINUTE)) L"),
        "{out}"
    );
    assert!(
        out.contains("FROM weir_tumble('r', 'ts', INTERVAL '5' MINUTE)) R"),
        "{out}"
    );
}

#[test]
fn subquery_input_is_unsupported() {
    for sql in [
        "SELECT * FROM TABLE(TUMBLE((SELECT * FROM bid), DESCRIPTOR(ts), INTERVAL '1' SECOND))",
        "SELECT * FROM TABLE(TUMBLE(TABLE (SELECT * FROM bid), DESCRIPTOR(ts), INTERVAL '1' SECOND))",
        "SELECT * FROM TABLE(TUMBLE(DATA => (SELECT * FROM bid), TIMECOL => DESCRIPTOR(ts), SIZE => INTERVAL '1' SECOND))",
    ] {
        let error = rewrite_window_tvfs(sql).unwrap_err();
        assert!(
            matches!(&error, SqlError::Unsupported { feature, .. } if feature == "window TVF over a subquery; use a view"),
            "{sql}: {error}"
        );
        assert!(error.to_string().starts_with("unsupported: window TVF over a subquery; use a view"));
    }
}

#[test]
fn bad_calls_are_errors() {
    for (sql, needle) in [
        ("SELECT * FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(ts)))", "needs argument 3 (SIZE)"),
        ("SELECT * FROM TABLE(TUMBLE(TABLE bid, ts, INTERVAL '1' SECOND))", "expected DESCRIPTOR"),
        ("SELECT * FROM TABLE(TUMBLE(bid, DESCRIPTOR(ts), INTERVAL '1' SECOND))", "expected TABLE <name>"),
        ("SELECT * FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(ts), INTERVAL '1' SECOND)", "closing TABLE(TUMBLE"),
        ("SELECT * FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(ts), INTERVAL '1' SECOND", "end of input"),
        ("SELECT * FROM TABLE(TUMBLE(DATA => TABLE bid, TIMECOL => DESCRIPTOR(ts), WIDTH => INTERVAL '1' SECOND))", "unknown argument 'WIDTH'"),
        ("SELECT * FROM TABLE(TUMBLE(TABLE bid PARTITION BY k, DESCRIPTOR(ts), INTERVAL '1' SECOND))", "only allowed for SESSION"),
        ("SELECT * FROM TABLE(HOP(TABLE bid, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '1' SECOND, INTERVAL '1' SECOND, INTERVAL '1' SECOND))", "too many arguments"),
        ("SELECT * FROM TABLE(TUMBLE(SIZE => INTERVAL '1' SECOND, TABLE bid))", "positional argument after named"),
    ] {
        let error = rewrite_window_tvfs(sql).unwrap_err();
        assert!(error.to_string().contains(needle), "{sql}: {error}");
        assert!(matches!(error, SqlError::Parse { .. }), "{sql}: {error:?}");
    }
}

#[test]
fn parsed_statements_carry_rewritten_asts() {
    let statement = parse_statement(
        "SELECT window_start, count(*) FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND)) AS w GROUP BY window_start, window_end",
    )
    .unwrap();
    let Statement::Query(query) = &statement.statement else {
        panic!()
    };
    let ast::SetExpr::Select(select) = query.body.as_ref() else {
        panic!()
    };
    let ast::TableFactor::Table { name, args, alias, .. } = &select.from[0].relation else {
        panic!("{:?}", select.from[0].relation)
    };
    assert_eq!(name.to_string(), "weir_tumble");
    assert_eq!(args.as_ref().unwrap().args.len(), 3);
    assert_eq!(alias.as_ref().unwrap().name.value, "w");
    // The text is what the user wrote.
    assert!(statement.text.contains("TABLE(TUMBLE(TABLE bid"));
}

// ----- planning the rewritten SQL in DataFusion --------------------------------------

/// A stand-in for the planner's window table functions: an empty table with the
/// input's columns and the window columns; records what it recognised.
#[derive(Debug)]
struct DummyWindowFunction {
    name: &'static str,
    tables: HashMap<String, SchemaRef>,
    seen: Arc<Mutex<Vec<WindowTvf>>>,
}

impl TableFunctionImpl for DummyWindowFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> DfResult<Arc<dyn TableProvider>> {
        let tvf = WindowTvf::from_table_function(self.name, args.exprs())
            .map_err(|e| DataFusionError::Plan(e.to_string()))?;
        let input = self
            .tables
            .get(&tvf.table)
            .ok_or_else(|| DataFusionError::Plan(format!("unknown table {}", tvf.table)))?;
        let mut fields: Vec<Field> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
        for column in WINDOW_COLUMNS {
            fields.push(Field::new(
                column,
                DataType::Timestamp(TimeUnit::Millisecond, None),
                false,
            ));
        }
        self.seen.lock().expect("lock").push(tvf);
        let schema = Arc::new(Schema::new(fields));
        Ok(Arc::new(MemTable::try_new(schema, vec![vec![]])?))
    }
}

fn bid_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("auction", DataType::Int64, true),
        Field::new("bidder", DataType::Int64, true),
        Field::new("price", DataType::Int64, true),
        Field::new("channel", DataType::Utf8, true),
        Field::new("url", DataType::Utf8, true),
        Field::new("dateTime", DataType::Timestamp(TimeUnit::Millisecond, None), true),
        Field::new("extra", DataType::Utf8, true),
    ]))
}

fn context() -> (SessionContext, Arc<Mutex<Vec<WindowTvf>>>) {
    let mut config = SessionConfig::new();
    // Flink identifiers are case-sensitive (`dateTime`).
    config.options_mut().sql_parser.enable_ident_normalization = false;
    let ctx = SessionContext::new_with_config(config);
    let bid = MemTable::try_new(bid_schema(), vec![vec![]]).expect("bid table");
    ctx.register_table("bid", Arc::new(bid)).expect("register bid");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let tables: HashMap<String, SchemaRef> = [("bid".to_string(), bid_schema())].into();
    for name in ["weir_tumble", "weir_hop", "weir_cumulate", "weir_session"] {
        ctx.register_udtf(
            name,
            Arc::new(DummyWindowFunction {
                name,
                tables: tables.clone(),
                seen: seen.clone(),
            }),
        );
    }
    (ctx, seen)
}

#[test]
fn rewritten_sql_plans_in_datafusion() {
    let (ctx, seen) = context();
    let sql = rewrite(
        "SELECT window_start, count(*) FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND)) GROUP BY window_start, window_end",
    );
    let plan =
        futures::executor::block_on(ctx.state().create_logical_plan(&sql)).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let schema = plan.schema();
    assert_eq!(schema.fields().len(), 2);
    assert_eq!(schema.field(0).name(), "window_start");
    assert_eq!(
        seen.lock().unwrap().as_slice(),
        [WindowTvf {
            kind: WindowKind::Tumble { size_ms: 10_000 },
            table: "bid".into(),
            time_column: "dateTime".into(),
            offset_ms: 0,
        }]
    );
}

#[test]
fn every_kind_plans_from_the_parsed_ast() {
    let (ctx, seen) = context();
    let cases = [
        (
            "SELECT w.window_start, max(w.price) FROM TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND)) AS w GROUP BY w.window_start",
            WindowKind::Hop { slide_ms: 2_000, size_ms: 10_000 },
            0,
        ),
        (
            "SELECT window_end, sum(price) FROM TABLE(CUMULATE(DATA => TABLE bid, TIMECOL => DESCRIPTOR(dateTime), STEP => INTERVAL '1' MINUTE, SIZE => INTERVAL '1' HOUR)) w GROUP BY window_start, window_end",
            WindowKind::Cumulate { step_ms: 60_000, max_size_ms: 3_600_000 },
            0,
        ),
        (
            "SELECT bidder, window_start, count(*) FROM TABLE(SESSION(TABLE bid PARTITION BY (bidder, auction), DESCRIPTOR(dateTime), INTERVAL '5' MINUTE)) GROUP BY bidder, window_start, window_end",
            WindowKind::Session { gap_ms: 300_000, partition_keys: vec!["bidder".into(), "auction".into()] },
            0,
        ),
        (
            "SELECT window_start FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '1' DAY, INTERVAL '8' HOUR))",
            WindowKind::Tumble { size_ms: 86_400_000 },
            28_800_000,
        ),
    ];
    for (sql, kind, offset_ms) in cases {
        let parsed = parse_statement(sql).unwrap();
        let Statement::Query(query) = parsed.statement else {
            panic!()
        };
        let statement = DfStatement::Statement(Box::new(ast::Statement::Query(query)));
        ctx.state()
            .statement_to_plan(statement)
            .now_or_never_plan()
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let last = seen.lock().unwrap().last().cloned().unwrap();
        assert_eq!(last.kind, kind, "{sql}");
        assert_eq!(last.offset_ms, offset_ms, "{sql}");
        assert_eq!(last.table, "bid");
        assert_eq!(last.time_column, "dateTime");
    }
}

/// Runs a planning future to completion (it does no I/O).
trait NowOrNever {
    type Output;
    fn now_or_never_plan(self) -> Self::Output;
}

impl<F: std::future::Future> NowOrNever for F {
    type Output = F::Output;
    fn now_or_never_plan(self) -> F::Output {
        futures::executor::block_on(self)
    }
}

#[test]
fn recognises_arguments_and_rejects_bad_ones() {
    use datafusion::logical_expr::{lit, Expr};
    use datafusion::scalar::ScalarValue;
    let interval = |ms: i64| Expr::Literal(ScalarValue::new_interval_mdn(0, 0, ms * 1_000_000), None);
    let tvf =
        WindowTvf::from_table_function("weir_session", &[lit("t"), lit("c"), interval(1500), lit("a, b")]).unwrap();
    assert_eq!(
        tvf.kind,
        WindowKind::Session {
            gap_ms: 1500,
            partition_keys: vec!["a".into(), "b".into()]
        }
    );
    assert_eq!(tvf.function_name(), "weir_session");

    for (name, args, needle) in [
        (
            "weir_tumble",
            vec![lit("t"), lit("c")],
            "expected 3 to 4 arguments, found 2",
        ),
        (
            "weir_tumble",
            vec![lit("t"), lit("c"), lit(5)],
            "expected an INTERVAL literal",
        ),
        ("weir_tumble", vec![lit("t"), lit(1), interval(5)], "string literal"),
        ("weir_tumble", vec![lit("t"), lit("c"), interval(0)], "positive"),
        (
            "weir_tumble",
            vec![
                lit("t"),
                lit("c"),
                Expr::Literal(ScalarValue::new_interval_mdn(1, 0, 0), None),
            ],
            "months",
        ),
        (
            "weir_hop",
            vec![lit("t"), lit("c"), interval(5)],
            "expected 4 to 5 arguments",
        ),
        (
            "weir_cumulate",
            vec![lit("t"), lit("c"), interval(3), interval(10)],
            "whole multiple",
        ),
        (
            "weir_nope",
            vec![lit("t"), lit("c"), interval(3)],
            "not a window table function",
        ),
    ] {
        let error = WindowTvf::from_table_function(name, &args).unwrap_err();
        assert!(error.to_string().contains(needle), "{name}: {error}");
    }
}
