//! The queries, one module each, following the SQL texts of the Flink Nexmark
//! benchmark (`nexmark-flink/src/main/resources/queries/q*.sql`). Every module has
//! a `build(&DataStream<Event>) -> DataStream<Row>` and its row type; [`attach`]
//! picks one by number.

pub mod q0;
pub mod q1;
pub mod q10;
pub mod q11;
pub mod q12;
pub mod q13;
pub mod q14;
pub mod q15;
pub mod q16;
pub mod q17;
pub mod q18;
pub mod q19;
pub mod q2;
pub mod q20;
pub mod q21;
pub mod q22;
pub mod q3;
pub mod q4;
pub mod q5;
pub mod q6;
pub mod q7;
pub mod q8;
pub mod q9;

mod calendar;
mod count;
mod winning;

use crate::output::{sink, QueryOutput};
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
        12 => sink(q12::build(events), output),
        13 => sink(q13::build(events), output),
        14 => sink(q14::build(events), output),
        15 => sink(q15::build(events), output),
        16 => sink(q16::build(events), output),
        17 => sink(q17::build(events), output),
        18 => sink(q18::build(events), output),
        19 => sink(q19::build(events), output),
        20 => sink(q20::build(events), output),
        21 => sink(q21::build(events), output),
        22 => sink(q22::build(events), output),
        n => return Err(NexmarkError::NotImplemented(n)),
    })
}
