//! Publishes ten lines through the RabbitMQ sink (publisher confirms, message ids)
//! and reads them back through the exactly-once source, driving the reader the way
//! the runtime does: poll, snapshot at a checkpoint, acknowledge when it completes.
//!
//! ```text
//! scripts/services.sh up rabbitmq
//! eval "$(scripts/services.sh env rabbitmq)"
//! cargo run --release -p weir-connector-rabbitmq --example rabbitmq_round_trip
//! ```

use std::time::{Duration, Instant};
use weir_connector_api::format::{Deserializer, FormatError, FormatErrorKind, Serializer};
use weir_connector_api::sink::{Sink, SinkContext};
use weir_connector_api::source::{CollectingOutput, PollStatus, ReaderContext, Source, SourceOutput, SourceWaker};
use weir_connector_api::{BoxError, SubtaskInfo};
use weir_connector_rabbitmq::{RabbitMqSink, RabbitMqSource, SinkConfig, SourceConfig};

/// Messages are UTF-8 lines.
struct Lines;

impl Serializer<String> for Lines {
    fn serialize(&mut self, value: &String, out: &mut Vec<u8>) -> Result<(), FormatError> {
        out.extend_from_slice(value.as_bytes());
        Ok(())
    }
}

impl Deserializer<String> for Lines {
    fn deserialize(&mut self, bytes: &[u8], out: &mut Vec<String>) -> Result<(), FormatError> {
        let text = std::str::from_utf8(bytes).map_err(|e| FormatError::new(FormatErrorKind::Syntax, e.to_string()))?;
        out.push(text.to_string());
        Ok(())
    }
}

fn main() -> Result<(), BoxError> {
    let uri = std::env::var("WEIR_TEST_RABBITMQ_URL").unwrap_or_else(|_| "amqp://weir:weir@127.0.0.1:15682/%2f".into());
    let queue = format!("weir-example-{}", std::process::id());

    let sink = RabbitMqSink::new(SinkConfig::to_queue(uri.clone(), queue.clone()), || Lines)
        .with_message_id(|line: &String| format!("line-{line}"));
    let mut writer = sink.create_writer(&SinkContext {
        info: SubtaskInfo::new("sink", 0, 1, 1),
        checkpointing: true,
        restored: None,
    })?;
    for i in 0..10 {
        writer.write(format!("hello {i}"), None)?;
    }
    writer.snapshot_state(1)?; // waits for the publisher confirms
    println!("published 10 messages to queue '{queue}'");

    let source = RabbitMqSource::new(SourceConfig::new(uri, queue), || Lines);
    let (tx, woken) = std::sync::mpsc::channel();
    let mut reader = source.create_reader(&ReaderContext {
        info: SubtaskInfo::new("source", 0, 1, 1),
        waker: SourceWaker::new(move || {
            let _ = tx.send(());
        }),
        restored: None,
    })?;
    let mut read = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while read.len() < 10 && Instant::now() < deadline {
        let mut output = CollectingOutput::default();
        if let PollStatus::Pending { .. } = reader.poll_next(&mut SourceOutput::new(&mut output))? {
            let _ = woken.recv_timeout(Duration::from_secs(1));
        }
        read.extend(output.records.into_iter().map(|r| r.value));
    }
    let state = reader.snapshot_state(1)?;
    println!(
        "read {} messages; checkpoint 1 keeps {} byte(s) of message ids",
        read.len(),
        state.iter().map(Vec::len).sum::<usize>()
    );
    reader.notify_checkpoint_complete(1)?; // acknowledges them
    for line in &read {
        println!("  {line}");
    }
    Ok(())
}
