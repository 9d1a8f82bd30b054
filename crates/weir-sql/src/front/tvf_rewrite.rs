//! The token rewrite of window table functions (see [`super::tvf`] for the forms):
//! `TABLE(TUMBLE(TABLE t, DESCRIPTOR(c), size))` becomes `weir_tumble('t', 'c', size)`
//! before sqlparser sees it. The new tokens carry the spans of the tokens they
//! replace; the same rewrite is also returned as text edits for
//! [`super::rewrite_window_tvfs`].

use datafusion::sql::sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Word};

use crate::error::{Position, SqlError};
use crate::front::source::{significant, SourceText};
use crate::front::tvf::{CUMULATE_FUNCTION, HOP_FUNCTION, SESSION_FUNCTION, TUMBLE_FUNCTION};

/// A replaced region of the source: `start..end` becomes `text`.
#[derive(Debug, Clone)]
pub(crate) struct TextEdit {
    pub(crate) start: Location,
    pub(crate) end: Location,
    pub(crate) text: String,
}

/// The rewritten tokens and the same rewrite as text edits.
pub(crate) struct Rewrite {
    pub(crate) tokens: Vec<TokenWithSpan>,
    pub(crate) edits: Vec<TextEdit>,
}

/// Applies edits (in source order, not overlapping) to the source.
pub(crate) fn apply_edits(source: &SourceText<'_>, edits: &[TextEdit]) -> String {
    let text = source.text();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for edit in edits {
        let start = source.offset(edit.start);
        let end = source.offset(edit.end).max(start);
        if start < at {
            continue;
        }
        out.push_str(&text[at..start]);
        out.push_str(&edit.text);
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tumble,
    Hop,
    Cumulate,
    Session,
}

impl Kind {
    fn from_word(word: &str) -> Option<Kind> {
        match word.to_ascii_uppercase().as_str() {
            "TUMBLE" => Some(Kind::Tumble),
            "HOP" => Some(Kind::Hop),
            "CUMULATE" => Some(Kind::Cumulate),
            "SESSION" => Some(Kind::Session),
            _ => None,
        }
    }

    fn function(self) -> &'static str {
        match self {
            Kind::Tumble => TUMBLE_FUNCTION,
            Kind::Hop => HOP_FUNCTION,
            Kind::Cumulate => CUMULATE_FUNCTION,
            Kind::Session => SESSION_FUNCTION,
        }
    }

    /// Parameter names in positional order, and how many are required.
    fn params(self) -> (&'static [&'static str], usize) {
        match self {
            Kind::Tumble => (&["DATA", "TIMECOL", "SIZE", "OFFSET"], 3),
            Kind::Hop => (&["DATA", "TIMECOL", "SLIDE", "SIZE", "OFFSET"], 4),
            Kind::Cumulate => (&["DATA", "TIMECOL", "STEP", "SIZE", "OFFSET"], 4),
            Kind::Session => (&["DATA", "TIMECOL", "GAP"], 3),
        }
    }
}

/// One argument's value: token indexes (into the full token list) of its
/// significant tokens, and its first token for errors.
#[derive(Debug, Clone)]
struct Arg {
    /// Indexes into the significant-token list.
    sig: Vec<usize>,
}

/// Rewrites every `TABLE(TUMBLE|HOP|CUMULATE|SESSION(...))` of `tokens`.
pub(crate) fn rewrite_tokens(tokens: Vec<TokenWithSpan>, source: &SourceText<'_>) -> Result<Rewrite, SqlError> {
    // Indexes of the significant (non-whitespace) tokens.
    let sig = significant(&tokens);
    let mut out = Vec::with_capacity(tokens.len());
    let mut edits = Vec::new();
    // Next index of `tokens` still to copy.
    let mut copied = 0;
    let mut k = 0;
    while k < sig.len() {
        let Some(kind) = window_call_at(&tokens, &sig, k) else {
            k += 1;
            continue;
        };
        let call = Call {
            tokens: &tokens,
            sig: &sig,
            source,
        };
        let (replacement, text, end_k) = call.rewrite(kind, k)?;
        out.extend_from_slice(&tokens[copied..sig[k]]);
        out.extend(replacement);
        edits.push(TextEdit {
            start: tokens[sig[k]].span.start,
            end: tokens[sig[end_k]].span.end,
            text,
        });
        copied = sig[end_k] + 1;
        k = end_k + 1;
    }
    out.extend_from_slice(&tokens[copied..]);
    Ok(Rewrite { tokens: out, edits })
}

fn word_of(token: &Token) -> Option<&Word> {
    match token {
        Token::Word(w) if w.quote_style.is_none() => Some(w),
        _ => None,
    }
}

fn is_word(token: &Token, word: &str) -> bool {
    word_of(token).is_some_and(|w| w.value.eq_ignore_ascii_case(word))
}

/// `TABLE ( TUMBLE (` at significant index `k`?
fn window_call_at(tokens: &[TokenWithSpan], sig: &[usize], k: usize) -> Option<Kind> {
    let at = |i: usize| sig.get(k + i).map(|&j| &tokens[j].token);
    if !at(0).is_some_and(|t| is_word(t, "TABLE")) || at(1) != Some(&Token::LParen) {
        return None;
    }
    let kind = at(2).and_then(word_of).and_then(|w| Kind::from_word(&w.value))?;
    (at(3) == Some(&Token::LParen)).then_some(kind)
}

struct Call<'t, 's> {
    tokens: &'t [TokenWithSpan],
    sig: &'t [usize],
    source: &'t SourceText<'s>,
}

impl Call<'_, '_> {
    fn tok(&self, k: usize) -> &TokenWithSpan {
        &self.tokens[self.sig[k]]
    }

    fn error(&self, k: usize, message: impl Into<String>) -> SqlError {
        match self.sig.get(k) {
            Some(&i) => self.source.error_at(&self.tokens[i], message),
            None => self.source.error_at(&TokenWithSpan::new_eof(), message),
        }
    }

    fn text(&self, k: usize) -> &str {
        self.source.span_text(self.tok(k).span)
    }

    /// Rewrites the call starting at significant index `k` (`TABLE`); returns the new
    /// tokens, their text and the significant index of the closing `)` of `TABLE(`.
    fn rewrite(&self, kind: Kind, k: usize) -> Result<(Vec<TokenWithSpan>, String, usize), SqlError> {
        let name_k = k + 2;
        let args = self.split_args(name_k + 2)?;
        let (args, close_k) = args;
        // The `)` closing `TABLE(`.
        let end_k = close_k + 1;
        if self.sig.get(end_k).map(|&i| &self.tokens[i].token) != Some(&Token::RParen) {
            return Err(self.error(
                end_k,
                format!(
                    "expected ')' closing TABLE({}(...)), found {}",
                    self.text(name_k).to_ascii_uppercase(),
                    self.found(end_k)
                ),
            ));
        }
        let (names, required) = kind.params();
        let mut slots: Vec<Option<Arg>> = vec![None; names.len()];
        let mut positional = 0;
        let mut seen_named = false;
        for arg in args {
            let (slot, value) = match self.named(&arg) {
                Some((name, value)) => {
                    seen_named = true;
                    if value.sig.is_empty() {
                        return Err(self.error(arg.sig[1], format!("expected a value after '{name} =>'")));
                    }
                    let upper = name.to_ascii_uppercase();
                    let Some(slot) = names.iter().position(|n| *n == upper) else {
                        return Err(self.error(
                            arg.sig[0],
                            format!(
                                "unknown argument '{name}' of {} (expected one of {})",
                                self.text(name_k).to_ascii_uppercase(),
                                names.join(", ")
                            ),
                        ));
                    };
                    (slot, value)
                }
                None => {
                    if seen_named {
                        return Err(self.error(arg.sig[0], "positional argument after named arguments"));
                    }
                    positional += 1;
                    if positional > names.len() {
                        return Err(self.error(
                            arg.sig[0],
                            format!(
                                "too many arguments for {} (expected at most {})",
                                self.text(name_k).to_ascii_uppercase(),
                                names.len()
                            ),
                        ));
                    }
                    (positional - 1, arg)
                }
            };
            if slots[slot].is_some() {
                return Err(self.error(value.sig[0], format!("argument {} given twice", names[slot])));
            }
            slots[slot] = Some(value);
        }
        for (i, slot) in slots.iter().enumerate().take(required) {
            if slot.is_none() {
                return Err(self.error(
                    name_k,
                    format!(
                        "{} needs argument {} ({})",
                        self.text(name_k).to_ascii_uppercase(),
                        i + 1,
                        names[i]
                    ),
                ));
            }
        }
        let mut slots = slots.into_iter();
        let (Some(Some(data)), Some(Some(timecol))) = (slots.next(), slots.next()) else {
            return Err(self.error(name_k, "missing DATA or TIMECOL argument"));
        };
        let (table, table_k, keys) = self.data_arg(&data)?;
        let (column, column_k) = self.descriptor_arg(&timecol)?;

        let mut b = Builder::default();
        let head_span = Span::new(self.tok(k).span.start, self.tok(name_k).span.end);
        b.word(kind.function(), head_span);
        b.punct(Token::LParen, "(", self.tok(name_k + 1).span);
        b.string(&table, self.tok(table_k).span);
        b.punct(Token::Comma, ", ", self.tok(table_k).span);
        b.string(&column, self.tok(column_k).span);
        for value in slots.flatten() {
            if let Some(&first) = value.sig.first() {
                b.punct(Token::Comma, ", ", self.tok(first).span);
            }
            self.expression_arg(&value, &mut b)?;
        }
        if kind == Kind::Session {
            b.punct(Token::Comma, ", ", self.tok(close_k).span);
            b.string(&keys.join(","), self.tok(table_k).span);
        } else if !keys.is_empty() {
            return Err(self.error(table_k, "PARTITION BY is only allowed for SESSION windows"));
        }
        b.punct(Token::RParen, ")", self.tok(end_k).span);
        Ok((b.tokens, b.text, end_k))
    }

    /// `found 'x'` / `found end of input` for significant index `k`.
    fn found(&self, k: usize) -> String {
        match self.sig.get(k) {
            Some(_) => format!("'{}'", self.text(k)),
            None => "end of input".to_string(),
        }
    }

    /// Splits the arguments starting at significant index `k` (after the call's `(`)
    /// at top-level commas; returns them and the index of the call's closing `)`.
    fn split_args(&self, k: usize) -> Result<(Vec<Arg>, usize), SqlError> {
        let mut args = Vec::new();
        let mut current = Vec::new();
        let mut depth = 0usize;
        let mut j = k;
        loop {
            let Some(&i) = self.sig.get(j) else {
                return Err(self.error(
                    k.saturating_sub(2),
                    "expected ')' closing the window function call, found end of input",
                ));
            };
            match self.tokens[i].token {
                Token::LParen | Token::LBracket => depth += 1,
                Token::RParen | Token::RBracket if depth > 0 => depth -= 1,
                Token::RParen => {
                    if current.is_empty() {
                        if !args.is_empty() {
                            return Err(self.error(j, "expected an argument, found ')'"));
                        }
                    } else {
                        args.push(Arg { sig: current });
                    }
                    return Ok((args, j));
                }
                Token::Comma if depth == 0 => {
                    if current.is_empty() {
                        return Err(self.error(j, "expected an argument, found ','"));
                    }
                    args.push(Arg {
                        sig: std::mem::take(&mut current),
                    });
                    j += 1;
                    continue;
                }
                Token::SemiColon => {
                    return Err(self.error(j, "expected ')' closing the window function call, found ';'"))
                }
                _ => {}
            }
            current.push(j);
            j += 1;
        }
    }

    /// `NAME => value`: the name and the value's tokens.
    fn named(&self, arg: &Arg) -> Option<(String, Arg)> {
        if arg.sig.len() >= 2 && self.tok(arg.sig[1]).token == Token::RArrow {
            let name = match &self.tok(arg.sig[0]).token {
                Token::Word(w) => w.value.clone(),
                _ => return None,
            };
            Some((
                name,
                Arg {
                    sig: arg.sig[2..].to_vec(),
                },
            ))
        } else {
            None
        }
    }

    /// `TABLE name [PARTITION BY k | (k1, k2)]`: the name, its token and the keys.
    fn data_arg(&self, arg: &Arg) -> Result<(String, usize, Vec<String>), SqlError> {
        let Some(&first) = arg.sig.first() else {
            return Err(self.error(0, "missing DATA argument"));
        };
        let subquery = |k: usize| {
            SqlError::unsupported(
                "window TVF over a subquery; use a view",
                Position::from_location(self.tok(k).span.start),
            )
        };
        let first_token = &self.tok(first).token;
        if *first_token == Token::LParen || is_word(first_token, "SELECT") {
            return Err(subquery(first));
        }
        if !is_word(first_token, "TABLE") {
            return Err(self.error(
                first,
                format!(
                    "expected TABLE <name> as the window's data, found {}",
                    self.found(first)
                ),
            ));
        }
        let mut j = 1;
        let name_k = match arg.sig.get(j) {
            Some(&k) => k,
            None => return Err(self.error(first, "expected a table name after TABLE")),
        };
        if self.tok(name_k).token == Token::LParen {
            return Err(subquery(name_k));
        }
        let mut name = self.ident(name_k, "a table name")?;
        j += 1;
        while arg.sig.get(j).map(|&k| &self.tok(k).token) == Some(&Token::Period) {
            let Some(&part) = arg.sig.get(j + 1) else {
                return Err(self.error(arg.sig[j], "expected a name after '.'"));
            };
            name.push('.');
            name.push_str(&self.ident(part, "a name")?);
            j += 2;
        }
        let mut keys = Vec::new();
        if let Some(&k) = arg.sig.get(j) {
            let by = arg.sig.get(j + 1).copied();
            if !is_word(&self.tok(k).token, "PARTITION") || !by.is_some_and(|b| is_word(&self.tok(b).token, "BY")) {
                return Err(self.error(
                    k,
                    format!(
                        "expected PARTITION BY or ',' after TABLE {name}, found {}",
                        self.found(k)
                    ),
                ));
            }
            let rest = &arg.sig[j + 2..];
            let inner: &[usize] = match rest {
                [open, inner @ .., close]
                    if self.tok(*open).token == Token::LParen && self.tok(*close).token == Token::RParen =>
                {
                    inner
                }
                _ => rest,
            };
            if inner.is_empty() {
                return Err(self.error(k, "expected partition columns after PARTITION BY"));
            }
            for (n, &kk) in inner.iter().enumerate() {
                if n % 2 == 1 {
                    if self.tok(kk).token != Token::Comma {
                        return Err(self.error(
                            kk,
                            format!("expected ',' between partition columns, found {}", self.found(kk)),
                        ));
                    }
                } else {
                    keys.push(self.ident(kk, "a partition column")?);
                }
            }
            if inner.len().is_multiple_of(2) {
                return Err(self.error(inner[inner.len() - 1], "expected a partition column"));
            }
        }
        Ok((name, name_k, keys))
    }

    /// `DESCRIPTOR(col)`: the column and its token.
    fn descriptor_arg(&self, arg: &Arg) -> Result<(String, usize), SqlError> {
        match arg.sig.as_slice() {
            [d, open, col, close]
                if is_word(&self.tok(*d).token, "DESCRIPTOR")
                    && self.tok(*open).token == Token::LParen
                    && self.tok(*close).token == Token::RParen =>
            {
                Ok((self.ident(*col, "a time column")?, *col))
            }
            [first, ..] => Err(self.error(
                *first,
                format!(
                    "expected DESCRIPTOR(<time column>) as the window's time column, found {}",
                    self.found(*first)
                ),
            )),
            [] => Err(self.error(0, "missing TIMECOL argument")),
        }
    }

    /// Copies an expression argument (tokens and whitespace between them).
    fn expression_arg(&self, arg: &Arg, b: &mut Builder) -> Result<(), SqlError> {
        let (Some(&first), Some(&last)) = (arg.sig.first(), arg.sig.last()) else {
            return Ok(());
        };
        if is_word(&self.tok(first).token, "TABLE") || is_word(&self.tok(first).token, "DESCRIPTOR") {
            return Err(self.error(first, format!("expected a duration, found {}", self.found(first))));
        }
        let (from, to) = (self.sig[first], self.sig[last]);
        b.tokens.extend_from_slice(&self.tokens[from..=to]);
        b.text.push_str(
            self.source
                .slice(self.tokens[from].span.start, self.tokens[to].span.end),
        );
        Ok(())
    }

    /// An identifier's value.
    fn ident(&self, k: usize, what: &str) -> Result<String, SqlError> {
        match &self.tok(k).token {
            Token::Word(w) => Ok(w.value.clone()),
            _ => Err(self.error(k, format!("expected {what}, found {}", self.found(k)))),
        }
    }
}

/// New tokens with their text.
#[derive(Default)]
struct Builder {
    tokens: Vec<TokenWithSpan>,
    text: String,
}

impl Builder {
    fn word(&mut self, word: &str, span: Span) {
        self.tokens.push(TokenWithSpan::new(Token::make_word(word, None), span));
        self.text.push_str(word);
    }

    fn punct(&mut self, token: Token, text: &str, span: Span) {
        self.tokens.push(TokenWithSpan::new(token, span));
        self.text.push_str(text);
    }

    fn string(&mut self, value: &str, span: Span) {
        self.tokens
            .push(TokenWithSpan::new(Token::SingleQuotedString(value.to_string()), span));
        self.text.push('\'');
        self.text.push_str(&value.replace('\'', "''"));
        self.text.push('\'');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewritten_tokens_keep_spans() {
        let sql = "SELECT *\nFROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(ts), INTERVAL '1' SECOND)) w";
        let source = SourceText::new(sql);
        let tokens = crate::front::source::tokenize(&crate::front::dialect::FlinkDialect::default(), &source).unwrap();
        let rewrite = rewrite_tokens(tokens, &source).unwrap();
        let significant: Vec<&TokenWithSpan> = rewrite
            .tokens
            .iter()
            .filter(|t| !crate::front::source::is_trivia(&t.token))
            .collect();
        let bid = significant
            .iter()
            .find(|t| t.token == Token::SingleQuotedString("bid".into()))
            .unwrap();
        assert_eq!(source.span_text(bid.span), "bid");
        assert_eq!((bid.span.start.line, bid.span.start.column), (2, 25));
        assert_eq!(rewrite.edits.len(), 1);
        assert_eq!(
            apply_edits(&source, &rewrite.edits),
            "SELECT *\nFROM weir_tumble('bid', 'ts', INTERVAL '1' SECOND) w"
        );
    }
}
