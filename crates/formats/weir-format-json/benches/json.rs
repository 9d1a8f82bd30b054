//! JSON decoding throughput on one thread:
//! `cargo bench -p weir-format-json --bench json [-- SCENARIO... [quick]]`.
//!
//! Input: Nexmark events (Flink's default configuration) written as JSON lines by
//! `weir_nexmark::write_json_lines`, the file `weir nexmark generate` writes, held in
//! memory. Scenarios, each over all lines:
//!
//! * `serde_json`, `sonic_rs`, `simd_json`: that parser alone, each line into a
//!   `weir_nexmark::Event` through serde (`weir_nexmark::JsonEvent`);
//! * `simd_tape`: simd-json into `serde::de::IgnoredAny` (parsing, no values built);
//! * `weir`: `JsonDeserializer<NexmarkEvent>` (the format as a source uses it: one
//!   call per line, bad lines explained);
//! * `tape`: `JsonTapeDeserializer` with `weir_nexmark::event_from_tape` (every
//!   field), one call per line: what `weir nexmark run --input` uses;
//! * `tape_q0`: the same with only the string fields q0 reads (`bid.extra`);
//! * `weir_lines`: `JsonDeserializer::deserialize_lines` on 1 MiB chunks (groups of
//!   lines parsed in one go);
//! * `arrow`: `JsonArrowDecoder` into record batches of 8192 rows, with the schema
//!   inferred from the first 1000 lines, fed 1 MiB chunks;
//! * `arrow_lines`: `JsonArrowDecoder::deserialize_lines_with` on 1 MiB chunks of
//!   whole lines (bad lines isolated; batches end with each chunk);
//! * `infer`: schema inference over all lines.
//!
//! Lines are split with `weir_format_json::lines` (memchr). Each scenario runs 3 times
//! and prints records and bytes per CPU-second (the figure that matters on a shared
//! machine) besides wall time. `quick` uses 200 000 events instead of 1 000 000.

use std::hint::black_box;
use std::time::Instant;

use cpu_time::ProcessTime;
use weir_format_json::schema::{infer_from_lines, InferOptions};
use weir_format_json::{lines, Deserializer, JsonArrowDecoder, JsonDeserializer, JsonOptions, JsonTapeDeserializer};
use weir_nexmark::{write_json_lines, EventGenerator, GeneratorConfig, NexmarkConfig};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use weir_nexmark::{event_from_tape, EventFields, JsonEvent as NexmarkEvent};

type BenchResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

struct Bench {
    chosen: Vec<String>,
    bytes: usize,
}

impl Bench {
    fn run(&self, what: &str, run: impl Fn() -> BenchResult<u64>) -> BenchResult {
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
                "{what:<11} {records:>8} records  wall {wall:>6.3} s  cpu {cpu:>6.3} s  {:>5.2} M records/CPU-s  {:>6.0} MB/CPU-s",
                records as f64 / cpu / 1e6,
                self.bytes as f64 / cpu / 1e6
            );
        }
        Ok(())
    }
}

fn main() -> BenchResult {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let quick = args.iter().any(|a| a == "quick");
    let chosen = args.into_iter().filter(|a| a != "quick").collect();
    let events = if quick { 200_000 } else { 1_000_000 };
    let config = GeneratorConfig::new(&NexmarkConfig {
        num_events: events,
        ..NexmarkConfig::default()
    })?;
    let mut data = Vec::new();
    write_json_lines(EventGenerator::new(config), &mut data)?;
    println!(
        "{events} Nexmark events as JSON lines: {} bytes, {:.1} per event",
        data.len(),
        data.len() as f64 / events as f64
    );
    let bench = Bench {
        chosen,
        bytes: data.len(),
    };

    bench.run("serde_json", || {
        let mut n = 0;
        for (_, line) in lines(&data) {
            black_box(serde_json::from_slice::<NexmarkEvent>(line)?);
            n += 1;
        }
        Ok(n)
    })?;
    bench.run("sonic_rs", || {
        let mut n = 0;
        for (_, line) in lines(&data) {
            black_box(sonic_rs::from_slice::<NexmarkEvent>(line)?);
            n += 1;
        }
        Ok(n)
    })?;
    bench.run("simd_json", || {
        let mut n = 0;
        let mut scratch = Vec::new();
        let mut buffers = simd_json::Buffers::default();
        for (_, line) in lines(&data) {
            scratch.clear();
            scratch.extend_from_slice(line);
            black_box(simd_json::serde::from_slice_with_buffers::<NexmarkEvent>(
                &mut scratch,
                &mut buffers,
            )?);
            n += 1;
        }
        Ok(n)
    })?;
    bench.run("simd_tape", || {
        let mut n = 0;
        let mut scratch = Vec::new();
        let mut buffers = simd_json::Buffers::default();
        for (_, line) in lines(&data) {
            scratch.clear();
            scratch.extend_from_slice(line);
            black_box(simd_json::serde::from_slice_with_buffers::<serde::de::IgnoredAny>(
                &mut scratch,
                &mut buffers,
            )?);
            n += 1;
        }
        Ok(n)
    })?;
    bench.run("weir", || {
        let mut json = JsonDeserializer::<NexmarkEvent>::default();
        let mut out = Vec::with_capacity(1024);
        let mut n = 0;
        for (_, line) in lines(&data) {
            json.deserialize(line, &mut out)?;
            if out.len() == 1024 {
                n += out.len() as u64;
                black_box(&out);
                out.clear();
            }
        }
        Ok(n + out.len() as u64)
    })?;
    for (what, fields) in [("tape", EventFields::ALL), ("tape_q0", EventFields::BID_EXTRA)] {
        bench.run(what, || {
            let mut json = JsonTapeDeserializer::new(JsonOptions::default(), |v| {
                event_from_tape(v, &fields).map(NexmarkEvent)
            });
            let mut out = Vec::with_capacity(1024);
            let mut n = 0;
            for (_, line) in lines(&data) {
                json.deserialize(line, &mut out)?;
                if out.len() == 1024 {
                    n += out.len() as u64;
                    black_box(&out);
                    out.clear();
                }
            }
            Ok(n + out.len() as u64)
        })?;
    }
    bench.run("weir_lines", || {
        let mut json = JsonDeserializer::<NexmarkEvent>::default();
        let mut out = Vec::with_capacity(1 << 14);
        let mut n = 0;
        for chunk in LineChunks(&data) {
            json.deserialize_lines(chunk, &mut out)?;
            n += out.len() as u64;
            black_box(&out);
            out.clear();
        }
        Ok(n)
    })?;
    let schema = infer_from_lines(&data, 1000, InferOptions::default())?;
    bench.run("arrow", || {
        let mut decoder = JsonArrowDecoder::new(&schema, &JsonOptions::default())?;
        let mut batches = Vec::new();
        let mut n = 0;
        for chunk in data.chunks(1 << 20) {
            decoder.decode(chunk, &mut batches)?;
            n += batches.iter().map(|b| b.num_rows() as u64).sum::<u64>();
            black_box(&batches);
            batches.clear();
        }
        Ok(n + decoder.flush()?.map_or(0, |b| b.num_rows() as u64))
    })?;
    bench.run("arrow_lines", || {
        let mut decoder = JsonArrowDecoder::new(&schema, &JsonOptions::default())?;
        let mut batches = Vec::new();
        let mut n = 0;
        for chunk in LineChunks(&data) {
            decoder.deserialize_lines_with(chunk, &mut batches, |_, _, e| Err(e))?;
            n += batches.iter().map(|b| b.num_rows() as u64).sum::<u64>();
            black_box(&batches);
            batches.clear();
        }
        Ok(n)
    })?;
    bench.run("infer", || {
        let schema = infer_from_lines(&data, usize::MAX, InferOptions::default())?;
        black_box(&schema);
        Ok(events)
    })?;
    Ok(())
}

/// Chunks of about 1 MiB ending at a line end.
struct LineChunks<'a>(&'a [u8]);

impl<'a> Iterator for LineChunks<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.0.is_empty() {
            return None;
        }
        let at = (1 << 20).min(self.0.len());
        let end = memchr::memchr(b'\n', &self.0[at..]).map_or(self.0.len(), |i| at + i + 1);
        let (chunk, rest) = self.0.split_at(end);
        self.0 = rest;
        Some(chunk)
    }
}
