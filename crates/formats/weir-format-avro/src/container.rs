//! Avro object container files: a header (magic `Obj\x01`, metadata with the writer
//! schema and codec, a 16-byte sync marker), then blocks of records, each followed by
//! the marker.
//!
//! [`AvroFileReader`] reads a whole file, or the blocks that start in a byte range
//! (a split): it reads the header at the start of the file, then looks for the first
//! sync marker at or after the range's start, as Hadoop's and Flink's Avro input
//! formats do, so that splits of one file cut at any bytes read every block exactly
//! once. [`FilePosition`] (a block's offset and the records of it already read) is
//! what a source keeps in its checkpoints to resume.

use std::collections::HashMap;
use std::io::{self, BufRead, Seek, SeekFrom};
use std::marker::PhantomData;
use std::str::FromStr;

use apache_avro::types::Value;
use apache_avro::{Codec, GenericSingleObjectReader, Schema};
use serde::de::DeserializeOwned;
use thiserror::Error;
use weir_connector_api::format::{FormatError, FormatErrorKind};

use crate::datum::DatumReader;
use crate::error::chain;
use crate::options::DEFAULT_MAX_BLOCK_BYTES;

const MAGIC: [u8; 4] = [b'O', b'b', b'j', 1];
const MARKER_BYTES: usize = 16;
/// Records of zero bytes (a `null` schema) a block may claim beyond its byte count.
const ZERO_SIZE_RECORDS: u64 = 1 << 16;

/// Where the next record of a container file is: the block starting at byte
/// `block_start`, after `records_read` of its records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FilePosition {
    /// The offset of the block (its record count) in the file.
    pub block_start: u64,
    /// Records of that block already read.
    pub records_read: u64,
}

/// A container file that cannot be read.
#[derive(Debug, Error)]
pub enum ContainerError {
    /// Reading the file failed.
    #[error("cannot read the Avro file: {0}")]
    Io(#[from] io::Error),
    /// The header or a block's framing is invalid; nothing after it can be read.
    #[error("Avro file at byte {offset}: {error}")]
    Format {
        /// Where in the file.
        offset: u64,
        /// What is wrong.
        error: FormatError,
    },
    /// A record of a block cannot be decoded. The block's later records cannot be
    /// located (records have no framing of their own) and are skipped with it;
    /// reading goes on with the next block.
    #[error("Avro file, block at byte {block_start}, record {record}: {error} (the block's {skipped} later records are skipped with it)")]
    Record {
        /// The offset of the block.
        block_start: u64,
        /// The record's index in the block (0-based).
        record: u64,
        /// The block's records after it, skipped.
        skipped: u64,
        /// What is wrong.
        error: FormatError,
    },
}

impl ContainerError {
    /// The format error, if it is one (for a bad-record policy).
    pub fn format_error(&self) -> Option<&FormatError> {
        match self {
            ContainerError::Io(_) => None,
            ContainerError::Format { error, .. } | ContainerError::Record { error, .. } => Some(error),
        }
    }
}

fn syntax(offset: u64, message: impl Into<String>) -> ContainerError {
    ContainerError::Format {
        offset,
        error: FormatError::new(FormatErrorKind::Syntax, message),
    }
}

/// Reads the records of an Avro object container file into `T` with serde.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use weir_format_avro::{parse_schema, AvroFileReader};
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize)]
/// struct Bid { auction: i64, price: i64 }
///
/// let schema = parse_schema(r#"{"type":"record","name":"Bid","fields":[{"name":"auction","type":"long"},{"name":"price","type":"long"}]}"#)?;
/// let mut writer = apache_avro::Writer::new(&schema, Vec::new())?;
/// writer.append_ser(Bid { auction: 1, price: 250 })?;
/// let file = writer.into_inner()?;
///
/// let reader = AvroFileReader::<_, Bid>::new(&file[..])?;
/// let bids: Result<Vec<Bid>, _> = reader.collect();
/// assert_eq!(bids?, [Bid { auction: 1, price: 250 }]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AvroFileReader<R, T> {
    input: R,
    /// The file offset of the next byte of `input`.
    offset: u64,
    /// Blocks starting at or after this offset are left to the next split.
    end: u64,
    schema: Schema,
    datum: DatumReader,
    codec: Codec,
    marker: [u8; MARKER_BYTES],
    metadata: HashMap<String, Vec<u8>>,
    max_block_bytes: usize,
    block: Vec<u8>,
    block_pos: usize,
    block_start: u64,
    block_count: u64,
    block_read: u64,
    done: bool,
    _records: PhantomData<fn() -> T>,
}

impl<R, T> std::fmt::Debug for AvroFileReader<R, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AvroFileReader")
            .field("offset", &self.offset)
            .field("end", &self.end)
            .field("codec", &self.codec)
            .finish()
    }
}

impl<R: BufRead, T> AvroFileReader<R, T> {
    /// A reader of the whole file `input`, positioned at its start.
    pub fn new(input: R) -> Result<Self, ContainerError> {
        Self::with_max_block_bytes(input, DEFAULT_MAX_BLOCK_BYTES)
    }

    /// The same, with a limit on one block's bytes (compressed and decompressed;
    /// default 64 MiB): a larger block is an `Oversize` error.
    pub fn with_max_block_bytes(mut input: R, max_block_bytes: usize) -> Result<Self, ContainerError> {
        let mut offset = 0;
        let header = read_header(&mut input, &mut offset)?;
        Ok(AvroFileReader {
            input,
            offset,
            end: u64::MAX,
            datum: DatumReader::new(header.schema.clone()).map_err(|e| ContainerError::Format {
                offset: 0,
                error: FormatError::new(FormatErrorKind::Syntax, e.to_string()),
            })?,
            schema: header.schema,
            codec: header.codec,
            marker: header.marker,
            metadata: header.metadata,
            max_block_bytes,
            block: Vec::new(),
            block_pos: 0,
            block_start: offset,
            block_count: 0,
            block_read: 0,
            done: false,
            _records: PhantomData,
        })
    }

    /// The writer schema the file's header holds.
    pub fn writer_schema(&self) -> &Schema {
        &self.schema
    }

    /// The file's user metadata (header keys not starting with `avro.`).
    pub fn metadata(&self) -> &HashMap<String, Vec<u8>> {
        &self.metadata
    }

    /// The position of the next record (to store in a checkpoint and
    /// [`resume`](Self::resume) from).
    pub fn position(&self) -> FilePosition {
        if self.block_read < self.block_count {
            FilePosition {
                block_start: self.block_start,
                records_read: self.block_read,
            }
        } else {
            FilePosition {
                block_start: self.offset,
                records_read: 0,
            }
        }
    }

    /// Reads the next block's framing into `self.block`; `false` at the end.
    fn next_block(&mut self) -> Result<bool, ContainerError> {
        self.block.clear();
        self.block_pos = 0;
        self.block_count = 0;
        self.block_read = 0;
        self.block_start = self.offset;
        if self.offset >= self.end {
            return Ok(false);
        }
        let start = self.offset;
        let Some(count) = read_long(&mut self.input, &mut self.offset, true)? else {
            return Ok(false);
        };
        let size = read_long(&mut self.input, &mut self.offset, false)?.unwrap_or_default();
        if count < 0 || size < 0 {
            return Err(syntax(start, format!("a block claims {count} records in {size} bytes")));
        }
        let size = size as u64;
        if size > self.max_block_bytes as u64 {
            return Err(ContainerError::Format {
                offset: start,
                error: crate::error::oversize(size as usize, self.max_block_bytes, "the block limit"),
            });
        }
        self.block.resize(size as usize, 0);
        read_exact(&mut self.input, &mut self.block, &mut self.offset, "block")?;
        let mut marker = [0; MARKER_BYTES];
        read_exact(&mut self.input, &mut marker, &mut self.offset, "block's sync marker")?;
        if marker != self.marker {
            return Err(syntax(
                self.offset - MARKER_BYTES as u64,
                "the block's sync marker is not the header's (a corrupt or truncated block)",
            ));
        }
        let mut block = std::mem::take(&mut self.block);
        if let Err(e) = self.codec.decompress(&mut block) {
            return Err(syntax(start, format!("cannot decompress the block: {}", chain(&e))));
        }
        if block.len() > self.max_block_bytes {
            return Err(ContainerError::Format {
                offset: start,
                error: crate::error::oversize(block.len(), self.max_block_bytes, "the block limit, decompressed"),
            });
        }
        if count as u64 > block.len() as u64 + ZERO_SIZE_RECORDS {
            return Err(syntax(
                start,
                format!("a block claims {count} records in {} bytes", block.len()),
            ));
        }
        self.block = block;
        self.block_count = count as u64;
        Ok(true)
    }
}

impl<R: BufRead, T: DeserializeOwned> AvroFileReader<R, T> {
    /// The next record, `None` at the end of the file (or of the range).
    pub fn next_record(&mut self) -> Result<Option<T>, ContainerError> {
        if self.done {
            return Ok(None);
        }
        while self.block_read == self.block_count {
            let rest = self.block.len() - self.block_pos;
            if self.block_count > 0 && rest > 0 {
                let (start, count) = (self.block_start, self.block_count);
                self.block_pos = self.block.len();
                self.block_count = 0;
                self.block_read = 0;
                return Err(ContainerError::Record {
                    block_start: start,
                    record: count,
                    skipped: 0,
                    error: FormatError::new(
                        FormatErrorKind::Syntax,
                        format!("{rest} bytes are left over after the block's {count} records"),
                    ),
                });
            }
            match self.next_block() {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return Ok(None);
                }
                Err(e) => {
                    self.done = true;
                    return Err(e);
                }
            }
        }
        let mut input = &self.block[self.block_pos..];
        let before = input.len();
        match self.datum.decode_from::<T>(&mut input) {
            Ok(record) => {
                self.block_pos += before - input.len();
                self.block_read += 1;
                Ok(Some(record))
            }
            Err(error) => {
                let record = self.block_read;
                let skipped = self.block_count - record - 1;
                self.block_pos = self.block.len();
                self.block_read = self.block_count;
                // Not reported again as left-over bytes.
                self.block_count = 0;
                self.block_read = 0;
                Err(ContainerError::Record {
                    block_start: self.block_start,
                    record,
                    skipped,
                    error,
                })
            }
        }
    }
}

impl<R: BufRead + Seek, T: DeserializeOwned> AvroFileReader<R, T> {
    /// A reader of the blocks of the file `input` that start at or after byte `start`
    /// and before byte `end` (a split): the header is read from the file's start,
    /// then the first sync marker ending at or after `start` found.
    pub fn open_range(input: R, start: u64, end: u64) -> Result<Self, ContainerError> {
        Self::open_range_with_max_block_bytes(input, start, end, DEFAULT_MAX_BLOCK_BYTES)
    }

    /// [`open_range`](Self::open_range) with a block limit.
    pub fn open_range_with_max_block_bytes(
        mut input: R,
        start: u64,
        end: u64,
        max_block_bytes: usize,
    ) -> Result<Self, ContainerError> {
        input.seek(SeekFrom::Start(0))?;
        let mut reader = Self::with_max_block_bytes(input, max_block_bytes)?;
        reader.end = end;
        if start > reader.offset {
            let from = start - MARKER_BYTES as u64;
            reader.input.seek(SeekFrom::Start(from))?;
            reader.offset = from;
            if !reader.skip_to_marker()? {
                reader.done = true;
            }
        }
        reader.block_start = reader.offset;
        Ok(reader)
    }

    /// Continues reading at `position` (from [`position`](Self::position)), up to
    /// `end`: the block at `position.block_start`, after its `records_read` records.
    pub fn resume(input: R, position: FilePosition, end: u64) -> Result<Self, ContainerError> {
        let mut reader = Self::open_range(input, position.block_start, end)?;
        if position.records_read > 0 {
            if reader.offset != position.block_start {
                return Err(syntax(
                    position.block_start,
                    "no block starts at the position to resume from (has the file changed?)",
                ));
            }
            for _ in 0..position.records_read {
                reader.next_record()?;
            }
        }
        Ok(reader)
    }

    /// Moves past the next sync marker; `false` if the file ends first.
    fn skip_to_marker(&mut self) -> Result<bool, ContainerError> {
        let mut window = [0u8; MARKER_BYTES];
        let mut filled = 0usize;
        loop {
            let buffer = self.input.fill_buf()?;
            if buffer.is_empty() {
                return Ok(false);
            }
            let mut used = 0;
            for &byte in buffer {
                used += 1;
                window.copy_within(1.., 0);
                window[MARKER_BYTES - 1] = byte;
                filled += 1;
                if filled >= MARKER_BYTES && window == self.marker {
                    self.input.consume(used);
                    self.offset += used as u64;
                    return Ok(true);
                }
            }
            self.input.consume(used);
            self.offset += used as u64;
        }
    }
}

impl<R: BufRead, T: DeserializeOwned> Iterator for AvroFileReader<R, T> {
    type Item = Result<T, ContainerError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}

struct Header {
    schema: Schema,
    codec: Codec,
    marker: [u8; MARKER_BYTES],
    metadata: HashMap<String, Vec<u8>>,
}

/// A reader counting the bytes taken from a `BufRead`.
struct Counting<'a, R> {
    input: &'a mut R,
    offset: &'a mut u64,
}

impl<R: BufRead> io::Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.input.read(buf)?;
        *self.offset += n as u64;
        Ok(n)
    }
}

fn read_header<R: BufRead>(input: &mut R, offset: &mut u64) -> Result<Header, ContainerError> {
    let mut magic = [0u8; 4];
    read_exact(input, &mut magic, offset, "header")?;
    if magic != MAGIC {
        return Err(syntax(
            0,
            format!("not an Avro object container file: it starts with {magic:02X?}, not 'Obj' 01"),
        ));
    }
    // The metadata is an Avro map of bytes.
    let map = Schema::parse_str(r#"{"type":"map","values":"bytes"}"#)
        .and_then(|schema| {
            GenericSingleObjectReader::builder()
                .schema(schema)
                .header(Vec::new())
                .build()
        })
        .map_err(|e| syntax(4, chain(&e)))?;
    let at = *offset;
    let value = map
        .read_value(&mut Counting { input, offset })
        .map_err(|e| syntax(at, format!("the header's metadata: {}", chain(&e))))?;
    let Value::Map(entries) = value else {
        return Err(syntax(at, "the header's metadata is not a map"));
    };
    let mut metadata = HashMap::new();
    for (key, value) in entries {
        if let Value::Bytes(bytes) = value {
            metadata.insert(key, bytes);
        }
    }
    let schema_bytes = metadata
        .remove("avro.schema")
        .ok_or_else(|| syntax(at, "the header has no avro.schema"))?;
    let schema_text =
        std::str::from_utf8(&schema_bytes).map_err(|e| syntax(at, format!("avro.schema is not UTF-8: {e}")))?;
    let schema = crate::parse_schema(schema_text).map_err(|e| syntax(at, format!("the header's avro.schema: {e}")))?;
    let codec = match metadata.remove("avro.codec") {
        None => Codec::Null,
        Some(name) => {
            let name = String::from_utf8_lossy(&name).into_owned();
            Codec::from_str(&name).map_err(|_| {
                syntax(
                    at,
                    format!("the file's codec '{name}' is not supported (null and deflate are; the others are apache-avro features not built)"),
                )
            })?
        }
    };
    metadata.retain(|key, _| !key.starts_with("avro."));
    let mut marker = [0u8; MARKER_BYTES];
    read_exact(input, &mut marker, offset, "header's sync marker")?;
    Ok(Header {
        schema,
        codec,
        marker,
        metadata,
    })
}

fn read_exact<R: BufRead>(input: &mut R, buf: &mut [u8], offset: &mut u64, what: &str) -> Result<(), ContainerError> {
    let at = *offset;
    match input.read_exact(buf) {
        Ok(()) => {
            *offset += buf.len() as u64;
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(syntax(
            at,
            format!("the file ends inside the {what} ({} bytes expected)", buf.len()),
        )),
        Err(e) => Err(ContainerError::Io(e)),
    }
}

/// A zig-zag varint long; `None` at a clean end of input if `eof_ok`.
fn read_long<R: BufRead>(input: &mut R, offset: &mut u64, eof_ok: bool) -> Result<Option<i64>, ContainerError> {
    let at = *offset;
    let mut value: u64 = 0;
    for i in 0..10 {
        let mut byte = [0u8; 1];
        match input.read_exact(&mut byte) {
            Ok(()) => *offset += 1,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                if i == 0 && eof_ok {
                    return Ok(None);
                }
                return Err(syntax(at, "the file ends inside a block header"));
            }
            Err(e) => return Err(ContainerError::Io(e)),
        }
        value |= u64::from(byte[0] & 0x7f) << (7 * i);
        if byte[0] & 0x80 == 0 {
            return Ok(Some(((value >> 1) as i64) ^ -((value & 1) as i64)));
        }
    }
    Err(syntax(at, "a block header's number is longer than 10 bytes"))
}
