//! A lookup source: rows of a table read by key, for lookup joins. Put it behind
//! [`CachedLookup`](weir_connector_api::lookup::CachedLookup) to cache rows.

use crate::connection::{quote_ident, MySqlConfig};
use mysql::prelude::Queryable;
use mysql::{Conn, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use weir_connector_api::lookup::LookupSource;
use weir_connector_api::BoxError;

/// Reads the `columns` of the row whose `key_column` equals a key; lost
/// connections are re-opened (with the configured retries).
pub struct MySqlLookup<K, V> {
    config: MySqlConfig,
    table: String,
    single: String,
    many_prefix: String,
    columns: usize,
    from_row: Arc<dyn Fn(Vec<Value>) -> V + Send + Sync>,
    conn: Mutex<Option<Conn>>,
    _key: std::marker::PhantomData<fn(K)>,
}

impl<K, V> MySqlLookup<K, V> {
    /// Looks up `columns` of `table` by `key_column`; `from_row` makes a value
    /// of the columns' values (in order).
    pub fn new(
        config: MySqlConfig,
        table: &str,
        key_column: &str,
        columns: &[&str],
        from_row: impl Fn(Vec<Value>) -> V + Send + Sync + 'static,
    ) -> Self {
        let selected: Vec<String> = columns
            .iter()
            .map(|c| quote_ident(c))
            .chain(std::iter::once(quote_ident(key_column)))
            .collect();
        let select = format!("SELECT {} FROM {}", selected.join(", "), quote_ident(table));
        MySqlLookup {
            single: format!("{select} WHERE {} = ? LIMIT 1", quote_ident(key_column)),
            many_prefix: format!("{select} WHERE {} IN ", quote_ident(key_column)),
            config,
            table: table.to_string(),
            columns: columns.len(),
            from_row: Arc::new(from_row),
            conn: Mutex::new(None),
            _key: std::marker::PhantomData,
        }
    }

    fn query(&self, statement: &str, keys: Vec<Value>) -> Result<Vec<Vec<Value>>, BoxError> {
        let mut conn = self.conn.lock().map_err(|_| "mysql lookup: connection lock poisoned")?;
        let what = format!("looking up {} key(s) in '{}'", keys.len(), self.table);
        let rows = self.config.with_retries(&mut conn, &what, Some(&self.table), |conn| {
            conn.exec::<mysql::Row, _, _>(statement, keys.clone())
        })?;
        Ok(rows.into_iter().map(mysql::Row::unwrap).collect())
    }

    fn split(&self, mut row: Vec<Value>) -> (String, V) {
        let key = row.pop().map(|k| k.as_sql(false)).unwrap_or_default();
        row.truncate(self.columns);
        (key, (self.from_row)(row))
    }
}

impl<K: Clone + Into<Value>, V> LookupSource<K, V> for MySqlLookup<K, V> {
    fn lookup(&self, key: &K) -> Result<Option<V>, BoxError> {
        let rows = self.query(&self.single, vec![key.clone().into()])?;
        Ok(rows.into_iter().next().map(|row| self.split(row).1))
    }

    fn lookup_many(&self, keys: &[K]) -> Result<Vec<Option<V>>, BoxError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let values: Vec<Value> = keys.iter().map(|k| k.clone().into()).collect();
        let texts: Vec<String> = values.iter().map(|v| v.as_sql(false)).collect();
        let statement = format!("{}({})", self.many_prefix, vec!["?"; values.len()].join(", "));
        let mut found: HashMap<String, V> = self
            .query(&statement, values)?
            .into_iter()
            .map(|row| self.split(row))
            .collect();
        Ok(texts.iter().map(|k| found.remove(k)).collect())
    }
}
