//! Helpers the integration tests share: running the binary and a scratch directory per test.
// each test crate uses its own subset of these
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs the `handoff` binary with `args` and waits for it.
pub fn handoff(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_handoff")).args(args).output().expect("the binary runs")
}

/// Runs the `handoff` binary with `args` in the working directory `dir`.
pub fn handoff_in(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_handoff"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

/// What the run printed on standard output.
pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// What the run printed on standard error.
pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// Standard output parsed as JSON; a panic names the parse error and what the run printed on
/// standard error.
pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)))
}

/// An empty scratch directory of its own, named after the test crate, this process, a count of
/// the calls and `name`: the count keeps two tests that pick the same name (they run on parallel
/// threads) out of each other's files.
pub fn temp_dir(name: &str) -> PathBuf {
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "handoff-{}-{}-{call}-{name}",
        env!("CARGO_CRATE_NAME"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
