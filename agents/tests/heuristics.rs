//! Each heuristic does what its documentation says, on hand-built decisions.

use handoff_agents::by_name;
use handoff_agents::early_takeover::EarlyTakeover;
use handoff_env::scenario::DecisionKind;
use handoff_env::{Candidate, CandidateKind, Escalation, Observation, Scenario};

const SLOTS: usize = 8;

fn decision(kind: DecisionKind, slots: &[Candidate], valid: &[bool]) -> Observation {
    let mut obs = Observation::new(SLOTS);
    obs.kind = kind;
    for (i, (c, &m)) in slots.iter().zip(valid).enumerate() {
        obs.candidates[i] = *c;
        obs.mask[i] = m;
    }
    obs
}

fn chat(wait_s: f32, frustration: f32) -> Candidate {
    Candidate { kind: CandidateKind::Chat, wait_s, frustration, ..Candidate::default() }
}

fn takeover(frustration: f32) -> Candidate {
    Candidate { kind: CandidateKind::Takeover, frustration, ..Candidate::default() }
}

fn worker(id: u32, load: f32) -> Candidate {
    Candidate { kind: CandidateKind::Worker, worker: id, load, ..Candidate::default() }
}

fn ai() -> Candidate {
    Candidate { kind: CandidateKind::Ai, ..Candidate::default() }
}

fn queue() -> Candidate {
    Candidate { kind: CandidateKind::Queue, ..Candidate::default() }
}

fn wait() -> Candidate {
    Candidate { kind: CandidateKind::Wait, ..Candidate::default() }
}

fn act(name: &str, obs: &Observation) -> usize {
    let scenario = Scenario::default();
    by_name(name, &scenario).unwrap().act(obs)
}

#[test]
fn emotion_first_answers_an_emotional_escalation_before_a_longer_wait() {
    let emotional = Candidate { escalation: Some(Escalation::Emotional), ..chat(10.0, 0.3) };
    let obs = decision(
        DecisionKind::Attend,
        &[wait(), chat(200.0, 0.4), emotional, takeover(5.0)],
        &[false, true, true, true],
    );
    assert_eq!(act("emotion-first", &obs), 2);
    assert_eq!(act("longest-wait-first", &obs), 1);
    // no emotional escalation: the takeover above the threshold, then the most frustrated
    let obs = decision(
        DecisionKind::Attend,
        &[wait(), chat(200.0, 0.4), chat(10.0, 0.9), takeover(0.1)],
        &[false, true, true, true],
    );
    assert_eq!(act("emotion-first", &obs), 2);
}

#[test]
fn emotion_first_routes_an_emotional_escalation_to_the_least_loaded_worker() {
    let supervisor = Candidate { is_supervisor: true, ..worker(3, 0.8) };
    let mut obs = decision(
        DecisionKind::Route,
        &[ai(), queue(), supervisor, worker(5, 0.2), worker(6, 0.4)],
        &[false, true, true, true, true],
    );
    obs.chat.escalation = Some(Escalation::Emotional);
    assert_eq!(act("emotion-first", &obs), 3);
    assert_eq!(act("study-treatment", &obs), 3, "a busier supervisor: the least-loaded worker");
    obs.chat.escalation = Some(Escalation::Technical);
    assert_eq!(act("emotion-first", &obs), act("study-treatment", &obs), "routes as deployed");
    assert_eq!(act("least-loaded", &obs), 3);
    // a supervisor who holds no more than anyone else gets the escalation back
    obs.candidates[2].load = 0.2;
    assert_eq!(act("study-treatment", &obs), 2, "the deployment returns it to the supervisor");
}

#[test]
fn early_takeover_steps_in_below_the_deployment_s_threshold() {
    let scenario = Scenario::default();
    let early = EarlyTakeover::new(&scenario);
    let deployed = scenario.study_policy.takeover_frustration as f32;
    assert!(early.trigger() < deployed && early.trigger() > 0.0);
    let between = 0.5 * (early.trigger() + deployed);
    let obs = decision(
        DecisionKind::Attend,
        &[wait(), chat(30.0, 0.2), takeover(between)],
        &[false, true, true],
    );
    assert_eq!(act("early-takeover", &obs), 2);
    assert_eq!(act("study-treatment", &obs), 1);
    assert_eq!(act("longest-wait-first", &obs), 1, "never takes over of its own accord");
}

#[test]
fn round_robin_takes_workers_in_turn_and_chats_in_turn() {
    let scenario = Scenario::default();
    let mut policy = by_name("round-robin", &scenario).unwrap();
    let obs = decision(
        DecisionKind::Route,
        &[ai(), queue(), worker(4, 0.5), worker(1, 0.0), worker(7, 0.5)],
        &[false, true, true, true, true],
    );
    let chosen: Vec<u32> = (0..4).map(|_| obs.candidates[policy.act(&obs)].worker).collect();
    assert_eq!(chosen, [1, 4, 7, 1]);
    // attention: the next waiting chat after the one answered last
    let last = Candidate { last_answered: true, ..chat(5.0, 0.0) };
    let obs = decision(
        DecisionKind::Attend,
        &[wait(), chat(100.0, 0.0), last, chat(1.0, 0.0), chat(50.0, 0.0)],
        &[false, true, true, false, true],
    );
    assert_eq!(policy.act(&obs), 4);
}

#[test]
fn c_mu_prefers_the_chat_nearest_completion_among_equal_waits() {
    let fresh = chat(60.0, 0.3);
    let nearly_done = Candidate { rounds_done: 8.0, ..fresh };
    let obs = decision(
        DecisionKind::Attend,
        &[wait(), fresh, nearly_done, takeover(0.0)],
        &[false, true, true, true],
    );
    assert_eq!(act("c-mu", &obs), 2);
    assert_eq!(act("longest-wait-first", &obs), 1, "equal waits: the lower slot");
}

#[test]
fn every_heuristic_routes_eligible_chats_to_the_ai_except_the_control_arm() {
    let obs = decision(DecisionKind::Route, &[ai(), queue(), worker(0, 0.0)], &[true, true, true]);
    for name in handoff_agents::policy_names() {
        let a = act(name, &obs);
        assert!(obs.mask[a], "{name} chose an invalid action");
        match name {
            "study-control" => assert_eq!(a, 2),
            "random" => {}
            _ => assert_eq!(a, 0, "{name}"),
        }
    }
}
