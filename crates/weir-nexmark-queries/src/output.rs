//! Where a query's rows go: the sinks every query ends in.

use serde::Serialize;
use std::path::PathBuf;
use weir::prelude::*;

/// Where a query's rows go.
#[derive(Debug, Clone, Default)]
pub enum QueryOutput {
    /// Nowhere (the benchmark's blackhole sink): rows are built, then dropped.
    #[default]
    Discard,
    /// One JSON object per line into this file (at parallelism above 1, a
    /// directory of that name with one `part-<subtask>` file per sink subtask).
    File(PathBuf),
    /// Into memory as JSON lines, for tests.
    Collect,
}

/// Sends `stream` to `output`.
pub(crate) fn sink<T: Data + Serialize>(stream: DataStream<T>, output: &QueryOutput) -> Option<CollectHandle<String>> {
    match output {
        QueryOutput::Discard => {
            stream.add_sink(DiscardingSink).name("discard").uid("sink");
            None
        }
        QueryOutput::File(path) => {
            stream
                .map(|row: T| serde_json::to_string(&row).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")))
                .name("to json")
                .add_sink(TextFileSink::new(path.clone()))
                .name("file")
                .uid("sink");
            None
        }
        QueryOutput::Collect => {
            let (collect, handle) = CollectSink::new();
            stream
                .map(|row: T| serde_json::to_string(&row).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")))
                .name("to json")
                .add_sink(collect)
                .name("collect")
                .uid("sink");
            Some(handle)
        }
    }
}
