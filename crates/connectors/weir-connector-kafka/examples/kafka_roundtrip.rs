//! Kafka in, Kafka out, exactly once.
//!
//! ```sh
//! scripts/services.sh up kafka      # the tansu broker on 127.0.0.1:19092
//! cargo run --release -p weir-connector-kafka --example kafka_roundtrip [BROKERS]
//! ```
//!
//! Writes 1 000 words into a topic of 3 partitions, then runs a job that reads
//! them (bounded: up to the end the partitions had at start), upper-cases them and
//! writes them to a second topic through Kafka transactions committed at each
//! checkpoint, and reads the second topic back.

use std::time::Duration;
use weir::prelude::*;
use weir_connector_api::format::Utf8Text;
use weir_connector_kafka::{DeliveryGuarantee, KafkaSink, KafkaSource, OutgoingRecord, StartupMode};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::Message;

fn main() -> Result<(), BoxError> {
    let brokers = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:19092".to_string());
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    let (words, shouted) = (format!("words-{run}"), format!("shouted-{run}"));

    // Two topics, and some input.
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new().set("bootstrap.servers", &brokers).create()?;
    let topics = [
        NewTopic::new(&words, 3, TopicReplication::Fixed(1)),
        NewTopic::new(&shouted, 1, TopicReplication::Fixed(1)),
    ];
    for result in futures::executor::block_on(admin.create_topics(&topics, &AdminOptions::new()))? {
        result.map_err(|(topic, e)| format!("cannot create topic {topic}: {e}"))?;
    }
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("batch.num.messages", "1")
        .create()?;
    for i in 0..1_000 {
        let word = format!("word-{i}");
        producer
            .send(BaseRecord::to(&words).partition(i % 3).key(&word).payload(&word))
            .map_err(|(e, _)| e)?;
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(30))?;

    // The job.
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2).enable_checkpointing(Duration::from_millis(200));
    let source = KafkaSource::<String>::builder(&brokers, &words)
        .value_format(|| Utf8Text)
        .startup_mode(StartupMode::Earliest)
        .bounded(true)
        .build()?
        .into_source("words");
    let sink = KafkaSink::builder(&brokers, &shouted, |word: &String, _ts: Option<i64>| {
        Ok(OutgoingRecord::value(word.to_uppercase()).with_key(word.as_bytes()))
    })
    .delivery_guarantee(DeliveryGuarantee::ExactlyOnce)
    .transactional_id_prefix(format!("roundtrip-{run}"))
    .build()?;
    env.from_source(source, WatermarkStrategy::for_monotonous_timestamps(), "words")
        .map(|word| word)
        .add_sink(sink)
        .name("shouted");
    let result = env.execute("kafka roundtrip")?;
    println!("job done: {} checkpoints", result.checkpoints.len());

    // Read the output back (read_committed; see the README about the test broker).
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", format!("roundtrip-reader-{run}"))
        .set("isolation.level", "read_committed")
        .set("auto.offset.reset", "earliest")
        .create()?;
    let mut partitions = rdkafka::TopicPartitionList::new();
    partitions.add_partition_offset(&shouted, 0, rdkafka::Offset::Beginning)?;
    consumer.assign(&partitions)?;
    let mut read = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while read < 1_000 && std::time::Instant::now() < deadline {
        if let Some(message) = consumer.poll(Duration::from_millis(200)) {
            let message = message?;
            if read < 3 {
                println!("{}", String::from_utf8_lossy(message.payload().unwrap_or_default()));
            }
            read += 1;
        }
    }
    println!("read {read} records from {shouted}");
    Ok(())
}
