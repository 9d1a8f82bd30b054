//! The queries, one module each, following the SQL texts of the Flink Nexmark
//! benchmark (`nexmark-flink/src/main/resources/queries/q*.sql`). Every module has
//! a `build(&DataStream<Event>) -> DataStream<Row>` and its row type; [`attach`]
//! picks one by number.

pub mod q0;
pub mod q1;
pub mod q10;
pub mod q11;
pub mod q2;
pub mod q3;
pub mod q4;
pub mod q5;
pub mod q6;
pub mod q7;
pub mod q8;
pub mod q9;
mod winning;

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
        3 => sink(q3::build(events), output),
        4 => sink(q4::build(events), output),
        5 => sink(q5::build(events), output),
        6 => sink(q6::build(events), output),
        7 => sink(q7::build(events), output),
        8 => sink(q8::build(events), output),
        9 => sink(q9::build(events), output),
        10 => sink(q10::build(events), output),
        11 => sink(q11::build(events), output),
        n => return Err(NexmarkError::NotImplemented(n)),
    })
}
