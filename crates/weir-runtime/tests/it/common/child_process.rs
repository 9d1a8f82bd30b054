//! Running one test alone in a child process of this test binary, for tests that
//! must change what is process-wide (environment variables, the current
//! directory): the other tests of the binary run in threads of the same process,
//! and `std::env::set_var` or `set_current_dir` would race with them.

use std::process::Command;

/// Set (to the test's name) in the child process a test runs in.
const CHILD: &str = "WEIR_RUNTIME_TEST_CHILD";

/// The libtest name of the test function `function` of the module `module`
/// (`module_path!()`): the path without the crate, `s3_storage::the_test`.
pub fn test_name(module: &str, function: &str) -> String {
    match module.split_once("::") {
        Some((_, path)) => format!("{path}::{function}"),
        None => function.to_string(),
    }
}

/// True in the child process [`run_alone`] started for the test `name`.
pub fn is_child(name: &str) -> bool {
    std::env::var_os(CHILD).is_some_and(|v| v == name)
}

/// Runs the test `name` (see [`test_name`]) alone in a new process of this test
/// binary, with `vars` added to its environment, and panics with the child's
/// output unless that test ran there and passed.
pub fn run_alone(name: &str, vars: &[(&str, String)]) {
    let exe = std::env::current_exe().unwrap();
    let mut command = Command::new(&exe);
    command
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD, name);
    for (key, value) in vars {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    print!("{stdout}");
    eprint!("{stderr}");
    assert!(
        output.status.success(),
        "{name} failed in its child process ({})",
        output.status
    );
    // A filter matching nothing passes too: make sure the test really ran.
    assert!(
        stdout.contains("test result: ok. 1 passed"),
        "{name} did not run in the child process {}",
        exe.display()
    );
}
