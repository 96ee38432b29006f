//! The dispatcher's levers: the assign decision, holding, and retrials that come back.
//! Statistical checks use fixed seeds and tolerances of 4 standard errors of their sample.

mod common;

use std::collections::HashMap;

use common::{handoff, stderr, temp_dir};
use handoff::agents::spec::resolve;
use handoff::agents::{StudyTreatment, by_name, make_env, run_builtin};
use handoff::env::{CandidateKind, ChatRecord, DecisionKind, Policy, Scenario};

/// A centre busy enough that chats queue while workers have free slots.
fn busy() -> Scenario {
    let mut s = Scenario::builtin("understaffed").unwrap();
    s.days = 1;
    s
}

/// Plays `agent` on every decision the scenario gives it; returns the episode's return and the
/// number of steps of each kind.
fn play(scenario: Scenario, seed: u64, agent: &mut dyn Policy) -> (f64, [usize; 3]) {
    let mut env = make_env(scenario).unwrap();
    env.reset(seed);
    agent.reset(seed);
    let (mut total, mut kinds) = (0.0, [0usize; 3]);
    while !env.is_over() {
        kinds[env.observation().kind as usize] += 1;
        let action = agent.act(env.observation());
        total += env.step(action).unwrap().reward;
    }
    (total, kinds)
}

#[test]
fn the_deployments_assign_rule_is_the_queue_discipline_the_simulator_had() {
    let mut scenario = busy();
    let mut agent = StudyTreatment::new(&scenario);
    scenario.env.control = vec![DecisionKind::Route, DecisionKind::Attend];
    let (without, kinds) = play(scenario.clone(), 3, &mut agent);
    assert_eq!(kinds[DecisionKind::Assign as usize], 0);
    scenario.env.control.push(DecisionKind::Assign);
    let (with, kinds) = play(scenario, 3, &mut agent);
    assert!(kinds[DecisionKind::Assign as usize] > 100, "assign decisions: {kinds:?}");
    // the same chats with the same rewards, summed over differently grouped steps
    assert!(
        (with - without).abs() < 1e-9 * without.abs(),
        "taking queued chats in order is the fallback's rule: {with} against {without}"
    );
}

fn records(scenario: &Scenario, seed: u64, policy: &mut dyn Policy) -> Vec<ChatRecord> {
    let mut sim = handoff::env::Simulator::new(scenario.clone());
    let mut out = Vec::new();
    handoff::env::run(&mut sim, seed, policy, |r| out.push(*r));
    out
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    sum / n as f64
}

#[test]
fn passing_on_queued_chats_limits_a_workers_concurrency() {
    let scenario = busy();
    let fifo = records(&scenario, 5, &mut StudyTreatment::new(&scenario));
    let mut capped = resolve("study-treatment@max_chats=2", &scenario).unwrap();
    let limited = records(&scenario, 5, capped.as_mut());
    let human = |r: &&ChatRecord| r.human_replies > 0;
    let before = mean(fifo.iter().filter(human).map(|r| r.concurrency));
    let after = mean(limited.iter().filter(human).map(|r| r.concurrency));
    assert!(after < before - 0.2, "concurrency {before:.3} with FIFO, {after:.3} capped at 2");
    // without AI chats to supervise (whose load also counts), a reply juggles at most one other
    // chat: neither routing nor the queue gives a worker at the limit another chat
    let mut control = resolve("study-control@max_chats=2", &scenario).unwrap();
    let control = records(&scenario, 5, control.as_mut());
    let most = control.iter().filter(human).map(|r| r.concurrency).fold(0.0, f64::max);
    assert!(most <= 1.0 + 1e-9, "a capped worker juggled {most:.3} other chats per reply");
}

/// The study's small centre for 3 days with returns on, coming back after 2 hours on average.
fn returning() -> Scenario {
    let mut s = Scenario::builtin("small").unwrap();
    s.days = 3;
    s.retrial.returns = true;
    s.retrial.delay_mean_h = 2.0;
    s
}

/// `returning()` with customers writing at every hour alike, so that the delay of a return after
/// its first contact ended is exactly exponential (memoryless, no thinning by the hour).
fn returning_around_the_clock() -> Scenario {
    let mut s = returning();
    s.arrivals.hourly_profile = vec![1.0; 24];
    s.workers.staffing = vec![1.0; 24];
    s
}

fn end_s(r: &ChatRecord) -> f64 {
    r.arrival_s + r.duration_s
}

#[test]
fn retrials_come_back_with_the_scenarios_delay_and_in_the_expected_numbers() {
    let scenario = returning_around_the_clock();
    let horizon = scenario.horizon_s();
    let mean_delay = scenario.retrial.delay_mean_h * 3600.0;
    let mut chats = Vec::new();
    run_builtin(&scenario, 11, "study-treatment", |r| chats.push(*r)).unwrap();
    let by_id: HashMap<u64, &ChatRecord> = chats.iter().map(|r| (r.chat_id, r)).collect();
    let returns: Vec<&ChatRecord> = chats.iter().filter(|r| r.retrial_of.is_some()).collect();
    assert!(returns.len() > 200, "{} retrials came back", returns.len());

    // every return answers a chat that retried, about the same issue
    let mut delays = Vec::new();
    for back in &returns {
        let parent = by_id[&back.retrial_of.unwrap()];
        assert!(parent.retrial && parent.ai_eligible == back.ai_eligible);
        delays.push(back.arrival_s - end_s(parent));
    }
    // retrials flagged long enough before the end all come back (a delay over 20 means has
    // probability e^-20); the others come back with the probability of a delay within the time left
    let came_back: HashMap<u64, bool> =
        returns.iter().map(|r| (r.retrial_of.unwrap(), true)).collect();
    let (mut expected, mut variance, mut late_returns) = (0.0, 0.0, 0.0);
    for r in chats.iter().filter(|r| r.retrial) {
        let left = horizon - end_s(r);
        let back = came_back.contains_key(&r.chat_id);
        if left > 20.0 * mean_delay {
            assert!(
                back,
                "chat {} retried {left:.0} s before the end and never came back",
                r.chat_id
            );
        } else {
            let p = 1.0 - libm::exp(-left.max(0.0) / mean_delay);
            expected += p;
            variance += p * (1.0 - p);
            late_returns += f64::from(u8::from(back));
        }
    }
    assert!(
        (late_returns - expected).abs() < 4.0 * variance.sqrt() + 1.0,
        "{late_returns} late returns, {expected:.1} expected"
    );
    // delays are exponential with the scenario's mean (the 7-day truncation is negligible here)
    let n = delays.len() as f64;
    let observed = delays.iter().sum::<f64>() / n;
    assert!(delays.iter().all(|&d| d >= 0.0));
    assert!(
        (observed - mean_delay).abs() < 4.0 * mean_delay / n.sqrt(),
        "mean delay {observed:.0} s over {n} returns, scenario {mean_delay:.0} s"
    );
    // the retrial flags themselves follow each chat's retrial probability
    let flagged = chats.iter().filter(|r| r.retrial).count() as f64;
    let p_sum: f64 = chats.iter().map(|r| r.retrial_prob).sum();
    let p_var: f64 = chats.iter().map(|r| r.retrial_prob * (1.0 - r.retrial_prob)).sum();
    assert!(
        (flagged - p_sum).abs() < 4.0 * p_var.sqrt(),
        "{flagged} retrials, {p_sum:.0} expected"
    );
}

#[test]
fn twins_stay_aligned_when_retrials_come_back() {
    let scenario = returning();
    let run = |policy: &str| {
        let mut chats = HashMap::new();
        run_builtin(&scenario, 12, policy, |r| {
            chats.insert(r.chat_id, *r);
        })
        .unwrap();
        chats
    };
    let (control, treatment) = (run("study-control"), run("study-treatment"));
    let (mut twins, mut same_moment) = (0, 0);
    let first = |arm: &HashMap<u64, ChatRecord>| {
        let mut v: Vec<(u64, u64)> = arm
            .values()
            .filter(|r| r.retrial_of.is_none())
            .map(|r| (r.chat_id, r.arrival_s.to_bits()))
            .collect();
        v.sort_unstable();
        v
    };
    assert_eq!(first(&control), first(&treatment), "first contacts are the same in both arms");
    for (id, c) in control.iter().filter(|(_, r)| r.retrial_of.is_some()) {
        let Some(t) = treatment.get(id) else { continue };
        let parent = c.retrial_of.unwrap();
        assert_eq!(t.retrial_of, Some(parent));
        assert_eq!(c.ai_eligible, t.ai_eligible);
        assert!(c.arrival_s > end_s(&control[&parent]) && t.arrival_s > end_s(&treatment[&parent]));
        twins += 1;
        same_moment += usize::from(c.arrival_s == t.arrival_s);
    }
    assert!(twins > 50, "{twins} retrials came back in both arms");
    // they differ only when a proposed moment fell while one twin's first contact was still open
    // (with returns after 2 hours on average and chats of 10-15 minutes, about 1 in 13)
    assert!(same_moment * 100 >= twins * 85, "{same_moment} of {twins} came back together");
}

#[test]
fn customers_come_back_at_the_hours_customers_write() {
    // a day on average: without the thinning, returns would spread over the clock
    let mut scenario = returning();
    scenario.retrial.delay_mean_h = 24.0;
    scenario.days = 5;
    let mut night = (0usize, 0usize);
    run_builtin(&scenario, 13, "study-treatment", |r| {
        if r.retrial_of.is_some() {
            let hour = (r.arrival_s % 86_400.0) / 3600.0;
            night.0 += usize::from(hour < 7.0);
            night.1 += 1;
        }
    })
    .unwrap();
    let share = night.0 as f64 / night.1 as f64;
    assert!(night.1 > 200);
    // the night hours hold 5 % of the profile; over the clock they would get 7/24
    assert!(share < 0.5 * 7.0 / 24.0, "{share:.3} of returns at night");
}

#[test]
fn the_chats_csv_names_the_first_contact_of_each_retrial() {
    let dir = temp_dir("returns");
    let file = dir.join("returns.toml");
    // a small centre: without `base` a file starts from the full-size taobao
    let text = "base = \"small\"\nname = \"returns\"\ndays = 2\n[retrial]\nreturns = true\n\
                delay_mean_h = 3.0\n";
    std::fs::write(&file, text).unwrap();
    let csv = dir.join("chats.csv");
    let o = handoff(&[
        "simulate",
        "--scenario",
        file.to_str().unwrap(),
        "--csv",
        csv.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let ids: std::collections::HashSet<(&str, &str)> =
        rows.iter().map(|r| (r[col("arm")], r[col("chat_id")])).collect();
    let returns: Vec<&Vec<&str>> =
        rows.iter().filter(|r| !r[col("retrial_of")].is_empty()).collect();
    assert!(returns.len() > 10, "{} rows with retrial_of", returns.len());
    for r in returns {
        assert!(ids.contains(&(r[col("arm")], r[col("retrial_of")])), "{r:?}");
    }
}

#[test]
fn every_heuristic_takes_a_queued_chat_and_only_random_passes() {
    let mut scenario = busy();
    scenario.env.control = vec![DecisionKind::Assign];
    for name in handoff::agents::policy_names() {
        let mut policy = by_name(name, &scenario).unwrap();
        let mut env = make_env(scenario.clone()).unwrap();
        env.reset(4);
        policy.reset(4);
        let (mut steps, mut passes) = (0, 0);
        while !env.is_over() && steps < 2000 {
            let action = policy.act(env.observation());
            passes += usize::from(env.observation().candidates[action].kind == CandidateKind::Pass);
            env.step(action).unwrap();
            steps += 1;
        }
        assert!(steps > 50, "{name}: {steps} assign decisions");
        assert_eq!(passes > 0, name == "random", "{name} passed {passes} times");
    }
}

/// Switch-aways per AI-ineligible chat and the chats' mean duration under `study-treatment` on
/// `scenario`, over seeds 1 to 3.
fn ineligible_switches(scenario: &Scenario) -> (f64, usize) {
    let (mut switches, mut chats) = (0u64, 0usize);
    for seed in 1..=3 {
        let mut sim = handoff::env::Simulator::new(scenario.clone());
        let mut policy = StudyTreatment::new(scenario);
        handoff::env::run(&mut sim, seed, &mut policy, |r| {
            if !r.ai_eligible {
                switches += u64::from(r.switch_aways);
                chats += 1;
            }
        });
    }
    (switches as f64 / chats as f64, chats)
}

#[test]
fn the_focus_workflow_cuts_switch_aways_where_workers_have_time_for_it() {
    // a quiet centre: workers hold a few chats, and holding for one costs the others little
    let mut scenario = Scenario::builtin("taobao").unwrap().scaled(0.03);
    scenario.days = 2;
    scenario.arrivals.chats_per_day *= 0.6;
    scenario.env.hold_s = 10.0;
    let (off, chats) = ineligible_switches(&scenario);
    scenario.study_policy.focus_s = 120.0;
    let (on, _) = ineligible_switches(&scenario);
    assert!(chats > 2000, "{chats} chats");
    // a switch-away count per chat has a standard deviation below 3: 4 standard errors of
    // the difference are under 0.4 at this sample
    assert!(on < off - 0.4, "switch-aways per chat: {on:.3} focused, {off:.3} not");
}
