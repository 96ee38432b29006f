//! Faults while writing outputs: a process killed (SIGKILL) in the middle of a write, and a
//! disk that fills up (a file-size limit, `ulimit -f`, makes every write past it fail as a full
//! disk would). Either the earlier file or the complete new one is left, never half of one.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{handoff, stderr, temp_dir};

/// What an output held before the run that failed to replace it.
const OLD: &str = "an earlier output\n";

/// Runs the binary through `sh` with files limited to `limit_kib` KiB, as on a disk with that
/// much room left; the limit's signal is ignored, so writes fail with an error instead.
fn handoff_with_room(limit_kib: u64, args: &[&str]) -> Output {
    let script = format!("trap '' XFSZ; ulimit -f {limit_kib}; exec \"$0\" \"$@\"");
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_handoff"))
        .args(args)
        .output()
        .expect("sh runs")
}

/// The files in `dir` other than `keep`: temporary files left behind.
fn leftovers(dir: &Path, keep: &[&str]) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !keep.contains(&n.as_str()))
        .collect()
}

#[test]
fn a_full_disk_fails_with_exit_1_and_leaves_earlier_outputs_as_they_were() {
    let dir = temp_dir("full");
    let csv = dir.join("chats.csv");
    std::fs::write(&csv, OLD).unwrap();
    let o =
        handoff_with_room(64, &["simulate", "--scenario", "small", "--csv", csv.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("chats.csv"), "the message names the file: {}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), OLD);
    assert!(leftovers(&dir, &["chats.csv"]).is_empty(), "{:?}", leftovers(&dir, &["chats.csv"]));

    // eval's outputs are written all or nothing: the small JUnit file fits, the CSV does not
    let (out_csv, junit) = (dir.join("eval.csv"), dir.join("eval.xml"));
    for path in [&out_csv, &junit] {
        std::fs::write(path, OLD).unwrap();
    }
    let o = handoff_with_room(
        2,
        &[
            "eval",
            "--scenario",
            "small",
            "--seeds",
            "5",
            "--csv",
            out_csv.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("eval.csv"), "{}", stderr(&o));
    for path in [&out_csv, &junit] {
        assert_eq!(std::fs::read_to_string(path).unwrap(), OLD, "{}", path.display());
    }
    let keep = ["chats.csv", "eval.csv", "eval.xml"];
    assert!(leftovers(&dir, &keep).is_empty(), "{:?}", leftovers(&dir, &keep));
}

#[test]
fn a_simulation_killed_while_writing_its_csv_leaves_the_old_file_or_the_whole_new_one() {
    let dir = temp_dir("killcsv");
    let csv = dir.join("chats.csv");
    let args = ["simulate", "--scenario", "taobao", "--days", "1", "--csv", csv.to_str().unwrap()];
    let o = handoff(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let whole = std::fs::read(&csv).unwrap();
    let (mut old_kept, mut new_whole) = (0, 0);
    for attempt in 0..10u64 {
        std::fs::write(&csv, OLD).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_handoff"))
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // moments spread over the run, the rename at its end included
        let wait = Duration::from_millis(100 + attempt * 150);
        let started = Instant::now();
        while started.elapsed() < wait && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = child.kill();
        child.wait().unwrap();
        let now = std::fs::read(&csv).unwrap();
        if now == OLD.as_bytes() {
            old_kept += 1;
        } else {
            assert!(now == whole, "attempt {attempt}: a partial file of {} bytes", now.len());
            new_whole += 1;
        }
    }
    assert!(old_kept > 0, "no kill landed before the end ({new_whole} finished)");
}

/// Starts the binary with `args`, presses Ctrl-C (SIGINT) after `after`, and returns its output.
fn interrupted(args: &[&str], after: Duration) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_handoff"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    child.wait_with_output().unwrap()
}

#[test]
fn ctrl_c_stops_eval_and_a_fit_cleanly_saying_nothing_was_written() {
    let dir = temp_dir("ctrlc");
    let (csv, fitted) = (dir.join("eval.csv"), dir.join("fitted.toml"));
    std::fs::write(&csv, OLD).unwrap();
    std::fs::write(&fitted, OLD).unwrap();
    let cases: [(Vec<&str>, &Path); 2] = [
        (
            vec!["eval", "--scenario", "taobao", "--seeds", "500", "--csv", csv.to_str().unwrap()],
            &csv,
        ),
        (
            vec!["calibrate", "--fit", "--fit-out", fitted.to_str().unwrap(), "--seeds", "50"],
            &fitted,
        ),
    ];
    for (args, output) in cases {
        let o = interrupted(&args, Duration::from_millis(1500));
        assert_eq!(o.status.code(), Some(130), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("interrupted: ") && err.contains("no output was written"), "{err}");
        assert_eq!(std::fs::read_to_string(output).unwrap(), OLD);
    }
    let keep = ["eval.csv", "fitted.toml"];
    assert!(leftovers(&dir, &keep).is_empty(), "{:?}", leftovers(&dir, &keep));
}
