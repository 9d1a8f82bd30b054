//! Flink's built-in scalar functions that DataFusion lacks or names or evaluates
//! differently, as DataFusion scalar UDFs vectorized over Arrow arrays.
//!
//! | function | file | Flink meaning |
//! | --- | --- | --- |
//! | `DATE_FORMAT(ts, fmt)`, `DATE_FORMAT(str, fmt)` | [`date_format`] | a timestamp as text in a Java date-time pattern |
//! | `SPLIT_INDEX(str, sep, i)`, `REGEXP_EXTRACT(str, re [, i])` | [`strings`] | a field of a split string; a regex group of the first match |
//! | `HOUR`, `MINUTE`, `SECOND`, `YEAR`, `MONTH`, `DAYOFMONTH`, `DAYOFWEEK` | [`time_parts`] | a field of a timestamp as `BIGINT` (day of week: 1 = Sunday) |
//! | `PROCTIME()` | [`proctime`] | the wall-clock time of processing, never constant-folded |
//! | `IF(cond, a, b)` | [`conditional`] | `a` where `cond` is true, else `b` |
//! | `MOD(a, b)` | [`arithmetic`] | the remainder of integers, with the sign of `a` |
//! | `UNIX_TIMESTAMP([str [, fmt]])`, `FROM_UNIXTIME(n [, fmt])`, `TO_TIMESTAMP(str [, fmt])`, `TO_TIMESTAMP_LTZ(n [, p])` | [`time_text`] | epoch seconds from text and back, text as `TIMESTAMP(3)` (UTC), epoch millis or seconds as `TIMESTAMP_LTZ(3)` |
//! | `CONCAT(a, ...)` | [`strings`] | the concatenation, NULL if any argument is NULL |
//!
//! DataFusion's own `char_length`, `lower`, `upper`, `substring`, `concat_ws`,
//! `power`, `trim`, `replace`, `ifnull` and `coalesce` already have Flink's
//! meaning and are not replaced. Java date-time patterns are translated by
//! [`java_pattern`]. Rust table functions registered by users are checked and
//! described by [`table`].

pub mod arithmetic;
pub mod conditional;
pub mod date_format;
pub mod java_pattern;
pub mod proctime;
pub mod strings;
pub mod table;
pub mod time_parts;
pub mod time_text;

mod args;
mod cache;
pub mod renamed;

use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::SessionContext;

/// Every Flink function of this module, as DataFusion UDFs.
pub fn flink_functions() -> Vec<ScalarUDF> {
    let mut functions = vec![
        ScalarUDF::from(date_format::DateFormat::new()),
        ScalarUDF::from(strings::SplitIndex::new()),
        ScalarUDF::from(strings::RegexpExtract::new()),
        ScalarUDF::from(proctime::Proctime::new()),
        ScalarUDF::from(conditional::If::new()),
        ScalarUDF::from(arithmetic::Mod::new()),
        ScalarUDF::from(strings::Concat::new()),
        ScalarUDF::from(time_text::UnixTimestamp::new()),
        ScalarUDF::from(time_text::FromUnixtime::new()),
        ScalarUDF::from(time_text::ToTimestamp::new()),
        ScalarUDF::from(time_text::ToTimestampLtz::new()),
    ];
    functions.extend(time_parts::TimePart::all().into_iter().map(ScalarUDF::from));
    functions
}

/// Registers the Flink functions on `ctx`, replacing DataFusion's functions of
/// the same name and another meaning: `date_format` (DataFusion's alias of
/// `to_char`, with chrono patterns), `from_unixtime` (a timestamp instead of
/// text), `to_timestamp` (chrono patterns, nanoseconds) and `concat` (which
/// skips NULLs).
pub fn register_flink_functions(ctx: &SessionContext) {
    for function in flink_functions() {
        ctx.register_udf(function);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    use datafusion::datasource::MemTable;
    use datafusion::execution::FunctionRegistry;
    use datafusion::logical_expr::LogicalPlan;
    use datafusion::prelude::SessionConfig;
    use std::sync::Arc;

    /// A context as [`crate::plan::SqlPlanner`]'s (case-sensitive identifiers)
    /// with the functions and a table `t(ts TIMESTAMP(3), s STRING, n BIGINT, d DATE)`.
    fn context() -> SessionContext {
        let mut config = SessionConfig::new();
        config.options_mut().sql_parser.enable_ident_normalization = false;
        let ctx = SessionContext::new_with_config(config);
        register_flink_functions(&ctx);
        let schema = Arc::new(Schema::new(vec![
            Field::new("ts", DataType::Timestamp(TimeUnit::Millisecond, None), true),
            Field::new("s", DataType::Utf8, true),
            Field::new("n", DataType::Int64, true),
            Field::new("d", DataType::Date32, true),
        ]));
        let table = MemTable::try_new(schema, vec![vec![]]).unwrap();
        ctx.register_table("t", Arc::new(table)).unwrap();
        ctx
    }

    fn plan(ctx: &SessionContext, sql: &str) -> datafusion::common::Result<LogicalPlan> {
        let state = ctx.state();
        let plan = futures::executor::block_on(state.create_logical_plan(sql))?;
        state.optimize(&plan)
    }

    #[test]
    fn the_planner_gives_flinks_return_types() {
        let ctx = context();
        let timestamp = DataType::Timestamp(TimeUnit::Millisecond, None);
        let cases = [
            ("HOUR(ts)", DataType::Int64),
            ("MINUTE(ts)", DataType::Int64),
            ("SECOND(ts)", DataType::Int64),
            ("YEAR(ts)", DataType::Int64),
            ("MONTH(d)", DataType::Int64),
            ("DAYOFMONTH(ts)", DataType::Int64),
            ("DAYOFWEEK(ts)", DataType::Int64),
            ("DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm')", DataType::Utf8),
            ("DATE_FORMAT(s, 'HH:mm')", DataType::Utf8),
            ("SPLIT_INDEX(s, '/', 3)", DataType::Utf8),
            ("REGEXP_EXTRACT(s, 'a(b)', 1)", DataType::Utf8),
            ("REGEXP_EXTRACT(s, 'a')", DataType::Utf8),
            ("PROCTIME()", timestamp),
            ("IF(n > 1, n, 0)", DataType::Int64),
            ("IF(n > 1, 'big', s)", DataType::Utf8),
            ("MOD(n, 123)", DataType::Int64),
            ("UNIX_TIMESTAMP()", DataType::Int64),
            ("UNIX_TIMESTAMP(s, 'yyyy-MM-dd')", DataType::Int64),
            ("FROM_UNIXTIME(n)", DataType::Utf8),
            ("TO_TIMESTAMP(s)", DataType::Timestamp(TimeUnit::Millisecond, None)),
            (
                "TO_TIMESTAMP(s, 'yyyyMMdd')",
                DataType::Timestamp(TimeUnit::Millisecond, None),
            ),
            ("CONCAT(s, '-', n)", DataType::Utf8),
        ];
        for (expr, expected) in cases {
            let plan = plan(&ctx, &format!("SELECT {expr} FROM t")).unwrap_or_else(|e| panic!("{expr}: {e}"));
            assert_eq!(plan.schema().field(0).data_type(), &expected, "{expr}");
        }
    }

    #[test]
    fn bad_calls_are_planning_errors() {
        let ctx = context();
        let cases = [
            ("DATE_FORMAT(ts, 'yyyy-QQ')", "unsupported letter 'Q'"),
            (
                "DATE_FORMAT(n, 'yyyy')",
                "DATE_FORMAT: argument 1 must be a timestamp or a string",
            ),
            ("HOUR(s)", "HOUR: the argument must be a timestamp"),
            ("SPLIT_INDEX(s, '/')", "SPLIT_INDEX takes 3 arguments, got 2"),
            ("IF(n, 1, 2)", "IF: the condition must be a boolean"),
            ("FROM_UNIXTIME(n, 'QQ')", "unsupported letter 'Q'"),
        ];
        for (expr, message) in cases {
            let error = plan(&ctx, &format!("SELECT {expr} FROM t")).unwrap_err().to_string();
            assert!(error.contains(message), "{expr}: {error}");
        }
    }

    #[test]
    fn flink_names_replace_datafusions_and_builtins_with_flinks_meaning_stay() {
        let ctx = context();
        let ours = |name: &str| {
            let udf = ctx.udf(name).unwrap();
            let any: &dyn std::any::Any = udf.inner().as_ref();
            any.is::<date_format::DateFormat>()
        };
        assert!(ours("date_format"));
        // to_char keeps its chrono patterns under its own name.
        assert!(!ours("to_char"));
        for builtin in [
            "char_length",
            "lower",
            "upper",
            "substr",
            "concat",
            "concat_ws",
            "power",
            "btrim",
            "replace",
            "ifnull",
            "coalesce",
        ] {
            assert!(ctx.udf(builtin).is_ok(), "{builtin}");
        }
    }

    #[test]
    fn proctime_is_not_folded_but_if_becomes_case() {
        let ctx = context();
        let plan = plan(&ctx, "SELECT PROCTIME(), IF(n > 1, n, 0) FROM t").unwrap();
        let text = plan.display_indent().to_string();
        assert!(text.contains("proctime()"), "{text}");
        assert!(text.contains("CASE WHEN"), "{text}");
    }
}
