//! Bad SQL gives errors with positions and the offending token.

use weir_sql::error::{Position, SqlError};
use weir_sql::front::parse_script;

/// The parse error of `sql`: (line, column, token, display).
fn parse_error(sql: &str) -> (u64, u64, Option<String>, String) {
    match parse_script(sql) {
        Err(error @ SqlError::Parse { .. }) => {
            let text = error.to_string();
            let SqlError::Parse {
                position: Position { line, column },
                token,
                ..
            } = error
            else {
                unreachable!()
            };
            (line, column, token, text)
        }
        Err(other) => panic!("{sql}: not a parse error: {other:?}"),
        Ok(s) => panic!("{sql}: parsed: {s:?}"),
    }
}

#[test]
fn typo_in_a_keyword() {
    let (line, column, token, text) = parse_error("SET 'a' = 'b';\n\nSELCT price FROM bid;");
    assert_eq!((line, column), (3, 1));
    assert_eq!(token.as_deref(), Some("SELCT"));
    assert_eq!(
        text,
        "line 3, column 1: expected an SQL statement, found 'SELCT'\n  3 | SELCT price FROM bid;\n    | ^^^^^"
    );

    // Inside a query: sqlparser's error, mapped.
    let (line, column, token, text) = parse_error("SELECT price\nFROM bid\nWHERE price >> 3 ORDER price");
    assert_eq!(line, 3, "{text}");
    assert!(token.is_some(), "{text}");
    assert!(column > 1, "{text}");

    let (line, column, token, text) = parse_error("CREATE TABEL t (a INT)");
    assert_eq!((line, column), (1, 8));
    assert_eq!(token.as_deref(), Some("TABEL"), "{text}");
}

#[test]
fn errors_from_sqlparser_carry_positions() {
    let sql = "CREATE VIEW v AS\nSELECT a, b\n  FROM t\n  WHERE a = = 1;";
    let (line, column, token, text) = parse_error(sql);
    assert_eq!((line, column), (4, 13), "{text}");
    assert_eq!(token.as_deref(), Some("="), "{text}");
    assert!(
        text.starts_with("line 4, column 13: expected an expression, found '='"),
        "{text}"
    );
    assert!(text.ends_with("  4 |   WHERE a = = 1;\n    |             ^"), "{text}");
}

#[test]
fn missing_paren() {
    let (line, column, token, text) = parse_error("CREATE TABLE t (\n  a INT,\n  b STRING\nWITH ('connector' = 'x')");
    assert_eq!((line, column), (4, 1), "{text}");
    assert_eq!(token.as_deref(), Some("WITH"));
    assert!(text.contains("expected ',' or ')', found 'WITH'"), "{text}");

    let (line, column, _, text) = parse_error("SELECT count(* FROM bid");
    assert_eq!(line, 1, "{text}");
    assert!(column >= 14, "{text}");

    let (line, column, token, text) = parse_error("CREATE TABLE t (a ROW<b INT, c STRING)");
    assert_eq!((line, column), (1, 38), "{text}");
    assert_eq!(token.as_deref(), Some(")"));

    // Missing `)` at the end of the script.
    let (line, _, token, text) = parse_error("CREATE TABLE t (\n  a INT");
    assert_eq!(line, 2, "{text}");
    assert_eq!(token, None);
    assert!(text.contains("found end of input"), "{text}");
}

#[test]
fn bad_type_names() {
    let (line, column, token, text) = parse_error("CREATE TABLE t (\n  a INT,\n  b STRIN,\n  c BIGINT\n)");
    assert_eq!((line, column), (3, 5));
    assert_eq!(token.as_deref(), Some("STRIN"));
    assert!(
        text.starts_with("line 3, column 5: unknown data type 'STRIN'"),
        "{text}"
    );

    let (_, _, token, text) = parse_error("CREATE TABLE t (a DECIMAL(40, 2))");
    assert_eq!(token.as_deref(), Some("40"), "{text}");
    // `<>` is one token (not equal).
    let (_, _, token, _) = parse_error("CREATE TABLE t (a ARRAY<>)");
    assert_eq!(token.as_deref(), Some("<>"));
    let (_, _, token, _) = parse_error("CREATE TABLE t (a MAP<INT>)");
    assert_eq!(token.as_deref(), Some(">"));
}

#[test]
fn semantic_errors_in_ddl() {
    for (sql, needle, token) in [
        ("CREATE TABLE t (a INT, a STRING)", "duplicate column 'a'", "a"),
        (
            "CREATE TABLE t (a INT, WATERMARK FOR ts AS ts)",
            "unknown watermark column 'ts'",
            "ts",
        ),
        (
            "CREATE TABLE t (a INT, WATERMARK FOR a AS a)",
            "must be TIMESTAMP(3) or TIMESTAMP_LTZ(3), not INT",
            "a",
        ),
        (
            "CREATE TABLE t (a INT, PRIMARY KEY (b) NOT ENFORCED)",
            "unknown primary key column 'b'",
            "b",
        ),
        (
            "CREATE TABLE t (a INT, b AS a + 1, PRIMARY KEY (b) NOT ENFORCED)",
            "must be a physical column",
            "b",
        ),
        (
            "CREATE TABLE t (a INT) WITH ('k' = 'v', 'k' = 'w')",
            "duplicate option 'k'",
            "'k'",
        ),
        (
            "CREATE TABLE t (a INT) WITH (k = 'v')",
            "expected a quoted option key",
            "k",
        ),
        (
            "CREATE TABLE t (a INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts, WATERMARK FOR ts AS ts)",
            "only one WATERMARK",
            "WATERMARK",
        ),
    ] {
        match parse_script(sql) {
            Err(SqlError::Parse { message, token: t, .. }) => {
                assert!(message.contains(needle), "{sql}: {message}");
                assert_eq!(t.as_deref(), Some(token), "{sql}");
            }
            other => panic!("{sql}: {other:?}"),
        }
    }
}

#[test]
fn unsupported_features_are_named() {
    for (sql, feature) in [
        ("SELECT * FROM t MATCH_RECOGNIZE (PARTITION BY a ORDER BY ts MEASURES A.x AS x PATTERN (A) DEFINE A AS A.x > 0)", "MATCH_RECOGNIZE"),
        ("CREATE TABLE t (a INT, PRIMARY KEY (a))", "ENFORCED primary key (declare it PRIMARY KEY (...) NOT ENFORCED)"),
        ("CREATE TABLE t (a MULTISET<INT>)", "data type MULTISET"),
        ("CREATE TABLE t (a TIMESTAMP(3) WITH TIME ZONE)", "TIMESTAMP WITH TIME ZONE"),
        ("CREATE TABLE t LIKE s", "CREATE TABLE ... LIKE"),
        ("CREATE TABLE t WITH ('connector' = 'x') AS SELECT 1", "CREATE TABLE without a column list"),
        ("CREATE DATABASE d", "CREATE DATABASE"),
        ("ALTER TABLE t RENAME TO s", "ALTER statement"),
        ("UPDATE t SET a = 1", "UPDATE statement"),
        ("SHOW CATALOGS", "SHOW CATALOGS"),
        ("INSERT INTO t PARTITION (a = 1) SELECT 1", "INSERT with a static PARTITION"),
    ] {
        match parse_script(sql) {
            Err(SqlError::Unsupported { feature: f, position }) => {
                assert_eq!(f, feature, "{sql}");
                assert!(position.is_some(), "{sql}");
            }
            other => panic!("{sql}: {other:?}"),
        }
    }
    let error = parse_script("SELECT * FROM t\n  MATCH_RECOGNIZE (PATTERN (A))").unwrap_err();
    assert_eq!(error.to_string(), "unsupported: MATCH_RECOGNIZE at line 2, column 3");
}

#[test]
fn statement_set_errors() {
    let (_, _, token, text) = parse_error("EXECUTE STATEMENT SET BEGIN SELECT 1; END;");
    assert_eq!(token.as_deref(), Some("SELECT"));
    assert!(text.contains("expected INSERT or END in a STATEMENT SET"), "{text}");
    let (_, _, token, text) = parse_error("BEGIN STATEMENT SET; INSERT INTO a SELECT 1;");
    assert_eq!(token, None, "{text}");
    let (_, _, _, text) = parse_error("EXECUTE STATEMENT SET BEGIN END");
    assert!(text.contains("at least one INSERT"), "{text}");
}

#[test]
fn junk_after_a_statement() {
    let (line, column, token, text) = parse_error("SHOW TABLES now;\nSELECT 1");
    assert_eq!((line, column), (1, 13));
    assert_eq!(token.as_deref(), Some("now"));
    assert!(
        text.contains("expected ';' or the end of the script, found 'now'"),
        "{text}"
    );
}
