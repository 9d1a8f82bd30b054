//! Weir's streaming SQL.
