//! The `handoff` binary: output formats, determinism, exit codes and error messages.

mod common;

use common::{handoff, stderr, stdout, temp_dir};

#[test]
fn simulate_json_has_the_documented_shape() {
    let o = handoff(&["simulate", "--scenario", "small", "--seed", "3", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for arm in ["control", "treatment"] {
        for segment in ["all", "eligible", "ineligible"] {
            let s = &v["arms"][arm][segment];
            for key in [
                "chats",
                "duration_mean_s",
                "rating_mean",
                "rating_rate",
                "retrial_rate",
                "abandonment_rate",
            ] {
                assert!(s[key].is_number(), "{arm}.{segment}.{key} missing: {s}");
            }
        }
    }
    let mix = &v["arms"]["treatment"]["eligible"]["escalation_mix"];
    let total: f64 =
        ["technical", "emotional", "human", "none"].iter().map(|k| mix[k].as_f64().unwrap()).sum();
    assert!((total - 1.0).abs() < 1e-9, "{mix}");
    assert!(v["arms"]["control"]["eligible"].get("escalation_mix").is_none());
    let all = v["arms"]["control"]["all"]["chats"].as_u64().unwrap();
    let parts = v["arms"]["control"]["eligible"]["chats"].as_u64().unwrap()
        + v["arms"]["control"]["ineligible"]["chats"].as_u64().unwrap();
    assert_eq!(all, parts);
}

#[test]
fn same_seed_gives_byte_identical_json_and_csv() {
    let dir = temp_dir("determinism");
    let run = |seed: &str, csv: &str| {
        let path = dir.join(csv);
        let o = handoff(&[
            "simulate",
            "--scenario",
            "small",
            "--seed",
            seed,
            "--json",
            "--csv",
            path.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        (o.stdout, std::fs::read(path).unwrap())
    };
    let (json_a, csv_a) = run("11", "a.csv");
    let (json_b, csv_b) = run("11", "b.csv");
    let (json_c, _) = run("12", "c.csv");
    assert_eq!(json_a, json_b);
    assert_eq!(csv_a, csv_b);
    assert_ne!(json_a, json_c);
    // the JSON without a CSV (arms run in parallel) equals the JSON with one (sequential)
    let o = handoff(&["simulate", "--scenario", "small", "--seed", "11", "--json"]);
    assert_eq!(o.stdout, json_a);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn chats_csv_has_one_row_per_chat_and_arm_with_twins() {
    let dir = temp_dir("csv");
    let path = dir.join("chats.csv");
    let o = handoff(&["simulate", "--scenario", "small", "--csv", path.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    for column in [
        "chat_id",
        "arm",
        "ai_eligible",
        "escalation",
        "duration_s",
        "intervention_delay_s",
        "worker_messages",
        "satisfaction",
        "rating",
        "retrial",
    ] {
        assert!(header.contains(&column), "missing column {column}");
    }
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let ids = |arm: &str| {
        let mut v: Vec<u64> = rows
            .iter()
            .filter(|r| r[col("arm")] == arm)
            .map(|r| r[col("chat_id")].parse().unwrap())
            .collect();
        v.sort_unstable();
        v
    };
    assert_eq!(ids("control"), ids("treatment"), "every chat has a twin");
    for r in &rows {
        assert_eq!(r.len(), header.len());
        let esc = r[col("escalation")];
        assert!(["", "none", "technical", "emotional", "human"].contains(&esc), "{esc}");
        if r[col("arm")] == "control" {
            assert_eq!(esc, "");
        }
        let rating = r[col("rating")];
        assert!(rating.is_empty() || (1..=5).contains(&rating.parse::<u8>().unwrap()));
        assert!(["0", "1"].contains(&r[col("retrial")]));
    }
    assert!(!dir.join("chats.csv.tmp").exists(), "the temporary file was renamed");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn simulate_table_names_arms_segments_and_effects() {
    let o = handoff(&["simulate", "--scenario", "small"]);
    assert!(o.status.success());
    let out = stdout(&o);
    for word in ["control", "treatment", "eligible", "ineligible", "escalation mix", "effects"] {
        assert!(out.contains(word), "missing {word} in\n{out}");
    }
}

#[test]
fn scenarios_lists_every_builtin() {
    let o = handoff(&["scenarios", "--json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let names: Vec<&str> =
        v.as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["taobao", "small", "surge", "angry", "understaffed", "ai-outage", "taobao-levers"]
    );
    assert!(stdout(&handoff(&["scenarios"])).contains("taobao (default)"));
}

#[test]
fn bench_reports_both_throughputs_as_json() {
    let o = handoff(&[
        "bench",
        "--sim-scenario",
        "small",
        "--steps",
        "20000",
        "--train-steps",
        "4096",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["reference"]["ops_per_s"].as_f64().unwrap() > 0.0);
    assert!(v["simulator"]["chats_per_s"].as_f64().unwrap() > 0.0);
    assert_eq!(v["env"]["steps"].as_u64().unwrap(), 20000);
    assert!(v["env"]["steps_per_s"].as_f64().unwrap() > 0.0);
    assert_eq!(v["env_every_kind"]["steps"].as_u64().unwrap(), 20000);
    assert!(v["env_every_kind"]["steps_per_s"].as_f64().unwrap() > 0.0);
    assert_eq!(v["learner"]["steps"].as_u64().unwrap(), 4096);
    assert!(v["learner"]["train_steps_per_s"].as_f64().unwrap() > 0.0);
    assert!(v["learner"]["inference_us"].as_f64().unwrap() > 0.0);
    // the learned policy's cost per decision, beside its rule's, on the same decisions
    let c = &v["corrected"];
    assert_eq!(c["decisions"].as_u64().unwrap(), 5000);
    assert!(c["corrected_routings"].as_u64().unwrap() > 0, "{c}");
    assert!(c["rule_ns"].as_f64().unwrap() > 0.0 && c["corrected_ns"].as_f64().unwrap() > 0.0);
    // the default learner's comparisons on copies of a day of the simulated centre
    let m = &v["comparisons"];
    assert_eq!(m["scenario"], "small", "{m}");
    assert!(m["route"].as_u64().unwrap() > 10 && m["route_per_s"].as_f64().unwrap() > 0.0, "{m}");
    assert!(m["attend"].as_u64().unwrap() > 0 && m["attend_per_s"].as_f64().unwrap() > 0.0, "{m}");
    let n = &v["encoding"];
    assert_eq!(n["encodings"].as_u64().unwrap(), 5000);
    assert!(n["floats"].as_u64().unwrap() > 17 && n["ns"].as_f64().unwrap() > 0.0, "{n}");
    // each sampler on its own, a million draws each
    let d = &v["draws"];
    assert_eq!(d["draws"].as_u64().unwrap(), 1_000_000);
    for name in ["uniform_ns", "exponential_ns", "normal_ns", "lognormal_ns", "poisson_ns"] {
        assert!(d[name].as_f64().unwrap() > 0.0, "{name}: {d}");
    }
    // the event queue on its own: as many holds as steps, at the study's peak pending events
    let q = &v["event_queue"];
    assert_eq!(q["holds"].as_u64().unwrap(), 20000);
    assert_eq!(q["pending"].as_u64().unwrap(), 1000);
    assert!(q["ns"].as_f64().unwrap() > 0.0, "{q}");
}

#[test]
fn a_column_header_names_a_policy_file_by_its_file_name() {
    let dir = temp_dir("header");
    let file = dir.join("mine.toml");
    std::fs::write(&file, "policy = \"c-mu\"\n[parameters]\nmax_chats = 2\n").unwrap();
    let path = file.to_str().unwrap();
    let args = ["eval", "--scenario", "small", "--seeds", "1", "--policy", "c-mu"];
    let o = handoff(&[&args[..], &["--policy", path, "--baseline", path]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains(&format!("baseline {path}, ")), "{out}");
    assert!(out.contains("| minus mine.toml (95 % CI) |"), "{out}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_fallback_is_any_policy_eval_takes() {
    // one resolver: a scenario's fallback takes what --policy takes, overrides and shipped
    // tunings with overrides included
    for fallback in ["c-mu@max_chats=2", "surge-c-mu-theta@ai_frustration_limit=0.3"] {
        let dir = temp_dir("fallback");
        let path = dir.join("f.toml");
        let body = format!("base = \"small\"\ndays = 1\n[env]\nfallback_policy = \"{fallback}\"\n");
        std::fs::write(&path, body).unwrap();
        let scenario = path.to_str().unwrap();
        let o = handoff(&["eval", "--scenario", scenario, "--scale", "0.3", "--seeds", "1"]);
        assert!(o.status.success(), "{fallback}: {}", stderr(&o));
        let o = handoff(&["eval", "--scenario", "small", "--seeds", "1", "--policy", fallback]);
        assert!(o.status.success(), "{fallback}: {}", stderr(&o));
        std::fs::remove_dir_all(dir).ok();
    }
    let (code, err) = simulate_file("bad-fallback", "[env]\nfallback_policy = \"oracle\"\n");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("env.fallback_policy") && err.contains("oracle"), "{err}");
}

#[test]
fn staffing_the_roster_cannot_deliver_is_reported_and_shifts_none_delivers_it() {
    let always_on = "base = \"small\"\n[workers]\ncount = 12\nstaffing = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]\n";
    let (code, err) = simulate_file("always-on", always_on);
    assert_eq!(code, 0, "{err}");
    let warning = err.lines().find(|l| l.starts_with("warning: ")).expect("a warning");
    assert!(warning.contains("always-on.toml") && warning.contains("of 12"), "{warning}");
    assert!(warning.contains("workers.shifts = \"none\""), "{warning}");
    let (code, err) = simulate_file("no-shifts", &format!("{always_on}shifts = \"none\"\n"));
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning"), "{err}");
}

/// Runs `simulate` on a scenario file with `body` and returns (exit code, stderr).
fn simulate_file(name: &str, body: &str) -> (i32, String) {
    let dir = temp_dir(name);
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, body).unwrap();
    let o = handoff(&["simulate", "--scenario", path.to_str().unwrap()]);
    std::fs::remove_dir_all(dir).ok();
    (o.status.code().unwrap(), stderr(&o))
}

#[test]
fn bad_scenarios_exit_2_naming_file_field_and_range() {
    let cases: [(&str, &str, &[&str]); 7] = [
        ("unknown-field", "[workers]\ncount = 3\nspeed = 2\n", &["unknown-field.toml", "speed"]),
        (
            "out-of-range",
            "[workers]\ncap = 0\n",
            &["out-of-range.toml", "workers.cap", "allowed 1 to 32"],
        ),
        (
            "share",
            "[arrivals]\neligible_share = 1.5\n",
            &["share.toml", "arrivals.eligible_share", "allowed 0 to 1"],
        ),
        (
            "profile",
            "[arrivals]\nhourly_profile = [1.0, 2.0]\n",
            &["arrivals.hourly_profile", "24"],
        ),
        ("wrong-type", "days = \"many\"\n", &["wrong-type.toml", "days"]),
        ("syntax", "[workers\ncount = 3\n", &["syntax.toml"]),
        ("fallback", "[env]\nfallback_policy = \"oracle\"\n", &["env.fallback_policy", "oracle"]),
    ];
    for (name, body, needles) in cases {
        let (code, err) = simulate_file(name, body);
        assert_eq!(code, 2, "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{name}: one line: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        for needle in needles {
            assert!(err.contains(needle), "{name}: {needle:?} not in {err}");
        }
    }
}

#[test]
fn unknown_scenario_missing_file_and_bad_days_exit_2() {
    let o = handoff(&["simulate", "--scenario", "nowhere"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown scenario \"nowhere\""), "{}", stderr(&o));
    let o = handoff(&["simulate", "--scenario", "/no/such/file.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/no/such/file.toml"), "{}", stderr(&o));
    let o = handoff(&["simulate", "--scenario", "small", "--days", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("days"), "{}", stderr(&o));
    let o = handoff(&["simulate", "--seed", "minus-one"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn bad_numbers_on_the_command_line_exit_2_in_one_line_naming_the_flag() {
    for (args, needle) in [
        (vec!["simulate", "--days", "0"], "--days"),
        (vec!["simulate", "--seed", "-1"], "\"-1\" is not a seed"),
        (vec!["eval", "--first-seed", "-3"], "\"-3\" is not a seed"),
        (vec!["bench", "--steps", "0"], "--steps"),
        // negative and fractional counts name the flag and the range, whichever way written
        (vec!["eval", "--seeds", "-5"], "'--seeds <SEEDS>': -5 is out of range (allowed 1 to"),
        (vec!["eval", "--seeds=-5"], "'--seeds <SEEDS>': -5 is out of range (allowed 1 to"),
        (vec!["eval", "--seeds", "2.5"], "\"2.5\" is not a whole number (allowed 1 to"),
        (vec!["train", "--steps=-1000"], "'--steps <STEPS>': -1000 is out of range"),
        (vec!["train", "--envs", "0"], "'--envs <ENVS>': 0 is out of range (allowed 1 to 1024)"),
        (vec!["train", "--days", "-2"], "'--days <DAYS>': -2 is out of range (allowed 1 to 3650)"),
        (vec!["train", "--scale=-0.5"], "'--scale <SCALE>': -0.5 is out of range"),
        (vec!["eval", "--scale", "11"], "'--scale <SCALE>': 11 is out of range"),
        (vec!["calibrate", "--fit-scale", "0"], "'--fit-scale <FIT_SCALE>': 0 is out of range"),
        (vec!["tune", "--policy", "c-mu", "--budget", "-1"], "'--budget <BUDGET>': -1 is out"),
        (vec!["runs", "--root", "/no/such/runs"], "--root /no/such/runs: no such directory"),
        (
            vec!["eval", "--scenario", "small", "--policy", "c-mu", "--assert", "c-mu.diff_lo > 0"],
            "compares c-mu with itself: c-mu is the baseline",
        ),
        (vec!["bench", "--train-steps", "0"], "--train-steps"),
        (vec!["calibrate", "--fit-evaluations", "0"], "--fit-evaluations"),
        (vec!["train", "--device", "gpu"], "device \"gpu\" is not available"),
        // the default learner refuses what only PPO and DQN read, rather than ignore it
        (vec!["train", "--steps", "1"], "--steps sets what PPO and DQN train on"),
        (vec!["train", "--scale", "0.1", "--envs", "2"], "--envs, --scale set what PPO and DQN"),
        (
            vec![
                "eval",
                "--scenario",
                "small",
                "--first-seed",
                "18446744073709551615",
                "--seeds",
                "2",
            ],
            "run past the largest seed",
        ),
    ] {
        let o = handoff(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
}

#[test]
fn train_help_gives_the_defaults_of_the_configuration() {
    let help = stdout(&handoff(&["train", "--help"]));
    // the help of each flag, from its line to the next flag's, with its lines joined
    let flag_help = |flag: &str| -> String {
        let lines: Vec<&str> = help.lines().collect();
        let start = lines
            .iter()
            .position(|l| l.trim_start().starts_with(&format!("{flag} ")))
            .unwrap_or_else(|| panic!("{flag} is not in train --help:\n{help}"));
        let end = lines[start + 1..]
            .iter()
            .position(|l| l.trim_start().starts_with('-'))
            .map_or(lines.len(), |k| start + 1 + k);
        lines[start..end].iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ")
    };
    let defaults = handoff::training::config::TrainConfig::default();
    for (flag, default) in [
        ("--algo", defaults.algo.name().to_string()),
        ("--scenario", defaults.scenario.clone()),
        ("--steps", defaults.steps.to_string()),
        ("--seed", defaults.seed.to_string()),
        ("--envs", defaults.envs.to_string()),
        ("--days", defaults.days.to_string()),
        ("--scale", defaults.scale.to_string()),
        ("--device", defaults.device.name().to_string()),
    ] {
        let text = flag_help(flag);
        assert!(text.contains(&format!("[default: {default}]")), "{flag}: {text}");
    }
}

#[test]
fn scenarios_lists_descriptions_left_aligned_and_policies_whole() {
    let text = stdout(&handoff(&["scenarios"]));
    let small = text.lines().find(|l| l.starts_with("small")).unwrap();
    assert!(
        small.ends_with(
            "Small and fast: the taobao model with 28 workers, one day, about 1,500 chats"
        )
    );
    let header = text.lines().next().unwrap();
    let at = header.find("description").unwrap();
    assert_eq!(&small[at..at + 5], "Small", "{text}");
    let policies = stdout(&handoff(&["policies"]));
    assert!(policies.contains("reaches study_policy.takeover_frustration"), "{policies}");
}

#[test]
fn unwritable_csv_is_an_error_not_a_panic() {
    let o = handoff(&["simulate", "--scenario", "small", "--csv", "/no/such/dir/chats.csv"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/no/such/dir/chats.csv"));
    assert!(!stderr(&o).contains("panicked"));
}

#[test]
fn lookahead_reports_a_ceiling_and_a_fair_row_per_kind_and_refuses_bad_input() {
    let args = [
        "lookahead",
        "--scenario",
        "small",
        "--days",
        "1",
        "--scale",
        "0.4",
        "--policy",
        "c-mu",
        "--seeds",
        "2",
        "--forks",
        "2",
        "--decisions",
        "40",
        "--horizon-s",
        "900",
        "--json",
    ];
    let o = handoff(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 6, "two rows for each of the three kinds");
    for (row, kind) in rows.iter().zip(["route", "route", "attend", "attend", "assign", "assign"]) {
        assert_eq!(row["kind"], kind);
        assert_eq!(row["episodes"].as_array().unwrap().len(), 2);
        assert!(row["compared_mean"].as_f64().unwrap() <= 40.0);
        let gain = row["gain"].as_array().unwrap();
        assert!(gain[1].as_f64().unwrap() <= gain[2].as_f64().unwrap());
    }
    assert_eq!(rows[0]["future"], "exact");
    assert_eq!(rows[1]["future"]["forks"], 2);
    assert!(rows[0]["reading"].as_str().unwrap().starts_with("optimistic ceiling"));
    // the same seeds give the same report, byte for byte, on any number of threads
    let again = handoff(&[&args[..], &["--threads", "1"]].concat());
    assert_eq!(o.stdout, again.stdout);
    for (bad, says) in [
        (&["lookahead", "--kinds", "routing"][..], "--kinds"),
        (&["lookahead", "--policy", "no-such-rule"][..], "--policy"),
        (&["lookahead", "--horizon-s", "0"][..], "--horizon-s"),
        (&["lookahead", "--forks", "65"][..], "--forks"),
    ] {
        let o = handoff(bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        assert!(stderr(&o).contains(says), "{bad:?}: {}", stderr(&o));
    }
}

#[test]
fn a_fresh_clone_trial_s_rough_edges_stay_smooth() {
    let dir = temp_dir("rough-edges");
    let one_line = |args: &[&str], code: i32, says: &str| {
        let o = handoff(args);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", stderr(&o));
        let e = stderr(&o);
        assert_eq!(e.trim_end().lines().count(), 1, "{args:?}: {e}");
        assert!(e.contains(says), "{args:?}: {e}");
    };
    one_line(&["train", "--algo", "ppo2"], 2, "[possible values: rollout, ppo, dqn]");
    one_line(&["eval", "--threads", "0"], 2, "allowed 1 to 1024");
    one_line(
        &["eval", "--scenario", "small", "--policy", "nofile.toml"],
        2,
        "--policy nofile.toml",
    );
    let csv = dir.join("no-such-folder").join("chats.csv");
    let csv = csv.to_str().unwrap();
    one_line(&["simulate", "--scenario", "small", "--days", "1", "--csv", csv], 1, "--csv ");
    let wrong_type = dir.join("wrong-type.toml");
    std::fs::write(&wrong_type, "policy = 3\n").unwrap();
    let wrong_type = wrong_type.to_str().unwrap();
    one_line(&["eval", "--scenario", "small", "--policy", wrong_type], 2, "line 1 (`policy = 3`)");
    let o = handoff(&["eval", "--scenario", "small", "--policy", "c-mu@max_chats=9"]);
    assert!(!stderr(&o).contains("[parameters]"), "a name has no table: {}", stderr(&o));
    // a centre scaled until hours have chats and no worker is said to be so
    let o = handoff(&["eval", "--scenario", "small", "--scale", "0.001", "--seeds", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("scale 0.001 leaves 1 worker and no one on duty"),
        "{}",
        stderr(&o)
    );
    let o = handoff(&["eval", "--scenario", "small", "--seeds", "2", "--policy", "c-mu"]);
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
    // simulate takes --scale like the other commands; the baseline has no win rate on itself
    let o =
        handoff(&["simulate", "--scenario", "small", "--days", "1", "--scale", "0.5", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let table =
        stdout(&handoff(&["eval", "--scenario", "small", "--seeds", "2", "--policy", "c-mu"]));
    let baseline = table.lines().find(|l| l.starts_with("| c-mu |")).unwrap();
    assert_eq!(baseline.split(" | ").nth(3), Some("-"), "{baseline}");
    // parameters read as numbers, not as their bits
    let policies = stdout(&handoff(&["policies"]));
    assert!(policies.contains("default 1.7238)"), "{policies}");
    assert!(!policies.contains(" 1 days"), "{policies}");
}
