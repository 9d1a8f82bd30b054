//! The statements the `weir sql` shell answers itself rather than the SQL layer:
//! `QUIT`, `EXIT`, `HELP`, `CLEAR`, `SHOW JOBS` and `STOP JOB '<job>' [WITH
//! SAVEPOINT]`.

use crate::shell_split::code_of;

/// A statement of the shell itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShellCommand {
    /// `QUIT` or `EXIT`: leave the shell.
    Quit,
    /// `HELP`: print the short help.
    Help,
    /// `CLEAR`: clear the terminal.
    Clear,
    /// `SHOW JOBS`: the jobs started from the shell.
    ShowJobs,
    /// `STOP JOB '<job>' [WITH SAVEPOINT]`: cancel a job, or stop it with a
    /// savepoint.
    StopJob {
        /// The job's name or id.
        job: String,
        /// Whether to stop it with a savepoint.
        savepoint: bool,
    },
}

/// How `STOP JOB` is written.
pub const STOP_JOB_USAGE: &str = "usage: STOP JOB '<job name or id>' [WITH SAVEPOINT]";

/// The shell command `statement` is (without its `;`), `None` when it is SQL for
/// the SQL layer; an error text when it is a malformed shell command.
pub fn parse(statement: &str) -> Option<Result<ShellCommand, String>> {
    let code = code_of(statement);
    let command = match code.as_str() {
        "QUIT" | "EXIT" => ShellCommand::Quit,
        "HELP" => ShellCommand::Help,
        "CLEAR" => ShellCommand::Clear,
        "SHOW JOBS" => ShellCommand::ShowJobs,
        _ if code == "STOP JOB" || code.starts_with("STOP JOB ") => return Some(stop_job(statement, &code)),
        _ => return None,
    };
    Some(Ok(command))
}

fn stop_job(statement: &str, code: &str) -> Result<ShellCommand, String> {
    let savepoint = match code {
        "STOP JOB '" => false,
        "STOP JOB ' WITH SAVEPOINT" => true,
        _ => return Err(STOP_JOB_USAGE.to_string()),
    };
    let job = quoted(statement).ok_or_else(|| STOP_JOB_USAGE.to_string())?;
    if job.is_empty() {
        return Err(STOP_JOB_USAGE.to_string());
    }
    Ok(ShellCommand::StopJob { job, savepoint })
}

/// The first single-quoted string of `text`, `''` read as `'`.
fn quoted(text: &str) -> Option<String> {
    let start = text.find('\'')?;
    let mut chars = text[start + 1..].chars().peekable();
    let mut value = String::new();
    while let Some(c) = chars.next() {
        if c == '\'' {
            if chars.peek() == Some(&'\'') {
                chars.next();
                value.push('\'');
            } else {
                return Some(value);
            }
        } else {
            value.push(c);
        }
    }
    None
}

/// The text `HELP` prints.
pub const HELP: &str = "\
Statements end with ';' and may span lines.
  CREATE TABLE | VIEW | FUNCTION ..., DROP ...   define tables, views, functions
  SET 'key' = 'value'; RESET ['key']; SET        session options (SET alone lists them)
  SHOW TABLES | VIEWS | FUNCTIONS; DESCRIBE t    the catalog
  EXPLAIN <statement>                            plan, changelog mode, job graph
  SELECT ...                                     run a query and show its result
  INSERT INTO t SELECT ...; BEGIN STATEMENT SET; ... END;
                                                 submit a job and return to the prompt
  SHOW JOBS; STOP JOB '<name or id>' [WITH SAVEPOINT]
                                                 the jobs started here
  CLEAR; HELP; QUIT (or EXIT, Ctrl-D)
A query's result shows as a table updated in place; Ctrl-C stops the query.
SET 'sql-client.execution.result-mode' = 'changelog' prints its changes instead
(+I, -U, +U, -D), 'tableau' prints them as table rows; 'table' is the default.
SET 'sql-client.execution.max-table-result.rows' = 'N' bounds the rows a table
result keeps (the oldest go first); 'sql-client.display.max-column-width' = 'N'
the width of a column on screen.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_commands_are_recognized() {
        assert_eq!(parse("quit"), Some(Ok(ShellCommand::Quit)));
        assert_eq!(parse("  Exit  "), Some(Ok(ShellCommand::Quit)));
        assert_eq!(parse("help -- me"), Some(Ok(ShellCommand::Help)));
        assert_eq!(parse("SHOW\n  JOBS"), Some(Ok(ShellCommand::ShowJobs)));
        assert_eq!(parse("SHOW TABLES"), None);
        assert_eq!(parse("SELECT quit FROM t"), None);
        assert_eq!(
            parse("STOP JOB 'insert-into_t'"),
            Some(Ok(ShellCommand::StopJob {
                job: "insert-into_t".into(),
                savepoint: false
            }))
        );
        assert_eq!(
            parse("stop job 'it''s' with savepoint"),
            Some(Ok(ShellCommand::StopJob {
                job: "it's".into(),
                savepoint: true
            }))
        );
        for bad in [
            "STOP JOB",
            "STOP JOB x",
            "STOP JOB '' ",
            "STOP JOB 'a' NOW",
            "STOP JOB 'open",
        ] {
            assert_eq!(parse(bad), Some(Err(STOP_JOB_USAGE.to_string())), "{bad}");
        }
    }
}
