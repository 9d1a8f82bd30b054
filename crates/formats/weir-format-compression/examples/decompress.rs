//! Writes a small JSON-lines file compressed with gzip and with zstd, then reads each
//! back through `weir_format_compression::open`, which tells the compression from the
//! file's first bytes: `cargo run --release -p weir-format-compression --example decompress`.

use std::io::{BufRead, Write};

use weir_format_compression::{open, Compression, Encoder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("weir-decompress-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    for compression in [Compression::Gzip, Compression::Zstd] {
        let path = dir.join(format!("events.json.{}", compression.extension()));
        let mut encoder = Encoder::new(std::fs::File::create(&path)?, compression)?;
        for i in 0..1000 {
            writeln!(encoder, "{{\"id\":{i},\"name\":\"event {i}\"}}")?;
        }
        encoder.finish()?.sync_all()?;

        let (found, reader) = open(&path)?;
        let mut lines = 0;
        let mut last = String::new();
        for line in reader.lines() {
            last = line?;
            lines += 1;
        }
        println!(
            "{}: {} bytes, {found:?} (inner format {:?}), {lines} lines, last {last}",
            path.display(),
            std::fs::metadata(&path)?.len(),
            Compression::inner_extension(&path).unwrap_or_default()
        );
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
