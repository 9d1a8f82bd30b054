//! Placeholder crate (issue 14 fills it in).
