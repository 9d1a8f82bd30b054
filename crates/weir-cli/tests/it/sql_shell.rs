//! `weir sql` without `-f`: the SQL shell, fed statements on standard input (not a
//! terminal: plain output, a table result printed once at the query's end).

#![allow(clippy::unwrap_used, missing_docs)]

use crate::common::{text, weir_with_input};

/// Runs the shell at parallelism 1 (changelogs in a fixed order) on `input`.
fn shell(input: &str) -> (bool, String, String) {
    let out = weir_with_input(&["sql", "-p", "1"], input);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn has_line(output: &str, line: &str) -> bool {
    output.lines().any(|l| l.trim_end() == line)
}

#[test]
fn ddl_show_tables_and_describe() {
    let (ok, out, err) = shell(
        "CREATE TABLE counts (\n  name STRING,\n  n BIGINT NOT NULL,\n  PRIMARY KEY (name) NOT ENFORCED\n) WITH ('connector' = 'print');\n\
         CREATE VIEW small AS SELECT name FROM counts WHERE n < 10;\n\
         SHOW TABLES;\nSHOW VIEWS;\nDESCRIBE counts;\n",
    );
    assert!(ok, "{out}{err}");
    assert_eq!(out.matches("[INFO] Execute statement succeeded.").count(), 2, "{out}");
    for line in [
        "| table name |",
        "| counts     |",
        "| small      |",
        "2 rows in set",
        "| view name |",
        "1 row in set",
    ] {
        assert!(has_line(&out, line), "no '{line}' in:\n{out}");
    }
    let describe = out
        .lines()
        .skip_while(|l| !l.starts_with("| name "))
        .collect::<Vec<_>>();
    assert!(
        describe[0].contains("| type ") && describe[0].contains("| null "),
        "{out}"
    );
    assert!(
        describe
            .iter()
            .any(|l| l.starts_with("| name ") && l.contains("STRING") && l.contains("PRI(name)")),
        "{out}"
    );
    assert!(
        describe
            .iter()
            .any(|l| l.starts_with("| n ") && l.contains("BIGINT") && l.contains("FALSE")),
        "{out}"
    );
}

#[test]
fn a_bounded_query_ends_with_its_final_table() {
    // An updating aggregate over VALUES: 'a' is inserted, then updated in place.
    let (ok, out, err) = shell(
        "SELECT name, COUNT(*) AS n, SUM(x) AS total\n\
         FROM (VALUES ('a', 1), ('b', 2), ('a', 3)) AS t(name, x)\n\
         GROUP BY name;\n",
    );
    assert!(ok, "{out}{err}");
    let table: Vec<&str> = out.lines().filter(|l| l.starts_with('|')).collect();
    assert_eq!(
        table,
        ["| name | n | total |", "| a    | 2 |     4 |", "| b    | 1 |     2 |"],
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("2 rows (") && l.contains("finished in")),
        "{out}"
    );
}

#[test]
fn a_bounded_nexmark_query_ends_by_itself() {
    // 1 000 events: per 50, 1 person, 3 auctions and 46 bids.
    let (ok, out, err) = shell(
        "CREATE TABLE datagen (event_type INT) WITH ('connector' = 'nexmark', 'events.num' = '1000');\n\
         SELECT event_type, COUNT(*) AS events FROM datagen GROUP BY event_type;\n",
    );
    assert!(ok, "{out}{err}");
    let mut rows: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with('|') && !l.contains("event_type"))
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        [
            "|          0 |     20 |",
            "|          1 |     60 |",
            "|          2 |    920 |"
        ],
        "{out}"
    );
}

#[test]
fn an_error_is_printed_and_the_shell_goes_on() {
    let (ok, out, err) = shell(
        "SELEC 1;\n\
         SELECT * FROM nowhere;\n\
         CREATE TABLE t (a INT) WITH ('connector' = 'print');\n\
         SHOW TABLES;\n",
    );
    // The parse error names where it is.
    assert!(err.contains("[ERROR] line 1, column 1"), "{err}");
    assert!(err.contains("nowhere"), "{err}");
    // The statements after the errors ran.
    assert!(has_line(&out, "| t          |"), "{out}");
    // Piped input with failed statements exits with an error.
    assert!(!ok, "{out}{err}");
    assert!(err.contains("2 statement(s) failed"), "{err}");
}

#[test]
fn changelog_mode_prints_every_change() {
    let (ok, out, err) = shell(
        "SET 'sql-client.execution.result-mode' = 'changelog';\n\
         SELECT x * 2 AS y, name FROM (VALUES (1, 'a'), (2, 'b')) AS t(x, name);\n",
    );
    assert!(ok, "{out}{err}");
    let changes: Vec<&str> = out.lines().filter(|l| l.starts_with(['+', '-'])).collect();
    assert_eq!(changes, ["+I[2, a]", "+I[4, b]"], "{out}");
    assert!(out.contains("2 changes, finished in"), "{out}");
    assert!(!out.contains("+---"), "no table in changelog mode:\n{out}");
}

#[test]
fn tableau_mode_prints_changes_as_table_rows() {
    let (ok, out, err) = shell(
        "SET 'sql-client.execution.result-mode' = 'tableau';\n\
         SELECT x AS id, name FROM (VALUES (1, 'a'), (2, 'b')) AS t(x, name);\n",
    );
    assert!(ok, "{out}{err}");
    let rows: Vec<&str> = out.lines().filter(|l| l.starts_with('|')).collect();
    assert_eq!(rows.len(), 3, "{out}");
    assert!(
        rows[0].starts_with("| op | id ") && rows[0].contains("| name "),
        "{out}"
    );
    assert!(rows[1].starts_with("| +I |") && rows[1].contains(" 1 | a "), "{out}");
    assert!(rows[2].starts_with("| +I |") && rows[2].contains(" 2 | b "), "{out}");
    assert!(out.contains("Received a total of 2 rows"), "{out}");
}

#[test]
fn statements_span_lines_and_quit_ends_the_shell() {
    let (ok, out, err) = shell(
        "-- a comment; not a statement\n\
         SET 'sql-client.execution.result-mode'\n  = 'changelog';\n\
         SELECT 'semi;colon' AS s /* ; */\n\
         ;\n\
         QUIT;\n\
         SELECT 'after quit';\n",
    );
    assert!(ok, "{out}{err}");
    assert!(has_line(&out, "+I[semi;colon]"), "{out}");
    assert!(!out.contains("after quit"), "{out}");
}

#[test]
fn inserts_run_in_the_background_and_are_waited_for_at_the_end_of_input() {
    let (ok, out, err) = shell(
        "CREATE TABLE out (n BIGINT) WITH ('connector' = 'print');\n\
         INSERT INTO out SELECT x * 10 FROM (VALUES (1), (2)) AS t(x);\n",
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains("[INFO] Job 'insert-into_out' submitted"), "{out}");
    assert!(has_line(&out, "+I[10]") && has_line(&out, "+I[20]"), "{out}");
    assert!(out.contains("[INFO] Job 'insert-into_out' finished"), "{out}");
}

#[test]
fn show_jobs_and_stop_job() {
    let (ok, out, err) = shell(
        "CREATE TABLE endless (event_type INT) WITH ('connector' = 'nexmark', 'rate-limit' = '1000');\n\
         CREATE TABLE nowhere (event_type INT) WITH ('connector' = 'blackhole');\n\
         INSERT INTO nowhere SELECT event_type FROM endless;\n\
         SHOW JOBS;\n\
         STOP JOB 'insert-into_nowhere';\n\
         STOP JOB 'no-such-job';\n",
    );
    assert!(err.contains("no job 'no-such-job'"), "{err}");
    assert!(!ok, "the unknown job is an error:\n{out}{err}");
    assert!(
        out.lines()
            .any(|l| l.contains("| insert-into_nowhere |") && l.contains("RUNNING")),
        "{out}"
    );
    // The shell waited for the cancelled job at the end of its input.
    assert!(out.contains("[INFO] Job 'insert-into_nowhere' cancelled."), "{out}");
}

#[test]
fn help_and_a_bad_option_value() {
    let out = weir_with_input(
        &["sql", "-p", "1"],
        "HELP;\nSET 'sql-client.display.max-column-width' = 'wide';\nSELECT 1 AS one;\n",
    );
    let all = text(&out);
    assert!(all.contains("STOP JOB '<name or id>'"), "{all}");
    assert!(
        all.contains("invalid value 'wide' for option 'sql-client.display.max-column-width'"),
        "{all}"
    );
}
