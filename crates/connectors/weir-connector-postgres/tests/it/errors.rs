//! Error messages: each names the connector, the address (never the password)
//! and the cause; a server that is down is retried with backoff, wrong
//! credentials and missing tables are not.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use common::{server, url};
use std::time::{Duration, Instant};
use weir::connector_api::options::Options;
use weir::connector_api::registry::{Registry, Typed};
use weir::connector_api::sink::{Sink, SinkContext};
use weir::connector_api::ConnectorError;
use weir::core::SubtaskInfo;
use weir_connector_postgres::{ConnectionOptions, PostgresError, PostgresSink, PostgresSinkFactory, RowMapper};

fn context() -> SinkContext {
    SinkContext {
        info: SubtaskInfo::new("postgres", 0, 1, 128),
        checkpointing: true,
        restored: None,
    }
}

fn open_error(url: &str, table: &str) -> String {
    let sink = PostgresSink::builder::<(i64, String)>(url, table)
        .unwrap()
        .columns(["id", "v"])
        .row(RowMapper::new(|(id, v): &(i64, String)| {
            vec![(*id).into(), v.as_str().into()]
        }))
        .connection_retries(2, Duration::from_millis(10))
        .upsert()
        .unwrap();
    match sink.create_writer(&context()) {
        Ok(_) => panic!("opening {table} at {url} worked"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_server_that_is_down_is_retried_then_named() {
    let _server = common::shared_server();
    // Nothing listens on this port (the services use 15432).
    let started = Instant::now();
    let error = open_error("postgres://weir:s3cret@127.0.0.1:15999/weir", "t");
    assert!(
        error.contains("postgres upsert sink 't': cannot connect to 127.0.0.1:15999/weir as weir (after 3 attempt(s))"),
        "{error}"
    );
    assert!(error.to_lowercase().contains("connection refused"), "{error}");
    assert!(!error.contains("s3cret"), "{error}");
    // Two retries waited 10 ms and 20 ms.
    assert!(started.elapsed() >= Duration::from_millis(30));
}

#[test]
fn wrong_credentials_fail_at_once() {
    let _server = common::shared_server();
    let wrong = server().auth_url.replace("weir-secret", "not-the-password");
    let error = open_error(&wrong, "t");
    assert!(
        error.contains("cannot connect to 127.0.0.1:15432/weir as weir_auth (after 1 attempt(s))")
            && error.contains("28P01")
            && error.contains("password authentication failed"),
        "{error}"
    );
    assert!(!error.contains("not-the-password"), "{error}");
    // The right password works.
    ConnectionOptions::new(&server().auth_url, "x")
        .unwrap()
        .connect()
        .unwrap();
    // No such database.
    let error = open_error(&url().replace(":15432/weir", ":15432/no_such_db"), "t");
    assert!(error.contains("3D000") && error.contains("no_such_db"), "{error}");
}

#[test]
fn missing_tables_columns_and_keys_are_named() {
    let _server = common::shared_server();
    let error = open_error(&url(), "no_such_table");
    assert!(
        error.contains(
            "postgres upsert sink 'no_such_table' at 127.0.0.1:15432/weir as weir: table no_such_table: does not exist"
        ),
        "{error}"
    );
    common::fresh_table("err_columns", "id bigint PRIMARY KEY, value text");
    let error = open_error(&url(), "err_columns");
    assert!(
        error.contains("has no column 'v'") && error.contains("\"value\""),
        "{error}"
    );
    common::fresh_table("err_nokey", "id bigint, v text");
    let error = open_error(&url(), "err_nokey");
    assert!(
        error.contains("an upsert needs key columns") && error.contains("sink.key-columns"),
        "{error}"
    );
}

#[test]
fn configuration_errors_are_named() {
    let _server = common::shared_server();
    let error = PostgresSink::builder::<u32>("postgres://u:pw@h:notaport/d", "t")
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("invalid url") && !error.contains("pw@"), "{error}");
    let error = PostgresSink::builder::<u32>(&url(), "t")
        .unwrap()
        .row(RowMapper::new(|v: &u32| vec![(*v).into()]))
        .upsert()
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("needs the column list"), "{error}");
    let disabled = PostgresError::PreparedTransactionsDisabled {
        connector: "postgres exactly-once sink 't'".into(),
        address: "h:5432/d as u".into(),
    }
    .to_string();
    assert!(disabled.contains("max_prepared_transactions = 0"), "{disabled}");
}

#[derive(Debug, Clone, serde::Serialize)]
struct Row {
    id: i64,
    v: String,
}

#[test]
fn registry_options_are_checked() {
    let _server = common::shared_server();
    let mut registry = Registry::<Typed<Row>>::new();
    PostgresSinkFactory::new(RowMapper::serde()).register(&mut registry);
    PostgresSinkFactory::new(RowMapper::serde())
        .named("jdbc")
        .register(&mut registry);
    let options = |semantic: &str| {
        Options::new("postgres sink 'rows'")
            .with("connector", "jdbc")
            .with("url", url())
            .with("table-name", "err_registry")
            .with("sink.semantic", semantic)
            .with("sink.buffer-flush.max-rows", "10")
            .with("connection.max-retries", "1")
            .with("connection.retry-delay", "10 ms")
    };
    common::fresh_table("err_registry", "id bigint PRIMARY KEY, v text");
    let sink = registry.sink(&(), &options("upsert")).unwrap();
    let mut writer = sink.create_writer(&context()).unwrap();
    writer.write(Row { id: 1, v: "one".into() }, None).unwrap();
    writer.finish().unwrap();
    assert_eq!(common::rows("err_registry"), vec![(1, "one".to_string())]);
    assert!(registry.sink(&(), &options("exactly-once")).is_ok());
    let error = registry.sink(&(), &options("twice")).err().unwrap().to_string();
    assert!(
        error.contains("sink.semantic") && error.contains("expected one of"),
        "{error}"
    );
    let error = registry
        .sink(&(), &options("upsert").with("sink.buffer-flush.max-row", "5"))
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("sink.buffer-flush.max-row"), "{error}");
    // The sink connects when its writers open, not when it is built.
    assert!(registry
        .sink(
            &(),
            &options("upsert").with("url", "postgres://weir@127.0.0.1:15999/weir")
        )
        .is_ok());
    let connection = weir_connector_postgres::factory::connection_from_options(
        &Options::new("x")
            .with("url", "postgres://weir@127.0.0.1:15999/weir")
            .with("connection.max-retries", "0"),
        "postgres sink 'rows'",
    )
    .unwrap();
    let error: ConnectorError = connection.connect().err().unwrap().into();
    assert!(
        matches!(&error, ConnectorError::Connection { address, .. } if address == "127.0.0.1:15999/weir as weir"),
        "{error}"
    );
}
