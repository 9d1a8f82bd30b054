//! The catalog of a SQL session: tables, views, functions and `SET` options.
//!
//! [`Catalog::apply`] carries out DDL (`CREATE`/`DROP`) and `SET`/`RESET`; other
//! statements (queries, inserts, `SHOW`, `DESCRIBE`, `EXPLAIN`) leave it unchanged and
//! are answered by the caller, with [`Catalog::describe`] and the `show_*` lists for
//! the simple ones. Tables and views share one namespace; names are case-sensitive
//! (as in Flink).

use std::collections::BTreeMap;

use crate::error::SqlError;
use crate::front::options::SessionOptions;
use crate::front::parser::parse_script;
use crate::front::statement::{FunctionDef, ObjectKind, ParsedStatement, Statement, ViewDef};
use crate::front::table::{ColumnKind, TableDef};
use crate::front::types::flink_type_name;

/// What [`Catalog::apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// The catalog or the options changed.
    Changed,
    /// Nothing to do: `IF NOT EXISTS` on an existing object, `IF EXISTS` on a
    /// missing one, or a `RESET` of an unset key.
    Unchanged,
    /// Not a catalog statement (a query, an insert, `SHOW`, `DESCRIBE`, `EXPLAIN`):
    /// the caller handles it.
    NotCatalog,
}

/// One row of `DESCRIBE table`, as Flink shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeRow {
    /// Column name.
    pub name: String,
    /// Type in Flink's spelling (`BIGINT`, `TIMESTAMP(3) *ROWTIME*`, ...); `None` for
    /// computed columns, whose type the planner derives.
    pub data_type: Option<String>,
    /// Whether the column may be null.
    pub nullable: bool,
    /// `PRI(a, b)` on primary key columns.
    pub key: Option<String>,
    /// `AS expr` for computed columns, `METADATA FROM 'k' [VIRTUAL]` for metadata ones.
    pub extras: Option<String>,
    /// The watermark expression, on the rowtime column.
    pub watermark: Option<String>,
}

/// A table or a view, as [`Catalog::lookup`] finds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CatalogEntry<'a> {
    /// A table declared with `CREATE TABLE`.
    Table(&'a TableDef),
    /// A view declared with `CREATE VIEW`.
    View(&'a ViewDef),
}

/// A session's catalog.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    tables: BTreeMap<String, TableDef>,
    views: BTreeMap<String, ViewDef>,
    functions: BTreeMap<String, FunctionDef>,
    udfs: BTreeMap<String, std::sync::Arc<datafusion::logical_expr::ScalarUDF>>,
    udafs: BTreeMap<String, std::sync::Arc<datafusion::logical_expr::AggregateUDF>>,
    table_functions: BTreeMap<String, std::sync::Arc<datafusion::logical_expr::ScalarUDF>>,
    options: SessionOptions,
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// Carries out a DDL, `SET` or `RESET` statement.
    pub fn apply(&mut self, statement: &Statement) -> Result<ApplyOutcome, SqlError> {
        use ApplyOutcome::{Changed, NotCatalog, Unchanged};
        match statement {
            Statement::CreateTable(create) => {
                let name = &create.table.name;
                if self.exists(name) {
                    return if create.if_not_exists {
                        Ok(Unchanged)
                    } else {
                        Err(self.already_exists(name))
                    };
                }
                self.tables.insert(name.clone(), create.table.clone());
                Ok(Changed)
            }
            Statement::CreateView(create) => {
                let name = &create.view.name;
                if self.exists(name) {
                    return if create.if_not_exists {
                        Ok(Unchanged)
                    } else {
                        Err(self.already_exists(name))
                    };
                }
                self.views.insert(name.clone(), create.view.clone());
                Ok(Changed)
            }
            Statement::CreateFunction(create) => {
                let name = &create.function.name;
                if self.functions.contains_key(name) {
                    return if create.if_not_exists {
                        Ok(Unchanged)
                    } else {
                        Err(SqlError::Catalog(format!("function '{name}' already exists")))
                    };
                }
                self.functions.insert(name.clone(), create.function.clone());
                Ok(Changed)
            }
            Statement::Drop(drop) => {
                let removed = match drop.kind {
                    ObjectKind::Table => {
                        if self.views.contains_key(&drop.name) {
                            return Err(SqlError::Catalog(format!(
                                "'{}' is a view, not a table: use DROP VIEW",
                                drop.name
                            )));
                        }
                        self.tables.remove(&drop.name).is_some()
                    }
                    ObjectKind::View => {
                        if self.tables.contains_key(&drop.name) {
                            return Err(SqlError::Catalog(format!(
                                "'{}' is a table, not a view: use DROP TABLE",
                                drop.name
                            )));
                        }
                        self.views.remove(&drop.name).is_some()
                    }
                    ObjectKind::Function => self.functions.remove(&drop.name).is_some(),
                };
                match (removed, drop.if_exists) {
                    (true, _) => Ok(Changed),
                    (false, true) => Ok(Unchanged),
                    (false, false) => Err(SqlError::Catalog(format!(
                        "unknown {} '{}'",
                        drop.kind.as_str(),
                        drop.name
                    ))),
                }
            }
            Statement::Set { key, value } => {
                self.options.set(key, value)?;
                Ok(Changed)
            }
            Statement::Reset { key: Some(key) } => Ok(if self.options.reset(key) { Changed } else { Unchanged }),
            Statement::Reset { key: None } => {
                self.options.reset_all();
                Ok(Changed)
            }
            Statement::Insert(_)
            | Statement::StatementSet(_)
            | Statement::Query(_)
            | Statement::ShowOptions
            | Statement::ShowTables
            | Statement::ShowViews
            | Statement::ShowFunctions
            | Statement::Describe { .. }
            | Statement::Explain { .. } => Ok(NotCatalog),
        }
    }

    /// Parses `sql` and applies its catalog statements in order; returns the other
    /// statements (queries, inserts, ...) for the caller, in order.
    pub fn apply_script(&mut self, sql: &str) -> Result<Vec<ParsedStatement>, SqlError> {
        let mut rest = Vec::new();
        for statement in parse_script(sql)? {
            if self.apply(&statement.statement)? == ApplyOutcome::NotCatalog {
                rest.push(statement);
            }
        }
        Ok(rest)
    }

    fn exists(&self, name: &str) -> bool {
        self.tables.contains_key(name) || self.views.contains_key(name)
    }

    fn already_exists(&self, name: &str) -> SqlError {
        let kind = if self.views.contains_key(name) { "view" } else { "table" };
        SqlError::Catalog(format!("a {kind} named '{name}' already exists"))
    }

    /// The table or view of that name (they share one namespace).
    pub fn lookup(&self, name: &str) -> Option<CatalogEntry<'_>> {
        self.tables
            .get(name)
            .map(CatalogEntry::Table)
            .or_else(|| self.views.get(name).map(CatalogEntry::View))
    }

    /// The table of that name.
    pub fn table(&self, name: &str) -> Option<&TableDef> {
        self.tables.get(name)
    }

    /// The view of that name.
    pub fn view(&self, name: &str) -> Option<&ViewDef> {
        self.views.get(name)
    }

    /// The function of that name.
    pub fn function(&self, name: &str) -> Option<&FunctionDef> {
        self.functions.get(name)
    }

    /// All tables, by name.
    pub fn tables(&self) -> impl Iterator<Item = &TableDef> {
        self.tables.values()
    }

    /// All views, by name.
    pub fn views(&self) -> impl Iterator<Item = &ViewDef> {
        self.views.values()
    }

    /// Registers a Rust scalar function under `registered_name`: queries call it by
    /// its own name ([`ScalarUDF::name`](datafusion::logical_expr::ScalarUDF::name)),
    /// and `CREATE FUNCTION f AS 'registered_name'` makes it callable as `f` too
    /// (Flink's class name plays the part of `registered_name`).
    pub fn register_function(&mut self, registered_name: impl Into<String>, udf: datafusion::logical_expr::ScalarUDF) {
        self.udfs.insert(registered_name.into(), std::sync::Arc::new(udf));
    }

    /// The registered Rust scalar functions, by registered name.
    pub fn registered_functions(
        &self,
    ) -> impl Iterator<Item = (&String, &std::sync::Arc<datafusion::logical_expr::ScalarUDF>)> {
        self.udfs.iter()
    }

    /// Registers a Rust aggregate function (a DataFusion `AggregateUDF`, e.g. made
    /// with `datafusion::logical_expr::create_udaf`) under `registered_name`:
    /// queries call it by its own name, and `CREATE FUNCTION f AS
    /// 'registered_name'` makes it callable as `f` too. It works in `GROUP BY`
    /// aggregates and window aggregates (TUMBLE, HOP, CUMULATE, SESSION); its
    /// accumulator's `state()` is what Weir keeps per group in keyed state, so
    /// `merge_batch` must restore it exactly. Over an updating input its
    /// accumulator must support `retract_batch`.
    pub fn register_aggregate_function(
        &mut self,
        registered_name: impl Into<String>,
        udaf: datafusion::logical_expr::AggregateUDF,
    ) {
        self.udafs.insert(registered_name.into(), std::sync::Arc::new(udaf));
    }

    /// The registered Rust aggregate functions, by registered name.
    pub fn registered_aggregate_functions(
        &self,
    ) -> impl Iterator<Item = (&String, &std::sync::Arc<datafusion::logical_expr::AggregateUDF>)> {
        self.udafs.iter()
    }

    /// Registers a Rust table function under `registered_name`, called in queries as
    /// `LATERAL TABLE(f(args)) AS T(c1, ...)` by its own name (or the name a
    /// `CREATE FUNCTION f AS 'registered_name'` gives it). A table function is a
    /// DataFusion `ScalarUDF` returning, for each input row, a list of the rows it
    /// produces: `List<Struct<c1, ...>>` (one column per struct field) or a list of
    /// plain values (one column, `f0`). A return type that is no list is an error;
    /// when the signature does not tell the argument types, the check waits for the
    /// query.
    pub fn register_table_function(
        &mut self,
        registered_name: impl Into<String>,
        udf: datafusion::logical_expr::ScalarUDF,
    ) -> Result<(), SqlError> {
        if let Some(types) = crate::functions::table::exact_argument_types(&udf) {
            let returned = udf.return_type(&types)?;
            crate::functions::table::row_fields(udf.name(), &returned)?;
        }
        self.table_functions
            .insert(registered_name.into(), std::sync::Arc::new(udf));
        Ok(())
    }

    /// The registered Rust table functions, by registered name.
    pub fn registered_table_functions(
        &self,
    ) -> impl Iterator<Item = (&String, &std::sync::Arc<datafusion::logical_expr::ScalarUDF>)> {
        self.table_functions.iter()
    }

    /// All functions, by name.
    pub fn functions(&self) -> impl Iterator<Item = &FunctionDef> {
        self.functions.values()
    }

    /// The session options.
    pub fn options(&self) -> &SessionOptions {
        &self.options
    }

    /// The session options, to change.
    pub fn options_mut(&mut self) -> &mut SessionOptions {
        &mut self.options
    }

    /// `SHOW TABLES`: tables and views, sorted (as Flink lists them).
    pub fn show_tables(&self) -> Vec<String> {
        let mut names: Vec<String> = self.tables.keys().chain(self.views.keys()).cloned().collect();
        names.sort();
        names
    }

    /// `SHOW VIEWS`, sorted.
    pub fn show_views(&self) -> Vec<String> {
        self.views.keys().cloned().collect()
    }

    /// `SHOW FUNCTIONS` (the user-defined ones), sorted.
    pub fn show_functions(&self) -> Vec<String> {
        self.functions.keys().cloned().collect()
    }

    /// `DESCRIBE name` for a table. A view's columns come from planning its query,
    /// so for a view this is an error the planner answers instead.
    pub fn describe(&self, name: &str) -> Result<Vec<DescribeRow>, SqlError> {
        let Some(table) = self.tables.get(name) else {
            return Err(SqlError::Catalog(if self.views.contains_key(name) {
                format!("'{name}' is a view: its columns come from planning its query")
            } else {
                format!("unknown table '{name}'")
            }));
        };
        let key = (!table.primary_key.is_empty()).then(|| format!("PRI({})", table.primary_key.join(", ")));
        let rowtime = table.rowtime();
        let mut rows = Vec::new();
        for (column, kind) in table.columns() {
            let is_rowtime = rowtime == Some(column.as_str());
            let mut row = DescribeRow {
                name: column.clone(),
                data_type: None,
                nullable: true,
                key: None,
                extras: None,
                watermark: None,
            };
            match kind {
                ColumnKind::Physical => {
                    if let Ok(field) = table.schema.field_with_name(&column) {
                        row.data_type = Some(flink_type_name(field.data_type(), true));
                        row.nullable = field.is_nullable();
                    }
                    if table.primary_key.contains(&column) {
                        row.key.clone_from(&key);
                    }
                }
                ColumnKind::Computed => {
                    if let Some(c) = table.computed_column(&column) {
                        row.extras = Some(format!("AS {}", c.text));
                    }
                }
                ColumnKind::Metadata => {
                    if let Some(m) = table.metadata.iter().find(|m| m.name == column) {
                        row.data_type = Some(flink_type_name(&m.data_type, true));
                        row.nullable = m.nullable;
                        let mut extras = format!("METADATA FROM '{}'", m.key);
                        if m.is_virtual {
                            extras.push_str(" VIRTUAL");
                        }
                        row.extras = Some(extras);
                    }
                }
            }
            if is_rowtime {
                row.data_type = row.data_type.map(|t| format!("{t} *ROWTIME*"));
                row.watermark = table.watermark.as_ref().map(|w| w.text.clone());
            }
            rows.push(row);
        }
        Ok(rows)
    }
}
