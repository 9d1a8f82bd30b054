//! Avro decoding and encoding throughput on one thread:
//! `cargo bench -p weir-format-avro --bench avro [-- SCENARIO... [quick]]`.
//!
//! Input: 1 000 000 Nexmark events (Flink's default configuration) as Avro records in
//! the shape of Flink's Nexmark table (`nexmark_avro.rs`: `event_type` and the
//! nullable rows `person`, `auction`, `bid`), held in memory. Scenarios:
//!
//! * `raw`: `AvroDeserializer<NexmarkRow>`, one call per message (raw datums, as from
//!   Kafka with the schema given);
//! * `confluent`: `ConfluentDeserializer<NexmarkRow>` (5-byte header + datum);
//! * `value`: apache-avro's generic path (datum → `Value` → `from_value`), for
//!   reference;
//! * `file`, `file_deflate`: `AvroFileReader` over a container file (blocks of 64 KiB,
//!   no codec / deflate);
//! * `encode`: `AvroSerializer` (raw datums).
//!
//! Each runs 3 times and prints records and bytes (of the datums, or of the file) per
//! CPU-second. `quick` uses 200 000 events.

use std::hint::black_box;
use std::time::Instant;

use apache_avro::GenericSingleObjectReader;
use cpu_time::ProcessTime;
use weir_format_avro::{
    parse_schema, AvroDeserializer, AvroFileReader, AvroOptions, AvroSerializer, ConfluentDeserializer,
    ConfluentOptions, Deserializer, Serializer,
};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod nexmark_avro;
use nexmark_avro::{nexmark_rows, NexmarkRow, NEXMARK_SCHEMA};

type BenchResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

struct Bench {
    chosen: Vec<String>,
}

impl Bench {
    fn run(&self, what: &str, bytes: usize, run: impl Fn() -> BenchResult<u64>) -> BenchResult {
        if !self.chosen.is_empty() && !self.chosen.iter().any(|a| a == what) {
            return Ok(());
        }
        for _ in 0..3 {
            let wall = Instant::now();
            let cpu = ProcessTime::now();
            let records = run()?;
            let wall = wall.elapsed().as_secs_f64();
            let cpu = cpu.elapsed().as_secs_f64();
            println!(
                "{what:<12} {records:>8} records  wall {wall:>6.3} s  cpu {cpu:>6.3} s  {:>5.2} M records/CPU-s  {:>6.0} MB/CPU-s",
                records as f64 / cpu / 1e6,
                bytes as f64 / cpu / 1e6
            );
        }
        Ok(())
    }
}

fn container(rows: &[NexmarkRow], codec: apache_avro::Codec) -> BenchResult<Vec<u8>> {
    let schema = parse_schema(NEXMARK_SCHEMA)?;
    let mut writer = apache_avro::Writer::builder()
        .schema(&schema)
        .writer(Vec::new())
        .codec(codec)
        .block_size(64 << 10)
        .build()?;
    for row in rows {
        writer.append_ser(row)?;
    }
    Ok(writer.into_inner()?)
}

fn main() -> BenchResult {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let quick = args.iter().any(|a| a == "quick");
    let chosen = args.into_iter().filter(|a| a != "quick").collect();
    let events = if quick { 200_000 } else { 1_000_000 };
    let rows = nexmark_rows(events);
    let options = AvroOptions::new(NEXMARK_SCHEMA)?;
    let mut serializer = AvroSerializer::<NexmarkRow>::new(&options)?;
    let mut messages = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut bytes = Vec::new();
        serializer.serialize(row, &mut bytes)?;
        messages.push(bytes);
    }
    let datum_bytes: usize = messages.iter().map(Vec::len).sum();
    let confluent: Vec<Vec<u8>> = messages.iter().map(|m| [&[0u8, 0, 0, 0, 1][..], m].concat()).collect();
    let file = container(&rows, apache_avro::Codec::Null)?;
    let deflated = container(&rows, apache_avro::Codec::Deflate(Default::default()))?;
    println!(
        "{events} Nexmark events as Avro datums: {datum_bytes} bytes, {:.1} per event; container file {} bytes, deflate {} bytes",
        datum_bytes as f64 / events as f64,
        file.len(),
        deflated.len()
    );
    let bench = Bench { chosen };

    bench.run("raw", datum_bytes, || {
        let mut avro = AvroDeserializer::<NexmarkRow>::new(&options)?;
        let mut out = Vec::with_capacity(1024);
        let mut n = 0;
        for message in &messages {
            avro.deserialize(message, &mut out)?;
            if out.len() == 1024 {
                n += out.len() as u64;
                black_box(&out);
                out.clear();
            }
        }
        Ok(n + out.len() as u64)
    })?;
    bench.run("confluent", datum_bytes + 5 * confluent.len(), || {
        let mut avro = ConfluentDeserializer::<NexmarkRow>::new(&ConfluentOptions::new([(1, NEXMARK_SCHEMA)])?)?;
        let mut out = Vec::with_capacity(1024);
        let mut n = 0;
        for message in &confluent {
            avro.deserialize(message, &mut out)?;
            if out.len() == 1024 {
                n += out.len() as u64;
                black_box(&out);
                out.clear();
            }
        }
        Ok(n + out.len() as u64)
    })?;
    bench.run("value", datum_bytes, || {
        let reader = GenericSingleObjectReader::builder()
            .schema(options.schema.clone())
            .header(Vec::new())
            .build()?;
        let mut n = 0;
        for message in &messages {
            let value = reader.read_value(&mut &message[..])?;
            black_box(apache_avro::from_value::<NexmarkRow>(&value)?);
            n += 1;
        }
        Ok(n)
    })?;
    bench.run("file", file.len(), || {
        let mut n = 0;
        for row in AvroFileReader::<_, NexmarkRow>::new(&file[..])? {
            black_box(row?);
            n += 1;
        }
        Ok(n)
    })?;
    bench.run("file_deflate", deflated.len(), || {
        let mut n = 0;
        for row in AvroFileReader::<_, NexmarkRow>::new(&deflated[..])? {
            black_box(row?);
            n += 1;
        }
        Ok(n)
    })?;
    bench.run("encode", datum_bytes, || {
        let mut avro = AvroSerializer::<NexmarkRow>::new(&options)?;
        let mut out = Vec::with_capacity(1 << 20);
        let mut n = 0;
        for row in &rows {
            avro.serialize(row, &mut out)?;
            n += 1;
            if out.len() > (1 << 20) - 1024 {
                black_box(&out);
                out.clear();
            }
        }
        Ok(n)
    })?;
    Ok(())
}
