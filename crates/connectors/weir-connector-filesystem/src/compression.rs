//! Compressed input: which files are compressed, and their decoders.

use crate::error::FileSystemError;
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// The compression of `path` by its extension: `gzip` (`.gz`, `.gzip`) or `zstd`
/// (`.zst`, `.zstd`).
pub(crate) fn codec_of(path: &Path) -> Option<&'static str> {
    match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "gz" | "gzip" => Some("gzip"),
        "zst" | "zstd" => Some("zstd"),
        _ => None,
    }
}

/// The decompressed bytes of `file` (at its start).
#[cfg(feature = "compression")]
pub(crate) fn decoder(path: &Path, codec: &str, file: File) -> Result<Box<dyn Read + Send>, FileSystemError> {
    use weir_format_compression::Compression;
    let compression = Compression::from_name(codec)
        .ok_or_else(|| FileSystemError::Config(format!("'{}': unknown compression '{codec}'", path.display())))?;
    let reader = std::io::BufReader::with_capacity(256 * 1024, file);
    weir_format_compression::decoder(reader, compression).map_err(|e| FileSystemError::io("cannot decompress", path, e))
}

/// The decompressed bytes of `file`: not available without the `compression`
/// feature.
#[cfg(not(feature = "compression"))]
pub(crate) fn decoder(path: &Path, codec: &str, file: File) -> Result<Box<dyn Read + Send>, FileSystemError> {
    drop(file);
    Err(FileSystemError::Config(format!(
        "cannot read '{}': {codec} input needs the feature 'compression' of weir-connector-filesystem",
        path.display()
    )))
}
