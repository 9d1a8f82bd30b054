//! What a user sees for bad records: the kind and a message naming the field.

#![allow(clippy::unwrap_used)] // Tests: a failure is a panic with its message.

use serde::{Deserialize, Serialize};
use weir_format_avro::{
    AvroDeserializer, AvroOptions, AvroSerializer, ConfluentDeserializer, ConfluentOptions, Deserializer,
    FormatErrorKind, Framing, Serializer,
};

const BID: &str = r#"{"type":"record","name":"Bid","fields":[
  {"name":"auction","type":"long"},
  {"name":"price","type":"long"},
  {"name":"channel","type":["null","string"]},
  {"name":"detail","type":{"type":"record","name":"Detail","fields":[{"name":"url","type":"string"},{"name":"rank","type":"int"}]}}
]}"#;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Detail {
    url: String,
    rank: i32,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Bid {
    auction: i64,
    price: i64,
    channel: Option<String>,
    detail: Detail,
}

fn bid() -> Bid {
    Bid {
        auction: 1,
        price: 250,
        channel: Some("web".into()),
        detail: Detail {
            url: "https://x".into(),
            rank: 3,
        },
    }
}

fn encoded(options: &AvroOptions) -> Vec<u8> {
    let mut bytes = Vec::new();
    AvroSerializer::<Bid>::new(options)
        .unwrap()
        .serialize(&bid(), &mut bytes)
        .unwrap();
    bytes
}

#[test]
fn bytes_that_do_not_decode_are_syntax_errors() {
    let options = AvroOptions::new(BID).unwrap();
    let bytes = encoded(&options);
    let mut avro = AvroDeserializer::<Bid>::new(&options).unwrap();
    let mut out = Vec::new();
    avro.deserialize(&bytes, &mut out).unwrap();
    assert_eq!(out, [bid()]);

    let err = avro.deserialize(&bytes[..bytes.len() - 3], &mut out).unwrap_err();
    assert_eq!(err.kind, FormatErrorKind::Syntax, "{err}");
    assert!(err.message.contains("detail"), "names the field being read: {err}");

    let mut longer = bytes.clone();
    longer.extend_from_slice(&[1, 2]);
    let err = avro.deserialize(&longer, &mut out).unwrap_err();
    assert_eq!(err.kind, FormatErrorKind::Syntax, "{err}");
    assert!(err.message.contains("2 of the"), "{err}");

    // Union index 5 of a two-branch union.
    let mut bad_union = bytes.clone();
    bad_union[3] = 10;
    let err = avro.deserialize(&bad_union, &mut out).unwrap_err();
    assert_eq!(err.kind, FormatErrorKind::Syntax, "{err}");
    assert!(err.message.contains("channel"), "{err}");
    assert_eq!(out.len(), 1, "nothing pushed on errors");
}

#[test]
fn schema_and_type_mismatches_are_type_errors_naming_the_field() {
    #[derive(Debug, Deserialize)]
    #[serde(rename = "Bid")]
    #[allow(dead_code)]
    struct WrongPrice {
        auction: i64,
        price: String,
    }
    let options = AvroOptions::new(BID).unwrap();
    let bytes = encoded(&options);
    let err = AvroDeserializer::<WrongPrice>::new(&options)
        .unwrap()
        .decode(&bytes)
        .unwrap_err();
    assert_eq!(err.kind, FormatErrorKind::Type, "{err}");
    assert!(
        err.message.contains("field `price`") && err.message.contains("Long"),
        "{err}"
    );

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Renamed {
        auction: i64,
    }
    let err = AvroDeserializer::<Renamed>::new(&options)
        .unwrap()
        .decode(&bytes)
        .unwrap_err();
    assert_eq!(err.kind, FormatErrorKind::Type, "{err}");
    assert!(
        err.message.contains("serde(rename"),
        "explains the record name rule: {err}"
    );
}

#[test]
fn fields_missing_from_the_writer_schema_are_named() {
    #[derive(Debug, Deserialize)]
    #[serde(rename = "Bid")]
    #[allow(dead_code)]
    struct More {
        auction: i64,
        bidder: i64,
        detail: MoreDetail,
    }
    #[derive(Debug, Deserialize)]
    #[serde(rename = "Detail")]
    #[allow(dead_code)]
    struct MoreDetail {
        url: String,
        referrer: String,
    }
    let options = AvroOptions::new(BID).unwrap();
    let bytes = encoded(&options);
    let err = AvroDeserializer::<More>::new(&options)
        .unwrap()
        .decode(&bytes)
        .unwrap_err();
    assert_eq!(err.kind, FormatErrorKind::MissingField, "{err}");
    assert!(err.message.contains("`detail.referrer`"), "{err}");

    // Fields the struct lacks are skipped; Option fields may be absent from the schema.
    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename = "Bid")]
    struct Fewer {
        price: i64,
        bidder: Option<i64>,
    }
    let fewer = AvroDeserializer::<Fewer>::new(&options)
        .unwrap()
        .decode(&bytes)
        .unwrap();
    assert_eq!(
        fewer,
        Fewer {
            price: 250,
            bidder: None
        }
    );
}

#[test]
fn framing_errors() {
    let single = AvroOptions::new(BID).unwrap().with_framing(Framing::SingleObject);
    let bytes = encoded(&single);
    assert_eq!(&bytes[..2], &[0xC3, 0x01]);
    let mut avro = AvroDeserializer::<Bid>::new(&single).unwrap();
    assert_eq!(avro.decode(&bytes).unwrap(), bid());
    let raw = encoded(&AvroOptions::new(BID).unwrap());
    assert_eq!(avro.decode(&raw).unwrap_err().kind, FormatErrorKind::Syntax);
    let mut other = bytes.clone();
    other[5] ^= 0xff;
    let err = avro.deserialize(&other, &mut Vec::new()).unwrap_err();
    assert_eq!(err.kind, FormatErrorKind::Type, "{err}");
    assert!(err.message.contains("fingerprint"), "{err}");

    let confluent = ConfluentOptions::new([(3, BID)]).unwrap();
    let mut confluent = ConfluentDeserializer::<Bid>::new(&confluent).unwrap();
    let mut framed = vec![0, 0, 0, 0, 3];
    framed.extend_from_slice(&raw);
    assert_eq!(confluent.decode(&framed).unwrap(), bid());
    for (bytes, kind, needle) in [
        (&[1u8, 0, 0, 0, 3][..], FormatErrorKind::Syntax, "magic byte"),
        (&[0, 0, 0][..], FormatErrorKind::Syntax, "5-byte header"),
        (&[][..], FormatErrorKind::Syntax, "5-byte header"),
        (&[0, 0, 0, 1, 0, 2][..], FormatErrorKind::Other, "schema id 256"),
    ] {
        let err = confluent.deserialize(bytes, &mut Vec::new()).unwrap_err();
        assert_eq!(err.kind, kind, "{err}");
        assert!(err.message.contains(needle), "{err}");
    }
}

#[test]
fn oversize_records_are_not_decoded() {
    let options = AvroOptions {
        max_record_bytes: 8,
        ..AvroOptions::new(BID).unwrap()
    };
    let err = AvroDeserializer::<Bid>::new(&options)
        .unwrap()
        .decode(&encoded(&AvroOptions::new(BID).unwrap()))
        .unwrap_err();
    assert_eq!(err.kind, FormatErrorKind::Oversize);
    assert!(err.message.contains("avro.max-record-bytes"), "{err}");
}

#[test]
fn values_that_do_not_fit_the_schema_fail_to_encode_and_leave_the_output() {
    #[derive(Serialize)]
    #[serde(rename = "Bid")]
    struct Bad {
        auction: i64,
        price: &'static str,
        channel: Option<String>,
        detail: Detail,
    }
    let options = AvroOptions::new(BID).unwrap();
    let mut out = b"kept".to_vec();
    let err = AvroSerializer::<Bad>::new(&options)
        .unwrap()
        .serialize(
            &Bad {
                auction: 1,
                price: "cheap",
                channel: None,
                detail: Detail {
                    url: String::new(),
                    rank: 0,
                },
            },
            &mut out,
        )
        .unwrap_err();
    assert_eq!(err.kind, FormatErrorKind::Type, "{err}");
    assert!(err.message.contains("price"), "{err}");
    assert_eq!(out, b"kept");
}
