//! [`PostgresLookup`]: rows read by key, to enrich a stream (a lookup join).
//!
//! `lookup` runs `SELECT ... FROM table WHERE key = $1` and `lookup_many` runs
//! `... WHERE key = ANY($1)`, both prepared once per connection. A lost
//! connection is replaced (retried with backoff as configured) and the query
//! run again. Put a [`CachedLookup`](weir_connector_api::lookup::CachedLookup) in
//! front of it to spare the database.

use crate::connection::ConnectionOptions;
use crate::error::{describe, is_connection_error, PostgresError};
use crate::table::quote_ident;
use parking_lot::Mutex;
use postgres::types::{FromSqlOwned, ToSql};
use postgres::{Client, Row, Statement};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use weir_connector_api::lookup::LookupSource;
use weir_connector_api::BoxError;

type RowFn<V> = dyn Fn(&Row) -> Result<V, BoxError> + Send + Sync;

struct Prepared {
    client: Client,
    one: Statement,
    many: Statement,
}

/// A table read by one key column.
///
/// `K` is the key's Rust type, which must match the key column's type
/// (`i64` for `bigint`, `i32` for `integer`, `String` for `text`); the value is
/// built from each row by a function that reads columns by name.
pub struct PostgresLookup<K, V> {
    connection: ConnectionOptions,
    table: String,
    key_column: String,
    columns: Vec<String>,
    map: Arc<RowFn<V>>,
    max_retries: u32,
    prepared: Mutex<Option<Prepared>>,
    _key: std::marker::PhantomData<fn(K)>,
}

impl<K, V> PostgresLookup<K, V> {
    /// Looks rows of `table` up by `key_column` in the database at `url`; `map`
    /// builds the value of a row (read columns by name with `row.try_get("name")`).
    pub fn new(
        url: &str,
        table: &str,
        key_column: &str,
        map: impl Fn(&Row) -> Result<V, BoxError> + Send + Sync + 'static,
    ) -> Result<Self, PostgresError> {
        let connection = ConnectionOptions::new(url, format!("postgres lookup source '{table}'"))?;
        Ok(Self::with_connection(connection, table, key_column, map))
    }

    /// As [`new`](Self::new), with connection options of your own.
    pub fn with_connection(
        connection: ConnectionOptions,
        table: &str,
        key_column: &str,
        map: impl Fn(&Row) -> Result<V, BoxError> + Send + Sync + 'static,
    ) -> Self {
        PostgresLookup {
            connection,
            table: table.to_string(),
            key_column: key_column.to_string(),
            columns: Vec::new(),
            map: Arc::new(map),
            max_retries: 3,
            prepared: Mutex::new(None),
            _key: std::marker::PhantomData,
        }
    }

    /// Selects only these columns (default: all); the key column is always read.
    pub fn columns<S: Into<String>>(mut self, columns: impl IntoIterator<Item = S>) -> Self {
        self.columns = columns.into_iter().map(Into::into).collect();
        self
    }

    /// Times a query is run again on a new connection after its connection was
    /// lost (default 3).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// Connects (retried as configured) and prepares the queries now, so a server
    /// that is down, wrong credentials or a missing table fail here.
    pub fn open(self) -> Result<Self, PostgresError> {
        let prepared = self.prepare()?;
        *self.prepared.lock() = Some(prepared);
        Ok(self)
    }

    fn prepare(&self) -> Result<Prepared, PostgresError> {
        let mut client = self.connection.connect()?;
        let key = quote_ident(&self.key_column);
        let selected = if self.columns.is_empty() {
            "*".to_string()
        } else {
            let mut columns: Vec<String> = self.columns.iter().map(|c| quote_ident(c)).collect();
            if !self.columns.contains(&self.key_column) {
                columns.push(key.clone());
            }
            columns.join(", ")
        };
        let table_error = |e: &postgres::Error| PostgresError::Table {
            connector: self.connection.connector().to_string(),
            address: self.connection.address(),
            table: self.table.clone(),
            cause: format!("cannot prepare the lookup query: {}", describe(e)),
        };
        let one = client
            .prepare(&format!(
                "SELECT {selected} FROM {} WHERE {key} = $1 LIMIT 1",
                self.table
            ))
            .map_err(|e| table_error(&e))?;
        let many = client
            .prepare(&format!("SELECT {selected} FROM {} WHERE {key} = ANY($1)", self.table))
            .map_err(|e| table_error(&e))?;
        Ok(Prepared { client, one, many })
    }

    /// Runs `query` on the prepared connection, replacing a lost one.
    fn run<R>(
        &self,
        what: &str,
        mut query: impl FnMut(&mut Prepared) -> Result<R, postgres::Error>,
    ) -> Result<R, BoxError> {
        let mut guard = self.prepared.lock();
        let mut retries = 0;
        loop {
            let prepared = match &mut *guard {
                Some(prepared) => prepared,
                None => guard.insert(self.prepare()?),
            };
            match query(prepared) {
                Ok(result) => return Ok(result),
                Err(e) if is_connection_error(&e) && retries < self.max_retries => {
                    retries += 1;
                    tracing::warn!(
                        "{} at {}: connection lost ({}); reconnecting (retry {retries} of {})",
                        self.connection.connector(),
                        self.connection.address(),
                        describe(&e),
                        self.max_retries
                    );
                    *guard = None;
                    std::thread::sleep(self.connection.backoff(retries));
                }
                Err(e) => {
                    if is_connection_error(&e) {
                        *guard = None;
                    }
                    return Err(self.connection.statement_error(what, &e).into());
                }
            }
        }
    }
}

impl<K, V> LookupSource<K, V> for PostgresLookup<K, V>
where
    K: ToSql + Sync + FromSqlOwned + Eq + Hash + Clone,
    V: Clone + Send,
{
    fn lookup(&self, key: &K) -> Result<Option<V>, BoxError> {
        let row = self.run("looking up a key", |p| p.client.query_opt(&p.one, &[key]))?;
        row.map(|row| (self.map)(&row)).transpose()
    }

    fn lookup_many(&self, keys: &[K]) -> Result<Vec<Option<V>>, BoxError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self.run(&format!("looking up {} keys", keys.len()), |p| {
            p.client.query(&p.many, &[&keys])
        })?;
        let mut found: HashMap<K, V> = HashMap::with_capacity(rows.len());
        for row in &rows {
            let key: K = row
                .try_get(self.key_column.as_str())
                .map_err(|e| format!("cannot read key column {}: {e}", self.key_column))?;
            if let std::collections::hash_map::Entry::Vacant(entry) = found.entry(key) {
                entry.insert((self.map)(row)?);
            }
        }
        Ok(keys.iter().map(|key| found.get(key).cloned()).collect())
    }
}
