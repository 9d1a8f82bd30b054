//! `weir nexmark generate` and `weir nexmark run` end to end.

#![allow(clippy::unwrap_used, missing_docs)]

use crate::common::{text, weir};

#[test]
fn generate_writes_the_same_events_as_json_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("events.jsonl");
    let out = weir(&["nexmark", "generate", "--events", "5000", "-o", json.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("wrote 5000 events (100 persons, 300 auctions, 4600 bids)"),
        "{}",
        text(&out)
    );
    let lines: Vec<String> = std::fs::read_to_string(&json)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), 5000);
    assert!(lines[0].starts_with("{\"event_type\":1,"), "{}", lines[0]);

    let csv = dir.path().join("csv");
    let out = weir(&[
        "nexmark",
        "generate",
        "--events",
        "5000",
        "--format",
        "csv",
        "-o",
        csv.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let bids = std::fs::read_to_string(csv.join("bid.csv")).unwrap();
    assert_eq!(bids.lines().count(), 4601, "header + 4600 bids");
    assert!(bids.starts_with("auction,bidder,price,channel,url,dateTime,extra\n"));
    // Same data: the JSON's first bid is the CSV's first bid.
    let first_bid: serde_json::Value = lines
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["event_type"] == 2)
        .unwrap();
    let csv_first = bids.lines().nth(1).unwrap();
    let price = first_bid["bid"]["price"].as_i64().unwrap();
    assert!(
        csv_first.split(',').nth(2) == Some(price.to_string().as_str()),
        "{csv_first} vs {first_bid}"
    );
}

#[test]
fn run_prints_one_json_line_per_query_and_writes_rows() {
    let dir = tempfile::tempdir().unwrap();
    let out = weir(&[
        "nexmark",
        "run",
        "-q",
        "q0,q2",
        "--events",
        "20000",
        "-p",
        "2",
        "--output-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let reports: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(reports.len(), 2);
    for (report, query) in reports.iter().zip(["q0", "q2"]) {
        assert_eq!(report["query"], query);
        assert_eq!(report["events"], 20000);
        assert_eq!(report["parallelism"], 2);
        for field in [
            "wall_seconds",
            "cpu_seconds",
            "events_per_second",
            "events_per_cpu_second",
        ] {
            assert!(report[field].as_f64().unwrap() > 0.0, "{field} in {report}");
        }
    }
    // q0 passes every bid: 46 of every 50 events, across the sink's part files
    // (q0.jsonl is a directory of part-<subtask> files at parallelism 2).
    let rows: usize = std::fs::read_dir(dir.path().join("q0.jsonl"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap().lines().count())
        .sum();
    assert_eq!(rows, 18_400);

    let bad = weir(&["nexmark", "run", "-q", "q23", "--events", "10"]);
    assert!(!bad.status.success());
    assert!(text(&bad).contains("unknown query 'q23'"), "{}", text(&bad));
    let zero_rate = weir(&[
        "nexmark",
        "run",
        "-q",
        "q0",
        "--events",
        "10",
        "--first-event-rate",
        "0",
    ]);
    assert!(!zero_rate.status.success());
    assert!(text(&zero_rate).contains("bad"), "{}", text(&zero_rate));
}

/// The rows below `path` (a file, or a directory of part files), sorted.
fn rows_of(path: &std::path::Path) -> Vec<String> {
    let mut rows: Vec<String> = if path.is_dir() {
        std::fs::read_dir(path)
            .unwrap()
            .flat_map(|e| {
                let e = e.unwrap();
                std::fs::read_to_string(e.path())
                    .unwrap()
                    .lines()
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .collect()
    } else {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    };
    rows.sort();
    rows
}

/// `weir nexmark run --input F` reads the file `weir nexmark generate` wrote
/// through the file source and the JSON format, and q0, q1 and q2 (which decode
/// only the fields they read) and q3 (every field) give the rows of the in-process
/// run over the same events.
#[test]
fn run_from_a_generated_file_gives_the_in_process_rows() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.json");
    let generated = weir(&[
        "nexmark",
        "generate",
        "--events",
        "100000",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert!(generated.status.success(), "{}", text(&generated));
    let from_file = dir.path().join("from-file");
    let in_process = dir.path().join("in-process");
    for (args, out) in [
        (vec!["--input", file.to_str().unwrap(), "-p", "2"], &from_file),
        (vec!["--events", "100000"], &in_process),
    ] {
        let mut all = vec![
            "nexmark",
            "run",
            "--query",
            "q0,q1,q2,q3",
            "--output-dir",
            out.to_str().unwrap(),
        ];
        all.extend(args);
        let run = weir(&all);
        assert!(run.status.success(), "{}", text(&run));
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert_eq!(stdout.lines().count(), 4, "{stdout}");
        for line in stdout.lines() {
            let report: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(report["events"], 100000, "{report}");
        }
    }
    for (query, rows) in [("q0", Some(92_000)), ("q1", Some(92_000)), ("q2", None), ("q3", None)] {
        let expected = rows_of(&in_process.join(format!("{query}.jsonl")));
        assert!(!expected.is_empty(), "{query} has rows");
        if let Some(rows) = rows {
            assert_eq!(expected.len(), rows, "{query} passes every bid");
        }
        assert!(
            rows_of(&from_file.join(format!("{query}.jsonl"))) == expected,
            "the rows of {query} differ"
        );
    }

    let missing = dir.path().join("no-such-file.json");
    let run = weir(&["nexmark", "run", "-q", "q1", "--input", missing.to_str().unwrap()]);
    assert!(!run.status.success());
    assert!(text(&run).contains(missing.to_str().unwrap()), "{}", text(&run));
}
