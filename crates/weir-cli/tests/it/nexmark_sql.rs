//! `weir nexmark run --sql`: the Flink Nexmark SQL texts planned by Weir's SQL
//! layer give the same final rows as Weir's DataStream versions of the queries
//! (`weir nexmark compare`).

#![allow(clippy::unwrap_used, missing_docs)]

use crate::common::{text, weir};

/// The queries whose SQL and DataStream results agree row for row (see
/// docs/nexmark.md for the others and why).
const SAME: &str = "q0,q1,q2,q3,q4,q5,q6,q7,q8,q9,q10,q11,q13,q14,q15,q16,q17,q20,q21,q22";

#[test]
fn sql_queries_give_the_datastream_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (datastream, sql) = (dir.path().join("datastream"), dir.path().join("sql"));
    // 60 000 events at 1 000 events per second of event time: a minute of
    // windows and sessions. The SQL runs at parallelism 2, the DataStream at 1.
    let common = ["--events", "60000", "--first-event-rate", "1000", "-q", SAME];
    let out = weir(
        &[
            &["nexmark", "run", "--output-dir", datastream.to_str().unwrap()],
            &common[..],
        ]
        .concat(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = weir(
        &[
            &[
                "nexmark",
                "run",
                "--sql",
                "-p",
                "2",
                "--output-dir",
                sql.to_str().unwrap(),
            ],
            &common[..],
        ]
        .concat(),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        SAME.split(',').count()
    );
    let out = weir(&[
        "nexmark",
        "compare",
        datastream.to_str().unwrap(),
        sql.to_str().unwrap(),
        "-q",
        SAME,
    ]);
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    for query in SAME.split(',') {
        assert!(report.contains(&format!("{query}: same (")), "{query}: {report}");
    }
    // Not an empty agreement: the windowed and joined queries have rows.
    for query in ["q3", "q5", "q6", "q7", "q8", "q11", "q13"] {
        let rows = report
            .lines()
            .find(|l| l.starts_with(&format!("{query}: same (")))
            .and_then(|l| l.split('(').nth(1))
            .and_then(|l| l.split(' ').next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap();
        assert!(rows > 0, "{query}: {report}");
    }
}

#[test]
fn compare_names_the_queries_that_differ() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for (out, events) in [(&a, "2000"), (&b, "3000")] {
        let run = weir(&[
            "nexmark",
            "run",
            "-q",
            "q2,q22",
            "--events",
            events,
            "--output-dir",
            out.to_str().unwrap(),
        ]);
        assert!(run.status.success(), "{}", text(&run));
    }
    let out = weir(&["nexmark", "compare", a.to_str().unwrap(), b.to_str().unwrap()]);
    let report = text(&out);
    assert!(!out.status.success(), "{report}");
    assert!(report.contains("q22: differ"), "{report}");
    assert!(report.contains("only right"), "{report}");
    assert!(
        report.contains("rows differ in q2, q22") || report.contains("rows differ in q22"),
        "{report}"
    );
}

#[test]
fn a_sql_run_into_an_output_dir_that_is_a_file_fails_naming_it() {
    // The output directory is a file: the run cannot write q13's rows there.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, "").unwrap();
    let out = weir(&[
        "nexmark",
        "run",
        "--sql",
        "-q",
        "q13",
        "--events",
        "1000",
        "--output-dir",
        file.to_str().unwrap(),
    ]);
    let report = text(&out);
    assert!(!out.status.success(), "{report}");
    assert!(report.contains("not-a-directory"), "{report}");
}
