//! CSV decoding: headers, dialects, nulls, and errors with their kinds and columns.

#![allow(clippy::unwrap_used)] // Tests: a failure is a panic with its message.

use serde::{Deserialize, Serialize};
use weir_format_csv::{
    parse_header, CsvDeserializer, CsvOptions, CsvSerializer, Deserializer, FormatErrorKind, Header, Serializer,
};

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
struct Row {
    id: i64,
    name: String,
    price: Option<f64>,
}

fn decode(options: CsvOptions, text: &str) -> Result<Vec<Row>, weir_format_csv::FormatError> {
    let mut out = Vec::new();
    CsvDeserializer::<Row>::new(options)?.deserialize(text.as_bytes(), &mut out)?;
    Ok(out)
}

fn row(id: i64, name: &str, price: Option<f64>) -> Row {
    Row {
        id,
        name: name.into(),
        price,
    }
}

#[test]
fn by_position_with_quotes_blank_lines_and_crlf() {
    let rows = decode(CsvOptions::default(), "1,plain,2.5\r\n\n2,\"a,\"\"b\"\"\nc\",\n").unwrap();
    assert_eq!(rows, vec![row(1, "plain", Some(2.5)), row(2, "a,\"b\"\nc", None)]);
    assert!(decode(CsvOptions::default(), "").unwrap().is_empty());
    assert!(decode(CsvOptions::default(), "\n\r\n").unwrap().is_empty());
}

#[test]
fn by_header_given_or_from_the_first_line() {
    let names = parse_header(
        "price;name;id",
        &CsvOptions {
            delimiter: b';',
            ..CsvOptions::default()
        },
    )
    .unwrap();
    let options = CsvOptions {
        delimiter: b';',
        header: Header::Names(names),
        ..CsvOptions::default()
    };
    assert_eq!(decode(options, "9;x;1").unwrap(), vec![row(1, "x", Some(9.0))]);

    let options = CsvOptions {
        header: Header::FirstLine,
        ..CsvOptions::default()
    };
    let mut csv = CsvDeserializer::<Row>::new(options).unwrap();
    let mut out = Vec::new();
    csv.deserialize(b"name,id,price\n", &mut out).unwrap();
    assert!(out.is_empty());
    csv.deserialize(b"y,2,\n", &mut out).unwrap();
    assert_eq!(out, vec![row(2, "y", None)]);
    assert_eq!(csv.headers().unwrap(), vec!["name", "id", "price"]);
}

#[test]
fn dialects_and_null_literal() {
    let options = CsvOptions {
        delimiter: b'\t',
        quote: b'\'',
        escape: Some(b'\\'),
        comment: Some(b'#'),
        null_literal: Some("NULL".into()),
        ..CsvOptions::default()
    };
    let rows = decode(options, "# comment\n1\t'it\\'s'\tNULL\n").unwrap();
    assert_eq!(rows, vec![row(1, "it's", None)]);
    let options = CsvOptions {
        quoting: false,
        ..CsvOptions::default()
    };
    assert_eq!(decode(options, "1,\"x,2").unwrap(), vec![row(1, "\"x", Some(2.0))]);
}

#[test]
fn errors_name_the_column() {
    let header = || Header::Names(vec!["id".into(), "name".into(), "price".into()]);
    let cases = [
        (Header::None, "x,a,1", FormatErrorKind::Type, "column 1: "),
        (header(), "1,a,cheap", FormatErrorKind::Type, "column 3 `price`"),
        (
            Header::None,
            "1",
            FormatErrorKind::MissingField,
            "invalid length 1, expected struct Row with 3 elements",
        ),
        (
            header(),
            "1,a",
            FormatErrorKind::MissingField,
            "record has 2 fields, the header 3",
        ),
        (
            header(),
            "1,a,2,3",
            FormatErrorKind::Syntax,
            "record has 4 fields, the header 3",
        ),
        (
            Header::Names(vec!["id".into(), "price".into()]),
            "1,2",
            FormatErrorKind::MissingField,
            "field `name` is not in the header",
        ),
    ];
    for (header, text, kind, needle) in cases {
        let err = decode(
            CsvOptions {
                header,
                ..CsvOptions::default()
            },
            text,
        )
        .unwrap_err();
        assert_eq!(err.kind, kind, "{text}: {err}");
        assert!(err.message.contains(needle), "{text}: {err}");
    }
    let mut out = Vec::new();
    let err = CsvDeserializer::<Row>::new(CsvOptions::default())
        .unwrap()
        .deserialize(b"1,\xff\xfe,2", &mut out)
        .unwrap_err();
    assert_eq!(err.kind, FormatErrorKind::Type, "{err}");
    assert!(err.message.contains("column 2"), "{err}");
}

#[test]
fn oversize_records() {
    let options = CsvOptions {
        max_record_bytes: 16,
        ..CsvOptions::default()
    };
    let mut csv = CsvDeserializer::<Row>::new(options).unwrap();
    let mut out = Vec::new();
    csv.deserialize(b"1,short,1\n", &mut out).unwrap();
    let long = format!("2,{},1\n", "x".repeat(5000));
    let err = csv.deserialize(long.as_bytes(), &mut out).unwrap_err();
    assert_eq!(err.kind, FormatErrorKind::Oversize, "{err}");
    let many_fields = ",".repeat(100_000);
    let err = csv.deserialize(many_fields.as_bytes(), &mut out).unwrap_err();
    assert_eq!(err.kind, FormatErrorKind::Oversize, "{err}");
    let err = csv.deserialize(b"3,seventeen-bytes,1\n", &mut out).unwrap_err();
    assert_eq!(err.kind, FormatErrorKind::Oversize, "{err}");
    // And the next record decodes.
    csv.deserialize(b"4,ok,1\n", &mut out).unwrap();
    assert_eq!(out.len(), 2);
}

#[test]
fn serializer_round_trip() {
    let rows = vec![row(1, "a,\"b\"\nc", Some(1.5)), row(2, "", None)];
    for options in [
        CsvOptions {
            write_header: true,
            header: Header::FirstLine,
            ..CsvOptions::default()
        },
        CsvOptions {
            delimiter: b'|',
            ..CsvOptions::default()
        },
    ] {
        let mut ser = CsvSerializer::new(options.clone()).with_newline(true);
        let mut bytes = Vec::new();
        for r in &rows {
            ser.serialize(r, &mut bytes).unwrap();
        }
        let mut back = Vec::new();
        CsvDeserializer::<Row>::new(options)
            .unwrap()
            .deserialize(&bytes, &mut back)
            .unwrap();
        assert_eq!(back, rows, "{}", String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn lines_without_endings_and_nothing_pushed_on_error() {
    let mut ser = CsvSerializer::new(CsvOptions::default());
    let mut out = Vec::new();
    ser.serialize(&row(1, "a", None), &mut out).unwrap();
    assert_eq!(out, b"1,a,");
    let mut rows = vec![row(0, "kept", None)];
    let err = CsvDeserializer::<Row>::new(CsvOptions::default())
        .unwrap()
        .deserialize(b"1,a,1\n2,b,x\n", &mut rows)
        .unwrap_err();
    assert_eq!(err.kind, FormatErrorKind::Type);
    assert_eq!(err.message, "line 2: column 3: invalid float literal");
    assert_eq!(rows, vec![row(0, "kept", None)]);
    let err = CsvDeserializer::<Row>::new(CsvOptions::default())
        .unwrap()
        .deserialize(b"1,a,1\n\n\r\n3,\"b\nc\",1\n4,d\n", &mut rows)
        .unwrap_err();
    assert_eq!(
        err.message,
        "line 6: invalid length 2, expected struct Row with 3 elements"
    );
}
