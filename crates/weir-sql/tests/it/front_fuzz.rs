//! Random token soups and mutations of valid scripts never panic: the parser returns
//! statements or an error. Seeded; the seed is printed on failure.

use std::panic::{catch_unwind, AssertUnwindSafe};

use weir_sql::front::{parse_script, rewrite_window_tvfs, Catalog};

use crate::nexmark_sql::{queries, DDL};

const WORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "BY",
    "CREATE",
    "TABLE",
    "VIEW",
    "TEMPORARY",
    "AS",
    "WITH",
    "INSERT",
    "INTO",
    "EXECUTE",
    "STATEMENT",
    "SET",
    "BEGIN",
    "END",
    "RESET",
    "SHOW",
    "TABLES",
    "DESCRIBE",
    "EXPLAIN",
    "PLAN",
    "FOR",
    "WATERMARK",
    "PRIMARY",
    "KEY",
    "NOT",
    "ENFORCED",
    "NULL",
    "ROW",
    "ARRAY",
    "MAP",
    "INT",
    "BIGINT",
    "VARCHAR",
    "TIMESTAMP",
    "TIMESTAMP_LTZ",
    "DECIMAL",
    "TUMBLE",
    "HOP",
    "CUMULATE",
    "SESSION",
    "DESCRIPTOR",
    "PARTITION",
    "INTERVAL",
    "SECOND",
    "MINUTE",
    "DATA",
    "TIMECOL",
    "SIZE",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "JOIN",
    "ON",
    "METADATA",
    "VIRTUAL",
    "FUNCTION",
    "DROP",
    "IF",
    "EXISTS",
    "(",
    ")",
    "<",
    ">",
    ">>",
    ",",
    ";",
    "=",
    "=>",
    ".",
    "*",
    "-",
    "+",
    "'x'",
    "'10'",
    "3",
    "bid",
    "dateTime",
    "`q`",
    "--c\n",
    "/*c*/",
    "\n",
    "'",
    "\"",
    "`",
    "[",
    "]",
];

fn check(seed: u64, sql: &str) {
    let result = catch_unwind(AssertUnwindSafe(|| {
        if let Ok(statements) = parse_script(sql) {
            let mut catalog = Catalog::new();
            for s in &statements {
                let _ = catalog.apply(&s.statement);
            }
        }
        let _ = rewrite_window_tvfs(sql);
    }));
    if result.is_err() {
        panic!("seed {seed}: parser panicked on:\n{sql}");
    }
}

/// Splits a script into rough tokens (whitespace-separated, punctuation apart).
fn rough_tokens(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in sql.chars() {
        if c.is_alphanumeric() || c == '_' || c == '\'' || c == '.' {
            word.push(c);
        } else {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            if !c.is_whitespace() {
                out.push(c.to_string());
            }
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

fn seed() -> u64 {
    std::env::var("WEIR_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_0015)
}

#[test]
fn token_soups_never_panic() {
    let seed = seed();
    let mut rng = fastrand::Rng::with_seed(seed);
    for _ in 0..4000 {
        let n = rng.usize(1..40);
        let sql: Vec<&str> = (0..n).map(|_| WORDS[rng.usize(..WORDS.len())]).collect();
        check(seed, &sql.join(" "));
    }
}

#[test]
fn mutated_scripts_never_panic() {
    let seed = seed();
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut scripts: Vec<String> = vec![DDL.to_string()];
    scripts.extend(queries().into_iter().map(|(_, q)| q.to_string()));
    scripts.push(
        "SET 'table.exec.state.ttl' = '1 h'; EXECUTE STATEMENT SET BEGIN \
         INSERT INTO a SELECT window_start, count(*) FROM TABLE(SESSION(TABLE bid PARTITION BY (bidder, auction), DESCRIPTOR(dateTime), INTERVAL '5' MINUTE)) GROUP BY window_start, window_end; \
         INSERT INTO b SELECT * FROM TABLE(CUMULATE(DATA => TABLE bid, TIMECOL => DESCRIPTOR(dateTime), STEP => INTERVAL '1' MINUTE, SIZE => INTERVAL '1' HOUR)); END;"
            .to_string(),
    );
    let mut checked = 0;
    for script in &scripts {
        let tokens = rough_tokens(script);
        for _ in 0..150 {
            let mut t = tokens.clone();
            for _ in 0..rng.usize(1..4) {
                if t.is_empty() {
                    break;
                }
                let i = rng.usize(..t.len());
                match rng.u8(..4) {
                    0 => {
                        t.remove(i);
                    }
                    1 => {
                        let dup = t[i].clone();
                        t.insert(i, dup);
                    }
                    2 => {
                        let j = rng.usize(..t.len());
                        t.swap(i, j);
                    }
                    _ => t[i] = WORDS[rng.usize(..WORDS.len())].to_string(),
                }
            }
            check(seed, &t.join(" "));
            // Truncations too.
            let cut = rng.usize(..=script.len());
            if script.is_char_boundary(cut) {
                check(seed, &script[..cut]);
            }
            checked += 1;
        }
    }
    assert!(checked > 2000);
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep_type = format!("CREATE TABLE t (a {}INT{})", "ARRAY<".repeat(200), ">".repeat(200));
    assert!(parse_script(&deep_type).is_err());
    let deep_expr = format!("SELECT {}1{}", "(".repeat(500), ")".repeat(500));
    assert!(parse_script(&deep_expr).is_err());
    let deep_explain = format!("{}SELECT 1", "EXPLAIN ".repeat(100));
    assert!(parse_script(&deep_explain).is_err());
}
