//! `handoff calibrate`: the shipped scenario reproduces the study at reduced scale, the report's
//! formats, exit codes, and the fit.

mod common;

use common::{handoff, json, temp_dir};

use handoff::env::Scenario;

/// The one target the simulator does not reproduce: the rating spillover to AI-ineligible chats,
/// marked `known_gap` in calibration/targets.toml. The gate checks that it still fails, so that a
/// change that reproduces it is noticed and the mark removed.
const KNOWN_GAP: &str = "rating_ineligible";

/// The calibration gate of CI: the study scenario at half its workers and arrivals (the same
/// load per worker) for 3 days and 8 seeds, with tolerances widened by 3 standard errors of the
/// estimates to allow for the smaller sample.
#[test]
fn the_study_scenario_meets_every_target_but_the_known_gap_at_reduced_scale() {
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
    let v = json(&o);
    let targets = v["targets"].as_array().unwrap();
    let failed: Vec<String> = targets
        .iter()
        .filter(|t| t["pass"] == false && t["name"] != KNOWN_GAP)
        .map(|t| {
            format!(
                "{} = {} (study {}, tolerance {})",
                t["name"], t["simulated"], t["study"], t["tolerance"]
            )
        })
        .collect();
    assert!(failed.is_empty(), "failed targets: {failed:#?}");
    let gaps: Vec<&serde_json::Value> =
        targets.iter().filter(|t| t.get("known_gap").is_some()).collect();
    assert_eq!(gaps.len(), 1, "one known gap: {gaps:?}");
    assert_eq!(gaps[0]["name"], KNOWN_GAP);
    assert_eq!(gaps[0]["pass"], false, "the known gap passes now: remove its mark");
    assert_eq!(v["pass"], true, "a known gap does not fail the run");
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    // the text shows the gap in a section of its own, with its numbers and its reason (a small
    // run: the layout does not depend on the sample)
    let small = ["calibrate", "--scale", "0.1", "--days", "1", "--seeds", "2"];
    let text = String::from_utf8(handoff(&small).stdout).unwrap();
    let (checked, gap) = text.split_once("known gaps:").expect("a known-gaps section");
    assert!(!checked.contains("AI-ineligible (stars)"), "{checked}");
    assert!(gap.contains("rating, AI-ineligible (stars)") && gap.contains("FAIL"), "{gap}");
    assert!(gap.contains("not painted on"), "{gap}");
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
    let v = json(&o);
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

/// `calibrate` on `small`, one seed, with `extra` arguments and fits (refits) of one seed of one
/// day at full scale in at most `evaluations` evaluations.
fn quick_fit<'a>(extra: &[&'a str], evaluations: &'a str) -> Vec<&'a str> {
    let mut args = vec!["calibrate", "--scenario", "small", "--seeds", "1"];
    args.extend_from_slice(extra);
    args.extend(["--fit-scale", "1", "--fit-days", "1", "--fit-seeds", "1"]);
    args.extend(["--fit-evaluations", evaluations]);
    args
}

#[test]
fn the_fit_writes_a_valid_scenario_and_does_not_get_worse() {
    let dir = temp_dir("fit");
    let out = dir.join("fitted.toml");
    let o = handoff(&quick_fit(&["--fit", "--fit-out", out.to_str().unwrap()], "25"));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let line = stdout.lines().find(|l| l.starts_with("fit: distance")).expect("the fit reports");
    let numbers: Vec<f64> =
        line.split_whitespace().filter_map(|w| w.trim_end_matches(';').parse().ok()).collect();
    assert!(numbers[1] <= numbers[0], "{line}");
    let fitted = Scenario::load(out.to_str().unwrap()).expect("the fitted scenario loads");
    assert_eq!(fitted.workers.count, Scenario::builtin("small").unwrap().workers.count);
    assert!(line.contains("CMA-ES with restarts") && line.contains("search seed 0"), "{line}");
    // the search seed is the fit's only randomness: the same seed repeats it bit for bit
    let again = dir.join("again.toml");
    let seeded = |path: &std::path::Path| {
        let out = path.to_str().unwrap();
        handoff(&quick_fit(&["--fit", "--fit-out", out, "--fit-search-seed", "7"], "25"));
        std::fs::read(path).unwrap()
    };
    assert_eq!(seeded(&out), seeded(&again), "a seeded fit repeats");
    // --json carries the fit's result beside the report
    let o = handoff(&quick_fit(&["--fit", "--fit-out", out.to_str().unwrap(), "--json"], "25"));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let fit = &v["fit"];
    let (before, after) =
        (fit["distance_before"].as_f64().unwrap(), fit["distance_after"].as_f64().unwrap());
    // the same fit as the text's (same search seed), which prints two decimals
    assert!((before - numbers[0]).abs() < 0.005 && (after - numbers[1]).abs() < 0.005, "{fit}");
    assert_eq!(
        fit["parameters"].as_array().unwrap().len(),
        handoff::eval::fit::FREE_PARAMETERS.len(),
        "{fit}"
    );
    assert!(v["targets"].is_array(), "the report is there too");
    // a local refinement says so and does not get worse either
    let o = handoff(&quick_fit(
        &[
            "--fit",
            "--fit-out",
            out.to_str().unwrap(),
            "--fit-search",
            "local",
            "--fit-step",
            "0.01",
        ],
        "12",
    ));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let line = stdout.lines().find(|l| l.starts_with("fit: distance")).expect("the fit reports");
    let numbers: Vec<f64> =
        line.split_whitespace().filter_map(|w| w.trim_end_matches(';').parse().ok()).collect();
    assert!(numbers[1] <= numbers[0], "{line}");
    assert!(line.contains("steps of 0.01 of each range") && !line.contains("hypercube"), "{line}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_fit_from_the_centre_starts_at_the_middle_of_every_range() {
    let dir = temp_dir("fit-centre");
    let out = dir.join("fitted.toml");
    let fit = ["--fit", "--fit-start", "centre", "--fit-out", out.to_str().unwrap()];
    let o = handoff(&quick_fit(&fit, "2"));
    let stdout = String::from_utf8_lossy(&o.stdout);
    for (parameter, lo, hi) in handoff::eval::fit::FREE_PARAMETERS {
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{parameter}:")))
            .unwrap_or_else(|| panic!("{parameter} is not reported: {stdout}"));
        let start: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        assert!((start - (lo + hi) / 2.0).abs() < 1e-4, "{line}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bad_calibrate_arguments_exit_2() {
    assert_eq!(handoff(&["calibrate", "--seeds", "0"]).status.code(), Some(2));
    assert_eq!(handoff(&["calibrate", "--scale", "-1"]).status.code(), Some(2));
    assert_eq!(handoff(&["calibrate", "--scenario", "nope"]).status.code(), Some(2));
    assert_eq!(handoff(&["calibrate", "--fit-start", "nowhere"]).status.code(), Some(2));
    assert_eq!(handoff(&["calibrate", "--fit-search", "everywhere"]).status.code(), Some(2));
    // a first step only the local search takes, in its range
    for step in [["--fit-step", "0.01"].as_slice(), &["--fit-search", "local", "--fit-step", "0"]] {
        let o = handoff(&[&["calibrate", "--fit"], step].concat());
        assert_eq!(o.status.code(), Some(2), "{step:?}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("--fit-step"), "{step:?}");
    }
}

/// Both arms on the same customers with the same policy are the same run: every effect the
/// study's estimators report is exactly zero (common random numbers), and the report names the
/// arms.
#[test]
fn the_same_policy_in_both_arms_has_no_effect_at_all() {
    let o = handoff(&[
        "calibrate",
        "--scenario",
        "small",
        "--seeds",
        "2",
        "--control",
        "study-treatment@takeover_frustration=0.5",
        "--treatment",
        "study-treatment@takeover_frustration=0.5",
        "--json",
    ]);
    let v = json(&o);
    assert_eq!(v["arms"]["treatment"], "study-treatment@takeover_frustration=0.5");
    let effects: Vec<&serde_json::Value> = v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| {
            let name = t["name"].as_str().unwrap();
            // levels of one arm (its escalation mix, its takeovers' triggers, the control's
            // rates, one escalation type against another), not differences between the arms
            !["mix_", "takeover_", "control_"].iter().any(|p| name.starts_with(p))
                && !name.contains("_vs_")
        })
        // an escalation type the two seeds do not have (an emotional chat rated, say) is
        // measured as nothing, not as zero
        .filter(|t| !t["simulated"].is_null())
        .collect();
    assert!(effects.len() >= 20, "{} effects", effects.len());
    for t in effects {
        assert_eq!(t["simulated"], 0.0, "{t}");
    }
}

#[test]
fn bad_arms_are_refused_before_anything_runs() {
    for (args, expected) in [
        (&["--treatment", "nope"][..], "--treatment: unknown policy \"nope\""),
        (&["--control", "study-control@max_chats=9"], "max_chats = 9 is out of range"),
        (&["--treatment", "ckpt:runs/x"], "compare a trained policy with `handoff eval`"),
        (&["--control", "c-mu", "--fit"], "--fit, --sensitivity and --cross-validate"),
    ] {
        let o = handoff(&[&["calibrate", "--scenario", "small"][..], args].concat());
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn sensitivity_and_cross_validation_are_reported_in_json() {
    let o =
        handoff(&quick_fit(&["--days", "1", "--sensitivity", "--cross-validate", "--json"], "3"));
    let v = json(&o);
    let s = &v["sensitivity"];
    let targets = s["targets"].as_array().unwrap().len();
    assert_eq!(targets, handoff::eval::calibration::Targets::builtin().targets.len());
    let rows = s["rows"].as_array().unwrap();
    assert_eq!(rows.len(), handoff::eval::fit::FREE_PARAMETERS.len());
    assert!(rows.iter().all(|r| r["effects"].as_array().unwrap().len() == targets));
    let cv = v["cross_validation"].as_array().unwrap();
    assert_eq!(cv.len(), handoff::eval::fit::FAMILIES.len(), "one refit per family");
    let predicted: usize = cv.iter().map(|h| h["predictions"].as_array().unwrap().len()).sum();
    assert_eq!(predicted, targets, "every target is predicted once, by the refit without it");
}
