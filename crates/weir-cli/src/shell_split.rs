//! Splitting the text typed into the `weir sql` shell into statements: a statement
//! ends at a `;` outside quotes (`'...'`, `"..."`, `` `...` ``) and comments (`--
//! ...` to the end of the line, `/* ... */`); a statement set (`BEGIN STATEMENT SET;
//! INSERT ...; END;` or `EXECUTE STATEMENT SET BEGIN ...; END;`) is one statement.

/// Where the splitter is in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Lexer {
    /// SQL code.
    #[default]
    Code,
    /// Inside a quoted string or identifier ending with this character.
    Quoted(char),
    /// In a `--` comment, up to the end of the line.
    LineComment,
    /// In a `/* ... */` comment.
    BlockComment,
}

/// Collects text line by line and hands out the statements it completes.
#[derive(Debug, Default)]
pub struct StatementSplitter {
    /// The unfinished statement as typed.
    text: String,
    /// Its code outside quotes and comments, upper case, runs of white space as one
    /// space (a quoted part as its opening quote).
    code: String,
    lexer: Lexer,
    /// Inside a statement set: only `END;` ends the statement.
    in_set: bool,
}

impl StatementSplitter {
    /// An empty splitter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `line` (without its line break) and returns the statements it completes,
    /// each without its closing `;` and without leading white space. Statements that
    /// are only comments are dropped.
    pub fn push_line(&mut self, line: &str) -> Vec<String> {
        let mut done = Vec::new();
        let mut chars = line.chars().chain(std::iter::once('\n')).peekable();
        while let Some(c) = chars.next() {
            match self.lexer {
                Lexer::Code => match c {
                    ';' if self.ends_here() => {
                        if let Some(statement) = self.finish() {
                            done.push(statement);
                        }
                        continue;
                    }
                    '\'' | '"' | '`' => {
                        self.lexer = Lexer::Quoted(c);
                        self.code.push(c);
                    }
                    '-' if chars.peek() == Some(&'-') => {
                        self.lexer = Lexer::LineComment;
                        self.text.push(c);
                        if let Some(next) = chars.next() {
                            self.text.push(next);
                        }
                        continue;
                    }
                    '/' if chars.peek() == Some(&'*') => {
                        self.lexer = Lexer::BlockComment;
                        self.text.push(c);
                        if let Some(next) = chars.next() {
                            self.text.push(next);
                        }
                        continue;
                    }
                    c if c.is_whitespace() => {
                        if !self.code.is_empty() && !self.code.ends_with(' ') {
                            self.code.push(' ');
                        }
                    }
                    c => self.code.extend(c.to_uppercase()),
                },
                Lexer::Quoted(quote) => {
                    if c == quote {
                        if chars.peek() == Some(&quote) {
                            // A doubled quote is the quote itself.
                            self.text.push(c);
                            if let Some(next) = chars.next() {
                                self.text.push(next);
                            }
                            continue;
                        }
                        self.lexer = Lexer::Code;
                    }
                }
                Lexer::LineComment => {
                    if c == '\n' {
                        self.lexer = Lexer::Code;
                        self.separate();
                    }
                }
                Lexer::BlockComment => {
                    if c == '*' && chars.peek() == Some(&'/') {
                        self.lexer = Lexer::Code;
                        self.text.push(c);
                        if let Some(next) = chars.next() {
                            self.text.push(next);
                        }
                        self.separate();
                        continue;
                    }
                }
            }
            self.text.push(c);
        }
        if !self.is_pending() {
            // Only white space and comments so far: nothing to keep.
            self.text.clear();
            self.code.clear();
        }
        done
    }

    /// Whether an unfinished statement is waiting for more lines.
    pub fn is_pending(&self) -> bool {
        !self.code.trim().is_empty() || self.lexer != Lexer::Code || self.in_set
    }

    /// The unfinished statement, if it has any code (at the end of the input); the
    /// splitter is then empty.
    pub fn take_rest(&mut self) -> Option<String> {
        let rest = (!self.code.trim().is_empty()).then(|| self.text.trim().to_string());
        *self = StatementSplitter::default();
        rest
    }

    /// Forgets the unfinished statement (Ctrl-C at the prompt).
    pub fn clear(&mut self) {
        *self = StatementSplitter::default();
    }

    /// A comment separates words.
    fn separate(&mut self) {
        if !self.code.is_empty() && !self.code.ends_with(' ') {
            self.code.push(' ');
        }
    }

    /// Whether a `;` read now ends the statement (else it belongs to a statement
    /// set and is kept).
    fn ends_here(&mut self) -> bool {
        let code = self.code.trim();
        if !self.in_set && (code == "BEGIN STATEMENT SET" || code.starts_with("EXECUTE STATEMENT SET BEGIN")) {
            self.in_set = true;
        }
        let ends = !self.in_set
            || code
                .strip_suffix("END")
                .is_some_and(|before| !before.ends_with(|c: char| c.is_alphanumeric() || c == '_'));
        // A `;` that does not end the statement is kept as code by the caller.
        ends
    }

    fn finish(&mut self) -> Option<String> {
        let statement = (!self.code.trim().is_empty()).then(|| self.text.trim_start().to_string());
        *self = StatementSplitter::default();
        statement
    }
}

/// `text`'s code outside quotes and comments, upper case, runs of white space as
/// one space, trimmed (a quoted part as its opening quote): what the shell's own
/// commands (`QUIT`, `HELP`, ...) are recognized by.
pub fn code_of(text: &str) -> String {
    let mut splitter = StatementSplitter::new();
    for line in text.lines() {
        // A `;` inside would end a statement; the shell's commands have none.
        splitter.push_line(line);
    }
    splitter.code.trim().to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn split(lines: &[&str]) -> (Vec<String>, StatementSplitter) {
        let mut splitter = StatementSplitter::new();
        let mut done = Vec::new();
        for line in lines {
            done.extend(splitter.push_line(line));
        }
        (done, splitter)
    }

    #[test]
    fn statements_end_at_semicolons() {
        let (done, rest) = split(&["SELECT 1; SELECT 2;", "SHOW TABLES;"]);
        assert_eq!(done, ["SELECT 1", "SELECT 2", "SHOW TABLES"]);
        assert!(!rest.is_pending());
    }

    #[test]
    fn a_statement_spans_lines_until_its_semicolon() {
        let (done, splitter) = split(&["SELECT a,", "  b"]);
        assert!(done.is_empty());
        assert!(splitter.is_pending());
        let (done, splitter) = split(&["SELECT a,", "  b", "FROM t;"]);
        assert_eq!(done, ["SELECT a,\n  b\nFROM t"]);
        assert!(!splitter.is_pending());
    }

    #[test]
    fn semicolons_in_quotes_do_not_end_statements() {
        let (done, splitter) = split(&["SELECT 'a;b', \"c;d\", `e;f`, 'it''s;' FROM t;"]);
        assert_eq!(done, ["SELECT 'a;b', \"c;d\", `e;f`, 'it''s;' FROM t"]);
        assert!(!splitter.is_pending());
        // A string left open continues on the next line.
        let (done, splitter) = split(&["SELECT 'a;", "b';"]);
        assert_eq!(done, ["SELECT 'a;\nb'"]);
        assert!(!splitter.is_pending());
        let (done, splitter) = split(&["SELECT 'open;"]);
        assert!(done.is_empty());
        assert!(splitter.is_pending());
    }

    #[test]
    fn semicolons_in_comments_do_not_end_statements() {
        let (done, _) = split(&["SELECT 1 -- one; two", ", 2 /* three;", "four; */ ;"]);
        assert_eq!(done, ["SELECT 1 -- one; two\n, 2 /* three;\nfour; */ "]);
        // A comment-only line is no statement and leaves nothing pending.
        let (done, splitter) = split(&["-- just a comment;", "/* and; */"]);
        assert!(done.is_empty());
        assert!(!splitter.is_pending());
        // An open block comment is pending.
        let (_, splitter) = split(&["/* open"]);
        assert!(splitter.is_pending());
        // Empty statements are dropped.
        let (done, _) = split(&[";;  ; SELECT 1;"]);
        assert_eq!(done, ["SELECT 1"]);
    }

    #[test]
    fn a_statement_set_is_one_statement() {
        let (done, splitter) = split(&[
            "BEGIN STATEMENT SET;",
            "INSERT INTO a SELECT 1;",
            "INSERT INTO b SELECT 2;",
        ]);
        assert!(done.is_empty());
        assert!(splitter.is_pending());
        let (done, _) = split(&[
            "BEGIN STATEMENT SET;",
            "INSERT INTO a SELECT 1;",
            "INSERT INTO b SELECT 'END';",
            "END;",
            "SHOW TABLES;",
        ]);
        assert_eq!(
            done,
            [
                "BEGIN STATEMENT SET;\nINSERT INTO a SELECT 1;\nINSERT INTO b SELECT 'END';\nEND",
                "SHOW TABLES"
            ]
        );
        let (done, _) = split(&["execute statement set begin insert into a select x_end; end;"]);
        assert_eq!(done, ["execute statement set begin insert into a select x_end; end"]);
    }

    #[test]
    fn the_rest_at_the_end_of_input() {
        let (_, mut splitter) = split(&["SELECT 1"]);
        assert_eq!(splitter.take_rest().as_deref(), Some("SELECT 1"));
        assert!(!splitter.is_pending());
        let (_, mut splitter) = split(&["-- nothing"]);
        assert_eq!(splitter.take_rest(), None);
    }

    #[test]
    fn code_without_quotes_and_comments() {
        assert_eq!(code_of("  stop   job /* x */ 'a b'\n"), "STOP JOB '");
        assert_eq!(code_of("quit -- bye"), "QUIT");
    }
}
