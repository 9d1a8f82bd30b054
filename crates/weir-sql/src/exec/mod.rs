//! Running planned SQL on Weir: the translation of optimized DataFusion logical
//! plans into `DataStream<RowBatch>`s ([`translate`]) and the batch operators it
//! uses: vectorized projections and filters ([`eval`]), table watermarks
//! ([`watermark`]), window TVF assignment ([`window`]) and keyed window aggregates
//! ([`aggregate`]).

pub mod aggregate;
pub mod eval;
pub mod translate;
pub mod watermark;
pub mod window;

pub use translate::Translator;
