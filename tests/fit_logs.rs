//! `handoff fit-logs`: what it recovers from a log handoff did not write, a round trip through
//! `simulate --csv`, and bad logs.

mod common;

use std::fmt::Write as _;

use common::{handoff, json, stderr, temp_dir};

/// SplitMix64: the test's own random numbers, so the log owes nothing to handoff's code.
struct SplitMix(u64);

impl SplitMix {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn exponential(&mut self, mean: f64) -> f64 {
        -mean * libm::log(1.0 - self.uniform())
    }

    fn log_normal(&mut self, median: f64, sigma: f64) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        let z = (-2.0 * libm::log(1.0 - u)).sqrt() * libm::cos(std::f64::consts::TAU * v);
        median * libm::exp(sigma * z)
    }
}

const DAYS: u32 = 10;
const CHATS_PER_DAY: f64 = 10_000.0;
const PATIENCE_MEDIAN_S: f64 = 120.0;
const PATIENCE_SIGMA: f64 = 1.0;

/// Relative arrival rate in hour `h`: a day that swings 40 % around its mean (mean 1).
fn profile(h: usize) -> f64 {
    1.0 + 0.4 * libm::sin(std::f64::consts::TAU * (h as f64 - 9.0) / 24.0)
}

/// A FIFO queue with 55 servers, time-varying Poisson arrivals, log-normal service and
/// log-normal patience, written as a log ordered by the end of each chat (not by arrival), with
/// the server as the worker and a column the fit does not know.
fn independent_log() -> String {
    let mut rng = SplitMix(2026);
    let peak_per_s = CHATS_PER_DAY / 86_400.0 * 1.4;
    let mut free_at = vec![0.0f64; 55];
    let mut rows: Vec<(f64, String)> = Vec::new();
    let mut t = 0.0;
    loop {
        t += rng.exponential(1.0 / peak_per_s);
        if t >= f64::from(DAYS) * 86_400.0 {
            break;
        }
        let hour = ((t % 86_400.0) / 3600.0) as usize;
        if rng.uniform() >= profile(hour) / 1.4 {
            continue; // thinning
        }
        let patience = rng.log_normal(PATIENCE_MEDIAN_S, PATIENCE_SIGMA);
        let service = rng.log_normal(300.0, 0.5);
        let server = (0..free_at.len()).min_by(|&a, &b| free_at[a].total_cmp(&free_at[b])).unwrap();
        let start = free_at[server].max(t);
        let (wait, duration, ending, worker) = if start - t > patience {
            (patience, patience, "abandoned", String::new())
        } else {
            free_at[server] = start + service;
            (start - t, start - t + service, "resolved", format!("server-{server}"))
        };
        let row = format!("{t:.3},{wait:.3},{duration:.3},{ending},{worker},web");
        rows.push((t + duration, row));
    }
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut text = String::from("arrival_s,first_wait_s,duration_s,ending,worker,channel\n");
    for (_, row) in rows {
        writeln!(text, "{row}").unwrap();
    }
    text
}

#[test]
fn recovers_the_hourly_profile_and_patience_from_a_log_handoff_did_not_write() {
    let dir = temp_dir("independent");
    let path = dir.join("log.csv");
    std::fs::write(&path, independent_log()).unwrap();
    let (columns, summary) = handoff::eval::logs::summarise_log(&path, None).unwrap();
    assert_eq!(columns.optional, ["worker"]);
    assert!((95_000..105_000).contains(&summary.rows), "{} chats", summary.rows);
    assert_eq!(summary.days(), DAYS);
    // each hour within 5 % of its true rate, or within 4 standard errors of its Poisson count
    // where that is wider (the quietest hours hold about 2,500 arrivals, a standard error of
    // 2 %: 5 % is 2.5 of them, which one hour in 80 exceeds by chance)
    for (h, &n) in summary.arrivals_by_hour().iter().enumerate() {
        let truth = CHATS_PER_DAY / 24.0 * profile(h) * f64::from(DAYS);
        let error = n as f64 / truth - 1.0;
        let tolerance = f64::max(0.05, 4.0 / truth.sqrt());
        assert!(error.abs() < tolerance, "hour {h}: {n} arrivals against {truth:.0} ({error:+.3})");
    }
    let patience = summary.patience.fit().expect("enough customers left");
    assert!(patience.abandonments > 1000, "{patience:?}");
    let error = patience.median_s / PATIENCE_MEDIAN_S - 1.0;
    assert!(error.abs() < 0.10, "median patience {:.1} s ({error:+.3})", patience.median_s);
    assert!(patience.median_ci[0] < PATIENCE_MEDIAN_S && PATIENCE_MEDIAN_S < patience.median_ci[1]);
    assert!((patience.sigma / PATIENCE_SIGMA - 1.0).abs() < 0.10, "{patience:?}");
    // 55 servers, one customer each; the log's first hour, before each server's first chat,
    // and its last, after the last chats end, see fewer at work (1.2 and 0.9 fewer)
    let workers = summary.workers_by_hour().unwrap();
    assert!(workers[1..23].iter().all(|&w| (w - 55.0).abs() < 0.05), "{workers:?}");
    assert!(workers.iter().all(|&w| (w - 55.0).abs() < 1.5), "{workers:?}");
    assert_eq!(summary.chats_held_at_once(), Some(1));
    std::fs::remove_dir_all(dir).ok();
}

/// Simulates the scenario file `truth` into a log and fits its treatment arm back onto
/// `small` (with the extra `fit-logs` arguments), writing `out`; returns the `--json` report.
fn simulate_and_fit(
    truth: &std::path::Path,
    out: &std::path::Path,
    extra: &[&str],
) -> serde_json::Value {
    let log = truth.with_extension("csv");
    let o = handoff(&[
        "simulate",
        "--scenario",
        truth.to_str().unwrap(),
        "--csv",
        log.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut args = vec!["fit-logs", "--chats", log.to_str().unwrap(), "--arm", "treatment"];
    args.extend(["--base", "small", "--out", out.to_str().unwrap(), "--json"]);
    args.extend(extra);
    let o = handoff(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    json(&o)
}

/// Every key number of the fitted centre has an interval that meets the log's.
fn assert_the_fitted_centre_meets_the_log(report: &serde_json::Value) {
    for kpi in report["kpis"].as_array().unwrap() {
        assert_intervals_meet(kpi);
    }
}

/// The fitted centre's 95 % interval of `kpi` (over its seeds) meets the log's (from its rows).
fn assert_intervals_meet(kpi: &serde_json::Value) {
    let (log, sim) = (&kpi["log"], &kpi["simulated"]);
    let meet = log["lo"].as_f64() <= sim["hi"].as_f64() && sim["lo"].as_f64() <= log["hi"].as_f64();
    assert!(meet, "{}: log {log}, fitted {sim}", kpi["name"]);
}

#[test]
fn a_simulated_log_fits_back_to_its_scenario() {
    let dir = temp_dir("round-trip");
    // small, perturbed: fewer workers, less patient customers, more AI-eligible issues
    let truth = dir.join("truth.toml");
    std::fs::write(
        &truth,
        "base = \"small\"\nname = \"truth\"\ndays = 4\n[arrivals]\nchats_per_day = 1300.0\n\
         eligible_share = 0.1\n[customers]\npatience_median_s = 150.0\npatience_sigma = 0.7\n\
         [workers]\ncount = 24\n",
    )
    .unwrap();
    let out = dir.join("fitted.toml");
    let v = simulate_and_fit(&truth, &out, &["--seeds", "6"]);
    // the same log and flags give the same report, bit for bit
    assert_eq!(simulate_and_fit(&truth, &out, &["--seeds", "6"]), v);
    let estimates = &v["estimates"];
    let covers = |x: &serde_json::Value, truth: f64| {
        let (lo, hi) = (x["lo"].as_f64().unwrap(), x["hi"].as_f64().unwrap());
        assert!(lo <= truth && truth <= hi, "{truth} outside [{lo}, {hi}]");
    };
    covers(&estimates["chats_per_day"], 1300.0);
    covers(&estimates["eligible_share"], 0.1);
    let patience = &estimates["patience"];
    let ci = |key: &str| serde_json::json!({"lo": patience[key][0], "hi": patience[key][1]});
    covers(&ci("median_ci"), 150.0);
    covers(&ci("sigma_ci"), 0.7);
    // the fitted centre behaves as the log did
    assert_the_fitted_centre_meets_the_log(&v);
    // its workers on duty: the minutes the log's workers were seen answering, less those spent
    // finishing chats after a shift, give the truth's worker-hours within 2 % (at the study's
    // size they came out 3 % high before the minutes finishing chats were taken off)
    let worker_hours = |scenario: &std::path::Path| {
        let o = handoff(&["simulate", "--scenario", scenario.to_str().unwrap(), "--json"]);
        assert!(o.status.success(), "{}", stderr(&o));
        json(&o)["staffing"]["asked_worker_hours"].as_f64().unwrap()
    };
    let (fitted_hours, true_hours) = (worker_hours(&out), worker_hours(&truth));
    assert!((fitted_hours / true_hours - 1.0).abs() < 0.02, "{fitted_hours} against {true_hours}");
    // the written scenario is the one the fit ran
    let fitted = std::fs::read_to_string(&out).unwrap();
    assert_eq!(fitted, v["scenario_toml"].as_str().unwrap());
    let o = handoff(&["eval", "--scenario", out.to_str().unwrap(), "--seeds", "1", "--days", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_bad_log_exits_2_naming_the_file_line_and_column_and_writes_nothing() {
    let dir = temp_dir("bad");
    let header = "arrival_s,first_wait_s,duration_s,ending\n";
    let cases = [
        (
            "no-wait.csv",
            "arrival_s,duration_s,ending\n1,2,resolved\n",
            "missing column first_wait_s",
        ),
        (
            "text.csv",
            &format!("{header}1,0,30,resolved\n2,0,soon,resolved\n") as &str,
            "line 3: duration_s: \"soon\" is not a number",
        ),
        (
            "negative.csv",
            &format!("{header}1,0,-4,resolved\n"),
            "line 2: duration_s: -4 is negative",
        ),
        (
            "wait.csv",
            &format!("{header}1,50,30,resolved\n"),
            "line 2: first_wait_s: 50 is longer than the chat",
        ),
        (
            "ending.csv",
            &format!("{header}1,0,30,fine\n"),
            "line 2: ending: \"fine\" is not one of resolved",
        ),
        ("empty.csv", "", "the log is empty"),
        ("header.csv", header, "the log is empty"),
    ];
    let out = dir.join("out.toml");
    for (name, text, expected) in cases {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let o = handoff(&[
            "fit-logs",
            "--chats",
            path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        let message = stderr(&o);
        assert_eq!(message.lines().count(), 1, "{name}: {message}");
        assert!(message.contains(name) && message.contains(expected), "{name}: {message}");
        assert!(!out.exists(), "{name} wrote {}", out.display());
    }
    let o = handoff(&["fit-logs", "--chats", dir.join("absent.csv").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("absent.csv"), "{}", stderr(&o));
    std::fs::remove_dir_all(dir).ok();
}

/// Rows of a chats CSV as (arrival_s, ai_eligible) of one arm, in arrival order.
fn arrivals(csv: &std::path::Path, arm: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(csv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let mut rows: Vec<(String, String)> = lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|r| r[col("arm")] == arm)
        .map(|r| (r[col("arrival_s")].to_string(), r[col("ai_eligible")].to_string()))
        .collect();
    rows.sort_by(|a, b| a.0.parse::<f64>().unwrap().total_cmp(&b.0.parse::<f64>().unwrap()));
    rows
}

#[test]
fn a_scenario_replays_the_arrivals_of_a_log() {
    let dir = temp_dir("trace");
    let log = dir.join("log.csv");
    let o = handoff(&[
        "simulate",
        "--scenario",
        "small",
        "--days",
        "2",
        "--csv",
        log.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // the trace's path is relative to the scenario file, wherever the command runs
    let scenario = dir.join("replay.toml");
    std::fs::write(
        &scenario,
        "base = \"small\"\nname = \"replay\"\ndays = 2\n[arrivals]\ntrace = \"log.csv\"\n\
         trace_arm = \"treatment\"\nchats_per_day = 10.0\n",
    )
    .unwrap();
    let replayed = dir.join("replayed.csv");
    let o = handoff(&[
        "simulate",
        "--scenario",
        scenario.to_str().unwrap(),
        "--seed",
        "9",
        "--csv",
        replayed.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // every arrival of the log, at its time and with its eligibility, in both arms (the
    // volume of the scenario, 10 a day, does not apply)
    let logged = arrivals(&log, "treatment");
    assert!(logged.len() > 2000, "{} chats", logged.len());
    assert_eq!(arrivals(&replayed, "treatment"), logged);
    assert_eq!(arrivals(&replayed, "control"), logged);
    // a replica keeps each logged chat with its scale's chance
    let half = handoff::env::Scenario::load(scenario.to_str().unwrap()).unwrap().scaled(0.5);
    let mut sim = handoff::env::Simulator::new(half.clone());
    let mut policy = handoff::agents::by_name("study-treatment", &half).unwrap();
    let mut kept = 0.0;
    handoff::env::run(&mut sim, 3, policy.as_mut(), |_| kept += 1.0);
    let n = logged.len() as f64;
    assert!((kept - n / 2.0).abs() < 4.0 * (n / 4.0).sqrt(), "kept {kept} of {n}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_trace_that_is_missing_or_too_short_is_refused() {
    let dir = temp_dir("bad-trace");
    let log = dir.join("log.csv");
    let o = handoff(&["simulate", "--scenario", "small", "--csv", log.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    for (name, text, expected) in [
        ("missing.toml", "base = \"small\"\n[arrivals]\ntrace = \"nope.csv\"\n", "nope.csv"),
        (
            "short.toml",
            "base = \"small\"\ndays = 5\n[arrivals]\ntrace = \"log.csv\"\ntrace_arm = \"control\"\n",
            "the log covers 1 of the 5 days the scenario runs",
        ),
        ("arms.toml", "base = \"small\"\n[arrivals]\ntrace = \"log.csv\"\n", "more than one arm"),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let o = handoff(&["simulate", "--scenario", path.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        let message = stderr(&o);
        assert!(
            message.contains("arrivals.trace") && message.contains(expected),
            "{name}: {message}"
        );
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_traces_fingerprint_follows_its_arrivals_not_its_path() {
    let dir = temp_dir("trace-fingerprint");
    for sub in ["a", "b"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let log = dir.join("a/log.csv");
    let o = handoff(&["simulate", "--scenario", "small", "--csv", log.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::copy(&log, dir.join("b/log.csv")).unwrap();
    let text = "base = \"small\"\n[arrivals]\ntrace = \"log.csv\"\ntrace_arm = \"control\"\n";
    let load = |sub: &str| {
        let path = dir.join(sub).join("replay.toml");
        std::fs::write(&path, text).unwrap();
        handoff::env::Scenario::load(path.to_str().unwrap()).unwrap().fingerprint()
    };
    let (a, b) = (load("a"), load("b"));
    assert_eq!(a, b);
    // the same file with one arrival moved is another scenario
    let moved = std::fs::read_to_string(&log).unwrap().replacen(",control,", ",control,1", 1);
    std::fs::write(dir.join("b/log.csv"), moved).unwrap();
    assert_ne!(load("b"), a);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn the_service_fit_recovers_the_reply_time_rounds_and_ratings_of_a_simulated_log() {
    let dir = temp_dir("service");
    // small with slower replies, issues that need 30 % more rounds and readier raters than its
    // base: durations, worker messages and ratings that the base's service does not give
    let truth = dir.join("slow.toml");
    std::fs::write(
        &truth,
        "base = \"small\"\nname = \"slow\"\ndays = 4\n[workers]\nreply_median_s = 60.0\n\
         count = 40\n[customers]\nrating_propensity = 0.3\n[issues]\nrounds_eligible_mean = 3.9\n\
         rounds_ineligible_mean = 6.5\n",
    )
    .unwrap();
    let out = dir.join("fitted.toml");
    let v = simulate_and_fit(&truth, &out, &[]);
    assert_eq!(v["service"]["converged"], true, "{}", v["service"]);
    let fitted = |path: &str| {
        let p = v["service"]["parameters"].as_array().unwrap().iter().find(|p| p["path"] == path);
        p.unwrap()["fitted"].as_f64().unwrap()
    };
    let reply = fitted("workers.reply_median_s");
    assert!((reply / 60.0 - 1.0).abs() < 0.1, "reply {reply} s against 60");
    for (path, truth) in
        [("issues.rounds_eligible_mean", 3.9), ("issues.rounds_ineligible_mean", 6.5)]
    {
        let rounds = fitted(path);
        assert!((rounds / truth - 1.0).abs() < 0.05, "{path} {rounds} against {truth}");
    }
    let propensity = fitted("customers.rating_propensity");
    assert!((propensity / 0.3 - 1.0).abs() < 0.15, "rating propensity {propensity} against 0.3");
    // the fitted centre behaves as the log did, waits and abandonment included (not fitted)
    assert_the_fitted_centre_meets_the_log(&v);
    std::fs::remove_dir_all(dir).ok();
}

/// The whole fit on the log of the independent queue: the fitted handoff centre (workers who
/// each hold one chat, the reply time fitted to the mean duration) loses, waits and takes as
/// long as the queue's customers, within their sampling spread (the durations' shape within a
/// tenth).
#[test]
fn the_fitted_centre_behaves_as_a_queue_handoff_did_not_write() {
    let dir = temp_dir("independent-fit");
    let log = dir.join("log.csv");
    std::fs::write(&log, independent_log()).unwrap();
    let out = dir.join("fitted.toml");
    let o = handoff(&[
        "fit-logs",
        "--chats",
        log.to_str().unwrap(),
        "--base",
        "small",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json(&o);
    let kpi =
        |name: &str| v["kpis"].as_array().unwrap().iter().find(|k| k["name"] == name).unwrap();
    // fitted: the mean duration (the work a chat brings); predicted: the waits and abandonment
    // at the load that gives, each 95 % interval (the log's from its rows, the centre's over its
    // seeds) meeting the log's
    for name in ["duration_mean_s", "abandoned_share", "first_wait_mean_s", "first_wait_p90_s"] {
        assert_intervals_meet(kpi(name));
    }
    // the shape, within a tenth of each duration quartile (the simulator's durations are rounds
    // of replies, not one log-normal service: one reply time cannot match all three quartiles)
    for quartile in ["duration_p25_s", "duration_p50_s", "duration_p75_s"] {
        let k = kpi(quartile);
        let (log, fitted) =
            (k["log"]["value"].as_f64().unwrap(), k["simulated"]["value"].as_f64().unwrap());
        assert!((fitted / log - 1.0).abs() < 0.1, "{quartile}: {log} {fitted}");
    }
    std::fs::remove_dir_all(dir).ok();
}
