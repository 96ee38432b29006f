//! Golden outputs: `handoff simulate` on the study's arms reproduces, byte for byte, the JSON the
//! files in `tests/golden/` hold, so that a change which moves the study's numbers cannot pass
//! unnoticed. `git log tests/golden` says when and why each was last written (the last time: a
//! new `staffing` section, values unchanged). A deliberate change of the model regenerates them
//! with `HANDOFF_BLESS=1 cargo test --test golden` and says why in its own commit.

mod common;

use common::{handoff, stderr};

/// (golden file, arguments of `handoff simulate`): runs with long queues at shift changes, where
/// the order in which workers take queued chats shows.
const CASES: &[(&str, &[&str])] = &[
    ("simulate-taobao-3d-seed2.json", &["--scenario", "taobao", "--days", "3", "--seed", "2"]),
    ("simulate-taobao-3d-seed3.json", &["--scenario", "taobao", "--days", "3", "--seed", "3"]),
    ("simulate-surge.json", &["--scenario", "surge"]),
    ("simulate-understaffed-seed4.json", &["--scenario", "understaffed", "--seed", "4"]),
];

#[test]
fn simulate_reproduces_the_golden_outputs() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let bless = std::env::var_os("HANDOFF_BLESS").is_some();
    for (file, args) in CASES {
        let mut full = vec!["simulate", "--json"];
        full.extend_from_slice(args);
        let o = handoff(&full);
        assert!(o.status.success(), "{}", stderr(&o));
        let path = dir.join(file);
        if bless {
            std::fs::write(&path, &o.stdout).unwrap();
            continue;
        }
        let golden = std::fs::read(&path).unwrap();
        assert!(
            o.stdout == golden,
            "`handoff simulate --json {}` differs from tests/golden/{file}",
            args.join(" ")
        );
    }
}
