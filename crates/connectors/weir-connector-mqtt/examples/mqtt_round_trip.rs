//! Publishes ten lines through the MQTT sink (QoS 1)
//! and reads them back through the QoS 1 persistent-session source, driving the reader the way
//! the runtime does: poll, snapshot at a checkpoint, acknowledge when it completes.
//!
//! ```text
//! scripts/services.sh up mqtt
//! eval "$(scripts/services.sh env mqtt)"
//! cargo run --release -p weir-connector-mqtt --example mqtt_round_trip
//! ```

use std::time::{Duration, Instant};
use weir_connector_api::format::{Deserializer, FormatError, FormatErrorKind, Serializer};
use weir_connector_api::sink::{Sink, SinkContext};
use weir_connector_api::source::{CollectingOutput, PollStatus, ReaderContext, Source, SourceOutput, SourceWaker};
use weir_connector_api::{BoxError, SubtaskInfo};
use weir_connector_mqtt::{MqttSink, MqttSource, SinkConfig, SourceConfig};

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
    let url = std::env::var("WEIR_TEST_MQTT_URL").unwrap_or_else(|_| "mqtt://127.0.0.1:11883".into());
    let topic = format!("weir/example/{}", std::process::id());

    // Subscribe first (the persistent session then keeps what is published).
    let source = MqttSource::new(SourceConfig::new(url.clone(), topic.clone(), "weir-example"), || Lines);
    let (tx, woken) = std::sync::mpsc::channel();
    let mut reader = source.create_reader(&ReaderContext {
        info: SubtaskInfo::new("source", 0, 1, 1),
        waker: SourceWaker::new(move || {
            let _ = tx.send(());
        }),
        restored: None,
    })?;
    let mut read = Vec::new();
    let sink = MqttSink::new(SinkConfig::new(url, topic.clone(), "weir-example-pub"), || Lines);
    let mut writer = sink.create_writer(&SinkContext {
        info: SubtaskInfo::new("sink", 0, 1, 1),
        checkpointing: true,
        restored: None,
    })?;
    // Until the subscription is in place, publishes are not kept: repeat a probe.
    let deadline = Instant::now() + Duration::from_secs(30);
    while read.is_empty() && Instant::now() < deadline {
        writer.write("probe".to_string(), None)?;
        writer.snapshot_state(0)?;
        let mut output = CollectingOutput::default();
        if let PollStatus::Pending { .. } = reader.poll_next(&mut SourceOutput::new(&mut output))? {
            let _ = woken.recv_timeout(Duration::from_millis(200));
        }
        read.extend(output.records.into_iter().map(|r| r.value));
    }
    read.clear();
    for i in 0..10 {
        writer.write(format!("hello {i}"), None)?;
    }
    writer.snapshot_state(1)?; // waits for the PUBACKs
    println!("published 10 messages to topic '{topic}'");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !read.iter().any(|l| l == "hello 9") && Instant::now() < deadline {
        let mut output = CollectingOutput::default();
        if let PollStatus::Pending { .. } = reader.poll_next(&mut SourceOutput::new(&mut output))? {
            let _ = woken.recv_timeout(Duration::from_secs(1));
        }
        read.extend(output.records.into_iter().map(|r| r.value));
    }
    let state = reader.snapshot_state(1)?;
    read.retain(|line| line != "probe");
    println!(
        "read {} messages; checkpoint 1 keeps {} byte(s): the broker's session is the position",
        read.len(),
        state.iter().map(Vec::len).sum::<usize>()
    );
    reader.notify_checkpoint_complete(1)?; // sends their PUBACKs
    for line in &read {
        println!("  {line}");
    }
    Ok(())
}
