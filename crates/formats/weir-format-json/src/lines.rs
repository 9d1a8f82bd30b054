//! Splitting a chunk of JSON lines.

/// The lines of `bytes` (split at `\n`, a trailing `\r` removed), blank ones skipped,
/// each with its 0-based line number in `bytes`.
///
/// ```
/// let lines: Vec<_> = weir_format_json::lines(b"{\"a\":1}\r\n\n  \n{\"a\":2}").collect();
/// assert_eq!(lines, vec![(0, &b"{\"a\":1}"[..]), (3, &b"{\"a\":2}"[..])]);
/// ```
pub fn lines(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut rest = bytes;
    let mut number = 0;
    let mut done = bytes.is_empty();
    std::iter::from_fn(move || loop {
        if done {
            return None;
        }
        let line = match memchr::memchr(b'\n', rest) {
            Some(i) => {
                let line = &rest[..i];
                rest = &rest[i + 1..];
                line
            }
            None => {
                done = true;
                rest
            }
        };
        let this = number;
        number += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !is_blank(line) {
            return Some((this, line));
        }
    })
}

/// Whether a line holds only whitespace.
pub(crate) fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}
