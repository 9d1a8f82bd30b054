//! Running planned SQL on Weir: the translation of optimized DataFusion logical
//! plans into streams of [`RowBatch`]es ([`translate`]) and the batch operators it
//! uses: vectorized projections and filters ([`eval`]), table watermarks
//! ([`watermark`]), window TVF assignment ([`window`]), keyed window aggregates
//! ([`window_aggregate`]), session window aggregates ([`session_aggregate`]),
//! updating aggregates ([`group_aggregate`]) with their accumulators
//! ([`accumulator`]; DataFusion aggregate functions and Rust UDAFs in [`udaf`]), regular inner, outer, semi and anti joins ([`join`]),
//! interval and window joins ([`interval_join`]), lookup joins ([`lookup_join`]),
//! event-time temporal joins with versioned tables ([`temporal_join`]),
//! OVER aggregates ([`over_aggregate`]), Top-N and deduplication ([`top_n`]),
//! table functions and `UNNEST` ([`unnest`]),
//! upsert changelogs of sources made retract ([`changelog_normalize`]), the
//! key encoding and partitioning they share ([`keys`]) and their result batches
//! ([`output`]).

pub mod accumulator;
pub mod changelog_normalize;
pub mod eval;
pub mod group_aggregate;
pub mod interval_join;
pub mod join;
pub mod key_timer;
pub mod keys;
pub mod lookup_join;
pub mod output;
pub mod over_aggregate;
pub mod session_aggregate;
pub mod temporal_join;
pub mod top_n;
pub mod translate;
mod translate_interval;
mod translate_limit;
mod translate_lookup;
mod translate_over;
mod translate_rank;
mod translate_temporal;
pub mod udaf;
pub mod unnest;
pub mod watermark;
pub mod window;
pub mod window_aggregate;

pub use translate::Translator;

use crate::batch::RowBatch;
use crate::connector::ChangelogMode;
use weir_datastream::DataStream;

/// A translated plan: the stream of its rows and what the stream carries.
#[derive(Clone)]
pub struct SqlStream {
    /// The rows (batches end with the kind column unless `mode` is insert-only).
    pub stream: DataStream<RowBatch>,
    /// Insert-only or updating.
    pub mode: ChangelogMode,
    /// The columns that identify a row of an updating result (its upsert key), when
    /// known: an updated row is retracted and added again under the same key.
    pub upsert_key: Option<Vec<usize>>,
}

impl ChangelogMode {
    /// Retract when `updating`, else insert-only.
    pub fn retract_if(updating: bool) -> ChangelogMode {
        if updating {
            ChangelogMode::Retract
        } else {
            ChangelogMode::InsertOnly
        }
    }
}

impl SqlStream {
    /// An insert-only stream.
    pub fn insert_only(stream: DataStream<RowBatch>) -> Self {
        SqlStream {
            stream,
            mode: ChangelogMode::InsertOnly,
            upsert_key: None,
        }
    }

    /// Whether rows may be updated or deleted (batches carry the kind column).
    pub fn is_updating(&self) -> bool {
        self.mode != ChangelogMode::InsertOnly
    }

    /// The same changelog through `f` (an operator that keeps rows and their kinds).
    pub fn map_stream(self, f: impl FnOnce(DataStream<RowBatch>) -> DataStream<RowBatch>) -> Self {
        SqlStream {
            stream: f(self.stream),
            ..self
        }
    }
}
