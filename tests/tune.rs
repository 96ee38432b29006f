//! `handoff tune` and tuned policies: the policy file it writes, `eval` reproducing the recorded
//! score, parameter overrides on the command line, the shipped tuned policies, and bad input.

mod common;

use common::{handoff, stderr, stdout, temp_dir};

use handoff::agents::{PolicyFile, SHIPPED, heuristic, spec};
use handoff::env::Scenario;
use handoff::eval::tune::{TuneSettings, validation_returns};
use handoff::eval::{TUNE_FIRST_SEED, stats};

fn eval_json(args: &[&str]) -> serde_json::Value {
    let o = handoff(&[&["eval", "--json", "--resamples", "100"], args].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn return_of(report: &serde_json::Value, policy: &str) -> f64 {
    let p = report["policies"].as_array().unwrap().iter().find(|p| p["name"] == policy);
    p.unwrap_or_else(|| panic!("{policy} not in the report"))["return_mean"].as_f64().unwrap()
}

fn assert_close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= 1e-9 * a.abs().max(1.0), "{what}: {a} against {b}");
}

/// Surge at a quarter of its size on 2 seeds: quick enough for a debug build.
const SMALL_SURGE: [&str; 6] = ["--scenario", "surge", "--scale", "0.25", "--seeds", "2"];

/// Tunes c-mu on [`SMALL_SURGE`] with 8 candidates into `out`.
fn tune_c_mu_on_a_small_surge(out: &str, extra: &[&str]) -> std::process::Output {
    let args = ["tune", "--policy", "c-mu", "--budget", "8", "--out", out];
    let o = handoff(&[&args[..], &SMALL_SURGE, extra].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    o
}

#[test]
fn tune_writes_a_policy_file_whose_score_eval_reproduces() {
    let dir = temp_dir("file");
    let out = dir.join("tuned.toml");
    let out_text = out.to_str().unwrap();
    let o = tune_c_mu_on_a_small_surge(out_text, &[]);
    assert!(stdout(&o).contains("3000000-3000001"), "the validation seeds are stated");
    let file = PolicyFile::load(&out).unwrap();
    assert_eq!(file.policy, "c-mu");
    let record = file.tuning.clone().unwrap();
    assert!(record.evaluations <= 8 && record.evaluations > 1, "{record:?}");
    assert!(record.score >= record.default_score, "tuning never reports worse than defaults");
    assert_close(stats::mean(&record.seed_returns), record.score, "the per-seed returns");
    // eval on the validation seeds gives the recorded scores, tuned and default
    let policies = ["--first-seed", "3000000", "--policy", out_text, "--policy", "c-mu"];
    let report = eval_json(&[&SMALL_SURGE[..], &policies].concat());
    assert_close(return_of(&report, out_text), record.score, "tuned score");
    assert_close(return_of(&report, "c-mu"), record.default_score, "default score");
    // the same tuning again writes the same file, byte for byte
    let again = dir.join("again.toml");
    tune_c_mu_on_a_small_surge(again.to_str().unwrap(), &["--threads", "1"]);
    let text = |p: &std::path::Path| std::fs::read_to_string(p).unwrap();
    assert_eq!(
        text(&out).lines().skip(1).collect::<Vec<_>>(),
        text(&again).lines().skip(1).collect::<Vec<_>>(),
        "tuning is deterministic (the first line names the file)"
    );
}

#[test]
fn tune_refuses_bad_input_before_any_work() {
    let dir = temp_dir("bad");
    let unwritable = dir.join("missing-folder").join("x.toml");
    for (args, needle, code) in [
        (vec!["--policy", "random"], "no parameters", 2),
        (vec!["--policy", "oracle"], "c-mu-theta", 2),
        (vec!["--policy", "c-mu", "--scale", "0"], "--scale", 2),
        (vec!["--policy", "c-mu", "--out", unwritable.to_str().unwrap()], "missing-folder", 1),
    ] {
        let o = handoff(&[&["tune", "--scenario", "small", "--budget", "2"], &args[..]].concat());
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line, no panic: {err}");
    }
}

#[test]
fn eval_takes_parameter_overrides_and_names_bad_ones() {
    let small = ["--scenario", "small", "--days", "1", "--seeds", "2"];
    let report =
        eval_json(&[&small[..], &["--policy", "c-mu@max_chats=1", "--policy", "c-mu"]].concat());
    let (limited, free) = (return_of(&report, "c-mu@max_chats=1"), return_of(&report, "c-mu"));
    assert!(limited != free, "one chat at a time changes the outcome: {limited} {free}");
    let dir = temp_dir("overrides");
    let broken = dir.join("broken.toml");
    std::fs::write(&broken, "policy = \"c-mu\"\n[parameters]\nmax_chats = 9\n").unwrap();
    for (policy, needle) in [
        ("c-mu@max_chats=9", "whole numbers from 1 to 4"),
        ("c-mu@speed=1", "its parameters: takeover_frustration"),
        ("c-mu@max_chats", "not key=value"),
        ("missing.toml", "missing.toml"),
        (broken.to_str().unwrap(), "broken.toml: [parameters]: max_chats = 9"),
    ] {
        let o = handoff(&[&["eval"], &small[..], &["--policy", policy]].concat());
        assert_eq!(o.status.code(), Some(2), "{policy}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{policy}: {}", stderr(&o));
    }
}

/// Episodes whose chats exceed this are checked on their first validation seed only (a debug
/// build simulates a full-size week slowly); smaller ones on every validation seed.
const FULL_CHECK_CHATS: f64 = 30_000.0;

#[test]
fn shipped_tuned_policies_reproduce_their_recorded_validation_score() {
    assert!(SHIPPED.len() >= 2, "tuned policies for taobao and surge are shipped");
    for (name, _) in SHIPPED {
        let file = spec::shipped(name).unwrap();
        let record = file.tuning.clone().unwrap_or_else(|| panic!("{name} has no tuning record"));
        assert_eq!(record.first_seed, TUNE_FIRST_SEED, "{name}");
        assert_eq!(record.seed_returns.len() as u64, record.seeds, "{name}");
        assert_close(stats::mean(&record.seed_returns), record.score, name);
        let mut scenario = Scenario::load(&record.scenario).unwrap();
        scenario.days = record.days;
        let scenario = scenario.scaled(record.scale);
        let h = heuristic(&file.policy).unwrap();
        let set = file.param_set(&scenario, name).unwrap();
        let chats = scenario.arrivals.chats_per_day * f64::from(scenario.days);
        let seeds = if chats <= FULL_CHECK_CHATS { record.seeds } else { 1 };
        let settings = TuneSettings { seeds, first_seed: record.first_seed, ..Default::default() };
        let returns = validation_returns(&scenario, h, &set, &settings);
        assert_eq!(returns, record.seed_returns[..seeds as usize], "{name} reproduces its returns");
    }
}

#[test]
fn policies_lists_the_shipped_tuned_policies_with_their_scores() {
    let o = handoff(&["policies"]);
    assert!(o.status.success());
    let text = stdout(&o);
    for (name, _) in SHIPPED {
        assert!(text.lines().any(|l| l.starts_with(name)), "{name} is not listed");
    }
    assert!(text.contains("validation seeds from 3000000"), "{text}");
}
