//! The `connector = 'mysql'` sink for a [`Registry`]: rows of values in column
//! order, options close to Flink's JDBC connector.
//!
//! | option | default | meaning |
//! | --- | --- | --- |
//! | `url` | required | `mysql://host:port/database` (user and password may be in it) |
//! | `table-name` | required | the table |
//! | `columns` | required | the columns the row's values go to, comma-separated |
//! | `username`, `password` | from the URL | credentials |
//! | `sink.delivery-guarantee` | `at-least-once` | `at-least-once` (upserts) or `exactly-once` (XA) |
//! | `sink.xa.id` | required for exactly-once | names the sink's XA transactions |
//! | `sink.xa.marker-table` | `weir_xa_commits` | the commit markers' table |
//! | `sink.buffer-flush.max-rows` | 500 | rows per batch |
//! | `sink.buffer-flush.interval` | 1 s | longest wait of a buffered row while idle (upserts) |
//! | `sink.max-retries` | 3 | retries of a statement on a new connection |
//! | `connection.max-retry-timeout` | 60 s | how long connecting is retried |

use crate::connection::MySqlConfig;
use crate::upsert::{MySqlUpsertSink, Row};
use crate::xa::MySqlXaSink;
use std::sync::Arc;
use std::time::Duration;
use weir_connector_api::options::Options;
use weir_connector_api::registry::{Registry, SinkFactory, Typed};
use weir_connector_api::sink::Sink;
use weir_connector_api::transactional::ExactlyOnce;
use weir_connector_api::ConnectorError;

/// Builds MySQL sinks from string options (see the module documentation).
#[derive(Debug, Default, Clone, Copy)]
pub struct MySqlSinkFactory;

impl SinkFactory<Typed<Row>> for MySqlSinkFactory {
    fn name(&self) -> &'static str {
        "mysql"
    }

    fn create_sink(
        &self,
        _schema: &(),
        options: &Options,
        _registry: &Registry<Typed<Row>>,
    ) -> Result<Arc<dyn Sink<Row>>, ConnectorError> {
        let other = |e: crate::MySqlError| ConnectorError::Other(e.to_string());
        let url = options.required("url")?;
        let table = options.required("table-name")?.to_string();
        let columns_text = options.required("columns")?;
        let columns: Vec<&str> = columns_text
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        if columns.is_empty() {
            return Err(options.invalid("columns", columns_text, "no column named"));
        }
        let config = MySqlConfig::new(options.context(), url)
            .map_err(other)?
            .with_credentials(options.get("username"), options.get("password"))
            .with_max_retries(options.parse("sink.max-retries", 3u32)?)
            .with_max_retry_timeout(options.duration("connection.max-retry-timeout", Duration::from_secs(60))?);
        let max_rows = options.parse("sink.buffer-flush.max-rows", 500usize)?;
        let interval = options.duration("sink.buffer-flush.interval", Duration::from_secs(1))?;
        let arity = columns.len();
        let to_row = move |row: &Row| -> Row {
            let mut row = row.clone();
            row.truncate(arity);
            row
        };
        match options.one_of(
            "sink.delivery-guarantee",
            &["at-least-once", "exactly-once"],
            "at-least-once",
        )? {
            "exactly-once" => {
                let id = options.required("sink.xa.id")?;
                let mut sink = MySqlXaSink::new(config, id, table, &columns, to_row)
                    .map_err(other)?
                    .with_max_rows(max_rows);
                if let Some(marker) = options.get("sink.xa.marker-table") {
                    sink = sink.with_marker_table(marker);
                }
                Ok(Arc::new(ExactlyOnce::new(sink)))
            }
            _ => Ok(Arc::new(
                MySqlUpsertSink::new(config, table, &columns, to_row)
                    .with_max_rows(max_rows)
                    .with_flush_interval(interval),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_checked() {
        let mut registry = Registry::<Typed<Row>>::new();
        registry.register_sink(Arc::new(MySqlSinkFactory));
        let options = Options::new("mysql sink 'totals'")
            .with("connector", "mysql")
            .with("url", "mysql://root@127.0.0.1:13306/weir")
            .with("table-name", "totals")
            .with("columns", "id, n")
            .with("sink.delivery-guarantee", "exactly-once");
        let error = registry.sink(&(), &options).err().unwrap().to_string();
        assert!(error.contains("sink.xa.id"), "{error}");
        let options = options
            .with("sink.xa.id", "totals")
            .with("sink.bufer-flush.max-rows", "5");
        let error = registry.sink(&(), &options).err().unwrap().to_string();
        assert!(error.contains("sink.bufer-flush.max-rows"), "{error}");
    }
}
