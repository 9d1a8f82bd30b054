//! Parquet row groups as splits (checkpoints and rescaled restores by hand), and
//! a job from Parquet files to Parquet files.
#![allow(clippy::unwrap_used, missing_docs)]

use arrow_array::{Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use std::path::Path;
use std::sync::Arc;
use weir::prelude::*;
use weir_connector_api::split::testing::Harness;
use weir_connector_filesystem::sink::{ParquetFormat, Partition};
use weir_connector_filesystem::{ArrowBatch, FileSink, ParquetSource};

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, false),
    ]))
}

fn batch(ids: std::ops::Range<i64>) -> RecordBatch {
    let names: Vec<String> = ids.clone().map(|i| format!("n{i}")).collect();
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(Int64Array::from_iter_values(ids)),
            Arc::new(StringArray::from(names)),
        ],
    )
    .unwrap()
}

/// Files of `rows` rows each, in row groups of `group` rows.
fn write_files(dir: &Path, files: i64, rows: i64, group: usize) -> Vec<i64> {
    for file in 0..files {
        let out = std::fs::File::create(dir.join(format!("data-{file}.parquet"))).unwrap();
        let properties = WriterProperties::builder()
            .set_max_row_group_row_count(Some(group))
            .build();
        let mut writer = ArrowWriter::try_new(out, schema(), Some(properties)).unwrap();
        writer.write(&batch(file * rows..(file + 1) * rows)).unwrap();
        writer.close().unwrap();
    }
    (0..files * rows).collect()
}

fn ids(batches: &[ArrowBatch]) -> Vec<i64> {
    let mut ids: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            let column = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
            (0..column.len()).map(|i| column.value(i)).collect::<Vec<_>>()
        })
        .collect();
    ids.sort();
    ids
}

#[test]
fn row_groups_are_read_once_across_checkpoints_and_rescales() {
    let seed = 5u64;
    let mut rng = fastrand::Rng::with_seed(seed);
    for round in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        let expected = write_files(dir.path(), rng.i64(1..4), rng.i64(1..500), rng.usize(7..100));
        let batch_rows = rng.usize(1..40);
        let source = || {
            Arc::new(
                ParquetSource::builder([dir.path()])
                    .batch_rows(batch_rows)
                    .build()
                    .unwrap()
                    .into_source(),
            )
        };
        let p1 = rng.usize(1..4);
        let mut run = Harness::start(source(), p1, 0, None).unwrap();
        for _ in 0..rng.usize(0..30) {
            run.poll(rng.usize(0..p1)).unwrap();
        }
        let state = run.checkpoint(1).unwrap();
        let mut got = run.take_records();
        for _ in 0..rng.usize(0..30) {
            run.poll(rng.usize(0..p1)).unwrap();
        }
        drop(run);
        let p2 = rng.usize(1..4);
        let mut run = Harness::start(source(), p2, 1, Some(state)).unwrap();
        run.run_to_end(100_000).unwrap();
        got.extend(run.take_records());
        assert_eq!(ids(&got), expected, "seed {seed} round {round}: {p1} -> {p2}");
    }
}

#[test]
fn parquet_to_partitioned_parquet_in_a_job() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    let expected = write_files(&input, 3, 1_000, 128);
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2)
        .enable_checkpointing(std::time::Duration::from_millis(10));
    let source = ParquetSource::builder([&input]).batch_rows(100).build().unwrap();
    let sink = FileSink::builder(dir.path().join("out"), ParquetFormat::new(schema()))
        .partition_by(|batch: &ArrowBatch, _| {
            let first = batch.column(0).as_any().downcast_ref::<Int64Array>().unwrap().value(0);
            Partition::new(format!("thousand={}", first / 1000))
        })
        .build()
        .unwrap();
    env.add_source(source.into_source()).add_sink(sink);
    env.execute("parquet to parquet").unwrap();
    let mut batches = Vec::new();
    for partition in std::fs::read_dir(dir.path().join("out")).unwrap().flatten() {
        if !partition.path().is_dir() || partition.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        for file in std::fs::read_dir(partition.path()).unwrap().flatten() {
            assert!(
                !file.file_name().to_string_lossy().starts_with('.'),
                "leftover {:?}",
                file.path()
            );
            let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(file.path()).unwrap())
                .unwrap()
                .build()
                .unwrap();
            batches.extend(reader.map(|b| ArrowBatch(b.unwrap())));
        }
    }
    assert_eq!(ids(&batches), expected);
}
