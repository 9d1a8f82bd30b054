//! Errors for configurations the generator cannot run with.

use thiserror::Error;

/// A [`NexmarkConfig`](crate::NexmarkConfig) or generator argument that cannot work.
///
/// Flink's generator accepts most of these and then divides by zero, loops forever or
/// throws from `java.util.Random`; here they are refused up front.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `first_event_rate` is 0: the inter-event delay would be infinite.
    #[error("first_event_rate must be at least 1 event per second")]
    ZeroRate,
    /// `num_event_generators` is 0: the inter-event delay would be 0 for every event.
    #[error("num_event_generators must be at least 1")]
    ZeroEventGenerators,
    /// The person, auction and bid proportions add up to 0 (or overflow an `int`).
    #[error("person, auction and bid proportions must add up to between 1 and 2^31-1, got {0}")]
    BadProportions(u64),
    /// A hot ratio is 0 (it is the bound of a random draw).
    #[error("{name} must be between 1 and 2^31-1, got {value}")]
    BadRatio {
        /// The field's name.
        name: &'static str,
        /// Its value.
        value: u32,
    },
    /// `out_of_order_group_size` is 0 (event numbers are divided by it).
    #[error("out_of_order_group_size must be at least 1")]
    ZeroOutOfOrderGroupSize,
    /// A field that Java holds in an `int` is larger than 2^31-1.
    #[error("{name} must be at most 2^31-1, got {value}")]
    TooLarge {
        /// The field's name.
        name: &'static str,
        /// Its value.
        value: u64,
    },
    /// A negative first event id or first event number.
    #[error("{name} must not be negative, got {value}")]
    Negative {
        /// The field's name.
        name: &'static str,
        /// Its value.
        value: i64,
    },
    /// A split into 0 parts.
    #[error("cannot split a generator into 0 parts")]
    ZeroSplit,
}
