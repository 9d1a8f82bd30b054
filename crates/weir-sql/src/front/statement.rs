//! The typed statements of a Flink SQL script.
//!
//! Queries are sqlparser ASTs ([`ast::Query`]) in which window table functions have
//! already been rewritten into `weir_tumble(...)`-style table-function calls (see
//! [`crate::front::tvf`]), so they can be handed to DataFusion's SQL planner as they
//! are. Each statement also keeps its original text (as the user wrote it) for
//! `EXPLAIN` and error messages.

use datafusion::sql::sqlparser::ast;

use crate::error::Position;
use crate::front::table::TableDef;

/// A statement with its original text and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedStatement {
    /// The statement.
    pub statement: Statement,
    /// The statement's text as written (without the closing `;`).
    pub text: String,
    /// Where it starts in the script.
    pub position: Position,
}

/// A Flink SQL statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `CREATE [TEMPORARY] TABLE [IF NOT EXISTS] name (...) WITH (...)`.
    CreateTable(Box<CreateTable>),
    /// `CREATE [TEMPORARY] VIEW [IF NOT EXISTS] name [(cols)] AS query`.
    CreateView(CreateView),
    /// `CREATE [TEMPORARY [SYSTEM]] FUNCTION [IF NOT EXISTS] name AS 'registered_name'`.
    CreateFunction(CreateFunction),
    /// `DROP [TEMPORARY] TABLE|VIEW|FUNCTION [IF EXISTS] name`.
    Drop(DropObject),
    /// `INSERT INTO|OVERWRITE t [(cols)] query` (also `EXECUTE INSERT ...`).
    Insert(Insert),
    /// `EXECUTE STATEMENT SET BEGIN insert; ... END` or `BEGIN STATEMENT SET; ... END`:
    /// inserts planned and run as one job.
    StatementSet(Vec<Insert>),
    /// A query (`SELECT`, `WITH`, `VALUES`, ...), window TVFs rewritten.
    Query(Box<ast::Query>),
    /// `SET 'key' = 'value'` (or unquoted `SET key = value`).
    Set {
        /// The option key.
        key: String,
        /// The value, unquoted.
        value: String,
    },
    /// `SET` alone: list the options.
    ShowOptions,
    /// `RESET 'key'`, or `RESET` alone (`key` is `None`): reset one or all options.
    Reset {
        /// The option to reset, or all when `None`.
        key: Option<String>,
    },
    /// `SHOW TABLES`.
    ShowTables,
    /// `SHOW VIEWS`.
    ShowViews,
    /// `SHOW [USER] FUNCTIONS`.
    ShowFunctions,
    /// `DESCRIBE name` / `DESC name`.
    Describe {
        /// The table or view.
        name: String,
    },
    /// `EXPLAIN [PLAN FOR | detail, ...] statement`.
    Explain {
        /// Flink's explain details (`CHANGELOG_MODE`, `ESTIMATED_COST`, ...), upper case.
        details: Vec<String>,
        /// The statement to explain.
        statement: Box<ParsedStatement>,
    },
}

/// `CREATE TABLE`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateTable {
    /// The table.
    pub table: TableDef,
    /// `IF NOT EXISTS` was given.
    pub if_not_exists: bool,
}

/// A view: a named query.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewDef {
    /// The view's name.
    pub name: String,
    /// `CREATE TEMPORARY VIEW`.
    pub temporary: bool,
    /// Column names given after the name (`CREATE VIEW v (a, b) AS ...`), or empty.
    pub columns: Vec<String>,
    /// The query, window TVFs rewritten.
    pub query: Box<ast::Query>,
    /// The query's text as written.
    pub query_text: String,
    /// `COMMENT '...'`.
    pub comment: Option<String>,
}

/// `CREATE VIEW`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateView {
    /// The view.
    pub view: ViewDef,
    /// `IF NOT EXISTS` was given.
    pub if_not_exists: bool,
}

/// A function registered under a SQL name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionDef {
    /// The SQL name.
    pub name: String,
    /// The name the function implementation was registered under (Flink's class name).
    pub registered_name: String,
    /// `TEMPORARY` (or `TEMPORARY SYSTEM`).
    pub temporary: bool,
    /// `LANGUAGE x`, upper case, when given.
    pub language: Option<String>,
}

/// `CREATE FUNCTION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateFunction {
    /// The function.
    pub function: FunctionDef,
    /// `IF NOT EXISTS` was given.
    pub if_not_exists: bool,
}

/// What a `DROP` removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// A table.
    Table,
    /// A view.
    View,
    /// A function.
    Function,
}

impl ObjectKind {
    /// `table`, `view` or `function`.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Table => "table",
            ObjectKind::View => "view",
            ObjectKind::Function => "function",
        }
    }
}

/// `DROP [TEMPORARY] TABLE|VIEW|FUNCTION [IF EXISTS] name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropObject {
    /// What is dropped.
    pub kind: ObjectKind,
    /// Its name.
    pub name: String,
    /// `IF EXISTS` was given.
    pub if_exists: bool,
    /// `TEMPORARY` was given.
    pub temporary: bool,
}

/// `INSERT INTO t [(cols)] query`.
#[derive(Debug, Clone, PartialEq)]
pub struct Insert {
    /// The target table.
    pub table: String,
    /// The target columns, or empty for all in order.
    pub columns: Vec<String>,
    /// The query, window TVFs rewritten.
    pub query: Box<ast::Query>,
    /// `INSERT OVERWRITE`.
    pub overwrite: bool,
    /// The statement's text as written.
    pub text: String,
}
