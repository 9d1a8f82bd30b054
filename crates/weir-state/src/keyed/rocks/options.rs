//! What the RocksDB instance and the snapshots read from it share: the column
//! family of each state, its options (with the list-append merge operator), and
//! how RocksDB failures become [`StateError`]s.

use crate::backend::RocksShared;
use crate::error::StateError;
use rocksdb::{BlockBasedOptions, DBCompressionType, MergeOperands, Options};

/// A RocksDB failure, described by `message`.
pub(crate) fn rocks_error(message: impl Into<String>) -> StateError {
    StateError::Backend(message.into())
}

/// Prefix of the column family names of states.
const STATE_PREFIX: &str = "state/";

/// The column family holding state `state`.
pub(crate) fn column_family(state: &str) -> String {
    format!("{STATE_PREFIX}{state}")
}

/// Concatenates list elements: the merge operator of every column family.
fn append(_key: &[u8], existing: Option<&[u8]>, operands: &MergeOperands) -> Option<Vec<u8>> {
    let extra: usize = operands.iter().map(<[u8]>::len).sum();
    let mut out = Vec::with_capacity(existing.map_or(0, <[u8]>::len) + extra);
    if let Some(existing) = existing {
        out.extend_from_slice(existing);
    }
    for operand in operands {
        out.extend_from_slice(operand);
    }
    Some(out)
}

/// Options of every column family (and of read-only opens of snapshots).
pub(crate) fn cf_options(shared: Option<&RocksShared>) -> Options {
    // Settings the Rust API has no setter for. Without a WAL, closing an instance
    // would flush every memtable into files about to be deleted; the manifest need
    // not reserve 4 MiB per instance.
    let mut options = Options::default()
        .get_options_from_string("avoid_flush_during_shutdown=true;manifest_preallocation_size=65536")
        .unwrap_or_default();
    options.set_merge_operator_associative("weir-list-append", append);
    options.set_compression_type(DBCompressionType::Lz4);
    options.set_level_compaction_dynamic_level_bytes(true);
    let mut table = BlockBasedOptions::default();
    table.set_bloom_filter(10.0, false);
    table.set_format_version(5);
    if let Some(shared) = shared {
        table.set_block_cache(&shared.cache);
        table.set_cache_index_and_filter_blocks(true);
        table.set_pin_l0_filter_and_index_blocks_in_cache(true);
        let buffers = (shared.options.memory_budget as f64 * shared.options.write_buffer_ratio) as usize;
        let write_buffer = (buffers / 4).clamp(1 << 20, 64 << 20);
        options.set_write_buffer_size(write_buffer);
        // Small arena blocks: an idle column family then holds (and charges to the
        // budget) 64 KiB rather than an eighth of its write buffer.
        options.set_arena_block_size((write_buffer / 8).min(64 << 10));
        options.set_max_write_buffer_number(2);
    }
    options.set_block_based_table_factory(&table);
    options
}
