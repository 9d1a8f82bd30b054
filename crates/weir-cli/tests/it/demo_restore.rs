//! Restoring a finished demo job does not count its input again: `weir demo
//! --sentences 20000 -p 1 --checkpoint-interval 100ms --checkpoint-dir A --no-rest`,
//! then the same with `--restore A --checkpoint-dir B`, must not double the counts
//! (the restored job's sources had finished: it reads and emits nothing).

#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

const WEIR: &str = env!("CARGO_BIN_EXE_weir");

struct Run {
    /// The "finished in …: <n> words counted" line.
    summary: String,
    /// The final table: word -> count.
    counts: HashMap<String, u64>,
}

fn demo(dir: &Path, extra: &[&str]) -> Run {
    let output = Command::new(WEIR)
        .current_dir(dir)
        .args([
            "demo",
            "--sentences",
            "20000",
            "-p",
            "1",
            "--checkpoint-interval",
            "100ms",
            "--no-rest",
            "--top",
            "100",
        ])
        .args(extra)
        .output()
        .expect("run weir demo");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "weir demo {extra:?} failed: {}\n{stdout}\n{stderr}",
        output.status
    );
    let mut lines = stdout.lines();
    let summary = lines
        .by_ref()
        .find(|l| l.starts_with("finished in"))
        .unwrap_or_else(|| panic!("no summary in:\n{stdout}"))
        .to_string();
    let counts = lines
        .skip_while(|l| !l.trim_start().starts_with("count"))
        .skip(1)
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let count = parts.next()?.parse().ok()?;
            let word = parts.next()?.to_string();
            Some((word, count))
        })
        .collect();
    Run { summary, counts }
}

#[test]
fn restoring_a_finished_demo_does_not_double_the_counts() {
    let dir = tempfile::tempdir().unwrap();
    let first = demo(dir.path(), &["--checkpoint-dir", "A"]);
    assert!(first.counts.len() >= 10, "{}: {:?}", first.summary, first.counts);

    let second = demo(dir.path(), &["--restore", "A", "--checkpoint-dir", "B"]);
    for (word, count) in &second.counts {
        assert_eq!(
            Some(count),
            first.counts.get(word),
            "'{word}' counted {count} after the restore, {:?} before: the input was counted again",
            first.counts.get(word)
        );
    }
    assert_eq!(
        second.counts, first.counts,
        "the restored job must end with the counts it resumed from ({})",
        second.summary
    );
    assert!(
        second.summary.contains(": 0 words counted"),
        "the restored finished job counted words again: {}",
        second.summary
    );
}
