//! Each statement kind of the Flink dialect.

use arrow::datatypes::{DataType, TimeUnit};
use weir_sql::front::{parse_script, parse_statement, ObjectKind, Statement};

fn one(sql: &str) -> Statement {
    parse_statement(sql).unwrap_or_else(|e| panic!("{sql}: {e}")).statement
}

#[test]
fn create_table_with_every_column_kind() {
    let Statement::CreateTable(create) = one("CREATE TEMPORARY TABLE IF NOT EXISTS orders (
            id BIGINT NOT NULL,
            user_id INT,
            amount DECIMAL(10, 2),
            tags ARRAY<STRING>,
            attrs MAP<STRING, BIGINT>,
            nested ARRAY<ROW<a INT, b ARRAY<ROW(c STRING NOT NULL)>>>,
            postfix INT ARRAY,
            raw_bytes BYTES,
            bin VARBINARY(16),
            c CHAR(3),
            d DATE,
            t TIME(3),
            ts TIMESTAMP(3),
            ts6 TIMESTAMP,
            ltz TIMESTAMP_LTZ(3),
            ltz2 TIMESTAMP(3) WITH LOCAL TIME ZONE,
            flag BOOLEAN,
            tiny TINYINT,
            small SMALLINT,
            f FLOAT,
            dbl DOUBLE,
            dec_default DECIMAL,
            kafka_ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,
            part INT METADATA,
            total AS amount * 2 COMMENT 'doubled',
            proc AS PROCTIME(),
            WATERMARK FOR ts AS ts - INTERVAL '5' SECOND,
            PRIMARY KEY (id, user_id) NOT ENFORCED
        ) COMMENT 'orders table'
        PARTITIONED BY (d)
        WITH ('connector' = 'kafka', 'topic' = 'orders', 'scan.startup.mode' = 'earliest-offset')")
    else {
        panic!("not a create table");
    };
    assert!(create.if_not_exists);
    let t = &create.table;
    assert!(t.temporary);
    assert_eq!(t.name, "orders");
    assert_eq!(t.comment.as_deref(), Some("orders table"));
    assert_eq!(t.partitioned_by, ["d"]);
    assert_eq!(t.primary_key, ["id", "user_id"]);
    assert_eq!(t.options.len(), 3);
    assert_eq!(t.connector(), Some("kafka"));
    let s = &t.schema;
    let ty = |n: &str| s.field_with_name(n).unwrap().data_type().clone();
    assert!(!s.field_with_name("id").unwrap().is_nullable());
    // Primary key columns become NOT NULL.
    assert!(!s.field_with_name("user_id").unwrap().is_nullable());
    assert_eq!(ty("amount"), DataType::Decimal128(10, 2));
    assert_eq!(ty("dec_default"), DataType::Decimal128(10, 0));
    assert_eq!(weir_sql::front::flink_type_name(&ty("tags"), true), "ARRAY<STRING>");
    assert_eq!(
        weir_sql::front::flink_type_name(&ty("attrs"), true),
        "MAP<STRING NOT NULL, BIGINT>"
    );
    assert_eq!(
        weir_sql::front::flink_type_name(&ty("nested"), true),
        "ARRAY<ROW<`a` INT, `b` ARRAY<ROW<`c` STRING NOT NULL>>>>"
    );
    assert_eq!(weir_sql::front::flink_type_name(&ty("postfix"), true), "ARRAY<INT>");
    assert_eq!(ty("raw_bytes"), DataType::Binary);
    assert_eq!(ty("bin"), DataType::Binary);
    assert_eq!(ty("c"), DataType::Utf8);
    assert_eq!(ty("d"), DataType::Date32);
    assert_eq!(ty("t"), DataType::Time32(TimeUnit::Millisecond));
    assert_eq!(ty("ts"), DataType::Timestamp(TimeUnit::Millisecond, None));
    assert_eq!(ty("ts6"), DataType::Timestamp(TimeUnit::Millisecond, None));
    assert_eq!(
        ty("ltz"),
        DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
    );
    assert_eq!(ty("ltz2"), ty("ltz"));
    assert_eq!(ty("flag"), DataType::Boolean);
    assert_eq!(ty("tiny"), DataType::Int8);
    assert_eq!(ty("small"), DataType::Int16);
    assert_eq!(ty("f"), DataType::Float32);
    assert_eq!(ty("dbl"), DataType::Float64);
    assert_eq!(s.fields().len(), 22);
    assert_eq!(t.metadata.len(), 2);
    assert_eq!(t.metadata[0].key, "timestamp");
    assert!(t.metadata[0].is_virtual);
    assert_eq!(t.metadata[1].key, "part");
    assert_eq!(t.computed.len(), 2);
    assert_eq!(t.computed[0].text, "amount * 2");
    assert_eq!(t.computed[1].text, "PROCTIME()");
    assert_eq!(t.computed[1].position, 25);
    assert_eq!(t.column_comments["total"], "doubled");
    assert_eq!(t.watermark.as_ref().unwrap().column, "ts");
    let columns = t.columns();
    assert_eq!(columns.len(), 26);
    assert_eq!(columns[22].0, "kafka_ts");
    assert_eq!(columns[24].0, "total");
}

#[test]
fn inline_primary_key_and_constraint_name() {
    let Statement::CreateTable(a) = one("CREATE TABLE a (id INT PRIMARY KEY NOT ENFORCED, v STRING)") else {
        panic!()
    };
    assert_eq!(a.table.primary_key, ["id"]);
    assert!(a.table.options.is_empty());
    let Statement::CreateTable(b) = one(
        "create table b (id int, v string, constraint pk primary key (id) not enforced) with ('connector'='datagen')",
    ) else {
        panic!()
    };
    assert_eq!(b.table.primary_key, ["id"]);
    assert_eq!(b.table.connector(), Some("datagen"));
}

#[test]
fn views_functions_and_drops() {
    let Statement::CreateView(v) = one("CREATE TEMPORARY VIEW IF NOT EXISTS v (a, b) AS SELECT x, y FROM t") else {
        panic!()
    };
    assert!(v.if_not_exists);
    assert!(v.view.temporary);
    assert_eq!(v.view.columns, ["a", "b"]);
    assert_eq!(v.view.query_text, "SELECT x, y FROM t");

    let Statement::CreateFunction(f) =
        one("CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS my_fn AS 'my_udf' LANGUAGE JAVA")
    else {
        panic!()
    };
    assert!(f.if_not_exists);
    assert!(f.function.temporary);
    assert_eq!(f.function.name, "my_fn");
    assert_eq!(f.function.registered_name, "my_udf");
    assert_eq!(f.function.language.as_deref(), Some("JAVA"));

    for (sql, kind, if_exists) in [
        ("DROP TABLE t", ObjectKind::Table, false),
        ("DROP TABLE IF EXISTS t", ObjectKind::Table, true),
        ("DROP TEMPORARY VIEW IF EXISTS t", ObjectKind::View, true),
        ("drop view t", ObjectKind::View, false),
        ("DROP FUNCTION t", ObjectKind::Function, false),
    ] {
        let Statement::Drop(d) = one(sql) else { panic!("{sql}") };
        assert_eq!(d.kind, kind, "{sql}");
        assert_eq!(d.if_exists, if_exists, "{sql}");
        assert_eq!(d.name, "t");
    }
}

#[test]
fn inserts_and_statement_sets() {
    let Statement::Insert(i) = one("INSERT INTO sink (a, b) SELECT x, y FROM src WHERE x > 1") else {
        panic!()
    };
    assert_eq!(i.table, "sink");
    assert_eq!(i.columns, ["a", "b"]);
    assert!(!i.overwrite);
    assert_eq!(i.query.to_string(), "SELECT x, y FROM src WHERE x > 1");

    let Statement::Insert(i) = one("INSERT INTO sink (SELECT 1)") else {
        panic!()
    };
    assert!(i.columns.is_empty());
    let Statement::Insert(i) = one("INSERT OVERWRITE sink VALUES (1, 'a'), (2, 'b')") else {
        panic!()
    };
    assert!(i.overwrite);
    let Statement::Insert(_) = one("EXECUTE INSERT INTO sink SELECT * FROM src") else {
        panic!()
    };

    let script = "
        EXECUTE STATEMENT SET
        BEGIN
            INSERT INTO s1 SELECT * FROM src;
            INSERT INTO s2 SELECT a FROM src WHERE a > 0;
        END;
        BEGIN STATEMENT SET;
        INSERT INTO s3 SELECT * FROM src;
        INSERT INTO s4 SELECT * FROM src;
        END;
        SELECT 1;
    ";
    let statements = parse_script(script).unwrap();
    assert_eq!(statements.len(), 3);
    let Statement::StatementSet(set) = &statements[0].statement else {
        panic!()
    };
    assert_eq!(set.len(), 2);
    assert_eq!(set[0].table, "s1");
    assert_eq!(set[1].text, "INSERT INTO s2 SELECT a FROM src WHERE a > 0");
    let Statement::StatementSet(set) = &statements[1].statement else {
        panic!()
    };
    assert_eq!(set.iter().map(|i| i.table.as_str()).collect::<Vec<_>>(), ["s3", "s4"]);
    assert!(statements[0].text.starts_with("EXECUTE STATEMENT SET"));
    assert!(statements[0].text.ends_with("END"));
    assert!(matches!(statements[2].statement, Statement::Query(_)));
}

#[test]
fn set_reset_show_describe() {
    assert_eq!(
        one("SET 'table.exec.state.ttl' = '1 h'"),
        Statement::Set {
            key: "table.exec.state.ttl".into(),
            value: "1 h".into()
        }
    );
    assert_eq!(
        one("SET table.exec.mini-batch.enabled = true"),
        Statement::Set {
            key: "table.exec.mini-batch.enabled".into(),
            value: "true".into()
        }
    );
    assert_eq!(
        one("SET parallelism.default=4;"),
        Statement::Set {
            key: "parallelism.default".into(),
            value: "4".into()
        }
    );
    assert_eq!(one("SET"), Statement::ShowOptions);
    assert_eq!(
        one("RESET 'table.exec.state.ttl'"),
        Statement::Reset {
            key: Some("table.exec.state.ttl".into())
        }
    );
    assert_eq!(one("RESET"), Statement::Reset { key: None });
    assert_eq!(one("SHOW TABLES"), Statement::ShowTables);
    assert_eq!(one("show views"), Statement::ShowViews);
    assert_eq!(one("SHOW FUNCTIONS"), Statement::ShowFunctions);
    assert_eq!(one("SHOW USER FUNCTIONS"), Statement::ShowFunctions);
    assert_eq!(one("DESCRIBE bid"), Statement::Describe { name: "bid".into() });
    assert_eq!(one("DESC `bid`"), Statement::Describe { name: "bid".into() });
}

#[test]
fn explain_and_queries() {
    let Statement::Explain { details, statement } = one("EXPLAIN PLAN FOR SELECT * FROM bid") else {
        panic!()
    };
    assert!(details.is_empty());
    assert!(matches!(statement.statement, Statement::Query(_)));
    assert_eq!(statement.text, "SELECT * FROM bid");

    let Statement::Explain { details, statement } =
        one("EXPLAIN CHANGELOG_MODE, ESTIMATED_COST INSERT INTO s SELECT * FROM bid")
    else {
        panic!()
    };
    assert_eq!(details, ["CHANGELOG_MODE", "ESTIMATED_COST"]);
    assert!(matches!(statement.statement, Statement::Insert(_)));

    let Statement::Explain { statement, .. } =
        one("EXPLAIN STATEMENT SET BEGIN INSERT INTO a SELECT 1; INSERT INTO b SELECT 2; END")
    else {
        panic!()
    };
    assert!(matches!(statement.statement, Statement::StatementSet(ref s) if s.len() == 2));

    for sql in [
        "SELECT 1",
        "WITH x AS (SELECT 1 AS a) SELECT a FROM x",
        "(SELECT 1) UNION ALL (SELECT 2)",
        "VALUES (1), (2)",
        "SELECT a FROM t1 JOIN t2 FOR SYSTEM_TIME AS OF t1.proc AS d ON t1.k = d.k",
        "SELECT count(DISTINCT a) FILTER (WHERE b > 1) FROM t",
        "SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY a ORDER BY ts DESC) AS rn FROM t) WHERE rn <= 3",
        "SELECT sum(x) OVER (PARTITION BY k ORDER BY ts RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW) FROM t",
        "SELECT a, TUMBLE_START(ts, INTERVAL '1' MINUTE) FROM t GROUP BY a, TUMBLE(ts, INTERVAL '1' MINUTE)",
        "SELECT HOP_END(ts, INTERVAL '1' MINUTE, INTERVAL '5' MINUTE) FROM t GROUP BY HOP(ts, INTERVAL '1' MINUTE, INTERVAL '5' MINUTE)",
        "SELECT SESSION_START(ts, INTERVAL '1' MINUTE) FROM t GROUP BY SESSION(ts, INTERVAL '1' MINUTE)",
    ] {
        assert!(matches!(one(sql), Statement::Query(_)), "{sql}");
    }
}

#[test]
fn scripts_with_comments_and_lines() {
    let script = "
-- a comment; with a semicolon
SET 'parallelism.default' = '2'; /* block; comment */
CREATE TABLE t (
    a INT, -- trailing comment
    /* inner */ b STRING
) WITH ('connector' = 'datagen');;

SELECT a,
       b
FROM t
-- closing comment";
    let statements = parse_script(script).unwrap();
    assert_eq!(statements.len(), 3);
    assert_eq!(statements[0].position.line, 3);
    assert_eq!(statements[1].position.line, 4);
    assert_eq!(statements[1].position.column, 1);
    assert_eq!(statements[2].text, "SELECT a,\n       b\nFROM t");
    assert!(parse_script("  -- nothing\n ; ;").unwrap().is_empty());
}

#[test]
fn flink_map_constructor_plans_in_datafusion() {
    let Statement::Query(query) = one("SELECT MAP['a', 1, 'b', ARRAY[2, 3][1]] AS m, MAP[] AS e") else {
        panic!()
    };
    assert_eq!(
        query.to_string(),
        "SELECT MAP {'a': 1, 'b': ARRAY[2, 3][1]} AS m, MAP {} AS e"
    );
    let ctx = datafusion::prelude::SessionContext::new();
    let statement = datafusion::sql::parser::Statement::Statement(Box::new(
        datafusion::sql::sqlparser::ast::Statement::Query(query),
    ));
    let plan = futures::executor::block_on(ctx.state().statement_to_plan(statement)).unwrap();
    assert!(matches!(plan.schema().field(0).data_type(), DataType::Map(_, _)));
    let error = parse_statement("SELECT MAP['a', 1, 'b']").unwrap_err();
    assert!(error.to_string().contains("key, value pairs"), "{error}");
}

#[test]
fn flink_types_in_queries_plan_with_the_type_planner() {
    use std::sync::Arc;

    use arrow::datatypes::{Field, Schema};
    use datafusion::datasource::MemTable;
    use datafusion::execution::SessionStateBuilder;
    use datafusion::prelude::SessionContext;
    use weir_sql::front::FlinkTypePlanner;

    let mut config = datafusion::prelude::SessionConfig::new();
    // Flink's strings are `Utf8` in the catalog's schemas too.
    config.options_mut().sql_parser.map_string_types_to_utf8view = false;
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .with_type_planner(Arc::new(FlinkTypePlanner))
        .build();
    let ctx = SessionContext::new_with_state(state);
    let schema = Arc::new(Schema::new(vec![
        Field::new("a", DataType::Int64, true),
        Field::new("s", DataType::Utf8, true),
    ]));
    ctx.register_table("t", Arc::new(MemTable::try_new(schema, vec![vec![]]).unwrap()))
        .unwrap();
    let Statement::Query(query) = one(
        "SELECT CAST(a AS TIMESTAMP_LTZ(3)) AS l1, CAST(a AS TIMESTAMP(3) WITH LOCAL TIME ZONE) AS l2, \
         CAST(a AS TIMESTAMP(3)) AS t, CAST(s AS BYTES) AS b, CAST(a AS STRING) AS s2, \
         CAST(NULL AS ROW<x INT, y ARRAY<STRING>>) AS r FROM t",
    ) else {
        panic!()
    };
    let statement = datafusion::sql::parser::Statement::Statement(Box::new(
        datafusion::sql::sqlparser::ast::Statement::Query(query),
    ));
    let plan = futures::executor::block_on(ctx.state().statement_to_plan(statement)).unwrap();
    let types: Vec<DataType> = plan.schema().fields().iter().map(|f| f.data_type().clone()).collect();
    assert_eq!(
        types,
        [
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            DataType::Timestamp(TimeUnit::Millisecond, None),
            DataType::Binary,
            DataType::Utf8,
            DataType::Struct(
                vec![
                    Field::new("x", DataType::Int32, true),
                    Field::new(
                        "y",
                        DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                        true
                    ),
                ]
                .into()
            ),
        ]
    );
}
