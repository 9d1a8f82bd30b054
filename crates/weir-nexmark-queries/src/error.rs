//! Errors of the Nexmark runner.

/// What can go wrong preparing or running a Nexmark query.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NexmarkError {
    /// The query name is not `q0` … `q22`.
    #[error("unknown query '{0}': the Nexmark queries are q0 to q22")]
    UnknownQuery(String),
    /// The query exists in Nexmark but not (yet) in Weir.
    #[error("query q{0} is not implemented")]
    NotImplemented(u8),
    /// The generator configuration is invalid.
    #[error("bad Nexmark configuration: {0}")]
    Config(#[from] weir_nexmark::ConfigError),
    /// The input file cannot be read.
    #[error("cannot read the events: {0}")]
    Input(String),
    /// The job failed.
    #[error("the query failed: {0}")]
    Job(#[from] weir::core::WeirError),
}
