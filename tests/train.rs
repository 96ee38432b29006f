//! `handoff train` through the binary: a short run, its closing comparison, resuming, and
//! evaluating the checkpoint beside the heuristics.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{handoff, handoff_in, stderr, stdout, temp_dir};

/// A configuration that trains in seconds.
const TINY: &str = "algo = \"ppo\"\nscenario = \"small\"\nscale = 0.1\nenvs = 2\nhidden = 8\nsteps = 512\n\
                    eval_seeds = 1\n[ppo]\nnum_steps = 64\n";

#[test]
fn each_run_gets_a_new_directory_and_runs_latest_follows_the_newest() {
    let dir = temp_dir("numbered");
    std::fs::write(dir.join("tiny.toml"), TINY).unwrap();
    for expected in ["runs/run-001", "runs/run-002"] {
        let o = handoff_in(&dir, &["train", "--config", "tiny.toml", "--test-seeds", "1"]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(
            stdout(&o).contains(&format!("checkpoint {expected}/checkpoints/")),
            "{}",
            stdout(&o)
        );
    }
    let latest = std::fs::read_link(dir.join("runs/latest")).unwrap();
    assert_eq!(latest, std::path::Path::new("run-002"));
    // --resume without a directory continues the newest run (complete here)
    let o = handoff_in(&dir, &["train", "--resume", "--test-seeds", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("the run in runs/run-002 is already complete"), "{}", stdout(&o));
}

#[test]
fn ctrl_c_stops_training_with_a_checkpoint_and_says_how_to_resume() {
    let dir = temp_dir("interrupt");
    let config = dir.join("long.toml");
    std::fs::write(&config, TINY.replace("steps = 512", "steps = 100000000")).unwrap();
    let run = dir.join("run");
    let child = Command::new(env!("CARGO_BIN_EXE_handoff"))
        .args(["train", "--config", config.to_str().unwrap(), "--run-dir", run.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // wait until training has started (its configuration is saved), then press Ctrl-C
    let started = Instant::now();
    while !run.join("config.toml").exists() {
        assert!(started.elapsed() < Duration::from_secs(120), "training did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("continue with: handoff train --run-dir"), "{err}");
    assert!(!err.contains("error:"), "a stop the user asked for is not an error: {err}");
    // the tiny replica is named: small's 28 workers at scale 0.1 are 3
    assert!(err.contains("warning: small has 28 workers, so scale 0.1 trains on a centre of 3"));
    assert!(run.join("checkpoints/latest").exists(), "the stop wrote a checkpoint");
}

#[test]
fn a_short_run_trains_checkpoints_and_compares_with_the_heuristics() {
    let dir = temp_dir("short");
    let config = dir.join("tiny.toml");
    std::fs::write(
        &config,
        "algo = \"ppo\"\nscenario = \"small\"\nscale = 0.1\nenvs = 2\nhidden = 8\nsteps = 1024\n\
         eval_seeds = 1\n[ppo]\nnum_steps = 64\n",
    )
    .unwrap();
    let run = dir.join("run");
    let (config, run_s) = (config.to_str().unwrap(), run.to_str().unwrap());
    let o = handoff(&["train", "--config", config, "--run-dir", run_s, "--test-seeds", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains("trained ppo for 1024 steps"), "{out}");
    assert!(out.contains(&format!("| ckpt:{run_s} |")), "{out}");
    assert!(out.contains("| c-mu |") && out.contains("| study-treatment |"), "{out}");
    let curve = std::fs::read_to_string(run.join("curve.svg")).unwrap();
    assert!(curve.starts_with("<svg") && curve.contains("validation"), "a curve is drawn");
    let listed = stdout(&handoff(&["runs", "--root", dir.to_str().unwrap()]));
    assert!(
        listed.contains(run_s) && listed.contains("1024 / 1024") && listed.contains("complete")
    );
    let saved = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(saved.contains("scale = 0.1") && saved.contains("[dqn]"), "{saved}");

    assert!(out.contains("Test on 2 unseen seeds"), "{out}");
    // resuming a finished run keeps its configuration, says the run is complete and shows the
    // comparison it saved, without running it again
    let o = handoff(&["train", "--run-dir", run_s, "--resume", "--test-seeds", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let again = String::from_utf8(o.stdout).unwrap();
    assert!(again.contains("is already complete (1024 steps)"), "{again}");
    assert!(again.contains("Test on 2 unseen seeds") && again.contains("| c-mu |"), "{again}");
    // resuming with other flags is refused
    let o = handoff(&["train", "--run-dir", run_s, "--resume", "--steps", "5"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("saved configuration"), "{}", stderr(&o));
    // a fresh run into a directory that holds one is refused as bad input, the run kept
    let o = handoff(&["train", "--config", config, "--run-dir", run_s]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("already holds a run"), "{}", stderr(&o));
    assert!(run.join("checkpoints").join("latest").exists());

    let policy = format!("ckpt:{run_s}");
    let o = handoff(&[
        "eval",
        "--scenario",
        "small",
        "--seeds",
        "2",
        "--policy",
        &policy,
        "--baseline",
        "random",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["policies"][1]["name"], policy.as_str());
}

#[test]
fn bad_training_input_is_refused_with_a_clear_message() {
    let dir = temp_dir("bad");
    let run = dir.join("run");
    let run = run.to_str().unwrap();
    for (args, needle) in [
        (vec!["--steps", "0"], "'--steps <STEPS>': 0 is out of range (allowed 1 to"),
        (vec!["--control", "route,think"], "\"think\" is not a decision kind"),
        (vec!["--device", "tpu"], "device \"tpu\" is not available"),
        (vec!["--scenario", "nowhere.toml"], "nowhere.toml"),
    ] {
        let o = handoff(&[&["train", "--run-dir", run], &args[..]].concat());
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[ppo]\nlearning_rat = 0.1\n").unwrap();
    let o = handoff(&["train", "--run-dir", run, "--config", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("learning_rat"), "{}", stderr(&o));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    let o = handoff(&["eval", "--scenario", "small", "--policy", "ckpt:/nonexistent/run"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no checkpoint here"), "{}", stderr(&o));
}

#[test]
fn the_shipped_training_configurations_load_and_validate() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let config =
            handoff_training::config::TrainConfig::from_toml(&path.display().to_string(), &text)
                .unwrap_or_else(|e| panic!("{e}"));
        config.validate().unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        handoff_env::Scenario::load(&config.scenario)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        seen += 1;
    }
    assert!(seen > 0, "no configuration in {}", dir.display());
}

/// The row of the trained policy in a closing comparison, without its run directory's name.
fn trained_row(out: &str) -> String {
    let row = out.lines().find(|l| l.starts_with("| ckpt:")).unwrap_or_else(|| panic!("{out}"));
    row.split_once(" |").unwrap().1.to_string()
}

/// The files of the newest checkpoint that hold the trained network and the loop's state.
fn newest_checkpoint(run: &std::path::Path) -> (Vec<u8>, Vec<u8>) {
    let name = std::fs::read_to_string(run.join("checkpoints/latest")).unwrap();
    let dir = run.join("checkpoints").join(name.trim());
    (std::fs::read(dir.join("policy.bpk")).unwrap(), std::fs::read(dir.join("state.json")).unwrap())
}

#[test]
fn a_run_killed_at_any_moment_resumes_to_the_result_of_an_uninterrupted_one() {
    /// Attempts that are killed (unless the run ends first); the one after runs to the end.
    const KILLS: u64 = 12;
    let dir = temp_dir("sigkill");
    let config = dir.join("kill.toml");
    let text = format!("checkpoint_every = 1\neval_every = 3\n{}", TINY.replace("512", "2048"));
    std::fs::write(&config, text).unwrap();
    let config = config.to_str().unwrap();
    let whole = dir.join("whole");
    let whole_s = whole.to_str().unwrap();
    let o = handoff(&["train", "--config", config, "--run-dir", whole_s, "--test-seeds", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let expected = trained_row(&stdout(&o));

    // SIGKILL at moments spread over the run (checkpoint and TensorBoard writes included), each
    // time resuming from whatever the directory holds
    let run = dir.join("killed");
    let run_s = run.to_str().unwrap();
    let (mut kills, mut finished) = (0, None);
    for attempt in 0..=KILLS {
        let mut args = vec!["train", "--run-dir", run_s, "--test-seeds", "1"];
        if run.join("checkpoints/latest").exists() {
            args.push("--resume");
        } else {
            args.extend(["--config", config, "--force"]);
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_handoff"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // a deterministic spread of moments over the half second a whole run takes; the last
        // attempt runs to the end
        let wait = Duration::from_millis(20 + (attempt * 97) % 500);
        let started = Instant::now();
        while attempt < KILLS && started.elapsed() < wait && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(5));
        }
        if attempt < KILLS && child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL: no handler runs
            child.wait().unwrap();
            kills += 1;
            continue;
        }
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "attempt {attempt}: {}", stderr(&o));
        finished = Some(stdout(&o));
        break;
    }
    let out = finished.expect("the last attempt runs to the end");
    assert!(kills >= 3, "only {kills} kills landed before the run finished");
    assert_eq!(trained_row(&out), expected, "the killed and resumed run ends elsewhere");
    assert_eq!(newest_checkpoint(&run), newest_checkpoint(&whole));
}

/// A rollout run that takes seconds: two training episodes of a day of `small`.
const TINY_ROLLOUT: &str =
    "scenario = \"small\"\n[rollout]\nseeds = 2\nvalidation_seeds = 2\nreply_values = [0.0, 0.1]\n";

#[test]
fn a_rollout_run_writes_a_corrected_rule_that_eval_loads_and_repeats_bit_for_bit() {
    let dir = temp_dir("rollout");
    let config = dir.join("rollout.toml");
    std::fs::write(&config, TINY_ROLLOUT).unwrap();
    let config = config.to_str().unwrap();
    // the second run also writes its comparisons out, which changes nothing it learns
    let saving = dir.join("saving.toml");
    std::fs::write(&saving, format!("{TINY_ROLLOUT}save_comparisons = true\n")).unwrap();
    let mut files = Vec::new();
    for (name, config) in [("a", config), ("b", saving.to_str().unwrap())] {
        let run = dir.join(name);
        let run_s = run.to_str().unwrap();
        let o = handoff(&["train", "--config", config, "--run-dir", run_s, "--test-seeds", "2"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let out = stdout(&o);
        let policy = run.join("policy.toml");
        assert!(out.contains(&format!("the corrected rule is {}", policy.display())), "{out}");
        assert!(out.contains(&format!("| {} |", policy.display())), "{out}");
        let text = std::fs::read_to_string(&policy).unwrap();
        assert!(text.contains("[correction]") && text.contains("samples = "), "{text}");
        files.push(text.replace(run_s, "RUN"));
    }
    assert_eq!(files[0], files[1], "the same configuration, the same policy");
    // every comparison the policy was fitted on, one table per kind compared
    assert!(!dir.join("a/rollouts").exists(), "written only when asked");
    let samples: usize = files[0]
        .lines()
        .find_map(|l| l.strip_prefix("samples = "))
        .and_then(|n| n.parse().ok())
        .unwrap();
    let mut rows = 0;
    for kind in ["route", "pace", "attend"] {
        // a kind with no comparison has no table (this rule leaves the pace no room)
        let Ok(table) = std::fs::read_to_string(dir.join(format!("b/rollouts/{kind}.csv"))) else {
            assert_eq!(kind, "pace", "{kind}.csv is missing");
            continue;
        };
        assert!(table.starts_with("iteration,seed,reward_gain,"), "{table}");
        rows += table.lines().count() - 1;
    }
    assert!(!dir.join("b/rollouts/assign.csv").exists(), "small leaves the queue to the rule");
    assert_eq!(rows, samples, "one row per comparison");
    // the run is listed as what it is: training episodes, complete with its policy file, its
    // configuration without PPO's keys, and the candidates its validation compared
    let o = handoff(&["runs", "--root", dir.to_str().unwrap(), "--json"]);
    let runs: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let a = &runs.as_array().unwrap()[0];
    assert_eq!((a["unit"].as_str(), a["complete"].as_bool()), (Some("episodes"), Some(true)));
    assert_eq!((a["steps"].as_u64(), a["problem"].as_null()), (Some(2), Some(())), "{a}");
    assert!(a["model_mismatch"].is_null(), "fitted on today's model: {a}");
    let saved = std::fs::read_to_string(dir.join("a/config.toml")).unwrap();
    assert!(saved.contains("[rollout]") && !saved.contains("[ppo]"), "{saved}");
    assert!(!saved.contains("steps =") && !saved.contains("scale ="), "{saved}");
    // a finished run is not overwritten without --force
    let a_s = dir.join("a");
    let o = handoff(&["train", "--config", config, "--run-dir", a_s.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("already holds a run"), "{}", stderr(&o));
    let validation = std::fs::read_to_string(dir.join("a/validation.csv")).unwrap();
    let kept = validation.lines().filter(|l| l.ends_with(",true")).count();
    assert!(validation.starts_with("iteration,route_reply_value,") && kept >= 1, "{validation}");

    // the policy file is a policy like any other
    let policy = dir.join("a/policy.toml");
    let policy_s = policy.to_str().unwrap();
    let o = handoff(&["eval", "--scenario", "small", "--seeds", "2", "--policy", policy_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    // stamped with the model it was fitted on: strict accepts it today, and refuses it once the
    // stamp names another model version
    let o = handoff(&["eval", "--scenario", "small", "--policy", policy_s, "--strict"]);
    assert!(o.status.success() && stderr(&o).is_empty(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&policy).unwrap();
    let version = format!("[correction.model]\nmodel_version = {}", handoff::env::MODEL_VERSION);
    assert!(text.contains(&version), "{text}");
    let stale = dir.join("stale.toml");
    std::fs::write(&stale, text.replace(&version, "[correction.model]\nmodel_version = 99"))
        .unwrap();
    // a run whose policy was fitted on another model says so in `handoff runs`
    std::fs::copy(&stale, dir.join("b/policy.toml")).unwrap();
    let o = handoff(&["runs", "--root", dir.to_str().unwrap(), "--json"]);
    let runs: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let b = &runs.as_array().unwrap()[1];
    assert!(b["model_mismatch"].as_str().is_some_and(|m| m.contains("99")), "{b}");
    let o =
        handoff(&["eval", "--scenario", "small", "--policy", stale.to_str().unwrap(), "--strict"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("model version 99"), "{}", stderr(&o));
    // a damaged correction is refused, naming the file and the section
    let broken = dir.join("broken.toml");
    let text = std::fs::read_to_string(&policy).unwrap();
    let weights = text.lines().find(|l| l.starts_with("weights = ")).unwrap();
    std::fs::write(&broken, text.replace(weights, "weights = [1.0, 2.0]")).unwrap();
    let o = handoff(&["eval", "--scenario", "small", "--policy", broken.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("[correction]: weights: 2 weights"), "{}", stderr(&o));
    // and so is a damaged pace correction (a file without one has no pace correction)
    let mut text: String =
        text.lines().filter(|l| !l.starts_with("pace_weights")).map(|l| format!("{l}\n")).collect();
    text = text.replace(weights, &format!("{weights}\npace_weights = [1.0, 2.0, 3.0]"));
    std::fs::write(&broken, &text).unwrap();
    let o = handoff(&["eval", "--scenario", "small", "--policy", broken.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("[correction]: pace_weights: 3 weights"), "{}", stderr(&o));
    // and a damaged attend correction
    let text = text.replace(weights, &format!("{weights}\nattend_weights = [1.0]"));
    let text = text.replace("pace_weights = [1.0, 2.0, 3.0]\n", "");
    std::fs::write(&broken, text).unwrap();
    let o = handoff(&["eval", "--scenario", "small", "--policy", broken.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("[correction]: attend_weights: 1 weights"), "{}", stderr(&o));
}

#[test]
fn a_rollout_configuration_naming_a_missing_rule_or_kind_is_refused_naming_the_field() {
    let dir = temp_dir("rollout-bad");
    for (line, needle) in [
        ("rule = \"oracle\"", "rollout.rule: unknown policy \"oracle\""),
        ("rule = \"c-mu@max_chats=9\"", "rollout.rule: c-mu@max_chats=9: max_chats = 9"),
        // small gives the agent routing and attention, not the queue
        (
            "kinds = [\"attend\", \"assign\"]",
            "rollout.kinds: assign is not a decision the agent makes in small \
             (env.control = [route, attend])",
        ),
        ("attend_share = 2.0", "rollout.attend_share = 2 is out of range (allowed 0 to 1)"),
        ("option_reply_values = []", "rollout.option_reply_values: give at least one value"),
    ] {
        let config = dir.join("bad.toml");
        std::fs::write(&config, format!("{TINY_ROLLOUT}{line}\n")).unwrap();
        let run = dir.join("run");
        let o = handoff(&[
            "train",
            "--config",
            config.to_str().unwrap(),
            "--run-dir",
            run.to_str().unwrap(),
            "--force",
        ]);
        assert_eq!(o.status.code(), Some(2), "{line}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{line}: {}", stderr(&o));
        assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    }
}
