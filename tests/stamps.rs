//! Results that know their model: the model version and the scenario fingerprint in the
//! command line's outputs, and artefacts made on another model reported (or refused with
//! `--strict`).

mod common;

use common::{handoff, json, stderr, stdout, temp_dir};
use handoff::env::{MODEL_VERSION, Scenario};

#[test]
fn version_and_scenarios_name_the_model_and_each_fingerprint() {
    let o = handoff(&["--version"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let taobao = Scenario::builtin("taobao").unwrap().fingerprint();
    let line = stdout(&o);
    assert!(
        line.starts_with(&format!("handoff {}", env!("CARGO_PKG_VERSION")))
            && line.contains(&format!("model version {MODEL_VERSION}"))
            && line.contains(&taobao),
        "{line}"
    );
    let listed = json(&handoff(&["scenarios", "--json"]));
    for entry in listed.as_array().unwrap() {
        let name = entry["name"].as_str().unwrap();
        let fingerprint = Scenario::builtin(name).unwrap().fingerprint();
        assert_eq!(entry["scenario_fingerprint"], fingerprint.as_str(), "{name}");
        assert_eq!(entry["model_version"], MODEL_VERSION);
    }
}

#[test]
fn json_reports_carry_the_stamp_of_the_scenario_they_ran() {
    let mut small = Scenario::builtin("small").unwrap();
    small.days = 1;
    let expected = serde_json::json!({
        "model_version": MODEL_VERSION,
        "scenario_fingerprint": small.scaled(0.5).fingerprint(),
    });
    let o = handoff(&[
        "eval",
        "--scenario",
        "small",
        "--days",
        "1",
        "--scale",
        "0.5",
        "--seeds",
        "1",
        "--policy",
        "c-mu",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(json(&o)["model"], expected);
    let o = handoff(&["simulate", "--scenario", "small", "--days", "1", "--json"]);
    assert_eq!(json(&o)["model"]["scenario_fingerprint"], small.fingerprint().as_str());
}

/// A shipped tuned policy's text with its recorded model version replaced by `version`.
fn policy_stamped(version: u32) -> String {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/surge-c-mu.toml"),
    )
    .unwrap();
    let recorded = format!("model_version = {MODEL_VERSION}\n");
    assert!(text.contains(&recorded), "the shipped file records today's model");
    text.replace(&recorded, &format!("model_version = {version}\n"))
}

#[test]
fn a_policy_file_tuned_on_another_model_warns_and_strict_refuses_it() {
    let dir = temp_dir("stale-policy");
    let path = dir.join("old.toml");
    std::fs::write(&path, policy_stamped(MODEL_VERSION + 1)).unwrap();
    let file = path.to_str().unwrap();
    let eval = |extra: &[&str]| {
        let mut args = vec!["eval", "--scenario", "surge", "--seeds", "1"];
        args.extend_from_slice(&["--policy", file]);
        args.extend_from_slice(extra);
        handoff(&args)
    };
    let o = eval(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let warning = stderr(&o);
    assert!(
        warning.starts_with(&format!(
            "warning: {file} was made on model version {}",
            MODEL_VERSION + 1
        )) && warning.contains(&format!("(today's is {MODEL_VERSION})"))
            && warning.lines().count() == 1,
        "{warning}"
    );
    let o = eval(&["--strict"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("refused with --strict"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    // today's stamp: no word
    std::fs::write(&path, policy_stamped(MODEL_VERSION)).unwrap();
    let o = eval(&["--strict"]);
    assert!(o.status.success() && stderr(&o).is_empty(), "{}", stderr(&o));
}

#[test]
fn a_checkpoint_of_a_changed_scenario_or_another_model_warns_and_strict_refuses_it() {
    let dir = temp_dir("stale-checkpoint");
    let scenario = dir.join("centre.toml");
    std::fs::write(&scenario, "base = \"small\"\ndays = 1\n").unwrap();
    let config = dir.join("tiny.toml");
    std::fs::write(
        &config,
        format!(
            "algo = \"ppo\"\nscenario = \"{}\"\nscale = 0.1\nenvs = 2\nhidden = 8\nsteps = 256\neval_seeds = 1\n\
             [ppo]\nnum_steps = 64\n",
            scenario.display()
        ),
    )
    .unwrap();
    let run = dir.join("run");
    let (config_s, run_s) = (config.to_str().unwrap(), run.to_str().unwrap());
    let o = handoff(&["train", "--config", config_s, "--run-dir", run_s, "--test-seeds", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let policy = format!("ckpt:{run_s}");
    let scenario_s = scenario.to_str().unwrap();
    let eval = |extra: &[&str]| {
        let mut args = vec!["eval", "--scenario", scenario_s, "--seeds", "1", "--policy", &policy];
        args.extend_from_slice(extra);
        handoff(&args)
    };
    let o = eval(&["--strict"]);
    assert!(o.status.success() && stderr(&o).is_empty(), "fresh: {}", stderr(&o));

    // the centre's file changes after training: its fingerprint no longer matches
    let before = Scenario::load(scenario_s).unwrap().fingerprint();
    std::fs::write(&scenario, "base = \"small\"\ndays = 1\n[customers]\nfrustration_mean = 0.3\n")
        .unwrap();
    let after = Scenario::load(scenario_s).unwrap().fingerprint();
    let o = eval(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let warning = stderr(&o);
    assert!(
        warning.contains(&format!("warning: {policy} was made on scenario fingerprint {before}"))
            && warning.contains(&format!("(today's is {after})")),
        "{warning}"
    );
    let o = eval(&["--strict"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));

    // a checkpoint whose stamp names another model version (written as an older release
    // would have, its manifest consistent)
    std::fs::write(&scenario, "base = \"small\"\ndays = 1\n").unwrap();
    let stamp =
        serde_json::json!({"model_version": MODEL_VERSION + 3, "scenario_fingerprint": before});
    let checkpoints = std::fs::read_dir(run.join("checkpoints")).unwrap();
    let mut dirs: Vec<_> = checkpoints.map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.push(run.join("best"));
    for dir in dirs.iter().filter(|d| d.join("manifest.json").exists()) {
        restamp(dir, &stamp.to_string());
    }
    let o = eval(&["--strict"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o)
            .contains(&format!("model version {} (today's is {MODEL_VERSION})", MODEL_VERSION + 3)),
        "{}",
        stderr(&o)
    );
    let listed = json(&handoff(&["runs", "--root", dir.to_str().unwrap(), "--json"]));
    let mismatch = listed[0]["model_mismatch"].as_str().unwrap_or_default();
    assert!(mismatch.contains(&format!("model version {}", MODEL_VERSION + 3)), "{listed}");
}

/// Rewrites a checkpoint's `model.json` and its manifest entry, as a checkpoint written by
/// another release with a valid manifest.
fn restamp(checkpoint: &std::path::Path, stamp: &str) {
    std::fs::write(checkpoint.join("model.json"), stamp).unwrap();
    let path = checkpoint.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for entry in manifest["files"].as_array_mut().unwrap() {
        if entry[0] == "model.json" {
            entry[1] = crc32fast::hash(stamp.as_bytes()).into();
        }
    }
    std::fs::write(&path, manifest.to_string()).unwrap();
}
