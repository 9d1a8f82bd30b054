//! A topic partition as a source split, with its position.

use serde::{Deserialize, Serialize};
use weir_connector_api::split::SourceSplit;

/// Where a partition's reading starts (`scan.startup.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub enum StartupMode {
    /// At the first offset still in the log (`earliest-offset`, `earliest`).
    Earliest,
    /// At the end of the log when the partition is assigned (`latest-offset`, `latest`).
    Latest,
    /// At the first record whose timestamp is at or after this many milliseconds
    /// since the epoch (`timestamp:<ms>`; `timestamp` with `scan.startup.timestamp-millis`).
    Timestamp(i64),
    /// At the offsets committed by the consumer group, or the earliest offset for a
    /// partition the group has none for (`group-offsets`).
    #[default]
    GroupOffsets,
}

impl std::str::FromStr for StartupMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "earliest" | "earliest-offset" => Ok(StartupMode::Earliest),
            "latest" | "latest-offset" => Ok(StartupMode::Latest),
            "group" | "group-offsets" => Ok(StartupMode::GroupOffsets),
            other => match other.strip_prefix("timestamp:") {
                Some(ms) => ms
                    .trim()
                    .parse()
                    .map(StartupMode::Timestamp)
                    .map_err(|e| format!("'{other}': bad timestamp in milliseconds: {e}")),
                None => Err(format!(
                    "'{other}': use earliest-offset, latest-offset, group-offsets or timestamp:<ms>"
                )),
            },
        }
    }
}

/// Where a partition's reading starts: a start rule not yet resolved, or an offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StartOffset {
    /// Resolved by the reader when the split is assigned.
    Mode(StartupMode),
    /// The next offset to read.
    Offset(i64),
}

/// One partition of the topic and the reader's position in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KafkaPartitionSplit {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// Where reading starts (after a restore: the next offset to read).
    pub start: StartOffset,
    /// For a bounded source: the offset reading stops before (`None`: the end of
    /// the log when the split is assigned, resolved then; unbounded sources never
    /// stop).
    pub stop: Option<i64>,
}

impl SourceSplit for KafkaPartitionSplit {
    fn split_id(&self) -> String {
        format!("{}/{}", self.topic, self.partition)
    }
}
