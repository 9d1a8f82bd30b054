//! Compressed input and output for Weir's file formats: gzip (flate2, its pure-Rust
//! backend) and zstd.
//!
//! [`Compression::detect`] tells from the first bytes (gzip `1f 8b`, zstd
//! `28 b5 2f fd`), [`Compression::from_path`] from the extension (`.gz`, `.gzip`,
//! `.zst`, `.zstd`); [`open`] opens a file and returns a reader of its decompressed
//! bytes, trusting the magic bytes over the name; [`decoder`] wraps any `BufRead`;
//! [`Encoder`] compresses. A compressed file cannot be read from the middle, so a file
//! source reads each compressed file as one split.
//!
//! ```
//! use std::io::{Read, Write};
//! use weir_format_compression::{decoder, Compression, Encoder};
//!
//! let mut encoder = Encoder::new(Vec::new(), Compression::Zstd)?;
//! encoder.write_all(b"{\"a\":1}\n")?;
//! let compressed = encoder.finish()?;
//! assert_eq!(Compression::detect(&compressed), Compression::Zstd);
//!
//! let mut text = String::new();
//! decoder(&compressed[..], Compression::Zstd)?.read_to_string(&mut text)?;
//! assert_eq!(text, "{\"a\":1}\n");
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;

/// Bytes read per `read` call from a file ([`open`]).
const BUFFER: usize = 256 * 1024;

/// A compression of a file or stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compression {
    /// Not compressed.
    #[default]
    None,
    /// gzip (RFC 1952), also several members one after the other.
    Gzip,
    /// Zstandard, also several frames one after the other.
    Zstd,
}

impl Compression {
    /// The compression whose magic bytes `head` starts with ([`None`](Self::None) if
    /// neither; give at least 4 bytes).
    pub fn detect(head: &[u8]) -> Compression {
        match head {
            [0x1f, 0x8b, ..] => Compression::Gzip,
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
            _ => Compression::None,
        }
    }

    /// The compression a file name's last extension stands for (`.gz`/`.gzip`,
    /// `.zst`/`.zstd`, any case).
    pub fn from_path(path: &Path) -> Compression {
        let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("gz" | "gzip") => Compression::Gzip,
            Some("zst" | "zstd") => Compression::Zstd,
            _ => Compression::None,
        }
    }

    /// The compression named in an option (`none`, `gzip`/`gz`, `zstd`/`zst`, any case).
    pub fn from_name(name: &str) -> Option<Compression> {
        match name.to_ascii_lowercase().as_str() {
            "none" | "" => Some(Compression::None),
            "gzip" | "gz" => Some(Compression::Gzip),
            "zstd" | "zst" => Some(Compression::Zstd),
            _ => None,
        }
    }

    /// The usual file extension, without the dot (`""` for none).
    pub fn extension(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => "gz",
            Compression::Zstd => "zst",
        }
    }

    /// The extension of the data inside a possibly compressed file, lower case:
    /// `json` for `a.json.gz`, `a.JSON` or `a.json.zst`; `None` without one.
    pub fn inner_extension(path: &Path) -> Option<String> {
        let name = path.file_name()?.to_str()?;
        // A leading dot starts a hidden name, not an extension.
        let name = name.strip_prefix('.').unwrap_or(name);
        let mut parts: Vec<&str> = name.split('.').skip(1).collect();
        if Compression::from_path(path) != Compression::None {
            parts.pop();
        }
        parts.pop().filter(|e| !e.is_empty()).map(str::to_ascii_lowercase)
    }
}

/// A reader of the decompressed bytes of `reader`.
pub fn decoder<'a, R: BufRead + Send + 'a>(
    reader: R,
    compression: Compression,
) -> io::Result<Box<dyn Read + Send + 'a>> {
    Ok(match compression {
        Compression::None => Box::new(reader),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(reader)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(reader)?),
    })
}

/// Opens a file for reading its decompressed bytes, buffered.
///
/// The compression is told by the file's first bytes; a file whose name says
/// compressed (`.gz`, `.zst`) but whose bytes do not is an error of kind
/// `InvalidData` naming the file (an empty file is empty, whatever its name).
pub fn open(path: &Path) -> io::Result<(Compression, Box<dyn BufRead + Send>)> {
    let mut reader = BufReader::with_capacity(BUFFER, File::open(path)?);
    let head = reader.fill_buf()?;
    let by_bytes = Compression::detect(head);
    let by_name = Compression::from_path(path);
    if by_bytes == Compression::None && by_name != Compression::None && !head.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{}: the name says {by_name:?} but the file does not start like one",
                path.display()
            ),
        ));
    }
    let compression = by_bytes;
    let reader: Box<dyn BufRead + Send> = match compression {
        Compression::None => Box::new(reader),
        other => Box::new(BufReader::with_capacity(BUFFER, decoder(reader, other)?)),
    };
    Ok((compression, reader))
}

/// A writer that compresses what is written to it; [`finish`](Encoder::finish) ends
/// the stream (gzip trailer, zstd frame end) and returns the inner writer.
pub struct Encoder<W: Write> {
    inner: EncoderInner<W>,
}

enum EncoderInner<W: Write> {
    None(W),
    Gzip(flate2::write::GzEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> std::fmt::Debug for Encoder<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.inner {
            EncoderInner::None(_) => Compression::None,
            EncoderInner::Gzip(_) => Compression::Gzip,
            EncoderInner::Zstd(_) => Compression::Zstd,
        };
        f.debug_struct("Encoder").field("compression", &kind).finish()
    }
}

impl<W: Write> Encoder<W> {
    /// An encoder at the default level (gzip 6, zstd 3).
    pub fn new(writer: W, compression: Compression) -> io::Result<Self> {
        Ok(Encoder {
            inner: match compression {
                Compression::None => EncoderInner::None(writer),
                Compression::Gzip => {
                    EncoderInner::Gzip(flate2::write::GzEncoder::new(writer, flate2::Compression::default()))
                }
                Compression::Zstd => EncoderInner::Zstd(zstd::stream::write::Encoder::new(writer, 0)?),
            },
        })
    }

    /// Ends the compressed stream and returns the inner writer.
    pub fn finish(self) -> io::Result<W> {
        match self.inner {
            EncoderInner::None(w) => Ok(w),
            EncoderInner::Gzip(e) => e.finish(),
            EncoderInner::Zstd(e) => e.finish(),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.inner {
            EncoderInner::None(w) => w.write(buf),
            EncoderInner::Gzip(e) => e.write(buf),
            EncoderInner::Zstd(e) => e.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            EncoderInner::None(w) => w.flush(),
            EncoderInner::Gzip(e) => e.flush(),
            EncoderInner::Zstd(e) => e.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let cases = [
            ("a.json.gz", Compression::Gzip, Some("json")),
            ("dir.x/a.CSV.ZST", Compression::Zstd, Some("csv")),
            ("a.json", Compression::None, Some("json")),
            ("a.gz", Compression::Gzip, None),
            ("README", Compression::None, None),
            (".hidden", Compression::None, None),
        ];
        for (name, compression, inner) in cases {
            let path = Path::new(name);
            assert_eq!(Compression::from_path(path), compression, "{name}");
            assert_eq!(Compression::inner_extension(path).as_deref(), inner, "{name}");
        }
        assert_eq!(Compression::from_name("GZIP"), Some(Compression::Gzip));
        assert_eq!(Compression::from_name("lz4"), None);
    }

    #[test]
    fn round_trip_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..100_000u32)
            .flat_map(|i| format!("{{\"i\":{i}}}\n").into_bytes())
            .collect();
        for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let mut encoder = Encoder::new(Vec::new(), compression).unwrap();
            encoder.write_all(&data).unwrap();
            let bytes = encoder.finish().unwrap();
            assert_eq!(Compression::detect(&bytes), compression);
            // Several members/frames one after the other read as one stream.
            let twice = [bytes.clone(), bytes].concat();
            // Named misleadingly: the bytes decide.
            let path = dir.path().join(format!(
                "data.json{}",
                if compression == Compression::None { "" } else { ".zst" }
            ));
            std::fs::write(&path, &twice).unwrap();
            let (found, mut reader) = open(&path).unwrap();
            assert_eq!(found, compression);
            let mut back = Vec::new();
            reader.read_to_end(&mut back).unwrap();
            assert_eq!(back, [data.clone(), data.clone()].concat());
        }
    }

    #[test]
    fn a_name_that_lies_is_an_error_and_garbage_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain.json.gz");
        std::fs::write(&path, b"{\"a\":1}\n").unwrap();
        let err = open(&path).err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("plain.json.gz"), "{err}");
        std::fs::write(&path, b"").unwrap();
        assert!(open(&path).is_ok());

        for compression in [Compression::Gzip, Compression::Zstd] {
            let mut encoder = Encoder::new(Vec::new(), compression).unwrap();
            encoder
                .write_all(b"some text to compress, some text to compress")
                .unwrap();
            let mut bytes = encoder.finish().unwrap();
            let mid = bytes.len() / 2;
            bytes[mid] ^= 0x55;
            bytes.truncate(bytes.len() - 3);
            let mut out = Vec::new();
            let result = decoder(&bytes[..], compression).and_then(|mut r| r.read_to_end(&mut out));
            assert!(result.is_err(), "{compression:?}");
        }
    }
}
