//! Deeply nested input is an error, not a stack overflow.

#![allow(clippy::unwrap_used)] // Tests: a failure is a panic with its message.

use serde::Deserialize;
use weir_format_json::schema::infer_from_message;
use weir_format_json::{Deserializer, FormatErrorKind, JsonDeserializer, JsonOptions, MAX_DEPTH};

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Row {
    b: i64,
}

#[test]
fn deep_nesting_is_a_syntax_error() {
    for depth in [MAX_DEPTH - 2, MAX_DEPTH + 1, 100_000, 500_000] {
        for (open, close) in [("[", "]"), ("{\"x\":", "}")] {
            let line = format!("{{\"b\":1,\"a\":{}1{}}}", open.repeat(depth), close.repeat(depth));
            let unlimited = JsonOptions {
                max_record_bytes: usize::MAX,
                ..JsonOptions::default()
            };
            let result = JsonDeserializer::<Row>::new(unlimited.clone()).deserialize(line.as_bytes(), &mut Vec::new());
            let value =
                JsonDeserializer::<serde_json::Value>::new(unlimited).deserialize(line.as_bytes(), &mut Vec::new());
            let inferred = infer_from_message(line.as_bytes());
            if depth < MAX_DEPTH {
                result.unwrap();
                value.unwrap();
                inferred.unwrap();
            } else {
                let err = result.unwrap_err();
                assert_eq!(err.kind, FormatErrorKind::Syntax, "{err}");
                assert!(err.message.contains("nested deeper than 128"), "{err}");
                assert!(value.is_err());
                assert!(inferred.is_err());
            }
        }
    }
    // Brackets inside strings do not count.
    let line = format!("{{\"b\":1,\"a\":\"{}\\\"{}\"}}", "[".repeat(1000), "{".repeat(1000));
    JsonDeserializer::<Row>::default()
        .deserialize(line.as_bytes(), &mut Vec::new())
        .unwrap();
}

#[test]
fn deep_nesting_into_arrow() {
    use weir_format_json::schema::Schema;
    use weir_format_json::JsonArrowDecoder;
    let schema = Schema::parse(
        r#"{"fields":[{"name":"b","type":"BIGINT"},{"name":"a","type":"STRING"},{"name":"r","type":{"ROW":[{"name":"x","type":"STRING"}]}}]}"#,
    )
    .unwrap();
    let options = JsonOptions {
        max_record_bytes: usize::MAX,
        ..JsonOptions::default()
    };
    for field in ["a", "r", "unknown"] {
        let line = format!(
            "{{\"b\":1,\"{field}\":{}1{}}}\n",
            "[".repeat(200_000),
            "]".repeat(200_000)
        );
        let mut decoder = JsonArrowDecoder::new(&schema, &options).unwrap();
        let err = decoder.deserialize(line.as_bytes(), &mut Vec::new()).unwrap_err();
        assert_eq!(err.kind, FormatErrorKind::Syntax, "{err}");
        // Fed in pieces, and through the line-by-line path.
        for piece in line.as_bytes().chunks(1000) {
            if decoder.decode(piece, &mut Vec::new()).is_err() {
                break;
            }
        }
        let mut bad = Vec::new();
        decoder
            .deserialize_lines_with(line.as_bytes(), &mut Vec::new(), |n, _, e| {
                bad.push((n, e.kind));
                Ok(())
            })
            .unwrap();
        assert_eq!(bad, vec![(0, FormatErrorKind::Syntax)]);
    }
}
