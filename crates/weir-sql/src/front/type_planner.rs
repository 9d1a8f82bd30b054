//! Flink's SQL types inside queries (`CAST(x AS TIMESTAMP_LTZ(3))`, `BYTES`, ...)
//! for DataFusion's planner.
//!
//! sqlparser parses a type it does not know (`TIMESTAMP_LTZ(3)`) as a custom type and
//! DataFusion's planner would reject it; [`FlinkTypePlanner`] is a DataFusion
//! [`TypePlanner`] that gives such types the same Arrow types as `CREATE TABLE`
//! does (see [`crate::front::types`]). Register it with
//! `SessionStateBuilder::with_type_planner`. Spellings sqlparser cannot parse are
//! rewritten at token level before parsing (`rewrite_type_spellings`):
//! `TIMESTAMP(p) WITH LOCAL TIME ZONE` to `TIMESTAMP_LTZ(p)` and `ROW<a INT>` to
//! `STRUCT<a INT>` (which DataFusion plans as a struct).

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, FieldRef, TimeUnit};
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::planner::TypePlanner;
use datafusion::sql::sqlparser::ast::{self, TimezoneInfo};
use datafusion::sql::sqlparser::tokenizer::{Span, Token, TokenWithSpan};

use crate::front::source::significant;
use crate::front::types::{timestamp_ltz_type, timestamp_type};

/// DataFusion type planner for Flink's types in queries.
#[derive(Debug, Default, Clone, Copy)]
pub struct FlinkTypePlanner;

impl TypePlanner for FlinkTypePlanner {
    fn plan_type_field(&self, sql_type: &ast::DataType) -> DfResult<Option<FieldRef>> {
        Ok(flink_sql_type(sql_type).map(|t| Arc::new(Field::new("", t, true))))
    }
}

/// The Arrow type of a sqlparser type where Flink's meaning differs from
/// DataFusion's default (`None`: use DataFusion's).
pub fn flink_sql_type(sql_type: &ast::DataType) -> Option<DataType> {
    match sql_type {
        ast::DataType::Timestamp(_, TimezoneInfo::None | TimezoneInfo::WithoutTimeZone) => Some(timestamp_type()),
        ast::DataType::Time(_, TimezoneInfo::None | TimezoneInfo::WithoutTimeZone) => {
            Some(DataType::Time32(TimeUnit::Millisecond))
        }
        ast::DataType::Bytes(_) => Some(DataType::Binary),
        ast::DataType::Custom(name, _) => {
            let name = name.to_string();
            if name.eq_ignore_ascii_case("TIMESTAMP_LTZ") {
                Some(timestamp_ltz_type())
            } else if name.eq_ignore_ascii_case("BYTES") {
                Some(DataType::Binary)
            } else {
                None
            }
        }
        _ => None,
    }
}

fn is_word(token: &Token, word: &str) -> bool {
    matches!(token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
}

/// Rewrites Flink type spellings sqlparser cannot parse inside queries:
/// `TIMESTAMP [(p)] WITH LOCAL TIME ZONE` into `TIMESTAMP_LTZ [(p)]`, and `ROW<...>`
/// into `STRUCT<...>` (`ROW` followed by `<` is always a type: Flink's `ROW` is
/// reserved).
pub(crate) fn rewrite_type_spellings(mut tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let sig = significant(&tokens);
    for pair in sig.windows(2) {
        if is_word(&tokens[pair[0]].token, "ROW") && tokens[pair[1]].token == Token::Lt {
            tokens[pair[0]].token = Token::make_word("STRUCT", None);
        }
    }
    rewrite_ltz_spelling(tokens)
}

/// Rewrites `TIMESTAMP [(p)] WITH LOCAL TIME ZONE` into `TIMESTAMP_LTZ [(p)]`.
fn rewrite_ltz_spelling(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let sig = significant(&tokens);
    let tok = |k: usize| sig.get(k).map(|&i| &tokens[i].token);
    // Token indexes to drop, and TIMESTAMP tokens to rename.
    let mut drop = vec![false; tokens.len()];
    let mut rename = Vec::new();
    for k in 0..sig.len() {
        if !tok(k).is_some_and(|t| is_word(t, "TIMESTAMP")) {
            continue;
        }
        // Skip `(p)`.
        let mut w = k + 1;
        if tok(w) == Some(&Token::LParen)
            && matches!(tok(w + 1), Some(Token::Number(..)))
            && tok(w + 2) == Some(&Token::RParen)
        {
            w += 3;
        }
        let words = ["WITH", "LOCAL", "TIME", "ZONE"];
        if words
            .iter()
            .enumerate()
            .all(|(n, word)| tok(w + n).is_some_and(|t| is_word(t, word)))
        {
            rename.push(sig[k]);
            // Drop the four words and the whitespace before them.
            let first = sig[w - 1] + 1;
            let last = sig[w + 3];
            for d in drop.iter_mut().take(last + 1).skip(first) {
                *d = true;
            }
        }
    }
    if rename.is_empty() {
        return tokens;
    }
    tokens
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !drop[*i])
        .map(|(i, t)| {
            if rename.contains(&i) {
                TokenWithSpan::new(
                    Token::make_word("TIMESTAMP_LTZ", None),
                    Span::new(t.span.start, t.span.end),
                )
            } else {
                t
            }
        })
        .collect()
}
