//! String options (SQL DDL, config files): a registry sink factory and lookup
//! sources built from [`Options`], with option names close to Flink's JDBC
//! connector. The README lists every option.

use crate::builder;
use crate::builder::PostgresSinkBuilder;
use crate::connection::{ConnectionOptions, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RETRIES, DEFAULT_RETRY_DELAY};
use crate::error::PostgresError;
use crate::lookup::PostgresLookup;
use crate::table::RowMapper;
use postgres::Row;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;
use weir_connector_api::lookup::CachedLookup;
use weir_connector_api::options::Options;
use weir_connector_api::registry::{Registry, SinkFactory, Typed};
use weir_connector_api::sink::Sink;
use weir_connector_api::{BoxError, ConnectorError};

impl From<PostgresError> for ConnectorError {
    fn from(error: PostgresError) -> Self {
        match error {
            PostgresError::Connect {
                connector,
                address,
                attempts,
                cause,
            } => ConnectorError::Connection {
                connector,
                address,
                cause: format!("cannot connect (after {attempts} attempt(s)): {cause}"),
            },
            other => ConnectorError::Other(other.to_string()),
        }
    }
}

fn list(options: &Options, key: &str) -> Option<Vec<String>> {
    options.get(key).map(|value| {
        value
            .split(',')
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect()
    })
}

/// `value` quoted for a `key=value` connection string.
fn quoted(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The server's URL: `url`, or a connection string of `hostname`, `port`
/// (default 5432) and `database-name` (Flink CDC's names).
fn url_from_options(options: &Options) -> Result<String, ConnectorError> {
    let hostname = options.get("hostname");
    match (options.get("url"), hostname) {
        (Some(_), Some(_)) => Err(options.invalid(
            "hostname",
            hostname.unwrap_or_default(),
            "give either 'url' or 'hostname' (with 'port' and 'database-name'), not both",
        )),
        (Some(url), None) => {
            if let Some(key) = ["port", "database-name"].into_iter().find(|k| options.get(k).is_some()) {
                return Err(options.invalid(
                    key,
                    options.get(key).unwrap_or_default(),
                    "set with 'url': put it in the url",
                ));
            }
            Ok(url.to_string())
        }
        (None, Some(host)) => {
            let port: u16 = options.parse("port", 5432)?;
            let database = options.required("database-name")?;
            Ok(format!("host={} port={port} dbname={}", quoted(host), quoted(database)))
        }
        (None, None) => Err(ConnectorError::MissingOption {
            context: options.context().to_string(),
            key: "url".to_string(),
        }),
    }
}

/// The connection options `url` (or `hostname`, `port` and `database-name`),
/// `username`, `password`, `connection.max-retries`, `connection.retry-delay` and
/// `connection.connect-timeout`.
pub fn connection_from_options(options: &Options, connector: &str) -> Result<ConnectionOptions, ConnectorError> {
    let url = url_from_options(options)?;
    let mut connection = ConnectionOptions::new(&url, connector)?
        .retries(
            options.parse("connection.max-retries", DEFAULT_MAX_RETRIES)?,
            options.duration("connection.retry-delay", DEFAULT_RETRY_DELAY)?,
        )
        .connect_timeout(options.duration("connection.connect-timeout", DEFAULT_CONNECT_TIMEOUT)?);
    if let Some(user) = options.get("username") {
        connection = connection.user(user);
    }
    if let Some(password) = options.get("password") {
        connection = connection.password(password);
    }
    Ok(connection)
}

/// Which sink `sink.semantic` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Semantic {
    /// `upsert` (the default): the idempotent upsert sink.
    Upsert,
    /// `exactly-once`: the two-phase-commit sink.
    ExactlyOnce,
}

/// The sink builder of `options` (all the sink options but `sink.semantic`),
/// for callers that configure it further; [`sink_from_options`] builds it.
pub fn builder_from_options<T>(
    options: &Options,
    mapper: RowMapper<T>,
) -> Result<PostgresSinkBuilder<T>, ConnectorError> {
    let table = options.required("table-name")?.to_string();
    let connection = connection_from_options(options, &format!("postgres sink '{table}'"))?;
    let mut builder = PostgresSinkBuilder::new(connection, &table)
        .row(mapper)
        .buffer_max_rows(options.parse("sink.buffer-flush.max-rows", builder::DEFAULT_MAX_ROWS)?)
        .buffer_flush_interval(options.duration("sink.buffer-flush.interval", builder::DEFAULT_FLUSH_INTERVAL)?)
        .max_retries(options.parse("sink.max-retries", 3u32)?)
        .lock_timeout(options.duration("sink.lock-timeout", builder::DEFAULT_LOCK_TIMEOUT)?)
        .marker_table(
            options
                .get("sink.commit-marker-table")
                .unwrap_or(builder::DEFAULT_MARKER_TABLE),
        );
    if let Some(columns) = list(options, "sink.columns") {
        builder = builder.columns(columns);
    }
    if let Some(keys) = list(options, "sink.key-columns") {
        builder = builder.key_columns(keys);
    }
    if let Some(prefix) = options.get("sink.transaction-id-prefix") {
        builder = builder.transaction_prefix(prefix);
    }
    Ok(builder)
}

/// The `sink.semantic` option (`upsert` or `exactly-once`; default `upsert`).
pub fn semantic_from_options(options: &Options) -> Result<Semantic, ConnectorError> {
    match options.one_of("sink.semantic", &["upsert", "exactly-once"], "upsert")? {
        "exactly-once" => Ok(Semantic::ExactlyOnce),
        _ => Ok(Semantic::Upsert),
    }
}

/// The sink of `options` for records mapped by `mapper`.
pub fn sink_from_options<T: Send + 'static>(
    options: &Options,
    mapper: RowMapper<T>,
) -> Result<Arc<dyn Sink<T>>, ConnectorError> {
    let builder = builder_from_options(options, mapper)?;
    match semantic_from_options(options)? {
        Semantic::ExactlyOnce => Ok(Arc::new(builder.exactly_once()?)),
        Semantic::Upsert => Ok(Arc::new(builder.upsert()?)),
    }
}

/// The registry's `postgres` sink (also registrable as `jdbc`) for records of
/// type `T`, mapped to rows by a [`RowMapper`].
pub struct PostgresSinkFactory<T> {
    name: &'static str,
    mapper: RowMapper<T>,
}

impl<T> PostgresSinkFactory<T> {
    /// A factory named `postgres` using `mapper`.
    pub fn new(mapper: RowMapper<T>) -> Self {
        PostgresSinkFactory {
            name: "postgres",
            mapper,
        }
    }

    /// The same factory under another connector name (e.g. `jdbc`).
    pub fn named(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// Registers the factory in `registry`.
    pub fn register(self, registry: &mut Registry<Typed<T>>)
    where
        T: Send + 'static,
    {
        registry.register_sink(Arc::new(self));
    }
}

impl<T: Send + 'static> SinkFactory<Typed<T>> for PostgresSinkFactory<T> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn create_sink(
        &self,
        _schema: &(),
        options: &Options,
        _registry: &Registry<Typed<T>>,
    ) -> Result<Arc<dyn Sink<T>>, ConnectorError> {
        sink_from_options(options, self.mapper.clone())
    }
}

/// The lookup source of `options` (`url`, `table-name`, `lookup.key-column`,
/// `lookup.max-retries`, credentials and `connection.*`), connected now.
pub fn lookup_from_options<K, V>(
    options: &Options,
    map: impl Fn(&Row) -> Result<V, BoxError> + Send + Sync + 'static,
) -> Result<PostgresLookup<K, V>, ConnectorError> {
    let table = options.required("table-name")?.to_string();
    let connection = connection_from_options(options, &format!("postgres lookup source '{table}'"))?;
    let key = options.required("lookup.key-column")?;
    let lookup = PostgresLookup::with_connection(connection, &table, key, map)
        .max_retries(options.parse("lookup.max-retries", 3u32)?);
    options.check_all_read()?;
    Ok(lookup.open()?)
}

/// [`lookup_from_options`] behind a cache of `lookup.cache.max-rows` keys
/// (default 10 000) kept for `lookup.cache.ttl` (default 60 s);
/// `lookup.cache.missing-keys = false` asks again for keys the table lacked.
pub fn cached_lookup_from_options<K, V>(
    options: &Options,
    map: impl Fn(&Row) -> Result<V, BoxError> + Send + Sync + 'static,
) -> Result<CachedLookup<K, V, PostgresLookup<K, V>>, ConnectorError>
where
    K: postgres::types::ToSql + Sync + postgres::types::FromSqlOwned + Eq + Hash + Clone,
    V: Clone + Send,
{
    let capacity = options.parse("lookup.cache.max-rows", 10_000usize)?;
    let ttl = options.duration("lookup.cache.ttl", Duration::from_secs(60))?;
    let missing = options.parse("lookup.cache.missing-keys", true)?;
    let lookup = lookup_from_options(options, map)?;
    Ok(CachedLookup::new(lookup, capacity, ttl).cache_missing_keys(missing))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostname_port_and_database_name_make_the_url() {
        let options = Options::new("postgres sink 't'")
            .with("hostname", "db.example")
            .with("port", "15432")
            .with("database-name", "it's");
        assert_eq!(
            url_from_options(&options).unwrap(),
            "host='db.example' port=15432 dbname='it\\'s'"
        );
        let connection = connection_from_options(&options.with("username", "ann"), "x").unwrap();
        assert_eq!(connection.address(), "db.example:15432/it's as ann");
        let both = Options::new("c").with("url", "postgres://h/d").with("hostname", "h");
        assert!(url_from_options(&both).unwrap_err().to_string().contains("hostname"));
        let port_with_url = Options::new("c").with("url", "postgres://h/d").with("port", "1");
        assert!(url_from_options(&port_with_url)
            .unwrap_err()
            .to_string()
            .contains("port"));
        let neither = Options::new("c");
        assert!(url_from_options(&neither).unwrap_err().to_string().contains("url"));
    }
}
