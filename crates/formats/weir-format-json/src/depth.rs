//! A limit on nesting: decoding with serde (and arrow-json) recurses once per level.

use weir_connector_api::format::{FormatError, FormatErrorKind};

/// Objects and arrays nested deeper than this are an error (serde_json's limit too):
/// decoding them with serde recurses once per level.
pub const MAX_DEPTH: usize = 128;

/// Fails if `bytes` nests objects or arrays deeper than [`MAX_DEPTH`]. Counting the
/// opening brackets settles it for almost every record; only one with
/// more than `MAX_DEPTH` of them is scanned, strings skipped, for its real depth.
pub(crate) fn check_depth(bytes: &[u8]) -> Result<(), FormatError> {
    if count_opening(bytes) <= MAX_DEPTH {
        return Ok(());
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(FormatError::new(
                        FormatErrorKind::Syntax,
                        format!("objects and arrays nested deeper than {MAX_DEPTH} levels at byte {i}"),
                    ));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// How many `{` and `[` bytes `bytes` holds. Counted in 64-byte blocks with byte
/// counters, a loop the compiler turns into vector compares and adds (a plain
/// `filter().count()` stays scalar).
fn count_opening(bytes: &[u8]) -> usize {
    let mut blocks = bytes.chunks_exact(64);
    let mut total = 0;
    for block in &mut blocks {
        let mut n = 0u8;
        for &b in block {
            n += u8::from(b == b'{') | u8::from(b == b'[');
        }
        total += usize::from(n);
    }
    total + blocks.remainder().iter().filter(|&&b| b == b'{' || b == b'[').count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_depths() {
        let text = format!("{}{}", "[{x".repeat(100), "]".repeat(7));
        assert_eq!(count_opening(text.as_bytes()), 200);
        assert_eq!(count_opening(b""), 0);
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(check_depth(deep.as_bytes()).is_err());
        let wide = "[]".repeat(1000);
        assert!(check_depth(wide.as_bytes()).is_ok());
        let quoted = format!("\"{}\"", "[".repeat(1000));
        assert!(check_depth(quoted.as_bytes()).is_ok());
        let escaped = format!("\"\\\"{}\"", "[".repeat(1000));
        assert!(check_depth(escaped.as_bytes()).is_ok());
    }
}
