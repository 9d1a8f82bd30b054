//! The SQL source text and its tokens.
//!
//! [`SourceText`] maps sqlparser's 1-based (line, column) locations back to byte
//! offsets, so that a statement's original text (for `EXPLAIN`, `DESCRIBE` and views)
//! and error snippets come from the source as written. [`tokenize`] runs sqlparser's
//! tokenizer with locations and applies the token-level fixes Flink needs: `>>`
//! closing two nested type brackets (`ARRAY<ROW<a INT>>`) is split into two `>`
//! tokens (Flink has no shift operators).

use datafusion::sql::sqlparser::dialect::Dialect;
use datafusion::sql::sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Tokenizer, Whitespace};

use crate::error::{Position, SqlError};

/// A script's text with a line index.
#[derive(Debug)]
pub(crate) struct SourceText<'a> {
    text: &'a str,
    /// Byte offset of the start of each line.
    line_starts: Vec<usize>,
}

impl<'a> SourceText<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceText { text, line_starts }
    }

    /// The whole text.
    pub(crate) fn text(&self) -> &'a str {
        self.text
    }

    /// The byte offset of a location (clamped to the text).
    pub(crate) fn offset(&self, location: Location) -> usize {
        let Some(line) = (location.line as usize).checked_sub(1) else {
            return 0;
        };
        let Some(&start) = self.line_starts.get(line) else {
            return self.text.len();
        };
        let column = (location.column as usize).saturating_sub(1);
        let rest = &self.text[start..];
        match rest.char_indices().nth(column) {
            Some((i, _)) => start + i,
            None => self.text.len(),
        }
    }

    /// The text between two locations (`end` exclusive), as written.
    pub(crate) fn slice(&self, start: Location, end: Location) -> &'a str {
        let from = self.offset(start);
        let to = self.offset(end).max(from);
        &self.text[from..to]
    }

    /// The text of a span.
    pub(crate) fn span_text(&self, span: Span) -> &'a str {
        self.slice(span.start, span.end)
    }

    /// The position just after the last character of the text.
    pub(crate) fn end_position(&self) -> Position {
        let last = self.line_starts.len();
        let start = self.line_starts.last().copied().unwrap_or(0);
        Position {
            line: last as u64,
            column: self.text[start..].chars().count() as u64 + 1,
        }
    }

    /// A parse error at `token`, whose text is taken from the source.
    pub(crate) fn error_at(&self, token: &TokenWithSpan, message: impl Into<String>) -> SqlError {
        match Position::from_location(token.span.start) {
            Some(position) => {
                let text = self.span_text(token.span);
                let shown = if text.is_empty() { None } else { Some(text.to_string()) };
                SqlError::parse_at(self.text, position, message, shown)
            }
            None => SqlError::parse_at(self.text, self.end_position(), message, None),
        }
    }

    /// "expected X, found 'tok'" at `token`.
    pub(crate) fn expected(&self, expected: &str, token: &TokenWithSpan) -> SqlError {
        let message = match token.token {
            Token::EOF => format!("expected {expected}, found end of input"),
            _ => format!("expected {expected}, found '{}'", self.span_text(token.span)),
        };
        self.error_at(token, message)
    }
}

/// Tokenizes `sql` with locations and splits `>>` into two `>` tokens.
pub(crate) fn tokenize(dialect: &dyn Dialect, source: &SourceText<'_>) -> Result<Vec<TokenWithSpan>, SqlError> {
    let tokens = Tokenizer::new(dialect, source.text())
        .tokenize_with_location()
        .map_err(|e| SqlError::from_tokenizer_error(source.text(), e))?;
    let mut out = Vec::with_capacity(tokens.len());
    for token in tokens {
        match token.token {
            Token::ShiftRight => {
                let start = token.span.start;
                let middle = Location::new(start.line, start.column + 1);
                out.push(TokenWithSpan::new(Token::Gt, Span::new(start, middle)));
                out.push(TokenWithSpan::new(Token::Gt, Span::new(middle, token.span.end)));
            }
            _ => out.push(token),
        }
    }
    Ok(out)
}

/// Indexes of the tokens that are not whitespace or comments.
pub(crate) fn significant(tokens: &[TokenWithSpan]) -> Vec<usize> {
    tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| !is_trivia(&t.token))
        .map(|(i, _)| i)
        .collect()
}

/// Whether `token` is whitespace or a comment.
pub(crate) fn is_trivia(token: &Token) -> bool {
    matches!(
        token,
        Token::Whitespace(
            Whitespace::Space
                | Whitespace::Newline
                | Whitespace::Tab
                | Whitespace::SingleLineComment { .. }
                | Whitespace::MultiLineComment(_)
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::dialect::FlinkDialect;

    #[test]
    fn slices_by_location() {
        let text = "SELECT a,\n  bé FROM t";
        let source = SourceText::new(text);
        assert_eq!(source.slice(Location::new(2, 3), Location::new(2, 5)), "bé");
        assert_eq!(source.slice(Location::new(1, 8), Location::new(1, 9)), "a");
        assert_eq!(source.end_position(), Position { line: 2, column: 12 });
    }

    #[test]
    fn token_spans_are_end_exclusive() {
        let text = "SELECT `dateTime`, 'it''s'\nFROM t";
        let source = SourceText::new(text);
        let tokens = tokenize(&FlinkDialect::default(), &source).unwrap();
        let texts: Vec<&str> = tokens
            .iter()
            .filter(|t| !is_trivia(&t.token))
            .map(|t| source.span_text(t.span))
            .collect();
        assert_eq!(texts, ["SELECT", "`dateTime`", ",", "'it''s'", "FROM", "t"]);
    }

    #[test]
    fn splits_shift_right() {
        let source = SourceText::new("ARRAY<ARRAY<INT>>");
        let tokens = tokenize(&FlinkDialect::default(), &source).unwrap();
        let gts = tokens.iter().filter(|t| t.token == Token::Gt).count();
        assert_eq!(gts, 2);
        assert!(tokens.iter().all(|t| t.token != Token::ShiftRight));
    }
}
