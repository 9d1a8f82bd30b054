//! The table a sink writes: its columns and key as the server describes them, how
//! records become rows ([`RowMapper`]), and the batched `INSERT ... SELECT FROM
//! unnest(...) ON CONFLICT` statement.

use crate::connection::ConnectionOptions;
use crate::error::{describe, PostgresError};
use crate::value::{from_json, is_native, SqlValue};
use postgres::error::SqlState;
use postgres::types::{ToSql, Type};
use postgres::{Client, Statement};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use weir_connector_api::BoxError;

type MapFn<T> = dyn Fn(&T, &[String]) -> Result<Vec<SqlValue>, BoxError> + Send + Sync;
type ChangesFn<T> = dyn Fn(&T, &mut Vec<RowChange>) -> Result<(), BoxError> + Send + Sync;

/// One change a record makes to the table (see [`RowMapper::changes`]).
#[derive(Debug, Clone, PartialEq)]
pub enum RowChange {
    /// Writes the row: inserts it, or with a key overwrites the row of its key.
    Upsert(Vec<SqlValue>),
    /// Deletes the row of this row's key (its other values are not used). Only
    /// the upsert sink deletes, and only with a key; deleting a missing row is no
    /// error (a replay after a failure deletes again).
    Delete(Vec<SqlValue>),
}

impl RowChange {
    /// The row's values.
    pub fn values(&self) -> &[SqlValue] {
        match self {
            RowChange::Upsert(values) | RowChange::Delete(values) => values,
        }
    }
}

enum Map<T> {
    Row(Arc<MapFn<T>>),
    Changes(Arc<ChangesFn<T>>),
}

/// Turns a record into the values of one row, in the order of the sink's
/// columns, or into several row changes ([`RowMapper::changes`]).
pub struct RowMapper<T> {
    map: Map<T>,
    by_name: bool,
}

impl<T> Clone for RowMapper<T> {
    fn clone(&self) -> Self {
        RowMapper {
            map: match &self.map {
                Map::Row(map) => Map::Row(map.clone()),
                Map::Changes(map) => Map::Changes(map.clone()),
            },
            by_name: self.by_name,
        }
    }
}

impl<T> RowMapper<T> {
    /// Values by position: `map` returns one value per column, in the order of
    /// the column list the sink is given (which is then required).
    pub fn new(map: impl Fn(&T) -> Vec<SqlValue> + Send + Sync + 'static) -> Self {
        RowMapper {
            map: Map::Row(Arc::new(move |record, _| Ok(map(record)))),
            by_name: false,
        }
    }

    /// Any number of row changes per record, values by position (the column list
    /// is required): `map` appends the record's [`RowChange`]s to its second
    /// argument, in the order they apply. A record may carry many rows (a batch)
    /// and delete rows by key (upsert sink only).
    pub fn changes(map: impl Fn(&T, &mut Vec<RowChange>) -> Result<(), BoxError> + Send + Sync + 'static) -> Self {
        RowMapper {
            map: Map::Changes(Arc::new(map)),
            by_name: false,
        }
    }

    /// Values by name: the record is serialized (serde) into a map of fields, and
    /// each column takes the field of its name; a column without a field is an
    /// error. Without a column list the sink writes all the table's columns.
    pub fn serde() -> Self
    where
        T: Serialize,
    {
        RowMapper {
            map: Map::Row(Arc::new(|record: &T, columns: &[String]| {
                let value = serde_json::to_value(record).map_err(|e| format!("cannot serialize a record: {e}"))?;
                let serde_json::Value::Object(mut fields) = value else {
                    return Err(
                        format!("a record must serialize to a map of fields to fill columns, got {value}").into(),
                    );
                };
                columns
                    .iter()
                    .map(|column| {
                        fields
                            .remove(column)
                            .map(from_json)
                            .ok_or_else(|| format!("the record has no field '{column}' for column {column}").into())
                    })
                    .collect()
            })),
            by_name: true,
        }
    }

    /// Whether columns are filled by field name (so the column list may come from
    /// the table).
    pub(crate) fn by_name(&self) -> bool {
        self.by_name
    }

    /// The row of `record` for `columns` (a mapper of [`RowMapper::changes`] must
    /// give exactly one upsert).
    #[cfg(test)]
    pub(crate) fn row(&self, record: &T, columns: &[String]) -> Result<Vec<SqlValue>, BoxError> {
        let mut changes = Vec::with_capacity(1);
        self.changes_of(record, columns, &mut changes)?;
        match (changes.pop(), changes.is_empty()) {
            (Some(RowChange::Upsert(row)), true) => Ok(row),
            _ => Err("the row mapper did not give exactly one row to write".into()),
        }
    }

    /// Appends the changes of `record` for `columns` to `out`.
    pub(crate) fn changes_of(&self, record: &T, columns: &[String], out: &mut Vec<RowChange>) -> Result<(), BoxError> {
        let from = out.len();
        match &self.map {
            Map::Row(map) => out.push(RowChange::Upsert(map(record, columns)?)),
            Map::Changes(map) => map(record, out)?,
        }
        if let Some(bad) = out[from..].iter().find(|c| c.values().len() != columns.len()) {
            let values = bad.values().len();
            out.truncate(from);
            return Err(format!(
                "the row mapper returned {values} values for {} columns {columns:?}",
                columns.len()
            )
            .into());
        }
        Ok(())
    }
}

/// How rows meet the rows already in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteMode {
    /// `ON CONFLICT (key) DO UPDATE`: the key is required.
    Upsert,
    /// Upsert when there is a key, plain `INSERT` otherwise.
    UpsertOrInsert,
}

/// What the sink is told about its table.
#[derive(Debug, Clone)]
pub(crate) struct TableSpec {
    pub table: String,
    pub columns: Option<Vec<String>>,
    pub key_columns: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
struct Column {
    name: String,
    type_name: String,
    ty: Option<Type>,
}

/// The table as the server describes it, with the statement that writes it.
#[derive(Debug, Clone)]
pub(crate) struct ResolvedTable {
    /// The table's name as the server prints it (quoted where needed).
    pub name: String,
    columns: Vec<Column>,
    /// The written columns' names.
    pub column_names: Vec<String>,
    /// Positions of the key columns among the written columns (empty: no key).
    pub key: Vec<usize>,
    /// The batched write statement.
    pub sql: String,
    /// The batched delete-by-key statement (with a key).
    pub delete_sql: Option<String>,
}

/// `"name"`, with quotes doubled.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn table_error(options: &ConnectionOptions, table: &str, cause: impl Into<String>) -> PostgresError {
    PostgresError::Table {
        connector: options.connector().to_string(),
        address: options.address(),
        table: table.to_string(),
        cause: cause.into(),
    }
}

/// Looks `spec`'s table up: its canonical name, the written columns and their
/// types, and the key (the given key columns, else the primary key).
pub(crate) fn resolve(
    client: &mut Client,
    options: &ConnectionOptions,
    spec: &TableSpec,
    mode: WriteMode,
) -> Result<ResolvedTable, PostgresError> {
    let lookup = client.query_one(
        "SELECT ($1::text::regclass)::oid, ($1::text::regclass)::text",
        &[&spec.table],
    );
    let row = match lookup {
        Ok(row) => row,
        Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) || e.code() == Some(&SqlState::INVALID_SCHEMA_NAME) => {
            return Err(table_error(
                options,
                &spec.table,
                format!("does not exist ({}); create it first", describe(&e)),
            ))
        }
        Err(e) => return Err(table_error(options, &spec.table, describe(&e))),
    };
    let unexpected = |e: postgres::Error| table_error(options, &spec.table, format!("unexpected catalog row: {e}"));
    let oid: u32 = row.try_get(0).map_err(unexpected)?;
    let name: String = row.try_get(1).map_err(unexpected)?;
    let all: Vec<Column> = client
        .query(
            "SELECT attname::text, atttypid, format_type(atttypid, NULL) FROM pg_attribute \
             WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            &[&oid],
        )
        .map_err(|e| {
            table_error(
                options,
                &spec.table,
                format!("cannot read its columns: {}", describe(&e)),
            )
        })?
        .iter()
        .map(|row| {
            Ok(Column {
                name: row.try_get(0)?,
                ty: Type::from_oid(row.try_get(1)?),
                type_name: row.try_get(2)?,
            })
        })
        .collect::<Result<_, postgres::Error>>()
        .map_err(unexpected)?;
    let columns: Vec<Column> = match &spec.columns {
        None => all.clone(),
        Some(names) => names
            .iter()
            .map(|wanted| {
                all.iter().find(|c| &c.name == wanted).cloned().ok_or_else(|| {
                    table_error(
                        options,
                        &spec.table,
                        format!(
                            "has no column '{wanted}' (its columns: {:?})",
                            all.iter().map(|c| c.name.as_str()).collect::<Vec<_>>()
                        ),
                    )
                })
            })
            .collect::<Result<_, _>>()?,
    };
    if columns.is_empty() {
        return Err(table_error(options, &spec.table, "has no columns to write"));
    }
    let key_names: Vec<String> = match &spec.key_columns {
        Some(keys) => keys.clone(),
        None => client
            .query(
                "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a \
                 ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                 WHERE i.indrelid = $1 AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)",
                &[&oid],
            )
            .map_err(|e| {
                table_error(
                    options,
                    &spec.table,
                    format!("cannot read its primary key: {}", describe(&e)),
                )
            })?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()
            .map_err(unexpected)?,
    };
    let key: Vec<usize> = key_names
        .iter()
        .map(|k| {
            columns.iter().position(|c| &c.name == k).ok_or_else(|| {
                table_error(
                    options,
                    &spec.table,
                    format!("key column '{k}' is not among the written columns"),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    if mode == WriteMode::Upsert && key.is_empty() {
        return Err(table_error(
            options,
            &spec.table,
            "an upsert needs key columns, and the table has no primary key: add one or set the key columns \
             (sink.key-columns)",
        ));
    }
    let sql = write_sql(&name, &columns, &key);
    let delete_sql = (!key.is_empty()).then(|| delete_sql(&name, &columns, &key));
    Ok(ResolvedTable {
        name,
        column_names: columns.iter().map(|c| c.name.clone()).collect(),
        columns,
        key,
        sql,
        delete_sql,
    })
}

/// `INSERT INTO t (a, b) SELECT u.c1, u.c2::numeric FROM unnest($1::int4[],
/// $2::text[]) AS u(c1, c2) ON CONFLICT (a) DO UPDATE SET b = EXCLUDED.b`.
fn write_sql(table: &str, columns: &[Column], key: &[usize]) -> String {
    let mut names = Vec::new();
    let mut selected = Vec::new();
    let mut params = Vec::new();
    let mut aliases = Vec::new();
    for (i, column) in columns.iter().enumerate() {
        let n = i + 1;
        names.push(quote_ident(&column.name));
        aliases.push(format!("c{n}"));
        let (p, s) = param(column, n);
        params.push(p);
        selected.push(s);
    }
    let mut sql = format!(
        "INSERT INTO {table} ({}) SELECT {} FROM unnest({}) AS u({})",
        names.join(", "),
        selected.join(", "),
        params.join(", "),
        aliases.join(", ")
    );
    if !key.is_empty() {
        let keys: Vec<String> = key.iter().map(|&k| quote_ident(&columns[k].name)).collect();
        let updates: Vec<String> = (0..columns.len())
            .filter(|i| !key.contains(i))
            .map(|i| {
                let column = quote_ident(&columns[i].name);
                format!("{column} = EXCLUDED.{column}")
            })
            .collect();
        if updates.is_empty() {
            sql.push_str(&format!(" ON CONFLICT ({}) DO NOTHING", keys.join(", ")));
        } else {
            sql.push_str(&format!(
                " ON CONFLICT ({}) DO UPDATE SET {}",
                keys.join(", "),
                updates.join(", ")
            ));
        }
    }
    sql
}

/// The `unnest` parameter (`$n::int8[]`) and selected value (`u.cn`, cast from
/// text where the type has no native conversion) of `column` as the `n`-th.
fn param(column: &Column, n: usize) -> (String, String) {
    match column.ty.as_ref().filter(|ty| is_native(ty)) {
        Some(ty) => (format!("${n}::{}[]", ty.name()), format!("u.c{n}")),
        None => (format!("${n}::text[]"), format!("u.c{n}::{}", column.type_name)),
    }
}

/// `DELETE FROM t WHERE ("a", "b") IN (SELECT u.c1, u.c2 FROM unnest($1::int8[],
/// $2::text[]) AS u(c1, c2))`: the rows of the given keys (none, if missing).
fn delete_sql(table: &str, columns: &[Column], key: &[usize]) -> String {
    let mut names = Vec::new();
    let mut selected = Vec::new();
    let mut params = Vec::new();
    let mut aliases = Vec::new();
    for (i, &k) in key.iter().enumerate() {
        let n = i + 1;
        let (p, s) = param(&columns[k], n);
        names.push(quote_ident(&columns[k].name));
        params.push(p);
        selected.push(s);
        aliases.push(format!("c{n}"));
    }
    format!(
        "DELETE FROM {table} WHERE ({}) IN (SELECT {} FROM unnest({}) AS u({}))",
        names.join(", "),
        selected.join(", "),
        params.join(", "),
        aliases.join(", ")
    )
}

impl ResolvedTable {
    /// Prepares the delete statement on `client` (`None` without a key).
    pub(crate) fn prepare_delete(
        &self,
        client: &mut Client,
        options: &ConnectionOptions,
    ) -> Result<Option<Statement>, PostgresError> {
        let Some(sql) = &self.delete_sql else {
            return Ok(None);
        };
        client.prepare(sql).map(Some).map_err(|e| {
            table_error(
                options,
                &self.name,
                format!("cannot prepare the delete statement: {}", describe(&e)),
            )
        })
    }

    /// Keeps the last change of each key (one statement may not touch a row
    /// twice, and the last change is the row's state), in first-seen key order;
    /// without a key, all changes.
    pub(crate) fn dedupe_changes(&self, changes: &mut Vec<RowChange>) {
        if self.key.is_empty() || changes.len() < 2 {
            return;
        }
        let mut position: HashMap<Vec<u8>, usize> = HashMap::with_capacity(changes.len());
        let mut kept: Vec<RowChange> = Vec::with_capacity(changes.len());
        for change in changes.drain(..) {
            let mut print = Vec::new();
            self.key
                .iter()
                .for_each(|&k| change.values()[k].fingerprint(&mut print));
            match position.get(&print) {
                Some(&at) => kept[at] = change,
                None => {
                    position.insert(print, kept.len());
                    kept.push(change);
                }
            }
        }
        *changes = kept;
    }

    /// Deletes the rows of the keys of `rows` (already deduplicated) with
    /// `statement`, one array per key column.
    pub(crate) fn delete<R: AsRef<[SqlValue]>>(
        &self,
        client: &mut Client,
        statement: &Statement,
        rows: &[R],
    ) -> Result<u64, postgres::Error> {
        let arrays: Vec<Vec<SqlValue>> = self
            .key
            .iter()
            .map(|&k| rows.iter().map(|row| row.as_ref()[k].clone()).collect())
            .collect();
        let params: Vec<&(dyn ToSql + Sync)> = arrays.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
        client.execute(statement, &params)
    }

    /// Prepares the write statement on `client`.
    pub(crate) fn prepare(&self, client: &mut Client, options: &ConnectionOptions) -> Result<Statement, PostgresError> {
        client.prepare(&self.sql).map_err(|e| {
            table_error(
                options,
                &self.name,
                format!("cannot prepare the write statement: {}", describe(&e)),
            )
        })
    }

    /// The rows to write for `rows`: with a key, the last row of each key only
    /// (one statement may not update a row twice), in first-seen key order.
    pub(crate) fn dedupe(&self, rows: &mut Vec<Vec<SqlValue>>) {
        if self.key.is_empty() || rows.len() < 2 {
            return;
        }
        let mut position: HashMap<Vec<u8>, usize> = HashMap::with_capacity(rows.len());
        let mut kept: Vec<Vec<SqlValue>> = Vec::with_capacity(rows.len());
        for row in rows.drain(..) {
            let mut print = Vec::new();
            self.key.iter().for_each(|&k| row[k].fingerprint(&mut print));
            match position.get(&print) {
                Some(&at) => kept[at] = row,
                None => {
                    position.insert(print, kept.len());
                    kept.push(row);
                }
            }
        }
        *rows = kept;
    }

    /// Writes `rows` (already deduplicated) with `statement`, one array per column.
    pub(crate) fn write<R: AsRef<[SqlValue]>>(
        &self,
        client: &mut Client,
        statement: &Statement,
        rows: &[R],
    ) -> Result<u64, postgres::Error> {
        let mut arrays: Vec<Vec<SqlValue>> = (0..self.columns.len())
            .map(|_| Vec::with_capacity(rows.len()))
            .collect();
        for row in rows {
            for (array, value) in arrays.iter_mut().zip(row.as_ref()) {
                array.push(value.clone());
            }
        }
        let params: Vec<&(dyn ToSql + Sync)> = arrays.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
        client.execute(statement, &params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, ty: Option<Type>, type_name: &str) -> Column {
        Column {
            name: name.into(),
            ty,
            type_name: type_name.into(),
        }
    }

    #[test]
    fn the_write_statement_upserts_through_unnest() {
        let columns = [
            column("id", Some(Type::INT8), "bigint"),
            column("Amount", Some(Type::NUMERIC), "numeric"),
            column("note", Some(Type::VARCHAR), "character varying"),
        ];
        assert_eq!(
            write_sql("orders", &columns, &[0]),
            "INSERT INTO orders (\"id\", \"Amount\", \"note\") SELECT u.c1, u.c2::numeric, u.c3 \
             FROM unnest($1::int8[], $2::text[], $3::varchar[]) AS u(c1, c2, c3) \
             ON CONFLICT (\"id\") DO UPDATE SET \"Amount\" = EXCLUDED.\"Amount\", \"note\" = EXCLUDED.\"note\""
        );
        assert!(write_sql("t", &columns[..1], &[0]).ends_with("ON CONFLICT (\"id\") DO NOTHING"));
        assert!(!write_sql("t", &columns, &[]).contains("ON CONFLICT"));
        assert_eq!(
            delete_sql("orders", &columns, &[0, 1]),
            "DELETE FROM orders WHERE (\"id\", \"Amount\") IN (SELECT u.c1, u.c2::numeric \
             FROM unnest($1::int8[], $2::text[]) AS u(c1, c2))"
        );
    }

    #[test]
    fn batches_keep_the_last_row_of_each_key() {
        let table = ResolvedTable {
            name: "t".into(),
            columns: vec![],
            column_names: vec![],
            key: vec![0],
            sql: String::new(),
            delete_sql: None,
        };
        let mut rows = vec![
            vec![SqlValue::Int(1), "a".into()],
            vec![SqlValue::Int(2), "b".into()],
            vec![SqlValue::Int(1), "c".into()],
        ];
        table.dedupe(&mut rows);
        assert_eq!(
            rows,
            vec![vec![SqlValue::Int(1), "c".into()], vec![SqlValue::Int(2), "b".into()]]
        );
    }

    #[derive(Serialize)]
    struct Order {
        id: u32,
        note: Option<String>,
    }

    #[test]
    fn serde_rows_fill_columns_by_name() {
        let mapper = RowMapper::<Order>::serde();
        let columns = vec!["note".to_string(), "id".to_string()];
        let row = mapper.row(&Order { id: 3, note: None }, &columns).unwrap();
        assert_eq!(row, vec![SqlValue::Null, SqlValue::Int(3)]);
        let error = mapper
            .row(&Order { id: 3, note: None }, &["price".to_string()])
            .unwrap_err();
        assert!(error.to_string().contains("no field 'price'"), "{error}");
        let positional = RowMapper::new(|o: &Order| vec![o.id.into()]);
        assert!(positional.row(&Order { id: 1, note: None }, &columns).is_err());
    }
}
