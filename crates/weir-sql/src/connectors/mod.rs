//! The built-in SQL connectors: the `nexmark` and `datagen` sources, the `print`
//! and `blackhole` sinks.

mod datagen;
mod nexmark;
mod print;

pub use datagen::DatagenConnector;
pub use nexmark::NexmarkConnector;
pub use print::{BlackholeConnector, Line, PrintConnector};

use crate::connector::SqlConnectors;
use std::sync::Arc;

/// A registry holding the built-in connectors.
pub fn builtin() -> SqlConnectors {
    let mut connectors = SqlConnectors::new();
    connectors.register_source(Arc::new(NexmarkConnector));
    connectors.register_source(Arc::new(DatagenConnector));
    connectors.register_sink(Arc::new(PrintConnector));
    connectors.register_sink(Arc::new(BlackholeConnector));
    connectors
}
