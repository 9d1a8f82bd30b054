//! Flink's value constructors that sqlparser reads differently.
//!
//! Flink builds maps with `MAP[k1, v1, k2, v2]`; sqlparser's generic dialect reads
//! `MAP[...]` as DuckDB's `MAP[k: v]`. The tokens are rewritten to the map literal
//! `MAP {k1: v1, k2: v2}` (which DataFusion plans as `make_map`), keeping their
//! spans. `ARRAY[...]` and `ROW(...)` parse as they are.

use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan};

use crate::error::SqlError;
use crate::front::source::{significant, SourceText};

/// Rewrites every `MAP[k, v, ...]` of `tokens` into `MAP {k: v, ...}`.
pub(crate) fn rewrite_map_constructors(
    mut tokens: Vec<TokenWithSpan>,
    source: &SourceText<'_>,
) -> Result<Vec<TokenWithSpan>, SqlError> {
    let sig = significant(&tokens);
    let mut k = 0;
    while k + 1 < sig.len() {
        let is_map = matches!(&tokens[sig[k]].token,
            Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("MAP"));
        if !is_map || tokens[sig[k + 1]].token != Token::LBracket {
            k += 1;
            continue;
        }
        // Find the matching `]` and the commas directly inside it.
        let mut depth = 0usize;
        let mut commas = Vec::new();
        let mut close = None;
        for (j, &i) in sig.iter().enumerate().skip(k + 1) {
            match tokens[i].token {
                Token::LBracket | Token::LParen | Token::LBrace => depth += 1,
                Token::RBracket | Token::RParen | Token::RBrace => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        close = Some(j);
                        break;
                    }
                }
                Token::Comma if depth == 1 => commas.push(i),
                Token::SemiColon => break,
                _ => {}
            }
        }
        // Unbalanced: leave it for sqlparser to report.
        let Some(close_k) = close else {
            k += 1;
            continue;
        };
        if tokens[sig[close_k]].token != Token::RBracket {
            k += 1;
            continue;
        }
        let empty = close_k == k + 2;
        if !empty && commas.len().is_multiple_of(2) {
            return Err(source.error_at(
                &tokens[sig[k]],
                "MAP[...] needs key, value pairs (an even number of elements)",
            ));
        }
        tokens[sig[k + 1]].token = Token::LBrace;
        tokens[sig[close_k]].token = Token::RBrace;
        for &i in commas.iter().step_by(2) {
            tokens[i].token = Token::Colon;
        }
        // Go on inside: elements may be maps too.
        k += 2;
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use crate::front::parse_statement;
    use crate::front::Statement;

    fn query(sql: &str) -> String {
        match parse_statement(sql).unwrap().statement {
            Statement::Query(q) => q.to_string(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn map_constructors() {
        assert_eq!(query("SELECT MAP['a', 1]"), "SELECT MAP {'a': 1}");
        assert_eq!(
            query("SELECT MAP[f(a, b), MAP['x', 2], 'k', (1, 2)]"),
            "SELECT MAP {f(a, b): MAP {'x': 2}, 'k': (1, 2)}"
        );
        assert_eq!(query("SELECT m['k'] FROM t"), "SELECT m['k'] FROM t");
        assert!(parse_statement("SELECT MAP['a']").is_err());
        // Unbalanced: sqlparser reports it.
        assert!(parse_statement("SELECT MAP['a', 1").is_err());
    }
}
