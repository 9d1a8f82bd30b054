//! Avro object container files as a split source, driven by hand (the connector
//! API's harness): generated multi-block files cut at many split sizes (smaller
//! than a block too), checkpoints mid-block restored at other parallelisms, the end
//! of input, broken files and bad records.
//!
//! `WEIR_AVRO_SOURCE_SEED=<n>` picks the seed (default 1).
#![allow(clippy::unwrap_used, missing_docs)]

use apache_avro::{Codec, Schema, Writer};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use weir_connector_api::bad_record::{BadRecordPolicy, MemoryDeadLetterQueue};
use weir_connector_api::split::testing::{drive, Harness};
use weir_connector_filesystem::AvroSource;

const SCHEMA: &str = r#"{"type": "record", "name": "Bid", "fields": [
    {"name": "id", "type": "long"},
    {"name": "bidder", "type": "string"},
    {"name": "small", "type": "long"}
]}"#;

/// A record of the files (and what the source reads).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct Bid {
    id: i64,
    bidder: String,
    small: i64,
}

fn seed() -> u64 {
    let seed = std::env::var("WEIR_AVRO_SOURCE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    println!("seed {seed} (WEIR_AVRO_SOURCE_SEED)");
    seed
}

/// Writes `bids` as a container file, a block ending after each record with
/// probability 1/`block_every` (and at the end).
fn write_file(path: &Path, bids: &[Bid], codec: Codec, block_every: u32, rng: &mut fastrand::Rng) {
    let schema = Schema::parse_str(SCHEMA).unwrap();
    let mut writer = Writer::builder()
        .schema(&schema)
        .writer(Vec::new())
        .codec(codec)
        .block_size(1 << 30)
        .build()
        .unwrap();
    for bid in bids {
        writer.append_ser(bid).unwrap();
        if rng.u32(0..block_every) == 0 {
            writer.flush().unwrap();
        }
    }
    std::fs::write(path, writer.into_inner().unwrap()).unwrap();
}

fn bid(file: usize, n: usize, rng: &mut fastrand::Rng) -> Bid {
    Bid {
        id: (file * 100_000 + n) as i64,
        bidder: "b".repeat(rng.usize(0..40)),
        small: rng.i64(0..256),
    }
}

fn codec(rng: &mut fastrand::Rng) -> Codec {
    if rng.bool() {
        Codec::Null
    } else {
        Codec::Deflate(Default::default())
    }
}

/// Writes 1–4 files (some in a subdirectory) of random sizes and blocks; returns
/// every record, sorted.
fn write_files(dir: &Path, rng: &mut fastrand::Rng) -> Vec<Bid> {
    let mut all = Vec::new();
    for file in 0..rng.usize(1..5) {
        let bids: Vec<Bid> = (0..rng.usize(0..600)).map(|n| bid(file, n, rng)).collect();
        let sub = if file % 2 == 1 { "sub/" } else { "" };
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        let codec = codec(rng);
        let block_every = rng.u32(1..80);
        write_file(
            &dir.join(format!("{sub}bids-{file}.avro")),
            &bids,
            codec,
            block_every,
            rng,
        );
        all.extend(bids);
    }
    all.sort();
    all
}

fn sorted(mut records: Vec<Bid>) -> Vec<Bid> {
    records.sort();
    records
}

/// Equal as multisets, reported as counts of lost and repeated ids.
fn assert_once(got: Vec<Bid>, expected: &[Bid], context: &str) {
    if sorted(got.clone()) == expected {
        return;
    }
    let mut counts: BTreeMap<i64, i64> = expected.iter().map(|r| (r.id, -1)).collect();
    for record in &got {
        *counts.entry(record.id).or_insert(0) += 1;
    }
    let lost: Vec<i64> = counts.iter().filter(|(_, c)| **c < 0).map(|(id, _)| *id).collect();
    let repeated: Vec<i64> = counts.iter().filter(|(_, c)| **c > 0).map(|(id, _)| *id).collect();
    panic!(
        "{context}: {} records for {}; lost {} (first {:?}), repeated {} (first {:?})",
        got.len(),
        expected.len(),
        lost.len(),
        lost.iter().take(5).collect::<Vec<_>>(),
        repeated.len(),
        repeated.iter().take(5).collect::<Vec<_>>()
    );
}

fn file_size(dir: &Path) -> u64 {
    walk(dir)
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .max()
        .unwrap_or(1)
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.path().is_dir() {
            files.extend(walk(&entry.path()));
        } else {
            files.push(entry.path());
        }
    }
    files
}

#[test]
fn splits_of_every_size_read_every_record_once() {
    let seed = seed();
    let mut rng = fastrand::Rng::with_seed(seed);
    for round in 0..12 {
        let dir = tempfile::tempdir().unwrap();
        let expected = write_files(dir.path(), &mut rng);
        let largest = file_size(dir.path());
        // Splits of 1 byte, smaller than a sync marker, smaller than a block, about
        // a block, and larger than the file.
        for split_size in [
            1,
            7,
            rng.u64(16..200),
            rng.u64(200..2000),
            rng.u64(1..=largest),
            1 << 30,
        ] {
            let parallelism = rng.usize(1..4);
            let source = AvroSource::<Bid>::builder([dir.path()])
                .split_size(split_size)
                .batch_records(rng.usize(1..100))
                .build()
                .unwrap();
            let got = drive(source, parallelism).unwrap();
            assert_once(
                got,
                &expected,
                &format!("seed {seed} round {round}: split size {split_size}, parallelism {parallelism}"),
            );
        }
    }
}

#[test]
fn checkpoints_mid_block_restore_at_other_parallelisms() {
    let seed = seed();
    let mut rng = fastrand::Rng::with_seed(seed);
    for round in 0..30 {
        let dir = tempfile::tempdir().unwrap();
        let expected = write_files(dir.path(), &mut rng);
        let split_size = rng.u64(1..4000);
        let batch = rng.usize(1..30);
        let source = || {
            Arc::new(
                AvroSource::<Bid>::builder([dir.path()])
                    .split_size(split_size)
                    .batch_records(batch)
                    .build()
                    .unwrap()
                    .into_source(),
            )
        };
        // Up to three generations, each checkpointed at a random moment and
        // continued past it (what it read after the checkpoint is lost, as in a
        // failure), then restored at another parallelism.
        let mut got = Vec::new();
        let mut state = None;
        let mut parallelisms = Vec::new();
        for generation in 0..rng.usize(1..4) {
            let p = rng.usize(1..5);
            parallelisms.push(p);
            let mut run = Harness::start(source(), p, generation as u32, state.take()).unwrap();
            for _ in 0..rng.usize(0..40) {
                run.poll(rng.usize(0..p)).unwrap();
            }
            state = Some(run.checkpoint(generation as u64 + 1).unwrap());
            got.extend(run.take_records());
            for _ in 0..rng.usize(0..20) {
                run.poll(rng.usize(0..p)).unwrap();
            }
        }
        let p = rng.usize(1..5);
        parallelisms.push(p);
        let mut run = Harness::start(source(), p, 9, state).unwrap();
        run.run_to_end(1_000_000).unwrap();
        got.extend(run.take_records());
        assert_once(
            got,
            &expected,
            &format!(
                "seed {seed} round {round}: split size {split_size}, batch {batch}, parallelisms {parallelisms:?}"
            ),
        );
    }
}

#[test]
fn the_end_of_input_and_a_checkpoint_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = fastrand::Rng::with_seed(3);
    let bids: Vec<Bid> = (0..200).map(|n| bid(0, n, &mut rng)).collect();
    write_file(&dir.path().join("a.avro"), &bids, Codec::Null, 20, &mut rng);
    // A file with a header and no block.
    write_file(&dir.path().join("empty.avro"), &[], Codec::Null, 1, &mut rng);
    // Hidden and underscore names are skipped.
    std::fs::write(dir.path().join(".a.avro.inprogress"), b"not avro").unwrap();
    std::fs::write(dir.path().join("_SUCCESS"), b"").unwrap();
    let source = || {
        Arc::new(
            AvroSource::<Bid>::builder([dir.path()])
                .split_size(100)
                .build()
                .unwrap()
                .into_source(),
        )
    };
    let mut run = Harness::start(source(), 2, 0, None).unwrap();
    run.run_to_end(100_000).unwrap();
    assert!(run.all_finished());
    let got = run.take_records();
    let expected: Vec<Bid> = sorted(bids);
    assert_once(got, &expected, "whole");
    // Polling on after the end emits nothing; a checkpoint taken now restores to
    // nothing more.
    for index in 0..2 {
        run.poll(index).unwrap();
    }
    assert!(run.take_records().is_empty());
    let state = run.checkpoint(1).unwrap();
    drop(run);
    let mut run = Harness::start(source(), 3, 1, Some(state)).unwrap();
    run.run_to_end(100_000).unwrap();
    assert!(run.all_finished());
    assert!(run.take_records().is_empty());
}

/// Runs `source` to its end or its first error.
fn run_error(source: AvroSource<Bid>) -> String {
    match drive(source, 1) {
        Ok(records) => panic!("no error, {} records", records.len()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn broken_files_fail_naming_the_path_and_the_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = fastrand::Rng::with_seed(4);
    let bids: Vec<Bid> = (0..300).map(|n| bid(0, n, &mut rng)).collect();
    let good = dir.path().join("good.avro");
    write_file(&good, &bids, Codec::Deflate(Default::default()), 30, &mut rng);
    let bytes = std::fs::read(&good).unwrap();
    // The same blocks as splits, to find where each starts.
    let marker = &bytes[bytes.len() - 16..];
    let ends: Vec<usize> = (16..=bytes.len())
        .filter(|&end| &bytes[end - 16..end] == marker)
        .collect();
    assert!(ends.len() >= 4, "a file of several blocks: {} markers", ends.len());

    for (what, broken, at, message) in [
        (
            "truncated inside a block",
            bytes[..(ends[2] + ends[3]) / 2].to_vec(),
            ends[2]..ends[3],
            "the file ends inside",
        ),
        (
            "a corrupt sync marker",
            {
                let mut b = bytes.clone();
                b[ends[2] - 1] ^= 0xff;
                b
            },
            ends[2] - 16..ends[2] - 15,
            "sync marker",
        ),
        (
            "not Avro",
            b"Obj\x02 nothing".to_vec(),
            0..1,
            "not an Avro object container file",
        ),
        ("empty", Vec::new(), 0..1, "the file ends inside the header"),
    ] {
        let path = dir.path().join(format!("{}.avro", what.replace(' ', "-")));
        std::fs::write(&path, &broken).unwrap();
        for split_size in [1 << 30, 64] {
            // Whatever the bad-record policy.
            let source = AvroSource::<Bid>::builder([&path])
                .split_size(split_size)
                .bad_records(BadRecordPolicy::Skip)
                .build()
                .unwrap();
            let error = run_error(source);
            let context = format!("{what}, split size {split_size}: {error}");
            assert!(error.contains(&path.display().to_string()), "{context}");
            let offset: usize = error
                .split("byte offset ")
                .nth(1)
                .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no offset: {context}"));
            assert!(at.contains(&offset), "offset {offset}, expected in {at:?}: {context}");
            assert!(error.contains(message), "{context}");
        }
        std::fs::remove_file(&path).unwrap();
    }

    // A file that shrank after it was listed.
    let source = AvroSource::<Bid>::builder([&good]).build().unwrap();
    let mut run = Harness::start(Arc::new(source.into_source()), 1, 0, None).unwrap();
    std::fs::write(&good, &bytes[..bytes.len() / 2]).unwrap();
    let error = run.run_to_end(1000).unwrap_err().to_string();
    assert!(
        error.contains("fewer than when it was listed") && error.contains(&good.display().to_string()),
        "{error}"
    );
}

#[test]
fn bad_records_fail_or_are_skipped_with_their_block_or_dead_lettered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bids.avro");
    let mut rng = fastrand::Rng::with_seed(5);
    let mut bids: Vec<Bid> = (0..500).map(|n| bid(0, n, &mut rng)).collect();
    // Bad records: their string becomes invalid UTF-8 below.
    for n in [17, 18, 250, 499] {
        bids[n].bidder = "BADRECORD".to_string();
    }
    // Blocks of 25 records.
    let schema = Schema::parse_str(SCHEMA).unwrap();
    let mut writer = Writer::builder()
        .schema(&schema)
        .writer(Vec::new())
        .block_size(1 << 30)
        .build()
        .unwrap();
    for chunk in bids.chunks(25) {
        for bid in chunk {
            writer.append_ser(bid).unwrap();
        }
        writer.flush().unwrap();
    }
    let mut bytes = writer.into_inner().unwrap();
    let mut patched = 0;
    for at in 0..bytes.len() - 9 {
        if &bytes[at..at + 9] == b"BADRECORD" {
            bytes[at] = 0xff;
            patched += 1;
        }
    }
    assert_eq!(patched, 4);
    std::fs::write(&path, bytes).unwrap();
    // What survives: a block's records before its first bad one.
    let expected: Vec<Bid> = bids
        .chunks(25)
        .flat_map(|chunk| chunk.iter().take_while(|b| b.bidder != "BADRECORD").cloned())
        .collect();
    // Block 0 loses records 17–24, block 10 all 25, block 19 its last.
    assert_eq!(expected.len(), 500 - 8 - 25 - 1);

    let error = run_error(AvroSource::<Bid>::builder([&path]).build().unwrap());
    assert!(
        error.contains(&path.display().to_string())
            && error.contains(", record 17")
            && error.contains("block at byte offset"),
        "{error}"
    );
    assert!(error.contains("7 later records"), "{error}");

    for split_size in [1 << 30, 100] {
        let source = AvroSource::<Bid>::builder([&path])
            .split_size(split_size)
            .bad_records(BadRecordPolicy::Skip)
            .build()
            .unwrap();
        let handler = source.bad_records();
        let got = drive(source, 2).unwrap();
        assert_once(got, &sorted(expected.clone()), "skip");
        assert_eq!(handler.skipped(), 3);
    }

    let queue = Arc::new(MemoryDeadLetterQueue::default());
    let source = AvroSource::<Bid>::builder([&path])
        .bad_records(BadRecordPolicy::DeadLetter(queue.clone()))
        .build()
        .unwrap();
    let got = drive(source, 1).unwrap();
    assert_eq!(got.len(), expected.len());
    let letters = queue.take();
    let positions: Vec<&str> = letters.iter().map(|l| l.position.as_str()).collect();
    assert_eq!(positions.len(), 3, "{positions:?}");
    assert!(positions[0].ends_with(", record 17"), "{positions:?}");
    assert!(positions[1].ends_with(", record 0"), "{positions:?}");
    assert!(positions[2].ends_with(", record 24"), "{positions:?}");
    assert!(letters.iter().all(|l| l.split == path.display().to_string()));
}

/// `connector = 'filesystem', format = 'avro'` by string options: a job from Avro
/// files to JSON-lines files.
mod registry {
    use super::*;
    use weir::prelude::*;
    use weir_connector_api::options::Options;
    use weir_connector_api::registry::{Registry, Typed};
    use weir_connector_filesystem::factory::{register, register_with_avro};
    use weir_format_json::JsonFormatFactory;

    fn options(path: &Path) -> Options {
        Options::new("table 'bids'")
            .with("connector", "filesystem")
            .with("path", path.display().to_string())
            .with("format", "avro")
    }

    #[test]
    fn avro_files_to_json_files_by_options() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        std::fs::create_dir_all(&input).unwrap();
        let mut rng = fastrand::Rng::with_seed(6);
        let expected = write_files(&input, &mut rng);
        let mut registry = Registry::<Typed<Bid>>::new();
        registry.register_format(Arc::new(JsonFormatFactory::<Bid>::default()));
        register_with_avro(&mut registry, None);
        let source = registry
            .source(
                &(),
                &options(&input)
                    .with("source.split-size", "1kb")
                    .with("source.max-block-size", "1mb")
                    .with("bad-records", "skip"),
            )
            .unwrap();
        let out = dir.path().join("out");
        let sink = registry
            .sink(
                &(),
                &Options::new("table 'out'")
                    .with("connector", "filesystem")
                    .with("path", out.display().to_string())
                    .with("format", "json"),
            )
            .unwrap();
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(2)
            .enable_checkpointing(std::time::Duration::from_millis(10));
        env.add_source(ArcSource(source)).add_sink(ArcSink(sink));
        env.execute("avro to json").unwrap();
        let mut got = Vec::new();
        for file in walk(&out) {
            let name = file.file_name().unwrap().to_string_lossy().to_string();
            if name.starts_with('.') {
                // The sink's records of committed parts; nothing else is left.
                assert!(name.ends_with(".committed"), "leftover {}", file.display());
                continue;
            }
            for line in std::fs::read_to_string(&file).unwrap().lines() {
                got.push(serde_json::from_str::<Bid>(line).unwrap());
            }
        }
        assert_once(got, &expected, "registry job");

        // Options of the line formats, and the datum format's schema, are not
        // options of Avro files: reported as unknown.
        for key in ["avro.schema", "source.max-line-size"] {
            let error = registry
                .source(&(), &options(&input).with(key, "1"))
                .err()
                .unwrap()
                .to_string();
            assert!(error.contains(key), "{error}");
        }
        let error = registry
            .source(&(), &options(&input).with("source.split-size", "many"))
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("source.split-size"), "{error}");
        let missing = dir.path().join("nope");
        let error = registry.source(&(), &options(&missing)).err().unwrap().to_string();
        assert!(error.contains(&missing.display().to_string()), "{error}");

        // Registered without Avro: the error says how.
        let mut plain = Registry::<Typed<Bid>>::new();
        register(&mut plain, None);
        let error = plain.source(&(), &options(&input)).err().unwrap().to_string();
        assert!(error.contains("register_with_avro"), "{error}");
    }

    /// The registry hands out shared sources and sinks; the DataStream API takes
    /// them by value.
    struct ArcSource(Arc<dyn weir::connector_api::source::Source<Bid>>);

    impl weir::connector_api::source::Source<Bid> for ArcSource {
        fn boundedness(&self) -> weir::connector_api::source::Boundedness {
            self.0.boundedness()
        }
        fn state_distribution(&self) -> weir::connector_api::source::SplitStateDistribution {
            self.0.state_distribution()
        }
        fn create_reader(
            &self,
            context: &weir::connector_api::source::ReaderContext,
        ) -> Result<Box<dyn weir::connector_api::source::SourceReader<Bid>>, BoxError> {
            self.0.create_reader(context)
        }
    }

    struct ArcSink(Arc<dyn weir::connector_api::sink::Sink<Bid>>);

    impl weir::connector_api::sink::Sink<Bid> for ArcSink {
        fn create_writer(
            &self,
            context: &weir::connector_api::sink::SinkContext,
        ) -> Result<Box<dyn weir::connector_api::sink::SinkWriter<Bid>>, BoxError> {
            self.0.create_writer(context)
        }
    }
}
