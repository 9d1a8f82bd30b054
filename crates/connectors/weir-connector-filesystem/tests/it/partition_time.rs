//! The `partition-time` commit trigger follows the sink's input watermark, not
//! the largest event time written: an out-of-order record far ahead must not
//! close an earlier partition that can still receive records.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use weir_connector_api::format::Utf8Text;
use weir_connector_api::sink::{Sink, SinkContext, SinkWriter};
use weir_connector_api::{SubtaskInfo, Watermark};
use weir_connector_filesystem::sink::{CommitTrigger, LineFormat, Partition, PartitionCommit};
use weir_connector_filesystem::FileSink;

const HOUR: i64 = 3_600_000;

fn lines(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.ends_with(".txt") && !name.starts_with('.') {
            out.extend(
                std::fs::read_to_string(entry.path())
                    .unwrap()
                    .lines()
                    .map(str::to_string),
            );
        }
    }
    out.sort();
    out
}

fn checkpoint(writer: &mut Box<dyn SinkWriter<String>>, id: u64) {
    writer.snapshot_state(id).unwrap();
    writer.notify_checkpoint_complete(id).unwrap();
}

#[test]
fn an_event_time_partition_is_committed_when_the_watermark_passes_it() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("out");
    let sink = FileSink::builder(&base, LineFormat::new("txt", || Utf8Text))
        .partition_by(|_: &String, timestamp| Partition::hourly(timestamp.unwrap_or(0)))
        .partition_commit(PartitionCommit {
            trigger: CommitTrigger::PartitionTime,
            ..PartitionCommit::default()
        })
        .build()
        .unwrap();
    let context = SinkContext {
        info: SubtaskInfo::new("files", 0, 1, 128),
        checkpointing: true,
        restored: None,
    };
    let mut writer = sink.create_writer(&context).unwrap();
    let first = base.join(Partition::hourly(0).path);
    let third = base.join(Partition::hourly(2 * HOUR).path);

    // Hour 0, then an out-of-order record of hour 2; the watermark stays in hour 0.
    writer.write("a".to_string(), Some(10)).unwrap();
    writer.write("c".to_string(), Some(2 * HOUR + 10)).unwrap();
    writer.write_watermark(Watermark::new(20)).unwrap();
    checkpoint(&mut writer, 1);
    assert_eq!(lines(&first), ["a"], "the files of checkpoint 1 are committed");
    assert!(
        !first.join("_SUCCESS").exists(),
        "hour 0 is not complete: the watermark has not passed it (only a later record has)"
    );

    // Hour 0 still receives records (they are not late), then the watermark passes it.
    writer.write("b".to_string(), Some(HOUR - 1)).unwrap();
    writer.write_watermark(Watermark::new(HOUR + 5)).unwrap();
    checkpoint(&mut writer, 2);
    assert_eq!(lines(&first), ["a", "b"]);
    assert!(first.join("_SUCCESS").exists(), "hour 0 is complete");
    assert!(!third.join("_SUCCESS").exists(), "hour 2 is not");

    // The end of input closes every partition.
    writer.finish().unwrap();
    checkpoint(&mut writer, 3);
    assert_eq!(lines(&third), ["c"]);
    assert!(third.join("_SUCCESS").exists(), "the end of input closes hour 2");
}
