//! A connector's registry factory under test: a [`Table`] of [`Reading`]s in
//! JSON, with the connector registered, built from options the way SQL DDL
//! gives them.
//!
//! ```no_run
//! use weir_connector_testkit::factory::Table;
//! # fn register(_: &mut weir_connector_api::registry::Registry<weir_connector_api::registry::Typed<weir_connector_testkit::factory::Reading>>) {}
//! let table = Table::new("nats", register);
//! let error = table.source_error(&[("url", "nats://127.0.0.1:4222")]);
//! assert!(error.contains("'stream'") && error.contains("nats table 'readings'"));
//! ```

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use weir_connector_api::options::Options;
use weir_connector_api::registry::{Registry, Typed};
use weir_connector_api::sink::Sink;
use weir_connector_api::source::Source;
use weir_connector_api::ConnectorError;
use weir_format_json::JsonFormatFactory;

/// The table's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// Its number.
    pub id: u64,
    /// `sensor-{id}`.
    pub name: String,
}

impl Reading {
    /// Reading number `id`.
    pub fn new(id: u64) -> Reading {
        Reading {
            id,
            name: format!("sensor-{id}"),
        }
    }
}

/// The table `'{connector} table 'readings'`: the JSON format and one connector.
pub struct Table {
    connector: &'static str,
    registry: Registry<Typed<Reading>>,
}

impl Table {
    /// A registry with the JSON format and what `register` adds (the
    /// connector's `Factory::register`), for connector `connector`.
    pub fn new(connector: &'static str, register: fn(&mut Registry<Typed<Reading>>)) -> Table {
        let mut registry = Registry::new();
        registry.register_format(Arc::new(JsonFormatFactory::<Reading>::default()));
        register(&mut registry);
        Table { connector, registry }
    }

    /// The registry.
    pub fn registry(&self) -> &Registry<Typed<Reading>> {
        &self.registry
    }

    /// `connector` and `format = json`, then `pairs` (which may replace them).
    pub fn options(&self, pairs: &[(&str, &str)]) -> Options {
        let mut all = vec![("connector", self.connector), ("format", "json")];
        all.extend_from_slice(pairs);
        Options::from_pairs(format!("{} table 'readings'", self.connector), all)
    }

    /// The source built from [`Table::options`].
    pub fn source(&self, pairs: &[(&str, &str)]) -> Result<Arc<dyn Source<Reading>>, ConnectorError> {
        self.registry.source(&(), &self.options(pairs))
    }

    /// The sink built from [`Table::options`].
    pub fn sink(&self, pairs: &[(&str, &str)]) -> Result<Arc<dyn Sink<Reading>>, ConnectorError> {
        self.registry.sink(&(), &self.options(pairs))
    }

    /// The error building the source; panics if it builds.
    pub fn source_error(&self, pairs: &[(&str, &str)]) -> String {
        match self.source(pairs) {
            Ok(_) => panic!("the source was built from {pairs:?}"),
            Err(e) => e.to_string(),
        }
    }

    /// The error building the sink; panics if it builds.
    pub fn sink_error(&self, pairs: &[(&str, &str)]) -> String {
        match self.sink(pairs) {
            Ok(_) => panic!("the sink was built from {pairs:?}"),
            Err(e) => e.to_string(),
        }
    }
}
