//! Copies of the environment and what they are for: a copy continues exactly as the original
//! would, rollouts of the same option agree to the bit, and a rule with a zero correction is the
//! rule.

use handoff::agents::corrected::{quicker_peer, route_choice};
use handoff::agents::{Corrected, Corrections, by_name, make_env, spec};
use handoff::env::{DecisionKind, HandoffEnv, Observation, Policy, Scenario};

fn quick() -> Scenario {
    let mut s = Scenario::builtin("small").unwrap();
    s.arrivals.chats_per_day = 600.0;
    s.workers.count = 12;
    s.env.control = DecisionKind::ALL.to_vec();
    s
}

/// (action, reward bits, observation) of every step from here to the end under `policy`.
fn trajectory(env: &mut HandoffEnv, policy: &mut dyn Policy) -> Vec<(usize, u64, Observation)> {
    let mut out = Vec::new();
    while !env.is_over() {
        let action = policy.act(env.observation());
        let step = env.step(action).unwrap();
        out.push((action, step.reward.to_bits(), env.observation().clone()));
    }
    out
}

#[test]
fn a_copy_continues_as_the_original_and_stepping_it_leaves_the_original_untouched() {
    let s = quick();
    for seed in [1, 2] {
        let mut env = make_env(s.clone()).unwrap();
        let mut rule = by_name("c-mu", &s).unwrap();
        env.reset(seed);
        // part of the way into the episode, with chats in flight and queued events
        for _ in 0..300 {
            let action = rule.act(env.observation());
            env.step(action).unwrap();
        }
        let before = env.observation().clone();
        let mut copy = env.clone();
        let mut rule_copy = rule.clone();
        // stepping the copy with other actions (the last valid one) does not move the original
        for _ in 0..50 {
            let action = copy.observation().valid_actions().last().unwrap();
            copy.step(action).unwrap();
        }
        assert_eq!(env.observation(), &before, "seed {seed}: the copy changed the original");
        let mut copy = env.clone();
        let original = trajectory(&mut env, rule.as_mut());
        let copied = trajectory(&mut copy, rule_copy.as_mut());
        assert!(original.len() > 100, "seed {seed}: {} steps", original.len());
        assert!(original == copied, "seed {seed}: the copy's trajectory differs");
    }
}

#[test]
fn rolling_out_the_same_option_twice_gives_exactly_the_same_return() {
    let s = quick();
    let mut env = make_env(s.clone()).unwrap();
    let mut rule = by_name("c-mu", &s).unwrap();
    env.reset(3);
    let mut compared = 0;
    while !env.is_over() && compared < 20 {
        let obs = env.observation();
        if obs.valid_count() > 1 {
            let options: Vec<usize> = obs.valid_actions().take(2).collect();
            let a = env.rollout_return(options[0], rule.as_ref(), 1800.0).unwrap();
            let b = env.rollout_return(options[0], rule.as_ref(), 1800.0).unwrap();
            assert_eq!(a.to_bits(), b.to_bits(), "the same option, the same return");
            let other = env.rollout_return(options[1], rule.as_ref(), 1800.0).unwrap();
            assert!(other.is_finite());
            compared += 1;
        }
        let action = rule.act(env.observation());
        env.step(action).unwrap();
    }
    assert_eq!(compared, 20);
    let invalid = env.observation().mask.iter().position(|m| !m).unwrap();
    assert!(env.rollout_return(invalid, rule.as_ref(), 60.0).is_err(), "an invalid option");
}

#[test]
fn the_chats_a_choice_touches_come_to_the_same_on_the_same_option_and_differ_with_another() {
    let s = quick();
    let mut env = make_env(s.clone()).unwrap();
    let mut rule = by_name("c-mu", &s).unwrap();
    env.reset(7);
    let (mut compared, mut differed) = (0, 0);
    while !env.is_over() && compared < 30 {
        let obs = env.observation().clone();
        if obs.kind == DecisionKind::Route {
            assert_eq!(env.rollout_touched(0, rule.as_ref()).unwrap(), None, "not at routing");
        } else if obs.valid_count() > 1 {
            let options: Vec<usize> = obs.valid_actions().take(2).collect();
            let a = env.rollout_touched(options[0], rule.as_ref()).unwrap().unwrap();
            let b = env.rollout_touched(options[0], rule.as_ref()).unwrap().unwrap();
            assert_eq!(a.reward.to_bits(), b.reward.to_bits(), "the same option, the same reward");
            assert_eq!(a.human_replies, b.human_replies);
            assert!(a.human_replies > 0, "the worker's own chats take human replies");
            let other = env.rollout_touched(options[1], rule.as_ref()).unwrap().unwrap();
            differed += usize::from(other != a);
            assert_eq!(env.observation(), &obs, "rollouts leave the environment as it was");
            compared += 1;
        }
        let action = rule.act(env.observation());
        env.step(action).unwrap();
    }
    assert_eq!(compared, 30);
    // another chat answered first changes when, and how, the touched chats end
    assert!(differed > 10, "only {differed} of 30 choices changed what their chats came to");
}

#[test]
fn a_zero_correction_takes_exactly_the_rule_s_action_at_every_decision() {
    let s = quick();
    // the rule without the quickest-first tie-break, so that the pace correction has choices
    let rule_spec = "surge-c-mu-theta@quickest_first=0";
    let rule_file = spec::policy_file(rule_spec).unwrap();
    // attend and assign decisions over the seeds (the queue is rare at this staffing)
    let mut option_choices = [0usize; 2];
    for seed in [4, 5, 6] {
        let mut env = make_env(s.clone()).unwrap();
        let mut rule = rule_file.build(&s, rule_spec).unwrap();
        let mut corrected = Corrected::new("zero", rule.clone(), Corrections::none());
        let mut scratch = Observation::new(0);
        env.reset(seed);
        let (mut decisions, mut route_choices, mut pace_choices) = (0, 0, 0);
        while !env.is_over() {
            let obs = env.observation();
            let expected = rule.act(obs);
            route_choices += usize::from(route_choice(rule.as_mut(), obs, &mut scratch).is_some());
            pace_choices += usize::from(quicker_peer(obs, expected).is_some());
            match obs.kind {
                DecisionKind::Attend => option_choices[0] += 1,
                DecisionKind::Assign => option_choices[1] += 1,
                DecisionKind::Route => {}
            }
            assert_eq!(corrected.act(obs), expected, "seed {seed}, decision {decisions}");
            env.step(expected).unwrap();
            decisions += 1;
        }
        assert!(route_choices > 10, "seed {seed}: only {route_choices} AI-or-worker choices");
        assert!(pace_choices > 10, "seed {seed}: only {pace_choices} choices of a quicker peer");
    }
    assert!(option_choices[0] > 100 && option_choices[1] > 5, "{option_choices:?}");
}
