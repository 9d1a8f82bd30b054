//! Weir's streaming SQL.

pub mod error;
pub mod front;
