//! Errors of Weir's SQL layer.
//!
//! Parse errors carry the 1-based line and column of the offending token, the token
//! itself and a caret snippet of the source line, so that a user sees
//!
//! ```text
//! line 3, column 14: expected an SQL statement, found 'FORM'
//!   3 | FORM bid
//!     | ^^^^
//! ```
//!
//! sqlparser's own errors (whose messages end in `at Line: x, Column: y`) are mapped
//! into the same shape by [`SqlError::from_parser_error`].

use std::fmt;

use datafusion::sql::sqlparser::parser::ParserError;
use datafusion::sql::sqlparser::tokenizer::{Location, TokenizerError};

/// A 1-based position in the SQL source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Line, starting at 1.
    pub line: u64,
    /// Column (in characters), starting at 1.
    pub column: u64,
}

impl Position {
    /// A position from a sqlparser location; `None` for the empty location (line 0).
    pub fn from_location(location: Location) -> Option<Self> {
        (location.line > 0).then_some(Position {
            line: location.line,
            column: location.column.max(1),
        })
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// An error of Weir's SQL layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqlError {
    /// The SQL text could not be parsed.
    #[error("{position}: {message}{}", snippet_suffix(snippet))]
    Parse {
        /// Where the offending token starts.
        position: Position,
        /// What was expected and found, e.g. `expected an SQL statement, found 'FORM'`.
        message: String,
        /// The offending token as written (`None` at the end of the script).
        token: Option<String>,
        /// The source line with a caret under the offending token (may be empty).
        snippet: String,
    },
    /// The SQL uses a feature Weir does not support; `feature` names it.
    #[error("unsupported: {feature}{}", position_suffix(position))]
    Unsupported {
        /// The feature, e.g. `MATCH_RECOGNIZE`.
        feature: String,
        /// Where it was written, when known.
        position: Option<Position>,
    },
    /// A statement nests deeper than the parser allows.
    #[error("statement nested too deeply")]
    TooDeep,
    /// A catalog operation failed (duplicate or unknown object, ...).
    #[error("{0}")]
    Catalog(String),
    /// A `SET` option has a value that cannot be used.
    #[error("invalid value '{value}' for option '{key}': {reason}")]
    InvalidOption {
        /// The option key.
        key: String,
        /// The value as set.
        value: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The arguments of a window table function (`weir_tumble`, ...) are not usable.
    #[error("window table function {function}: {message}")]
    WindowTvf {
        /// The function name, e.g. `weir_tumble`.
        function: String,
        /// What is wrong.
        message: String,
    },
    /// A planning error (for the planner built on this front end).
    #[error("{0}")]
    Plan(String),
    /// Arrow failed on data.
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
    /// A table names a connector nobody registered.
    #[error("table '{table}': no {role} connector '{connector}' (known: {known:?})")]
    UnknownConnector {
        /// The table.
        table: String,
        /// The `connector` option.
        connector: String,
        /// `source` or `sink`.
        role: &'static str,
        /// The registered ones.
        known: Vec<String>,
    },
    /// A connector option is missing or bad.
    #[error("table '{table}': option '{option}': {message}")]
    BadOption {
        /// The table.
        table: String,
        /// The option.
        option: String,
        /// What is wrong.
        message: String,
    },
    /// The sink cannot take the changelog the query produces.
    #[error("table '{table}' (connector '{connector}') cannot take the {mode} changelog of this query: {hint}")]
    ChangelogMismatch {
        /// The sink table.
        table: String,
        /// Its connector.
        connector: String,
        /// What the query produces.
        mode: &'static str,
        /// What to do about it.
        hint: String,
    },
    /// An error from DataFusion.
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
}

fn snippet_suffix(snippet: &str) -> String {
    if snippet.is_empty() {
        String::new()
    } else {
        format!("\n{snippet}")
    }
}

fn position_suffix(position: &Option<Position>) -> String {
    match position {
        Some(p) => format!(" at {p}"),
        None => String::new(),
    }
}

impl SqlError {
    /// A parse error at `position` whose offending token is `token`, with a caret
    /// snippet taken from `source`.
    pub fn parse_at(source: &str, position: Position, message: impl Into<String>, token: Option<String>) -> Self {
        let width = token.as_deref().map_or(1, |t| t.chars().count().max(1));
        SqlError::Parse {
            position,
            message: message.into(),
            snippet: caret_snippet(source, position, width),
            token,
        }
    }

    /// An "unsupported" error naming `feature`.
    pub fn unsupported(feature: impl Into<String>, position: Option<Position>) -> Self {
        SqlError::Unsupported {
            feature: feature.into(),
            position,
        }
    }

    /// Maps a sqlparser error (message `... at Line: x, Column: y`) into a parse error
    /// with a position, the offending token and a snippet of `source`. `fallback` is
    /// used when the message has no position (e.g. at the end of the input).
    pub fn from_parser_error(source: &str, error: ParserError, fallback: Position) -> Self {
        match error {
            ParserError::RecursionLimitExceeded => SqlError::TooDeep,
            ParserError::ParserError(message) | ParserError::TokenizerError(message) => {
                Self::from_message(source, &message, fallback)
            }
        }
    }

    /// Maps a sqlparser tokenizer error into a parse error.
    pub fn from_tokenizer_error(source: &str, error: TokenizerError) -> Self {
        let position = Position::from_location(error.location).unwrap_or(Position { line: 1, column: 1 });
        let token = token_at(source, position);
        SqlError::parse_at(source, position, lower_first(&error.message), token)
    }

    fn from_message(source: &str, message: &str, fallback: Position) -> Self {
        let (text, position) = split_location(message);
        let position = position.unwrap_or(fallback);
        // sqlparser writes "Expected: X, found: TOKEN".
        let (text, token) = match text.split_once(", found: ") {
            Some((expected, found)) => {
                let expected = expected
                    .strip_prefix("Expected: ")
                    .or_else(|| expected.strip_prefix("Expected "))
                    .unwrap_or(expected);
                if found == "EOF" {
                    (format!("expected {expected}, found end of input"), None)
                } else {
                    (format!("expected {expected}, found '{found}'"), Some(found.to_string()))
                }
            }
            None => (lower_first(text), token_at(source, position)),
        };
        SqlError::parse_at(source, position, text, token)
    }
}

/// Splits `"... at Line: 3, Column: 14"` into the text and the position.
fn split_location(message: &str) -> (&str, Option<Position>) {
    let Some(at) = message.rfind(" at Line: ") else {
        return (message, None);
    };
    let rest = &message[at + " at Line: ".len()..];
    let mut parts = rest.splitn(2, ", Column: ");
    let line = parts.next().and_then(|l| l.trim().parse::<u64>().ok());
    let column = parts.next().and_then(|c| {
        let digits: String = c.chars().take_while(|ch| ch.is_ascii_digit()).collect();
        digits.parse::<u64>().ok()
    });
    match (line, column) {
        (Some(line), Some(column)) if line > 0 => (
            &message[..at],
            Some(Position {
                line,
                column: column.max(1),
            }),
        ),
        _ => (message, None),
    }
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The word (or single character) starting at `position` in `source`, if any.
fn token_at(source: &str, position: Position) -> Option<String> {
    let line = source.lines().nth(position.line.checked_sub(1)? as usize)?;
    let rest: String = line.chars().skip(position.column.saturating_sub(1) as usize).collect();
    let word: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    if !word.is_empty() {
        Some(word)
    } else {
        rest.chars().next().map(String::from)
    }
}

/// `  3 | source line` and `    |    ^^^` under the token (empty when the line does not exist).
pub(crate) fn caret_snippet(source: &str, position: Position, width: usize) -> String {
    let Some(index) = position.line.checked_sub(1) else {
        return String::new();
    };
    let Some(line) = source.lines().nth(index as usize) else {
        return String::new();
    };
    let line = line.trim_end_matches('\r');
    let number = position.line.to_string();
    let gutter = " ".repeat(number.len());
    let column = position.column.saturating_sub(1) as usize;
    // Keep tabs so that the caret lines up under the token.
    let pad: String = line
        .chars()
        .take(column)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let available = line.chars().count().saturating_sub(column).max(1);
    let carets = "^".repeat(width.clamp(1, available));
    format!("  {number} | {line}\n  {gutter} | {pad}{carets}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_parser_error_with_location() {
        let source = "SELECT 1;\nSELECT a\nFORM bid";
        let error = SqlError::from_parser_error(
            source,
            ParserError::ParserError("Expected: end of statement, found: FORM at Line: 3, Column: 1".into()),
            Position { line: 1, column: 1 },
        );
        let SqlError::Parse {
            position,
            token,
            message,
            ..
        } = &error
        else {
            panic!("not a parse error: {error:?}");
        };
        assert_eq!(*position, Position { line: 3, column: 1 });
        assert_eq!(token.as_deref(), Some("FORM"));
        assert_eq!(message, "expected end of statement, found 'FORM'");
        assert_eq!(
            error.to_string(),
            "line 3, column 1: expected end of statement, found 'FORM'\n  3 | FORM bid\n    | ^^^^"
        );
    }

    #[test]
    fn message_without_location_uses_fallback() {
        let error = SqlError::from_parser_error(
            "SELECT",
            ParserError::ParserError("Expected: an expression, found: EOF".into()),
            Position { line: 1, column: 7 },
        );
        assert!(error
            .to_string()
            .starts_with("line 1, column 7: expected an expression, found end of input"));
    }

    #[test]
    fn tokenizer_errors_have_positions() {
        let error = crate::front::parse_script("SELECT 1;\nSELECT 'abc").unwrap_err();
        let SqlError::Parse { position, .. } = &error else {
            panic!("{error:?}");
        };
        assert_eq!(position.line, 2, "{error}");
        assert!(error.to_string().contains("nterminated"), "{error}");
    }

    #[test]
    fn unsupported_names_the_feature() {
        let error = SqlError::unsupported("MATCH_RECOGNIZE", Some(Position { line: 2, column: 5 }));
        assert_eq!(error.to_string(), "unsupported: MATCH_RECOGNIZE at line 2, column 5");
    }
}
