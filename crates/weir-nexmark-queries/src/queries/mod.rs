//! The queries, one module each, following the SQL texts of the Flink Nexmark
//! benchmark (`nexmark-flink/src/main/resources/queries/q*.sql`). Every module has
//! a `build(&DataStream<Event>) -> DataStream<Row>` and its row type; [`attach`]
//! picks one by number.

pub mod q0;
pub mod q1;
pub mod q2;

use crate::runner::{sink, QueryOutput};
use crate::NexmarkError;
use weir::prelude::*;
use weir_nexmark::Event;

/// Builds query `number` on `events` and sends its rows to `output`; returns the
/// collected rows' handle for [`QueryOutput::Collect`].
pub(crate) fn attach(
    number: u8,
    events: &DataStream<Event>,
    output: &QueryOutput,
) -> Result<Option<CollectHandle<String>>, NexmarkError> {
    Ok(match number {
        0 => sink(q0::build(events), output),
        1 => sink(q1::build(events), output),
        2 => sink(q2::build(events), output),
        n => return Err(NexmarkError::NotImplemented(n)),
    })
}
