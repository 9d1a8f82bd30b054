//! The script parser: splits a Flink SQL script into typed statements.
//!
//! The script is tokenized once by sqlparser's tokenizer ([`super::source::tokenize`]),
//! window table functions are rewritten at token level ([`super::tvf_rewrite`]), and one
//! sqlparser [`Parser`] walks the whole token stream. Statements sqlparser knows
//! (queries, and the expressions inside DDL) are parsed by it; the Flink-only
//! statements (`CREATE TABLE` with watermarks and `WITH` options, statement sets,
//! `SET`, `SHOW`, `DESCRIBE`, ...) are parsed here with the same parser's token API,
//! so positions and quoting stay right everywhere.

use datafusion::sql::sqlparser::ast;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::{Parser, ParserError, ParserOptions};
use datafusion::sql::sqlparser::tokenizer::{Location, Token, TokenWithSpan};

use crate::error::{Position, SqlError};
use crate::front::constructors::rewrite_map_constructors;
use crate::front::dialect::FlinkDialect;
use crate::front::source::{is_trivia, tokenize, SourceText};
use crate::front::statement::{
    CreateFunction, CreateView, DropObject, FunctionDef, Insert, ObjectKind, ParsedStatement, Statement, ViewDef,
};
use crate::front::tvf_rewrite;
use crate::front::type_planner::rewrite_type_spellings;

/// How deep `EXPLAIN EXPLAIN ...` and nested types may go.
pub(crate) const MAX_DEPTH: usize = 32;

/// sqlparser's recursion limit for expressions and queries.
const RECURSION_LIMIT: usize = 64;

/// Explain details Flink knows.
const EXPLAIN_DETAILS: &[&str] = &["ESTIMATED_COST", "CHANGELOG_MODE", "PLAN_ADVICE", "JSON_EXECUTION_PLAN"];

/// Parses a script of `;`-separated statements.
pub fn parse_script(sql: &str) -> Result<Vec<ParsedStatement>, SqlError> {
    let dialect = FlinkDialect::default();
    let source = SourceText::new(sql);
    let tokens = prepare_tokens(&dialect, &source)?;
    let parser = Parser::new(&dialect)
        .with_options(ParserOptions::new().with_trailing_commas(false))
        .with_recursion_limit(RECURSION_LIMIT)
        .with_tokens_with_locations(tokens);
    let mut front = FrontParser { p: parser, src: source };
    front.script()
}

/// Parses exactly one statement (a trailing `;` is allowed).
pub fn parse_statement(sql: &str) -> Result<ParsedStatement, SqlError> {
    let mut statements = parse_script(sql)?;
    match statements.len() {
        1 => Ok(statements.remove(0)),
        0 => Err(SqlError::parse_at(
            sql,
            SourceText::new(sql).end_position(),
            "expected an SQL statement, found end of input",
            None,
        )),
        n => {
            let second = &statements[1];
            Err(SqlError::parse_at(
                sql,
                second.position,
                format!("expected one statement, found {n}"),
                None,
            ))
        }
    }
}

/// Rewrites the window table functions of `sql` (`TABLE(TUMBLE(TABLE t, ...))`) into
/// Weir's table-function calls (`weir_tumble('t', ...)`), leaving the rest of the
/// text as written.
pub fn rewrite_window_tvfs(sql: &str) -> Result<String, SqlError> {
    let dialect = FlinkDialect::default();
    let source = SourceText::new(sql);
    let tokens = tokenize(&dialect, &source)?;
    let rewrite = tvf_rewrite::rewrite_tokens(tokens, &source)?;
    Ok(tvf_rewrite::apply_edits(&source, &rewrite.edits))
}

fn prepare_tokens(dialect: &FlinkDialect, source: &SourceText<'_>) -> Result<Vec<TokenWithSpan>, SqlError> {
    let tokens = tokenize(dialect, source)?;
    reject_unsupported(&tokens)?;
    let tokens = tvf_rewrite::rewrite_tokens(tokens, source)?.tokens;
    let tokens = rewrite_type_spellings(tokens);
    rewrite_map_constructors(tokens, source)
}

/// Features sqlparser would accept but Weir's streaming planner does not support.
fn reject_unsupported(tokens: &[TokenWithSpan]) -> Result<(), SqlError> {
    for token in tokens {
        if let Token::Word(w) = &token.token {
            if w.quote_style.is_none() && w.keyword == Keyword::MATCH_RECOGNIZE {
                return Err(SqlError::unsupported(
                    "MATCH_RECOGNIZE",
                    Position::from_location(token.span.start),
                ));
            }
        }
    }
    Ok(())
}

/// The statement parser over one token stream.
pub(crate) struct FrontParser<'a> {
    pub(crate) p: Parser<'a>,
    pub(crate) src: SourceText<'a>,
}

impl<'a> FrontParser<'a> {
    fn script(&mut self) -> Result<Vec<ParsedStatement>, SqlError> {
        let mut out = Vec::new();
        loop {
            while self.eat(&Token::SemiColon) {}
            if self.peek().token == Token::EOF {
                return Ok(out);
            }
            let statement = self.parsed_statement(0)?;
            let next = self.peek().clone();
            match next.token {
                Token::SemiColon | Token::EOF => {}
                _ => return Err(self.src.expected("';' or the end of the script", &next)),
            }
            out.push(statement);
        }
    }

    /// One statement with its text.
    pub(crate) fn parsed_statement(&mut self, depth: usize) -> Result<ParsedStatement, SqlError> {
        let first = self.peek().clone();
        if depth > MAX_DEPTH {
            return Err(SqlError::TooDeep);
        }
        let statement = self.statement(depth)?;
        Ok(ParsedStatement {
            statement,
            text: self.text_from(first.span.start).to_string(),
            position: Position::from_location(first.span.start).unwrap_or_else(|| self.src.end_position()),
        })
    }

    fn statement(&mut self, depth: usize) -> Result<Statement, SqlError> {
        let token = self.peek().clone();
        let word = match &token.token {
            Token::Word(w) if w.quote_style.is_none() => w.value.to_ascii_uppercase(),
            Token::LParen => return Ok(Statement::Query(self.query()?)),
            _ => return Err(self.src.expected("an SQL statement", &token)),
        };
        match word.as_str() {
            "SELECT" | "WITH" | "VALUES" => Ok(Statement::Query(self.query()?)),
            "CREATE" => self.create(),
            "DROP" => self.drop_object(),
            "INSERT" => Ok(Statement::Insert(self.insert()?)),
            "EXECUTE" => {
                self.next();
                if self.peek_word("STATEMENT") {
                    self.statement_set_execute()
                } else if self.peek_word("INSERT") {
                    Ok(Statement::Insert(self.insert()?))
                } else {
                    let t = self.peek().clone();
                    Err(self.src.expected("STATEMENT SET or INSERT after EXECUTE", &t))
                }
            }
            "STATEMENT" => self.statement_set_execute(),
            "BEGIN" => self.statement_set_begin(),
            "SET" => self.set(),
            "RESET" => self.reset(),
            "SHOW" => self.show(),
            "DESCRIBE" | "DESC" => {
                self.next();
                self.eat_word("EXTENDED");
                let (name, _) = self.object_name("a table or view name")?;
                Ok(Statement::Describe { name })
            }
            "EXPLAIN" => self.explain(depth),
            "ALTER" | "USE" | "UPDATE" | "DELETE" | "TRUNCATE" | "LOAD" | "UNLOAD" | "ANALYZE" | "CALL" | "MERGE" => {
                Err(SqlError::unsupported(
                    format!("{word} statement"),
                    Position::from_location(token.span.start),
                ))
            }
            _ => Err(self.src.expected("an SQL statement", &token)),
        }
    }

    // ----- statements -------------------------------------------------------------

    fn create(&mut self) -> Result<Statement, SqlError> {
        self.expect_word("CREATE")?;
        if self.peek_word("OR") {
            let t = self.peek().clone();
            return Err(SqlError::unsupported(
                "CREATE OR REPLACE",
                Position::from_location(t.span.start),
            ));
        }
        let temporary = self.eat_word("TEMPORARY");
        if temporary && self.eat_word("SYSTEM") {
            self.expect_word("FUNCTION")?;
            return self.create_function(temporary);
        }
        let token = self.peek().clone();
        if self.eat_word("TABLE") {
            return Ok(Statement::CreateTable(Box::new(self.create_table(temporary)?)));
        }
        if self.eat_word("VIEW") {
            return self.create_view(temporary);
        }
        if self.eat_word("FUNCTION") {
            return self.create_function(temporary);
        }
        match &token.token {
            Token::Word(w)
                if w.quote_style.is_none()
                    && ["DATABASE", "CATALOG", "MODEL", "SCHEMA", "INDEX", "OR"]
                        .iter()
                        .any(|k| w.value.eq_ignore_ascii_case(k)) =>
            {
                Err(SqlError::unsupported(
                    format!("CREATE {}", w.value.to_ascii_uppercase()),
                    Position::from_location(token.span.start),
                ))
            }
            _ => Err(self.src.expected("TABLE, VIEW or FUNCTION", &token)),
        }
    }

    fn create_view(&mut self, temporary: bool) -> Result<Statement, SqlError> {
        let if_not_exists = self.eat_words(&["IF", "NOT", "EXISTS"]);
        let (name, _) = self.object_name("a view name")?;
        let mut columns = Vec::new();
        if self.eat(&Token::LParen) {
            loop {
                columns.push(self.ident("a column name")?.0);
                if !self.eat(&Token::Comma) {
                    break;
                }
            }
            self.expect(&Token::RParen, "')'")?;
        }
        let comment = if self.eat_word("COMMENT") {
            Some(self.string_literal("a comment string")?)
        } else {
            None
        };
        self.expect_word("AS")?;
        let start = self.peek().span.start;
        let query = self.query()?;
        let query_text = self.text_from(start).to_string();
        Ok(Statement::CreateView(CreateView {
            view: ViewDef {
                name,
                temporary,
                columns,
                query,
                query_text,
                comment,
            },
            if_not_exists,
        }))
    }

    fn create_function(&mut self, temporary: bool) -> Result<Statement, SqlError> {
        let if_not_exists = self.eat_words(&["IF", "NOT", "EXISTS"]);
        let (name, _) = self.object_name("a function name")?;
        self.expect_word("AS")?;
        let registered_name = self.string_literal("the registered function name as a string")?;
        let language = if self.eat_word("LANGUAGE") {
            Some(self.ident("a language")?.0.to_ascii_uppercase())
        } else {
            None
        };
        if self.peek_word("USING") {
            let t = self.peek().clone();
            return Err(SqlError::unsupported(
                "CREATE FUNCTION ... USING JAR",
                Position::from_location(t.span.start),
            ));
        }
        Ok(Statement::CreateFunction(CreateFunction {
            function: FunctionDef {
                name,
                registered_name,
                temporary,
                language,
            },
            if_not_exists,
        }))
    }

    fn drop_object(&mut self) -> Result<Statement, SqlError> {
        self.expect_word("DROP")?;
        let temporary = self.eat_word("TEMPORARY");
        if temporary && self.eat_word("SYSTEM") && !self.peek_word("FUNCTION") {
            let t = self.peek().clone();
            return Err(self.src.expected("FUNCTION", &t));
        }
        let token = self.next();
        let kind = match &token.token {
            Token::Word(w) if w.quote_style.is_none() => match w.value.to_ascii_uppercase().as_str() {
                "TABLE" => ObjectKind::Table,
                "VIEW" => ObjectKind::View,
                "FUNCTION" => ObjectKind::Function,
                "DATABASE" | "CATALOG" | "MODEL" => {
                    return Err(SqlError::unsupported(
                        format!("DROP {}", w.value.to_ascii_uppercase()),
                        Position::from_location(token.span.start),
                    ))
                }
                _ => return Err(self.src.expected("TABLE, VIEW or FUNCTION", &token)),
            },
            _ => return Err(self.src.expected("TABLE, VIEW or FUNCTION", &token)),
        };
        let if_exists = self.eat_words(&["IF", "EXISTS"]);
        let (name, _) = self.object_name(&format!("a {} name", kind.as_str()))?;
        Ok(Statement::Drop(DropObject {
            kind,
            name,
            if_exists,
            temporary,
        }))
    }

    fn insert(&mut self) -> Result<Insert, SqlError> {
        let start = self.peek().span.start;
        self.expect_word("INSERT")?;
        let overwrite = if self.eat_word("OVERWRITE") {
            true
        } else {
            self.expect_word("INTO")?;
            false
        };
        let (table, _) = self.object_name("a table name")?;
        if self.peek_word("PARTITION") {
            let t = self.peek().clone();
            return Err(SqlError::unsupported(
                "INSERT with a static PARTITION",
                Position::from_location(t.span.start),
            ));
        }
        let mut columns = Vec::new();
        // `(a, b) SELECT ...` is a column list, `(SELECT ...)` a query.
        if self.peek().token == Token::LParen && !self.nth_is_query_start(1) {
            self.next();
            loop {
                columns.push(self.ident("a column name")?.0);
                if !self.eat(&Token::Comma) {
                    break;
                }
            }
            self.expect(&Token::RParen, "')'")?;
        }
        let query = self.query()?;
        Ok(Insert {
            table,
            columns,
            query,
            overwrite,
            text: self.text_from(start).to_string(),
        })
    }

    /// `[EXECUTE] STATEMENT SET BEGIN insert; ... END`.
    fn statement_set_execute(&mut self) -> Result<Statement, SqlError> {
        self.expect_word("STATEMENT")?;
        self.expect_word("SET")?;
        self.expect_word("BEGIN")?;
        self.statement_set_body()
    }

    /// `BEGIN STATEMENT SET; insert; ... END`.
    fn statement_set_begin(&mut self) -> Result<Statement, SqlError> {
        self.expect_word("BEGIN")?;
        self.expect_word("STATEMENT")?;
        self.expect_word("SET")?;
        self.expect(&Token::SemiColon, "';'")?;
        self.statement_set_body()
    }

    fn statement_set_body(&mut self) -> Result<Statement, SqlError> {
        let mut inserts = Vec::new();
        loop {
            while self.eat(&Token::SemiColon) {}
            let token = self.peek().clone();
            if self.eat_word("END") {
                break;
            }
            if !self.peek_word("INSERT") {
                return Err(self.src.expected("INSERT or END in a STATEMENT SET", &token));
            }
            inserts.push(self.insert()?);
            let next = self.peek().clone();
            if next.token != Token::SemiColon && !self.peek_word("END") {
                return Err(self.src.expected("';' after INSERT in a STATEMENT SET", &next));
            }
        }
        if inserts.is_empty() {
            let t = self.p.get_current_token().clone();
            return Err(self.src.error_at(&t, "a STATEMENT SET needs at least one INSERT"));
        }
        Ok(Statement::StatementSet(inserts))
    }

    fn set(&mut self) -> Result<Statement, SqlError> {
        self.expect_word("SET")?;
        if self.at_statement_end() {
            return Ok(Statement::ShowOptions);
        }
        let key = self.option_key()?;
        self.expect(&Token::Eq, "'='")?;
        let first = self.peek().clone();
        if self.at_statement_end() {
            return Err(self.src.expected("a value", &first));
        }
        let value = match &first.token {
            Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) if self.nth_is_statement_end(1) => {
                self.next();
                s.clone()
            }
            _ => {
                while !self.at_statement_end() {
                    self.next();
                }
                self.text_from(first.span.start).trim().to_string()
            }
        };
        Ok(Statement::Set { key, value })
    }

    fn reset(&mut self) -> Result<Statement, SqlError> {
        self.expect_word("RESET")?;
        if self.at_statement_end() {
            return Ok(Statement::Reset { key: None });
        }
        let key = self.option_key()?;
        Ok(Statement::Reset { key: Some(key) })
    }

    /// A `SET`/`RESET` key: a quoted string, or the text up to `=` / the end.
    fn option_key(&mut self) -> Result<String, SqlError> {
        let first = self.peek().clone();
        if let Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) = &first.token {
            self.next();
            return Ok(s.clone());
        }
        while !self.at_statement_end() && self.peek().token != Token::Eq {
            self.next();
        }
        let key = self.text_from(first.span.start).trim().to_string();
        if key.is_empty() {
            return Err(self.src.expected("an option key", &first));
        }
        Ok(key)
    }

    fn show(&mut self) -> Result<Statement, SqlError> {
        self.expect_word("SHOW")?;
        let token = self.next();
        let word = match &token.token {
            Token::Word(w) if w.quote_style.is_none() => w.value.to_ascii_uppercase(),
            _ => return Err(self.src.expected("TABLES, VIEWS or FUNCTIONS", &token)),
        };
        match word.as_str() {
            "TABLES" => Ok(Statement::ShowTables),
            "VIEWS" => Ok(Statement::ShowViews),
            "FUNCTIONS" => Ok(Statement::ShowFunctions),
            "USER" => {
                self.expect_word("FUNCTIONS")?;
                Ok(Statement::ShowFunctions)
            }
            _ => Err(SqlError::unsupported(
                format!("SHOW {word}"),
                Position::from_location(token.span.start),
            )),
        }
    }

    fn explain(&mut self, depth: usize) -> Result<Statement, SqlError> {
        self.expect_word("EXPLAIN")?;
        let mut details = Vec::new();
        if !self.eat_words(&["PLAN", "FOR"]) {
            while let Some(detail) = EXPLAIN_DETAILS.iter().find(|d| self.peek_word(d)) {
                details.push((*detail).to_string());
                self.next();
                if !self.eat(&Token::Comma) {
                    break;
                }
            }
        }
        let statement = self.parsed_statement(depth + 1)?;
        Ok(Statement::Explain {
            details,
            statement: Box::new(statement),
        })
    }

    /// A query, parsed by sqlparser.
    pub(crate) fn query(&mut self) -> Result<Box<ast::Query>, SqlError> {
        let result = self.p.parse_query();
        self.sp(result)
    }

    /// An expression, parsed by sqlparser, with its text.
    pub(crate) fn expr_with_text(&mut self) -> Result<(ast::Expr, String), SqlError> {
        let start = self.peek().span.start;
        let result = self.p.parse_expr();
        let expr = self.sp(result)?;
        Ok((expr, self.text_from(start).to_string()))
    }

    // ----- token helpers ----------------------------------------------------------

    /// Maps a sqlparser error, using the next token's position when it has none.
    pub(crate) fn sp<T>(&self, result: Result<T, ParserError>) -> Result<T, SqlError> {
        result.map_err(|e| {
            let fallback = Position::from_location(self.peek().span.start).unwrap_or_else(|| self.src.end_position());
            SqlError::from_parser_error(self.src.text(), e, fallback)
        })
    }

    /// The next non-whitespace token (EOF at the end).
    pub(crate) fn peek(&self) -> &TokenWithSpan {
        self.p.peek_token_ref()
    }

    /// Consumes and returns the next token.
    pub(crate) fn next(&mut self) -> TokenWithSpan {
        self.p.next_token()
    }

    /// Whether the `n`-th next token (0 = next) is the unquoted word `word`.
    pub(crate) fn nth_is_word(&self, n: usize, word: &str) -> bool {
        matches!(&self.p.peek_nth_token_ref(n).token,
            Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
    }

    pub(crate) fn peek_word(&self, word: &str) -> bool {
        self.nth_is_word(0, word)
    }

    pub(crate) fn eat_word(&mut self, word: &str) -> bool {
        if self.peek_word(word) {
            self.next();
            true
        } else {
            false
        }
    }

    /// Consumes all of `words` if they all come next, else nothing.
    pub(crate) fn eat_words(&mut self, words: &[&str]) -> bool {
        if words.iter().enumerate().all(|(i, w)| self.nth_is_word(i, w)) {
            for _ in words {
                self.next();
            }
            true
        } else {
            false
        }
    }

    pub(crate) fn expect_word(&mut self, word: &str) -> Result<TokenWithSpan, SqlError> {
        let token = self.peek().clone();
        if self.eat_word(word) {
            Ok(token)
        } else {
            Err(self.src.expected(word, &token))
        }
    }

    pub(crate) fn eat(&mut self, token: &Token) -> bool {
        self.p.consume_token(token)
    }

    pub(crate) fn expect(&mut self, token: &Token, what: &str) -> Result<TokenWithSpan, SqlError> {
        let next = self.peek().clone();
        if self.eat(token) {
            Ok(next)
        } else {
            Err(self.src.expected(what, &next))
        }
    }

    /// An identifier (quoted or not) with its token.
    pub(crate) fn ident(&mut self, what: &str) -> Result<(String, TokenWithSpan), SqlError> {
        let token = self.next();
        match &token.token {
            Token::Word(w) => Ok((w.value.clone(), token.clone())),
            _ => Err(self.src.expected(what, &token)),
        }
    }

    /// A possibly dotted name (`a.b.c`), kept as written (parts joined by `.`).
    pub(crate) fn object_name(&mut self, what: &str) -> Result<(String, TokenWithSpan), SqlError> {
        let (mut name, token) = self.ident(what)?;
        while self.eat(&Token::Period) {
            name.push('.');
            name.push_str(&self.ident(what)?.0);
        }
        Ok((name, token))
    }

    /// A single-quoted string literal, unescaped.
    pub(crate) fn string_literal(&mut self, what: &str) -> Result<String, SqlError> {
        let token = self.next();
        match &token.token {
            Token::SingleQuotedString(s) => Ok(s.clone()),
            _ => Err(self.src.expected(what, &token)),
        }
    }

    /// An unsigned integer literal.
    pub(crate) fn uint(&mut self, what: &str) -> Result<u64, SqlError> {
        let token = self.next();
        match &token.token {
            Token::Number(n, false) => n.parse::<u64>().map_err(|_| self.src.expected(what, &token)),
            _ => Err(self.src.expected(what, &token)),
        }
    }

    fn at_statement_end(&self) -> bool {
        self.nth_is_statement_end(0)
    }

    fn nth_is_statement_end(&self, n: usize) -> bool {
        matches!(self.p.peek_nth_token_ref(n).token, Token::SemiColon | Token::EOF)
    }

    /// Whether the `n`-th next token starts a query (`SELECT`, `WITH`, `VALUES`, `(`).
    fn nth_is_query_start(&self, n: usize) -> bool {
        self.nth_is_word(n, "SELECT")
            || self.nth_is_word(n, "WITH")
            || self.nth_is_word(n, "VALUES")
            || self.p.peek_nth_token_ref(n).token == Token::LParen
    }

    /// The end of the last consumed token.
    pub(crate) fn last_end(&self) -> Location {
        let mut index = self.p.get_current_index();
        loop {
            let token = self.p.token_at(index);
            if !is_trivia(&token.token) && token.token != Token::EOF {
                return token.span.end;
            }
            match index.checked_sub(1) {
                Some(i) => index = i,
                None => return token.span.end,
            }
        }
    }

    /// The source text from `start` to the end of the last consumed token.
    pub(crate) fn text_from(&self, start: Location) -> &'a str {
        self.src.slice(start, self.last_end())
    }
}
