//! `handoff eval` and the evaluation library: common random numbers, agreement with the
//! environment, determinism, output formats, assertions and exit codes.

mod common;

use common::{handoff, stderr, temp_dir};

use handoff::agents::{by_name, make_env, policy_names};
use handoff::env::ChatRecord;
use handoff::env::Simulator;
use handoff::env::{Policy, Scenario};
use handoff::eval::{EvalConfig, EvalReport, evaluate, run_episode};

/// A small, quick scenario: a few hundred chats.
fn quick() -> Scenario {
    // the small centre at about a quarter of its size
    let mut s = Scenario::builtin("small").unwrap();
    s.arrivals.chats_per_day = 400.0;
    s.workers.count = 8;
    s
}

fn policy(name: &str, scenario: &Scenario) -> Box<dyn Policy> {
    by_name(name, scenario).unwrap()
}

fn factory(name: &str, s: &Scenario) -> Result<Box<dyn Policy>, String> {
    by_name(name, s).ok_or_else(|| format!("unknown policy {name}"))
}

fn records(scenario: &Scenario, name: &str, seed: u64) -> Vec<ChatRecord> {
    let mut sim = Simulator::new(scenario.clone());
    let mut out = Vec::new();
    handoff::env::run(&mut sim, seed, policy(name, scenario).as_mut(), |r| out.push(*r));
    out.sort_by_key(|r| r.chat_id);
    out
}

#[test]
fn one_policy_twice_gives_identical_episodes() {
    let s = quick();
    for name in ["random", "c-mu"] {
        let fallback = policy("study-treatment", &s);
        let a = run_episode(&s, 5, policy(name, &s), fallback.clone());
        let b = run_episode(&s, 5, policy(name, &s), fallback.clone());
        assert_eq!(a, b, "{name}");
        let c = run_episode(&s, 6, policy(name, &s), fallback);
        assert_ne!(a.episode_return, c.episode_return, "{name}: seeds must matter");
    }
}

#[test]
fn every_policy_sees_the_same_customers_on_a_seed() {
    let s = quick();
    let reference = records(&s, "study-control", 3);
    assert!(reference.len() > 200);
    for name in policy_names() {
        let other = records(&s, name, 3);
        assert_eq!(other.len(), reference.len(), "{name}");
        for (a, b) in reference.iter().zip(&other) {
            assert_eq!(
                (a.chat_id, a.arrival_s, a.ai_eligible),
                (b.chat_id, b.arrival_s, b.ai_eligible),
                "{name}"
            );
        }
        // different dispatch, different outcomes: the comparison is not vacuous
        if name != "study-control" {
            assert!(reference.iter().zip(&other).any(|(a, b)| a.duration_s != b.duration_s));
        }
    }
}

#[test]
fn episode_return_matches_the_environment_s() {
    let s = quick();
    for name in ["study-treatment", "c-mu", "emotion-first"] {
        let mut env = make_env(s.clone()).unwrap();
        let mut agent = policy(name, &s);
        env.reset(9);
        let mut total = 0.0;
        while !env.is_over() {
            total += env.step(agent.act(env.observation())).unwrap().reward;
        }
        let fallback = policy(&s.env.fallback_policy, &s);
        let episode = run_episode(&s, 9, policy(name, &s), fallback);
        let tolerance = 1e-9 * total.abs().max(1.0);
        assert!(
            (episode.episode_return - total).abs() <= tolerance,
            "{name}: {total} vs {episode:?}"
        );
        assert_eq!(episode.kpis.chats as u64, env.simulator().counters().completed);
    }
}

fn eval_on(threads: usize) -> EvalReport {
    let s = quick();
    let names: Vec<String> =
        ["study-treatment", "random", "c-mu"].iter().map(|n| n.to_string()).collect();
    let config = EvalConfig { seeds: 6, resamples: 2000, ..EvalConfig::default() };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| evaluate(&s, &names, "study-treatment", &config, &factory, &|| {})).unwrap()
}

#[test]
fn results_do_not_depend_on_the_number_of_threads_and_pair_by_seed() {
    let one = eval_on(1);
    assert_eq!(one, eval_on(2));
    let base = one.policy("study-treatment").unwrap();
    assert_eq!(base.vs_baseline.diff, 0.0);
    let random = one.policy("random").unwrap();
    let diffs: Vec<f64> = random.returns().iter().zip(base.returns()).map(|(r, b)| r - b).collect();
    let mean = diffs.iter().sum::<f64>() / diffs.len() as f64;
    assert!((random.vs_baseline.diff - mean).abs() < 1e-9);
    let [lo, hi] = random.vs_baseline.ci;
    assert!(lo <= mean && mean <= hi);
    // random dispatch is worse than the deployment on every seed of this scenario
    assert!(hi < 0.0 && random.vs_baseline.win_rate == 0.0, "{:?}", random.vs_baseline);
}

#[test]
fn eval_json_is_deterministic_and_has_the_documented_shape() {
    let args = [
        "eval",
        "--scenario",
        "small",
        "--seeds",
        "3",
        "--policy",
        "c-mu",
        "--policy",
        "random",
        "--resamples",
        "500",
        "--json",
    ];
    let a = handoff(&args);
    assert!(a.status.success(), "{}", stderr(&a));
    let b = handoff(&[&args[..], &["--threads", "1"]].concat());
    assert_eq!(a.stdout, b.stdout, "output depends on threads or runs");
    let v: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    // without study-treatment among the policies, the first one is the baseline
    assert_eq!(v["baseline"], "c-mu");
    let policies = v["policies"].as_array().unwrap();
    let names: Vec<&str> = policies.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["c-mu", "random"]);
    for p in policies {
        assert!(p["return_mean"].is_number() && p["return_iqm"].is_number());
        let ci = p["return_ci"].as_array().unwrap();
        assert!(ci[0].as_f64().unwrap() <= ci[1].as_f64().unwrap());
        for key in ["duration_min", "rating", "retrial", "abandonment", "ai_share"] {
            assert!(p["kpis"][key].is_number(), "{key}");
        }
        for key in ["technical", "emotional", "human", "none"] {
            assert!(p["kpis"]["escalation"][key].is_number(), "{key}");
        }
        let vs = &p["vs_baseline"];
        assert!(vs["diff"].is_number() && vs["win_rate"].is_number());
        assert_eq!(vs["ci"].as_array().unwrap().len(), 2);
    }
}

#[test]
fn outputs_csv_svg_and_junit_are_written_and_well_formed() {
    let dir = temp_dir("outputs");
    let (csv, svg, junit) = (dir.join("eval.csv"), dir.join("eval.svg"), dir.join("eval.xml"));
    let o = handoff(&[
        "eval",
        "--scenario",
        "small",
        "--seeds",
        "4",
        "--policy",
        "study-treatment",
        "--policy",
        "random",
        "--resamples",
        "500",
        "--csv",
        csv.to_str().unwrap(),
        "--svg",
        svg.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
        "--assert",
        "study-treatment.return > random.return",
        "--assert",
        "random.abandonment < 0.0001",
    ]);
    // the second assertion fails: exit 1, naming it and by how much
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("1 of 2 assertions failed"), "{err}");
    assert!(err.contains("FAILED: random.abandonment < 0.0001"), "{err}");
    assert!(err.contains("left - right ="), "{err}");
    let table = String::from_utf8(o.stdout).unwrap();
    assert!(table.contains("| study-treatment |") && table.contains("| random |"), "{table}");

    let csv = std::fs::read_to_string(csv).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + 2 * 4);
    let columns = lines[0].split(',').count();
    assert!(lines.iter().all(|l| l.split(',').count() == columns));
    assert!(lines[1].starts_with("study-treatment,1,"));

    let svg = std::fs::read_to_string(svg).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("random"));

    let xml = std::fs::read_to_string(junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("JUnit output parses as XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("tests"), Some("2"));
    assert_eq!(root.attribute("failures"), Some("1"));
    let cases: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("testcase")).collect();
    assert_eq!(cases.len(), 2);
    assert_eq!(cases[0].attribute("name"), Some("study-treatment.return > random.return"));
    assert!(!cases[0].children().any(|c| c.has_tag_name("failure")));
    assert!(cases[1].children().any(|c| c.has_tag_name("failure")));
}

#[test]
fn passing_assertions_exit_zero() {
    let o = handoff(&[
        "eval",
        "--scenario",
        "small",
        "--seeds",
        "3",
        "--policy",
        "c-mu",
        "--baseline",
        "random",
        "--resamples",
        "500",
        "--assert",
        "c-mu.diff_lo > 0",
        "--assert",
        "c-mu.win_rate >= 1",
        "--assert",
        "c-mu.rating >= 1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    assert_eq!(out.matches("passed: ").count(), 3, "{out}");
    assert!(out.contains("baseline random"));
}

#[test]
fn a_failing_output_replaces_no_earlier_file() {
    let dir = temp_dir("outputs");
    let csv = dir.join("prev.csv");
    std::fs::write(&csv, "old results\n").unwrap();
    let csv_s = csv.to_str().unwrap();
    let o = handoff(&[
        "eval",
        "--scenario",
        "small",
        "--seeds",
        "1",
        "--policy",
        "c-mu",
        "--csv",
        csv_s,
        "--svg",
        "/no/such/dir/x.svg",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("/no/such/dir/x.svg"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), "old results\n");
    assert!(!dir.join("prev.csv.tmp").exists(), "no temporary file is left behind");
}

#[test]
fn bad_input_exits_two_with_a_clear_message() {
    for (args, needle) in [
        (vec!["--policy", "oracle"], "unknown policy \"oracle\""),
        (vec!["--assert", "c-mu.return >> 3"], "malformed assertion"),
        (vec!["--assert", "c-mu.speed > 3"], "unknown metric \"speed\""),
        (vec!["--policy", "c-mu", "--assert", "random.return > 0"], "not evaluated"),
        (vec!["--policy", "c-mu", "--policy", "c-mu"], "given twice"),
        (vec!["--scale", "0"], "--scale"),
        (vec!["--days", "0"], "days"),
    ] {
        let o = handoff(&[&["eval", "--scenario", "small", "--seeds", "1"], &args[..]].concat());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line, no panic: {err}");
    }
}

#[test]
fn policies_lists_every_built_in_policy() {
    let o = handoff(&["policies"]);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    for name in policy_names() {
        assert!(text.lines().any(|l| l.starts_with(name)), "{name}");
    }
    let o = handoff(&["policies", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["builtin"].as_array().unwrap().len(), policy_names().count());
    assert_eq!(v["tuned"].as_array().unwrap().len(), handoff::agents::SHIPPED.len());
    let c_mu = v["builtin"].as_array().unwrap().iter().find(|p| p["name"] == "c-mu").unwrap();
    let max_chats =
        c_mu["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "max_chats");
    assert_eq!(max_chats.unwrap()["max"], 4.0, "the cap of the default scenario");
}
