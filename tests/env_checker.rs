//! The environment's own checks, in the spirit of Gymnasium's env checker.

use handoff::agents::{RandomPolicy, make_env};
use handoff::env::{DecisionKind, HandoffEnv, Policy, Scenario, StepError, VectorEnv};

fn tiny() -> Scenario {
    let mut s = Scenario::builtin("small").unwrap();
    s.arrivals.chats_per_day = 150.0;
    s
}

/// `tiny()` with every lever the agent can have: all decision kinds, holding, and retrials that
/// come back.
fn levers() -> Scenario {
    let mut s = tiny();
    s.env.control = DecisionKind::ALL.to_vec();
    s.env.hold_s = 30.0;
    s.retrial.returns = true;
    s.retrial.delay_mean_h = 2.0;
    s
}

fn encoded(env: &HandoffEnv) -> Vec<f32> {
    let mut buf = vec![0.0; env.observation_len()];
    env.observation().encode(&mut buf);
    buf
}

/// Plays a random policy seeded with `policy_seed` for at most `steps` steps; returns the rewards.
fn play(env: &mut HandoffEnv, seed: u64, policy_seed: u64, steps: usize) -> Vec<f64> {
    let mut policy = RandomPolicy::default();
    policy.reset(policy_seed);
    env.reset(seed);
    let mut rewards = Vec::new();
    while !env.is_over() && rewards.len() < steps {
        let a = policy.act(env.observation());
        rewards.push(env.step(a).unwrap().reward);
    }
    rewards
}

#[test]
fn reset_with_a_seed_is_deterministic() {
    let mut a = make_env(tiny()).unwrap();
    let mut b = make_env(tiny()).unwrap();
    assert_eq!(play(&mut a, 9, 1, usize::MAX), play(&mut b, 9, 1, usize::MAX));
    assert_eq!(encoded(&a), encoded(&b));
    // resetting the same environment again replays the episode
    let first = play(&mut a, 4, 2, 300);
    assert_eq!(first, play(&mut a, 4, 2, 300));
    assert_ne!(first, play(&mut a, 5, 2, 300), "another seed gives another episode");
}

#[test]
fn observations_stay_inside_the_space_and_masks_match_step() {
    let mut env = make_env(levers()).unwrap();
    let space = env.observation_space();
    let n = env.action_space().n;
    let mut twin = make_env(levers()).unwrap();
    let mut policy = RandomPolicy::default();
    policy.reset(3);
    env.reset(21);
    twin.reset(21);
    let mut steps = 0;
    let mut kinds = [0usize; 3];
    while !env.is_over() {
        let obs = encoded(&env);
        assert!(space.contains(&obs), "observation outside the space at step {steps}: {obs:?}");
        let mask = env.action_mask().to_vec();
        assert_eq!(mask.len(), n);
        assert!(mask.iter().filter(|&&m| m).count() >= 2, "forced decisions are not offered");
        kinds[env.observation().kind as usize] += 1;
        for (a, &valid) in mask.iter().enumerate() {
            if !valid {
                let before = env.observation().clone();
                assert!(matches!(env.step(a), Err(StepError::Masked { .. })));
                assert_eq!(env.observation(), &before, "a refused action changes nothing");
            }
        }
        assert!(matches!(env.step(n), Err(StepError::OutOfRange { .. })));
        assert!(matches!(env.step(usize::MAX), Err(StepError::OutOfRange { .. })));
        let a = policy.act(env.observation());
        let s = env.step(a).unwrap();
        let t = twin.step(a).unwrap();
        assert_eq!(s, t, "refused actions left no trace");
        steps += 1;
    }
    assert!(kinds.iter().all(|&k| k > 0), "every decision kind occurs: {kinds:?}");
    assert!(matches!(env.step(0), Err(StepError::EpisodeOver)));
}

#[test]
fn step_before_reset_is_an_error() {
    let mut env = make_env(tiny()).unwrap();
    assert_eq!(env.step(0), Err(StepError::NotReset));
}

#[test]
fn episode_ends_terminated_with_every_chat_done() {
    let mut env = make_env(tiny()).unwrap();
    let rewards = play(&mut env, 2, 2, usize::MAX);
    assert!(env.is_over());
    let sim = env.simulator();
    assert_eq!(sim.counters().arrived, sim.counters().completed);
    assert!(!rewards.is_empty());
    assert!(rewards.iter().all(|r| r.is_finite()));
}

#[test]
fn max_steps_truncates() {
    let mut scenario = tiny();
    scenario.env.max_steps = 25;
    let mut env = make_env(scenario).unwrap();
    let mut policy = RandomPolicy::default();
    env.reset(1);
    let mut last = None;
    for _ in 0..25 {
        last = Some(env.step(policy.act(env.observation())).unwrap());
    }
    let last = last.unwrap();
    assert!(last.truncated && !last.terminated);
    assert_eq!(last.info.steps, 25);
    assert_eq!(env.step(0), Err(StepError::EpisodeOver));
}

#[test]
fn the_agent_sees_only_the_decision_kinds_it_controls() {
    for kind in DecisionKind::ALL {
        let mut scenario = levers();
        // busy enough that chats queue while workers have free slots
        scenario.arrivals.chats_per_day = 1500.0;
        scenario.env.control = vec![kind];
        let mut env = make_env(scenario).unwrap();
        let mut policy = RandomPolicy::default();
        env.reset(6);
        let mut steps = 0;
        while !env.is_over() {
            assert_eq!(env.observation().kind, kind);
            env.step(policy.act(env.observation())).unwrap();
            steps += 1;
        }
        assert!(steps > 0);
    }
}

fn vector(n: usize, threads: usize) -> VectorEnv {
    VectorEnv::new((0..n).map(|_| make_env(levers()).unwrap()).collect()).with_threads(threads)
}

/// Steps a vector with per-environment random policies, showing `see` the vector after every
/// step; returns all rewards and flags.
fn play_vector(
    vec: &mut VectorEnv,
    steps: usize,
    mut see: impl FnMut(&VectorEnv),
) -> Vec<(f64, bool, bool)> {
    let mut policies: Vec<RandomPolicy> = (0..vec.len())
        .map(|i| {
            let mut p = RandomPolicy::default();
            p.reset(i as u64);
            p
        })
        .collect();
    vec.reset(77);
    let mut out = Vec::new();
    for _ in 0..steps {
        let actions: Vec<usize> =
            vec.envs().iter().zip(&mut policies).map(|(e, p)| p.act(e.observation())).collect();
        vec.step(&actions).unwrap();
        see(vec);
        for i in 0..vec.len() {
            out.push((vec.rewards()[i], vec.terminated()[i], vec.truncated()[i]));
        }
    }
    out
}

#[test]
fn vector_results_do_not_depend_on_thread_count() {
    // rewards, flags, and every observation and mask after every step, bit for bit
    let play = |threads| {
        let mut seen = Vec::new();
        let results = play_vector(&mut vector(5, threads), 3000, |v| {
            seen.extend(v.observations().iter().map(|x| x.to_bits()));
            seen.extend(v.masks().iter().map(|&m| u32::from(m)));
        });
        (results, seen)
    };
    let one = play(1);
    assert!(one.0.iter().any(|(_, t, _)| *t), "episodes ended within the test");
    for threads in [2, 3, 5] {
        assert!(play(threads) == one, "{threads} threads differ from one");
    }
}

#[test]
fn vector_autoresets_on_the_next_step() {
    let mut vec = vector(2, 1);
    let mut policies = [RandomPolicy::default(), RandomPolicy::default()];
    vec.reset(5);
    let first_obs = vec.observations().row(0).to_vec();
    let mut single = make_env(levers()).unwrap();
    single.reset(VectorEnv::episode_seed(5, 0, 0));
    assert_eq!(first_obs, encoded(&single), "environment 0 starts on its derived seed");
    loop {
        let actions: Vec<usize> =
            vec.envs().iter().zip(&mut policies).map(|(e, p)| p.act(e.observation())).collect();
        vec.step(&actions).unwrap();
        if vec.terminated()[0] {
            break;
        }
    }
    // the next step ignores environment 0's action and resets it
    let actions: Vec<usize> = vec
        .envs()
        .iter()
        .zip(&mut policies)
        .enumerate()
        .map(|(i, (e, p))| if i == 0 { usize::MAX } else { p.act(e.observation()) })
        .collect();
    vec.step(&actions).unwrap();
    assert_eq!(vec.rewards()[0], 0.0);
    assert!(!vec.terminated()[0] && !vec.truncated()[0]);
    assert!(vec.infos()[0].is_none());
    let mut fresh = make_env(levers()).unwrap();
    fresh.reset(VectorEnv::episode_seed(5, 0, 1));
    assert_eq!(vec.observations().row(0).to_vec(), encoded(&fresh));
}

#[test]
fn vector_refuses_an_invalid_action_before_stepping_anything() {
    let mut vec = vector(2, 1);
    vec.reset(8);
    let before = vec.observations().clone();
    let valid0 = vec.envs()[0].observation().valid_actions().next().unwrap();
    let err = vec.step(&[valid0, 999]).unwrap_err();
    assert_eq!(err.index, 1);
    assert_eq!(vec.observations(), &before);
    assert_eq!(vec.envs()[0].observation().time_s, vec.envs()[0].simulator().now());
}

#[test]
fn an_episode_without_agent_decisions_ends_at_reset() {
    let mut scenario = tiny();
    scenario.arrivals.chats_per_day = 0.0;
    let mut env = make_env(scenario.clone()).unwrap();
    env.reset(1);
    assert!(env.is_over());
    assert_eq!(env.step(0), Err(StepError::EpisodeOver));
    let mut vec = VectorEnv::new(vec![make_env(scenario).unwrap()]);
    vec.reset(1);
    assert!(vec.terminated()[0], "the vector reports the empty episode as terminated");
    vec.step(&[0]).unwrap(); // the action is ignored: the environment resets
    assert!(vec.terminated()[0]);
}

#[test]
fn each_ended_chat_is_credited_to_one_agent_and_the_credits_sum_to_the_reward() {
    use handoff::env::Agent;
    let scenario = levers();
    let workers = scenario.workers.count;
    let mut env = make_env(scenario).unwrap();
    let mut policy = RandomPolicy::default();
    policy.reset(3);
    env.reset(3);
    let (mut router, mut credited_workers) = (0usize, std::collections::HashSet::new());
    while !env.is_over() {
        let step = env.step(policy.act(env.observation())).unwrap();
        let credits = env.chat_rewards();
        assert_eq!(credits.len(), step.info.chats_completed_step as usize);
        let sum = credits.iter().fold(0.0, |total, (_, reward)| total + reward);
        assert_eq!(sum, step.reward, "the same chats, summed in the same order");
        for (agent, _) in credits {
            match agent {
                Agent::Router => router += 1,
                Agent::Worker(w) => {
                    assert!(*w < workers);
                    credited_workers.insert(*w);
                }
            }
        }
    }
    assert!(router > 0, "the AI's own and abandoned chats go to the router");
    assert!(credited_workers.len() > 1, "{credited_workers:?}");
}

#[test]
fn a_worker_decides_only_after_their_first_shift_began_and_joins_once() {
    use handoff::env::Agent;
    let mut env = make_env(levers()).unwrap();
    let mut policy = RandomPolicy::default();
    policy.reset(5);
    env.reset(5);
    let at_start = env.simulator().first_on_duty().len();
    let mut deciders = std::collections::HashSet::new();
    while !env.is_over() {
        let joined = env.simulator().first_on_duty();
        if let Agent::Worker(w) = env.observation().agent() {
            assert!(joined.contains(&w), "worker {w} decides before coming on duty");
            deciders.insert(w);
        }
        env.step(policy.act(env.observation())).unwrap();
    }
    let joined = env.simulator().first_on_duty();
    let unique: std::collections::HashSet<_> = joined.iter().collect();
    assert_eq!(unique.len(), joined.len(), "each worker joins once: {joined:?}");
    assert!(at_start < joined.len(), "shifts begin through the day: {at_start} at the start");
    assert!(deciders.len() > 1, "{deciders:?}");
    // the next episode starts its own record
    env.reset(5);
    assert_eq!(env.simulator().first_on_duty().len(), at_start);
}
