//! `format = 'avro'` and `format = 'avro-confluent'` through a registry, with their
//! options checked.

#![allow(clippy::unwrap_used)] // Tests: a failure is a panic with its message.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use weir_connector_api::options::Options;
use weir_connector_api::registry::{Registry, Typed};
use weir_format_avro::{AvroConfluentFormatFactory, AvroFormatFactory, FormatErrorKind};

const BID: &str =
    r#"{"type":"record","name":"Bid","fields":[{"name":"auction","type":"long"},{"name":"price","type":"long"}]}"#;
const BID_V2: &str = r#"{"type":"record","name":"Bid","fields":[{"name":"auction","type":"long"},{"name":"channel","type":"string"},{"name":"price","type":"long"}]}"#;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Bid {
    auction: i64,
    price: i64,
}

fn registry() -> Registry<Typed<Bid>> {
    let mut registry = Registry::<Typed<Bid>>::new();
    registry.register_format(Arc::new(AvroFormatFactory::<Bid>::default()));
    registry.register_format(Arc::new(AvroConfluentFormatFactory::<Bid>::default()));
    registry
}

#[test]
fn avro_round_trips_through_the_registry() {
    let registry = registry();
    assert_eq!(registry.format_names(), ["avro", "avro-confluent"]);
    for encoding in ["raw", "single-object"] {
        let options = Options::new("kafka sink 'bids'")
            .with("format", "avro")
            .with("avro.schema", BID)
            .with("avro.encoding", encoding)
            .with("avro.max-record-bytes", "64");
        let mut serializer = registry.serializer(&(), &options).unwrap();
        let mut deserializer = registry.deserializer(&(), &options).unwrap();
        options.mark_read("format");
        options.check_all_read().unwrap();
        let mut bytes = Vec::new();
        serializer.serialize(&Bid { auction: 3, price: 9 }, &mut bytes).unwrap();
        let mut bids = Vec::new();
        deserializer.deserialize(&bytes, &mut bids).unwrap();
        assert_eq!(bids, [Bid { auction: 3, price: 9 }]);
    }
}

#[test]
fn avro_confluent_reads_every_given_schema_and_writes_one() {
    let registry = registry();
    let options = Options::new("kafka source 'bids'")
        .with("format", "avro-confluent")
        .with("avro-confluent.schema.1", BID)
        .with("avro-confluent.schema.2", BID_V2)
        .with("avro-confluent.write-schema-id", "1");
    let mut serializer = registry.serializer(&(), &options).unwrap();
    let mut deserializer = registry.deserializer(&(), &options).unwrap();
    options.mark_read("format");
    options.check_all_read().unwrap();
    let mut v1 = Vec::new();
    serializer.serialize(&Bid { auction: 3, price: 9 }, &mut v1).unwrap();
    assert_eq!(&v1[..5], &[0, 0, 0, 0, 1]);
    // Version 2 of the schema has one more field, which the struct does not have.
    let v2 = [0, 0, 0, 0, 2, 6, 6, b'w', b'e', b'b', 18];
    let mut bids = Vec::new();
    deserializer.deserialize(&v1, &mut bids).unwrap();
    deserializer.deserialize(&v2, &mut bids).unwrap();
    assert_eq!(bids, [Bid { auction: 3, price: 9 }, Bid { auction: 3, price: 9 }]);
    let err = deserializer
        .deserialize(&[0, 0, 0, 0, 3, 6, 18], &mut bids)
        .unwrap_err();
    assert_eq!(err.kind, FormatErrorKind::Other);
    assert!(err.message.contains("no schema-registry client"), "{err}");
}

#[test]
fn option_errors_name_the_option() {
    let registry = registry();
    let cases = [
        (vec![("format", "avro")], "missing required option 'avro.schema'"),
        (
            vec![("format", "avro"), ("avro.schema", "{\"type\":\"recrod\"}")],
            "'avro.schema'",
        ),
        (
            vec![("format", "avro"), ("avro.schema", BID), ("avro.encoding", "json")],
            "expected one of",
        ),
        (
            vec![("format", "avro"), ("avro.schema", BID), ("avro.max-record-bytes", "0")],
            "must be at least 1",
        ),
        (vec![("format", "avro-confluent")], "avro-confluent.schema.<id>"),
        (
            vec![("format", "avro-confluent"), ("avro-confluent.schema.one", BID)],
            "must end with a schema id",
        ),
        (
            vec![
                ("format", "avro-confluent"),
                ("avro-confluent.schema.1", BID),
                ("avro-confluent.url", "http://registry:8081"),
            ],
            "no schema-registry client",
        ),
        (
            vec![
                ("format", "avro-confluent"),
                ("avro-confluent.schema.1", BID),
                ("avro-confluent.write-schema-id", "2"),
            ],
            "known ids: [1]",
        ),
    ];
    for (pairs, needle) in cases {
        let options = Options::from_pairs("avro test", pairs.clone());
        let err = registry.deserializer(&(), &options).err().unwrap().to_string();
        assert!(err.contains(needle) && err.contains("avro test"), "{pairs:?}: {err}");
    }
    // Two schemas and no write id: the serializer cannot choose.
    let options = Options::new("t")
        .with("format", "avro-confluent")
        .with("avro-confluent.schema.1", BID)
        .with("avro-confluent.schema.2", BID_V2);
    registry.deserializer(&(), &options).unwrap();
    let err = registry.serializer(&(), &options).err().unwrap().to_string();
    assert!(err.contains("avro-confluent.write-schema-id"), "{err}");
}

#[test]
fn unknown_options_are_reported() {
    let registry = registry();
    let options = Options::new("file source 'bids'")
        .with("format", "avro")
        .with("avro.schema", BID)
        .with("avro.schema-registry", "x")
        .with("avro-confluent.schema.1", BID);
    registry.deserializer(&(), &options).unwrap();
    options.mark_read("format");
    let err = options.check_all_read().unwrap_err().to_string();
    assert!(
        err.contains("avro.schema-registry") && err.contains("avro-confluent.schema.1"),
        "{err}"
    );
}
