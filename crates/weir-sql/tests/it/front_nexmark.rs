//! The Flink Nexmark DDL, views and queries parse and go into a catalog.

use arrow::datatypes::{DataType, Field, Fields, TimeUnit};
use weir_sql::front::{parse_script, ApplyOutcome, Catalog, Statement};

use crate::nexmark_sql::{queries, DDL};

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, None)
}

#[test]
fn nexmark_ddl_goes_into_a_catalog_with_arrow_types() {
    let statements = parse_script(DDL).unwrap();
    assert_eq!(statements.len(), 4);
    let mut catalog = Catalog::new();
    for s in &statements {
        assert_eq!(catalog.apply(&s.statement).unwrap(), ApplyOutcome::Changed);
    }
    let datagen = catalog.table("datagen").unwrap();
    assert_eq!(datagen.connector(), Some("nexmark"));
    assert_eq!(datagen.options.len(), 7);
    assert_eq!(datagen.options["bid.proportion"], "46");
    assert_eq!(datagen.options["first-event.rate"], "10000000");

    let schema = &datagen.schema;
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["event_type", "person", "auction", "bid"]);
    assert_eq!(schema.field(0).data_type(), &DataType::Int32);
    assert!(schema.field(0).is_nullable());
    let person = Fields::from(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("emailAddress", DataType::Utf8, true),
        Field::new("creditCard", DataType::Utf8, true),
        Field::new("city", DataType::Utf8, true),
        Field::new("state", DataType::Utf8, true),
        Field::new("dateTime", ts(), true),
        Field::new("extra", DataType::Utf8, true),
    ]);
    assert_eq!(schema.field(1).data_type(), &DataType::Struct(person));
    let DataType::Struct(auction) = schema.field(2).data_type() else {
        panic!("auction is not a struct");
    };
    assert_eq!(auction.len(), 10);
    assert_eq!(auction[6].name(), "expires");
    assert_eq!(auction[6].data_type(), &ts());
    let bid = Fields::from(vec![
        Field::new("auction", DataType::Int64, true),
        Field::new("bidder", DataType::Int64, true),
        Field::new("price", DataType::Int64, true),
        Field::new("channel", DataType::Utf8, true),
        Field::new("url", DataType::Utf8, true),
        Field::new("dateTime", ts(), true),
        Field::new("extra", DataType::Utf8, true),
    ]);
    assert_eq!(schema.field(3).data_type(), &DataType::Struct(bid));

    assert_eq!(datagen.computed.len(), 1);
    let computed = &datagen.computed[0];
    assert_eq!(computed.name, "dateTime");
    assert_eq!(computed.position, 4);
    assert!(computed.text.starts_with("CASE"), "{}", computed.text);
    assert!(computed.text.ends_with("END"), "{}", computed.text);
    assert!(matches!(
        computed.expr,
        datafusion::sql::sqlparser::ast::Expr::Case { .. }
    ));

    let watermark = datagen.watermark.as_ref().unwrap();
    assert_eq!(watermark.column, "dateTime");
    assert_eq!(watermark.text, "dateTime - INTERVAL '4' SECOND");
    assert_eq!(watermark.expr.to_string(), "dateTime - INTERVAL '4' SECOND");
    assert_eq!(datagen.rowtime(), Some("dateTime"));

    for view in ["person", "auction", "bid"] {
        let v = catalog.view(view).unwrap();
        assert!(!v.temporary);
        assert!(v.query_text.starts_with("SELECT"), "{}", v.query_text);
        assert!(v.query_text.contains("FROM datagen WHERE event_type = "));
    }
    let bid_view = catalog.view("bid").unwrap();
    assert!(bid_view.query_text.ends_with("FROM datagen WHERE event_type = 2"));
    assert_eq!(
        bid_view.query.to_string(),
        "SELECT bid.auction, bid.bidder, bid.price, bid.channel, bid.url, dateTime, bid.extra FROM datagen WHERE event_type = 2"
    );
    assert_eq!(catalog.show_tables(), ["auction", "bid", "datagen", "person"]);
    assert_eq!(catalog.show_views(), ["auction", "bid", "person"]);
}

#[test]
fn nexmark_describe_shows_flink_types() {
    let mut catalog = Catalog::new();
    catalog.apply_script(DDL).unwrap();
    let rows = catalog.describe("datagen").unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0].name, "event_type");
    assert_eq!(rows[0].data_type.as_deref(), Some("INT"));
    assert_eq!(
        rows[3].data_type.as_deref(),
        Some("ROW<`auction` BIGINT, `bidder` BIGINT, `price` BIGINT, `channel` STRING, `url` STRING, `dateTime` TIMESTAMP(3), `extra` STRING>")
    );
    let date_time = &rows[4];
    assert_eq!(date_time.name, "dateTime");
    assert_eq!(date_time.data_type, None);
    assert!(date_time.extras.as_deref().unwrap().starts_with("AS CASE"));
    assert_eq!(date_time.watermark.as_deref(), Some("dateTime - INTERVAL '4' SECOND"));
}

#[test]
fn nexmark_queries_parse() {
    let mut catalog = Catalog::new();
    catalog.apply_script(DDL).unwrap();
    for (name, sql) in queries() {
        let rest = catalog.apply_script(sql).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(rest.len(), 1, "{name}");
        let Statement::Insert(insert) = &rest[0].statement else {
            panic!("{name}: not an insert: {:?}", rest[0].statement);
        };
        assert_eq!(insert.table, format!("nexmark_{name}"));
        assert!(catalog.table(&insert.table).is_some(), "{name}");
        assert!(insert.text.starts_with("INSERT INTO"), "{name}");
    }
    assert_eq!(
        catalog.function("count_char").unwrap().registered_name,
        "com.github.nexmark.flink.udf.CountChar"
    );
    let q1 = catalog.table("nexmark_q1").unwrap();
    assert_eq!(
        q1.schema.field_with_name("price").unwrap().data_type(),
        &DataType::Decimal128(23, 3)
    );
    let side = catalog.table("side_input").unwrap();
    assert_eq!(side.schema.field(1).name(), "value");
    assert_eq!(side.options["path"], "file://${FLINK_HOME}/data/side_input.txt");
}

#[test]
fn nexmark_window_queries_are_rewritten() {
    let mut catalog = Catalog::new();
    catalog.apply_script(DDL).unwrap();
    let q5 = weir_nexmark_queries::sql::text("q5".parse().unwrap());
    let rest = catalog.apply_script(q5).unwrap();
    let Statement::Insert(insert) = &rest[0].statement else {
        panic!("not an insert");
    };
    let sql = insert.query.to_string();
    assert_eq!(
        sql.matches("weir_hop('bid', 'dateTime', INTERVAL '2' SECOND, INTERVAL '10' SECOND)")
            .count(),
        2,
        "{sql}"
    );
    // The text keeps what the user wrote.
    assert!(insert.text.contains("TABLE(\n             HOP(TABLE bid"));

    let q8 = weir_nexmark_queries::sql::text("q8".parse().unwrap());
    let rest = catalog.apply_script(q8).unwrap();
    let Statement::Insert(insert) = &rest[0].statement else {
        panic!("not an insert");
    };
    // Legacy group windows stay function calls for the planner.
    let sql = insert.query.to_string();
    assert!(
        sql.contains("GROUP BY P.id, P.name, TUMBLE(P.dateTime, INTERVAL '10' SECOND)"),
        "{sql}"
    );
    assert!(sql.contains("TUMBLE_START(P.dateTime, INTERVAL '10' SECOND)"), "{sql}");
}
