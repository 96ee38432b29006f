//! `handoff calibrate`: the shipped scenario reproduces the study at reduced scale, the report's
//! formats, exit codes, and the fit.

mod common;

use common::{handoff, temp_dir};

use handoff::env::Scenario;

/// The calibration gate of CI: the study scenario at half its workers and arrivals (the same
/// load per worker) for 3 days and 8 seeds, with tolerances widened by 3 standard errors of the
/// estimates to allow for the smaller sample.
#[test]
fn the_study_scenario_meets_every_target_at_reduced_scale() {
    let o = handoff(&[
        "calibrate",
        "--scale",
        "0.5",
        "--days",
        "3",
        "--seeds",
        "8",
        "--widen",
        "3",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    let failed: Vec<String> = v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["pass"] == false)
        .map(|t| {
            format!(
                "{} = {} (study {}, tolerance {})",
                t["name"], t["simulated"], t["study"], t["tolerance"]
            )
        })
        .collect();
    assert!(failed.is_empty(), "failed targets: {failed:#?}");
    assert_eq!(v["pass"], true);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn a_failing_calibration_exits_1_with_the_documented_json_and_an_svg() {
    let dir = temp_dir("svg");
    let svg = dir.join("curves.svg");
    let o = handoff(&[
        "calibrate",
        "--scenario",
        "small",
        "--seeds",
        "2",
        "--json",
        "--svg",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["pass"], false);
    let targets = v["targets"].as_array().unwrap();
    for t in targets.iter().filter(|t| !t["study"].is_null()) {
        for key in ["name", "study", "simulated", "ci_low", "ci_high", "tolerance", "pass"] {
            assert!(t.get(key).is_some(), "{key} missing in {t}");
        }
    }
    assert!(targets.iter().any(|t| t["study"].is_null()), "non-targets are reported too");
    let curves = v["curves"].as_array().unwrap();
    assert_eq!(curves.len(), 10, "5 delay buckets for technical and emotional escalations");
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg") && text.trim_end().ends_with("</svg>"));
    assert!(text.contains("worker effort") && text.contains("emotional"));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn the_fit_writes_a_valid_scenario_and_does_not_get_worse() {
    let dir = temp_dir("fit");
    let out = dir.join("fitted.toml");
    let o = handoff(&[
        "calibrate",
        "--scenario",
        "small",
        "--seeds",
        "1",
        "--fit",
        "--fit-out",
        out.to_str().unwrap(),
        "--fit-scale",
        "1",
        "--fit-days",
        "1",
        "--fit-seeds",
        "1",
        "--fit-evaluations",
        "25",
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    let line = stdout.lines().find(|l| l.starts_with("fit: distance")).expect("the fit reports");
    let numbers: Vec<f64> =
        line.split_whitespace().filter_map(|w| w.trim_end_matches(';').parse().ok()).collect();
    assert!(numbers[1] <= numbers[0], "{line}");
    let fitted = Scenario::load(out.to_str().unwrap()).expect("the fitted scenario loads");
    assert_eq!(fitted.workers.count, Scenario::builtin("small").unwrap().workers.count);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bad_calibrate_arguments_exit_2() {
    assert_eq!(handoff(&["calibrate", "--seeds", "0"]).status.code(), Some(2));
    assert_eq!(handoff(&["calibrate", "--scale", "-1"]).status.code(), Some(2));
    assert_eq!(handoff(&["calibrate", "--scenario", "nope"]).status.code(), Some(2));
}
