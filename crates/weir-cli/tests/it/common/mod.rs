//! Helpers shared by the tests that run the `weir` binary.

#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The `weir` binary under test.
pub const WEIR: &str = env!("CARGO_BIN_EXE_weir");

/// How long a test waits for something that should happen in well under a second.
pub const PATIENCE: Duration = Duration::from_secs(120);

/// A `weir demo` running in a child process (killed if the test ends early).
pub struct Demo {
    child: Child,
    /// Its job's id.
    pub id: String,
    /// Its REST API's URL.
    pub url: String,
    /// Its standard output after the REST announcement, line by line as it comes.
    pub output: mpsc::Receiver<String>,
    /// What it printed before the REST announcement.
    pub preamble: Vec<String>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Demo {
    /// Starts `weir demo <args>`, serving its REST API on a free loopback port unless
    /// `args` names `--rest-bind`, and waits until it announces the API.
    pub fn start(args: &[&str]) -> Demo {
        Self::start_with_env(args, &[])
    }

    /// Like [`start`](Self::start), with extra environment variables.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Demo {
        let mut command = Command::new(WEIR);
        command.arg("demo").args(args);
        if !args.contains(&"--rest-bind") {
            command.args(["--rest-bind", "127.0.0.1:0"]);
        }
        command.env_remove("WEIR_REST_TOKEN");
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start weir demo");
        let stdout = child.stdout.take().expect("piped stdout");
        let (lines, output) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let mut preamble = Vec::new();
        for line in output.iter() {
            // "job <id> · REST API at <url>"
            if let Some((job, url)) = line.split_once(" · REST API at ") {
                let id = job.trim_start_matches("job ").to_string();
                let url = url.split_whitespace().next().unwrap_or_default().to_string();
                return Demo {
                    child,
                    id,
                    url,
                    output,
                    preamble,
                };
            }
            preamble.push(line);
        }
        let status = child.wait().ok();
        panic!(
            "weir demo ended ({status:?}) without announcing its REST API:\n{}",
            preamble.join("\n")
        );
    }

    /// Waits for the demo to end; its exit status and the rest of its output.
    pub fn finish(mut self) -> (ExitStatus, String) {
        let status = self.child.wait().unwrap();
        // The reader ends with the child's stdout.
        let rest: Vec<String> = self.output.iter().collect();
        (status, rest.join("\n"))
    }
}

/// Runs `weir <args>` to completion (without a token in the environment).
pub fn weir(args: &[&str]) -> Output {
    weir_with_env(args, &[])
}

/// Runs `weir <args>` to completion with extra environment variables.
pub fn weir_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(WEIR);
    command.args(args).env_remove("WEIR_REST_TOKEN");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run weir")
}

/// Standard output and standard error of `output`, together.
pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The path after `prefix` on the line of `output` that has it.
pub fn path_after(output: &str, prefix: &str) -> PathBuf {
    let line = output
        .lines()
        .find_map(|l| l.split_once(prefix).map(|(_, rest)| rest.to_string()))
        .unwrap_or_else(|| panic!("no '{prefix}' in:\n{output}"));
    PathBuf::from(line.split(" (").next().unwrap_or(&line).trim())
}

/// Runs `weir <args>` to completion with `input` on its standard input (a pipe).
pub fn weir_with_input(args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(WEIR)
        .args(args)
        .env_remove("WEIR_REST_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start weir");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.to_string();
    // Written from a thread: the child's output is read at the same time.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("run weir");
    writer.join().expect("writer thread").expect("write weir's input");
    output
}
