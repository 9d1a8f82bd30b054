//! The file source driven by hand (the connector API's harness): random files and
//! split sizes, checkpoints at random moments, restores at other parallelisms,
//! monitoring, bad records and missing paths.
//!
//! `WEIR_FILE_SOURCE_SEED=<n>` picks the seed (default 1).
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use weir_connector_api::bad_record::BadRecordPolicy;
use weir_connector_api::format::{FormatError, FormatErrorKind, Utf8Text};
use weir_connector_api::split::testing::Harness;
use weir_connector_api::split::SplitSourceAdapter;
use weir_connector_filesystem::FileSource;

fn seed() -> u64 {
    let seed = std::env::var("WEIR_FILE_SOURCE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    println!("seed {seed} (WEIR_FILE_SOURCE_SEED)");
    seed
}

/// Writes files of numbered lines (with CRLF, empty lines, long lines, a file
/// without a final newline); returns every non-empty line.
fn write_files(dir: &Path, rng: &mut fastrand::Rng) -> Vec<String> {
    let mut all = Vec::new();
    for file in 0..rng.usize(1..6) {
        let mut text = String::new();
        for n in 0..rng.usize(0..400) {
            let line = format!(
                "f{file}-l{n}-{}",
                "x".repeat(if rng.u8(0..20) == 0 { 500 } else { rng.usize(0..20) })
            );
            text.push_str(&line);
            all.push(line);
            text.push_str(if rng.bool() { "\n" } else { "\r\n" });
            if rng.u8(0..10) == 0 {
                text.push('\n');
            }
        }
        if rng.bool() && text.ends_with('\n') {
            text.pop();
            if text.ends_with('\r') {
                text.pop();
            }
        }
        let sub = if file % 2 == 0 { "" } else { "sub/" };
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        std::fs::write(dir.join(format!("{sub}file-{file}.txt")), text).unwrap();
    }
    all.sort();
    all
}

fn count(lines: &[String]) -> BTreeMap<&str, usize> {
    let mut counts = BTreeMap::new();
    for line in lines {
        *counts.entry(line.as_str()).or_insert(0) += 1;
    }
    counts
}

#[test]
fn checkpoints_and_rescaled_restores_read_every_line_once() {
    let seed = seed();
    let mut rng = fastrand::Rng::with_seed(seed);
    for round in 0..25 {
        let dir = tempfile::tempdir().unwrap();
        let expected = write_files(dir.path(), &mut rng);
        let split_size = rng.u64(1..3000);
        let batch = rng.usize(1..50);
        let read_size = rng.usize(16..5000);
        let source = || {
            FileSource::lines([dir.path()], || Utf8Text)
                .split_size(split_size)
                .batch_lines(batch)
                .read_size(read_size)
                .build()
                .unwrap()
                .into_source()
        };
        // Run 1 at parallelism p1: some polls, a checkpoint, more polls (lost).
        let p1 = rng.usize(1..5);
        let mut run = Harness::start(Arc::new(source()), p1, 0, None).unwrap();
        let mut kept = Vec::new();
        let mut state = None;
        for checkpoint in 1..=rng.u64(1..4) {
            for _ in 0..rng.usize(0..40) {
                run.poll(rng.usize(0..p1)).unwrap();
            }
            state = Some(run.checkpoint(checkpoint).unwrap());
            kept.extend(run.take_records());
        }
        for _ in 0..rng.usize(0..40) {
            run.poll(rng.usize(0..p1)).unwrap(); // lost with the failure
        }
        drop(run);
        // Run 2 at another parallelism, from the last checkpoint, to the end.
        let p2 = rng.usize(1..5);
        let mut run: Harness<String, _> = Harness::start(Arc::new(source()), p2, 1, state).unwrap();
        run.run_to_end(1_000_000).unwrap();
        kept.extend(run.take_records());
        kept.sort();
        assert_eq!(
            count(&kept),
            count(&expected),
            "seed {seed} round {round}: split size {split_size}, {p1} -> {p2}"
        );
    }
}

fn numbers(bytes: &[u8], out: &mut Vec<u64>) -> Result<(), FormatError> {
    let text = std::str::from_utf8(bytes).map_err(|e| FormatError::new(FormatErrorKind::Syntax, e.to_string()))?;
    let n = text
        .trim()
        .parse()
        .map_err(|e| FormatError::new(FormatErrorKind::Type, format!("not a number: {e}")))?;
    out.push(n);
    Ok(())
}

#[test]
fn bad_records_fail_naming_file_and_line_or_are_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("numbers.txt");
    let long = "9".repeat(300);
    std::fs::write(&path, format!("1\n2\n\nthree\n4\n{long}\n5\n")).unwrap();
    // Fail: the error names the file, the line and the byte offset, from any split.
    for split_size in [1, 7, 1000] {
        let source = FileSource::lines([&path], || numbers)
            .split_size(split_size)
            .build()
            .unwrap();
        let mut run = Harness::start(Arc::new(source.into_source()), 2, 0, None).unwrap();
        let error = run.run_to_end(1000).unwrap_err().to_string();
        assert!(
            error.contains(&format!("{}, line 4 (byte offset 5)", path.display())) && error.contains("three"),
            "split size {split_size}: {error}"
        );
    }
    // Skip: counted; oversize lines are bad records too.
    let source = FileSource::lines([&path], || numbers)
        .split_size(3)
        .max_line_bytes(100)
        .bad_records(BadRecordPolicy::Skip)
        .build()
        .unwrap();
    let handler = source.bad_records();
    let mut values: Vec<u64> = weir_connector_api::split::testing::drive(source, 3).unwrap();
    values.sort();
    assert_eq!(values, vec![1, 2, 4, 5]);
    assert_eq!(handler.skipped(), 2);
    // Oversize under fail: named as such.
    let source = FileSource::lines([&path], || numbers)
        .max_line_bytes(100)
        .build()
        .unwrap();
    let mut strict = Harness::start(Arc::new(source.into_source()), 1, 0, None).unwrap();
    let error = strict.run_to_end(1000).unwrap_err().to_string();
    assert!(error.contains("line 4"), "{error}");
}

#[test]
fn a_missing_path_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir");
    let error = FileSource::lines([&missing], || Utf8Text)
        .build()
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains(&missing.display().to_string()) && error.contains("does not exist"),
        "{error}"
    );
    let pattern = format!("{}/*.json", dir.path().display());
    let error = FileSource::lines([&pattern], || Utf8Text)
        .build()
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains(&pattern), "{error}");
}

#[test]
fn monitoring_reads_files_added_later_once_across_a_restore() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "a1\na2\n").unwrap();
    let source = || {
        FileSource::lines([dir.path()], || Utf8Text)
            .monitor(Duration::ZERO)
            .build()
            .unwrap()
            .into_source()
    };
    let adapter: Arc<SplitSourceAdapter<String, _>> = Arc::new(source());
    let mut run = Harness::start(adapter, 2, 0, None).unwrap();
    for _ in 0..10 {
        run.poll(0).unwrap();
        run.poll(1).unwrap();
    }
    assert!(!run.all_finished(), "a monitoring source does not finish");
    let mut seen = run.take_records();
    seen.sort();
    assert_eq!(seen, ["a1", "a2"]);
    // A file written under a hidden name and renamed in is picked up.
    std::fs::write(dir.path().join(".b.txt.tmp"), "b1\nb2\n").unwrap();
    std::fs::rename(dir.path().join(".b.txt.tmp"), dir.path().join("b.txt")).unwrap();
    for _ in 0..10 {
        run.poll(0).unwrap();
        run.poll(1).unwrap();
    }
    let mut seen = run.take_records();
    seen.sort();
    assert_eq!(seen, ["b1", "b2"]);
    let state = run.checkpoint(1).unwrap();
    drop(run);
    // After a restore the known files are not read again; a new one is.
    std::fs::write(dir.path().join("c.txt"), "c1\n").unwrap();
    let mut run = Harness::start(Arc::new(source()), 3, 1, Some(state)).unwrap();
    for _ in 0..10 {
        for reader in 0..3 {
            run.poll(reader).unwrap();
        }
    }
    assert_eq!(run.take_records(), ["c1"]);
}

/// Gzip and zstd files are one split each; a restore decodes up to the stored
/// position and goes on from there.
#[test]
fn compressed_files_are_read_once_across_a_restore() {
    use std::io::Write;
    use weir_format_compression::{Compression, Encoder};
    let dir = tempfile::tempdir().unwrap();
    let mut expected = Vec::new();
    for (name, compression) in [("a.txt.gz", Compression::Gzip), ("b.txt.zst", Compression::Zstd)] {
        let mut encoder = Encoder::new(Vec::new(), compression).unwrap();
        for i in 0..3_000 {
            writeln!(encoder, "{name}-{i}").unwrap();
            expected.push(format!("{name}-{i}"));
        }
        std::fs::write(dir.path().join(name), encoder.finish().unwrap()).unwrap();
    }
    std::fs::write(dir.path().join("c.txt"), "plain\n").unwrap();
    expected.push("plain".to_string());
    expected.sort();
    let source = || {
        Arc::new(
            FileSource::lines([dir.path()], || Utf8Text)
                .batch_lines(100)
                .read_size(4096)
                .build()
                .unwrap()
                .into_source(),
        )
    };
    let mut run = Harness::start(source(), 2, 0, None).unwrap();
    for _ in 0..7 {
        run.poll(0).unwrap();
        run.poll(1).unwrap();
    }
    let state = run.checkpoint(1).unwrap();
    let mut got = run.take_records();
    drop(run);
    let mut run: Harness<String, _> = Harness::start(source(), 3, 1, Some(state)).unwrap();
    run.run_to_end(100_000).unwrap();
    got.extend(run.take_records());
    got.sort();
    assert_eq!(got, expected);
}
