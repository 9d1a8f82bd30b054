//! A server with `max_prepared_transactions = 0`: the exactly-once sink refuses
//! to start and says why. The server is a scratch cluster of this test (the
//! services' server allows prepared transactions), made with the PostgreSQL
//! binaries `scripts/services.sh` installs.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use weir::connector_api::sink::{Sink, SinkContext};
use weir::core::SubtaskInfo;
use weir_connector_postgres::{PostgresSink, RowMapper};

const PORT: u16 = 15433;

fn bindir() -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL's binaries (scripts/services.sh install postgres)")
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").is_file())
        .collect();
    dirs.sort();
    dirs.pop().expect("no /usr/lib/postgresql/*/bin/initdb")
}

/// `program` as an ordinary user when we are root (postgres refuses root), as
/// `scripts/services.sh` runs it.
fn command(program: &Path) -> Command {
    if !rustix::process::getuid().is_root() {
        return Command::new(program);
    }
    let id = |flag: &str| {
        Command::new("id")
            .args([flag, "postgres"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "1".to_string())
    };
    let mut command = Command::new("unshare");
    command
        .arg("--user")
        .arg(format!("--map-user={}", id("-u")))
        .arg(format!("--map-group={}", id("-g")))
        .arg(program);
    command
}

struct Scratch(Child);

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.0.id() as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::INT);
        }
        let _ = self.0.wait();
    }
}

#[test]
fn the_exactly_once_sink_refuses_a_server_without_prepared_transactions() {
    let _server = common::shared_server();
    // The services' server is not needed, but its installation is.
    common::server();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let bin = bindir();
    let status = command(&bin.join("initdb"))
        .args(["-U", "weir", "--auth=trust", "--no-instructions", "-D"])
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "initdb failed");
    let server = Scratch(
        command(&bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-c", &format!("port={PORT}"), "-c", "listen_addresses=127.0.0.1"])
            .args([
                "-c",
                "unix_socket_directories=",
                "-c",
                "max_prepared_transactions=0",
                "-c",
                "fsync=off",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let url = format!("postgres://weir@127.0.0.1:{PORT}/postgres");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut client = loop {
        match postgres::Client::connect(&url, postgres::NoTls) {
            Ok(client) => break client,
            Err(e) => {
                assert!(Instant::now() < deadline, "the scratch server did not start: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    client.batch_execute("CREATE TABLE t (id bigint, v text)").unwrap();
    let sink = PostgresSink::builder::<(i64, String)>(&url, "t")
        .unwrap()
        .columns(["id", "v"])
        .row(RowMapper::new(|(id, v): &(i64, String)| {
            vec![(*id).into(), v.as_str().into()]
        }))
        .exactly_once()
        .unwrap();
    let error = match sink.create_writer(&SinkContext {
        info: SubtaskInfo::new("postgres", 0, 1, 128),
        checkpointing: true,
        restored: None,
    }) {
        Ok(_) => panic!("the sink started without prepared transactions"),
        Err(e) => e.to_string(),
    };
    assert!(
        error.contains("postgres exactly-once sink 't' at 127.0.0.1:15433/postgres as weir")
            && error.contains("max_prepared_transactions = 0")
            && error.contains("sink.semantic = 'upsert'"),
        "{error}"
    );
    drop(server);
}
