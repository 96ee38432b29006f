//! Invariants of the simulator, checked after every decision over many seeds and scenarios.

use std::collections::HashMap;

use handoff::agents::by_name;
use handoff::env::Simulator;
use handoff::env::scenario::BUILTIN;
use handoff::env::{ChatRecord, Scenario};

/// Runs `policy` on `scenario` from `seed`, checking invariants after every step, and returns the
/// completed chats.
fn run_checked(scenario: &Scenario, seed: u64, policy: &str) -> Vec<ChatRecord> {
    let mut sim = Simulator::new(scenario.clone());
    let mut policy = by_name(policy, scenario).unwrap();
    sim.reset(seed);
    policy.reset(seed);
    let mut records = Vec::new();
    let mut last_time = 0.0;
    loop {
        let more = sim.advance();
        assert!(sim.now() >= last_time, "time went back from {last_time} to {}", sim.now());
        last_time = sim.now();
        sim.check_invariants().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        records.extend_from_slice(sim.completed());
        sim.clear_completed();
        if !more {
            break;
        }
        let obs = sim.observation();
        let action = policy.act(obs);
        assert!(obs.mask[action], "{} chose a masked action", policy.name());
        sim.apply(action).unwrap();
    }
    let counters = sim.counters();
    assert_eq!(counters.arrived, counters.completed, "every chat that arrived ended");
    assert_eq!(sim.chats_in_flight(), 0);
    assert_eq!(records.len() as u64, counters.completed);
    records
}

fn check_records(records: &[ChatRecord]) {
    let mut seen = std::collections::HashSet::new();
    for r in records {
        assert!(seen.insert(r.chat_id), "chat {} ended twice", r.chat_id);
        assert!((1.0..=5.0).contains(&r.satisfaction), "satisfaction {}", r.satisfaction);
        if let Some(stars) = r.rating {
            assert!((1..=5).contains(&stars), "rating {stars}");
        }
        assert!(r.duration_s >= 0.0 && r.wait_s >= 0.0 && r.wait_s <= r.duration_s + 1e-6);
        assert!((0.0..=1.0).contains(&r.retrial_prob));
        assert!(r.effort > 0.0 && r.effort <= 1.0);
        // a worker can switch away from a chat only between two of its replies to it
        assert!(r.switch_aways < r.human_replies.max(1), "{} switch-aways", r.switch_aways);
        assert!(r.concurrency >= 0.0 && (r.human_replies > 0 || r.concurrency == 0.0));
        if !r.ai_involved {
            assert!(r.escalation.is_none() && r.ai_replies == 0);
        }
        if r.escalation.is_some() {
            assert!(r.ai_involved);
        }
    }
    // first contacts are numbered 0..n: nothing lost; a retrial that came back answers a first
    // contact or an earlier retrial that ended, and carries its id one step up
    let first = records.iter().filter(|r| r.retrial_of.is_none()).count();
    assert!(
        records.iter().filter(|r| r.retrial_of.is_none()).all(|r| (r.chat_id as usize) < first)
    );
    for r in records {
        if let Some(parent) = r.retrial_of {
            assert_eq!(r.chat_id, parent + handoff::env::RETRIAL_ID_STEP);
            assert!(seen.contains(&parent), "chat {} returns about unknown {parent}", r.chat_id);
        }
    }
}

#[test]
fn invariants_hold_over_many_seeds_and_policies() {
    let small = Scenario::builtin("small").unwrap();
    for seed in 0..12 {
        for policy in ["study-control", "study-treatment", "random"] {
            check_records(&run_checked(&small, seed, policy));
        }
    }
}

#[test]
fn invariants_hold_in_every_builtin_scenario() {
    for (name, _) in BUILTIN {
        let mut scenario = Scenario::builtin(name).unwrap();
        // the full study takes seconds; a day at its scale exercises the same code
        scenario.days = 1;
        for policy in ["study-treatment", "random"] {
            check_records(&run_checked(&scenario, 3, policy));
        }
    }
}

#[test]
fn twins_share_arrival_time_issue_and_customer() {
    let small = Scenario::builtin("small").unwrap();
    for seed in [1, 2, 3] {
        let control: HashMap<u64, ChatRecord> = run_checked(&small, seed, "study-control")
            .into_iter()
            .map(|r| (r.chat_id, r))
            .collect();
        let treatment = run_checked(&small, seed, "study-treatment");
        assert_eq!(control.len(), treatment.len());
        let mut differ = 0;
        for t in &treatment {
            let c = &control[&t.chat_id];
            assert_eq!(c.arrival_s, t.arrival_s);
            assert_eq!(c.ai_eligible, t.ai_eligible);
            differ += usize::from(c.duration_s != t.duration_s);
            // the control arm never involves the AI
            assert!(!c.ai_involved);
        }
        assert!(differ > 0, "dispatch must change something");
        assert!(treatment.iter().any(|r| r.ai_involved), "treatment uses the AI");
    }
}

#[test]
fn memory_grows_with_chats_in_flight_not_with_the_horizon() {
    // a 20-day run allocates about the chat slots a 2-day run needs at its peak, not ten times more
    let scenario = Scenario::builtin("small").unwrap();
    let peak = |days: u32| {
        let mut scenario = scenario.clone();
        scenario.days = days;
        let mut sim = Simulator::new(scenario.clone());
        let mut policy = by_name("study-treatment", &scenario).unwrap();
        sim.reset(5);
        let mut peak = 0;
        while sim.advance() {
            peak = peak.max(sim.chats_in_flight());
            sim.clear_completed();
            let a = policy.act(sim.observation());
            sim.apply(a).unwrap();
        }
        assert!(sim.allocated_slots() >= peak);
        (sim.allocated_slots(), sim.counters().arrived)
    };
    let (peak2, arrived2) = peak(2);
    let (peak20, arrived20) = peak(20);
    assert!(arrived20 > 9 * arrived2, "{arrived20} vs {arrived2}");
    assert!(peak20 < 2 * peak2 + 20, "chat slots {peak20} vs {peak2}");
}
