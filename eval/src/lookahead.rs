//! Where a policy leaves room: one-step lookahead per decision kind.
//!
//! At every decision of one kind with more than one valid option, each option is taken on
//! copies of the centre and the rest of a horizon is played by the base policy; the option
//! that earns most is taken (the base's own choice unless another earns more: strictly on an
//! exact copy, clearly over forks: [`SWITCH_ERROR`]), and the episode goes on. What the episode then earns over the base policy is the room a better
//! choice at that kind of decision can find (Bertsekas's rollout; one step of policy
//! improvement, Roubos and Bhulai 2012 for call centres).
//!
//! Two kinds of copy, reported side by side:
//! - **exact copies** continue exactly as the episode would, so they know its future (every
//!   customer's patience, every reply's outcome): their gain is an *optimistic ceiling*, since a
//!   perfect-information relaxation without a penalty for the information used bounds nothing
//!   a real dispatcher could earn (Brown, Smith and Sun, Operations Research 2010);
//! - **forks** ([`handoff_env::HandoffEnv::fork`]) keep the observable present and draw the
//!   future afresh, consistent with what has been seen (POMCP's belief-state sampling, Silver
//!   and Veness 2010): their gain is what a non-anticipative lookahead policy earns, a fair
//!   result. Every option meets the same forks (common random numbers).

use handoff_env::rng::{Stream, derive_seed};
use handoff_env::{DecisionKind, HandoffEnv, Policy, Scenario};
use rayon::prelude::*;
use serde::Serialize;

use crate::stats;

/// How the copies of a lookahead see the future.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Future {
    /// Exact copies: the episode's own future (hindsight, an optimistic ceiling).
    Exact,
    /// This many forks per option, each with a future drawn afresh (fair).
    Forks(u32),
}

/// What to compare.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LookaheadSettings {
    /// The kind of decision whose options are compared (the base policy makes the others).
    pub kind: DecisionKind,
    /// Simulated seconds each option is played out for after the decision.
    pub horizon_s: f64,
    /// Compare at most this many decisions of an episode, its first (0: every one).
    pub max_decisions: u64,
    /// Exact copies or forks.
    pub future: Future,
}

/// One episode under the lookahead policy.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LookaheadEpisode {
    /// The seed.
    pub seed: u64,
    /// The base policy's return on the seed.
    pub base_return: f64,
    /// The lookahead policy's return on the seed.
    pub lookahead_return: f64,
    /// Decisions whose options were compared.
    pub compared: u64,
    /// Decisions where the lookahead took another option than the base policy.
    pub changed: u64,
}

/// The scenario with the agent making only `kind`'s decisions, the base policy the others.
fn lookahead_scenario(scenario: &Scenario, kind: DecisionKind, base: &str) -> Scenario {
    let mut s = scenario.clone();
    s.env.control = vec![kind];
    s.env.fallback_policy = base.to_string();
    s.env.max_steps = 0;
    s
}

/// The chance, over all the alternatives of a decision together, that the lookahead leaves
/// the base's choice for one that is no better: each of `m` alternatives must beat the base's
/// choice by the one-sided `1 - SWITCH_ERROR / m` quantile of its paired gain's standard
/// errors (Bonferroni). With a few forks the best of several noisy estimates is mostly noise:
/// a plain two standard errors for each alternative left the base's choice at 14 % of `small`'s
/// routing decisions and lost 3.6 % of the return (docs/rollout.md).
pub const SWITCH_ERROR: f64 = 0.025;

/// How many standard errors an alternative's paired gain must reach when `m` compete.
fn switch_z(m: usize) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    let normal = Normal::new(0.0, 1.0).expect("the standard normal");
    normal.inverse_cdf(1.0 - SWITCH_ERROR / m.max(1) as f64)
}

/// The option to take at the decision `env` waits for: the one whose play under `rule` for
/// the horizon earns most, on one exact copy (no `forks`), or over the forks in `forks` where it
/// beats `chosen`, the base's choice, clearly ([`SWITCH_ERROR`]); otherwise `chosen`.
fn best_option(
    env: &HandoffEnv,
    rule: &dyn Policy,
    horizon_s: f64,
    forks: &[u64],
    chosen: usize,
) -> usize {
    let play = |a: usize| -> Vec<f64> {
        if forks.is_empty() {
            vec![env.rollout_return(a, rule, horizon_s).expect("a valid action")]
        } else {
            forks
                .iter()
                .map(|&seed| env.fork_return(seed, a, rule, horizon_s).expect("a valid action"))
                .collect()
        }
    };
    let base = play(chosen);
    let z = switch_z(env.observation().valid_count() - 1);
    let mut best = (chosen, 0.0);
    for a in env.observation().valid_actions().filter(|&a| a != chosen) {
        let gains: Vec<f64> = play(a).iter().zip(&base).map(|(v, b)| v - b).collect();
        let mean = stats::mean(&gains);
        let clear =
            if gains.len() < 2 { mean > 0.0 } else { mean > z * stats::standard_error(&gains) };
        if clear && mean > best.1 {
            best = (a, mean);
        }
    }
    best.0
}

/// Runs the base policy and the lookahead policy on `seed`. `make` builds the base policy
/// (the scenario's fallback is set to its name).
pub fn lookahead_episode(
    scenario: &Scenario,
    base: &str,
    make: &(dyn Fn(&Scenario) -> Box<dyn Policy> + Sync),
    settings: &LookaheadSettings,
    seed: u64,
) -> LookaheadEpisode {
    let s = lookahead_scenario(scenario, settings.kind, base);
    let run = |lookahead: bool| {
        let mut env = HandoffEnv::new(s.clone(), make(&s));
        let mut rule = make(&s);
        env.reset(seed);
        rule.reset(derive_seed(seed, Stream::Policy, 1));
        let (mut total, mut compared, mut changed, mut step) = (0.0, 0u64, 0u64, 0u64);
        while !env.is_over() {
            let chosen = rule.act(env.observation());
            let budget = settings.max_decisions == 0 || compared < settings.max_decisions;
            let action = if lookahead && budget && env.observation().valid_count() > 1 {
                compared += 1;
                let forks: Vec<u64> = match settings.future {
                    Future::Exact => Vec::new(),
                    Future::Forks(k) => (0..u64::from(k))
                        .map(|i| derive_seed(seed, Stream::Policy, 2 + (step << 8) + i))
                        .collect(),
                };
                let best = best_option(&env, rule.as_ref(), settings.horizon_s, &forks, chosen);
                changed += u64::from(best != chosen);
                best
            } else {
                chosen
            };
            total += env.step(action).expect("a valid action").reward;
            step += 1;
        }
        (total, compared, changed)
    };
    let ((base_env, _, _), (lookahead_env, compared, changed)) =
        rayon::join(|| run(false), || run(true));
    // the environment's returns leave out the chats that end before its first decision, which
    // are the same chats in both runs; the evaluation's return counts every chat
    let mut plain = scenario.clone();
    plain.env.fallback_policy = base.to_string();
    let base_return = crate::run_episode(&plain, seed, make(&plain), make(&plain)).episode_return;
    let lookahead_return = base_return + (lookahead_env - base_env);
    LookaheadEpisode { seed, base_return, lookahead_return, compared, changed }
}

/// The lookahead over seeds: every episode and the paired gain with its 95 % interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LookaheadReport {
    /// The decision kind compared.
    pub kind: &'static str,
    /// Exact copies or forks.
    pub future: Future,
    /// What the gain means: an optimistic ceiling (exact copies) or a fair result (forks).
    pub reading: &'static str,
    /// The base policy's mean return.
    pub base_mean: f64,
    /// The lookahead policy's mean return.
    pub lookahead_mean: f64,
    /// The mean paired gain and its 95 % Student-t interval over seeds.
    pub gain: [f64; 3],
    /// The mean gain as a share of the base's mean return's magnitude.
    pub gain_share: f64,
    /// Decisions compared per episode, on average.
    pub compared_mean: f64,
    /// Decisions changed per episode, on average.
    pub changed_mean: f64,
    /// Every episode.
    pub episodes: Vec<LookaheadEpisode>,
}

/// Runs [`lookahead_episode`] on `seeds` seeds from `first_seed`, in parallel; `done` is
/// called after each episode (for progress).
pub fn lookahead(
    scenario: &Scenario,
    base: &str,
    make: &(dyn Fn(&Scenario) -> Box<dyn Policy> + Sync),
    settings: &LookaheadSettings,
    first_seed: u64,
    seeds: u64,
    done: &(dyn Fn() + Sync),
) -> LookaheadReport {
    let episodes: Vec<LookaheadEpisode> = (0..seeds)
        .into_par_iter()
        .map(|i| {
            let e = lookahead_episode(scenario, base, make, settings, first_seed + i);
            done();
            e
        })
        .collect();
    let gains: Vec<f64> = episodes.iter().map(|e| e.lookahead_return - e.base_return).collect();
    let (m, lo, hi) = stats::mean_ci(&gains);
    let base_mean = stats::mean(&episodes.iter().map(|e| e.base_return).collect::<Vec<_>>());
    let n = episodes.len().max(1) as f64;
    LookaheadReport {
        kind: settings.kind.label(),
        future: settings.future,
        reading: match settings.future {
            Future::Exact => "optimistic ceiling: exact copies know the episode's future",
            Future::Forks(_) => "fair: forks redraw the future, as a dispatcher could",
        },
        base_mean,
        lookahead_mean: stats::mean(
            &episodes.iter().map(|e| e.lookahead_return).collect::<Vec<_>>(),
        ),
        gain: [m, lo, hi],
        gain_share: m / base_mean.abs().max(f64::MIN_POSITIVE),
        compared_mean: episodes.iter().map(|e| e.compared as f64).sum::<f64>() / n,
        changed_mean: episodes.iter().map(|e| e.changed as f64).sum::<f64>() / n,
        episodes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Scenario {
        let mut s = Scenario::builtin("small").unwrap();
        s.days = 1;
        s.arrivals.chats_per_day *= 0.3;
        s.workers.count = 6;
        s
    }

    fn make(s: &Scenario) -> Box<dyn Policy> {
        handoff_agents::spec::resolve("c-mu", s).unwrap()
    }

    #[test]
    fn exact_copies_and_forks_choose_differently_and_every_kind_is_compared() {
        let s = small();
        for kind in DecisionKind::ALL {
            let exact = LookaheadSettings {
                kind,
                horizon_s: 900.0,
                max_decisions: 150,
                future: Future::Exact,
            };
            let forks = LookaheadSettings { future: Future::Forks(2), ..exact };
            let (a, b) = (
                lookahead_episode(&s, "c-mu", &make, &exact, 3),
                lookahead_episode(&s, "c-mu", &make, &forks, 3),
            );
            assert_eq!(a.base_return.to_bits(), b.base_return.to_bits(), "{kind:?}");
            assert!(a.compared > 0 && a.changed <= a.compared, "{kind:?}: {a:?}");
            assert!(b.changed <= b.compared, "{kind:?}");
            if kind != DecisionKind::Assign {
                assert!(a.changed > 0, "{kind:?}: hindsight changed nothing");
                assert_ne!(
                    a.lookahead_return, b.lookahead_return,
                    "{kind:?}: forks saw the future"
                );
            }
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_lookahead_bit_for_bit() {
        let settings = LookaheadSettings {
            kind: DecisionKind::Attend,
            horizon_s: 900.0,
            max_decisions: 200,
            future: Future::Forks(2),
        };
        let a = lookahead_episode(&small(), "c-mu", &make, &settings, 5);
        let b = lookahead_episode(&small(), "c-mu", &make, &settings, 5);
        assert_eq!(a.lookahead_return.to_bits(), b.lookahead_return.to_bits());
        assert_eq!((a.compared, a.changed), (b.compared, b.changed));
        assert_eq!(a.compared, 200);
    }

    #[test]
    fn exact_lookahead_on_every_decision_does_not_lose_to_its_base() {
        // exact copies to the episode's end: each step takes the option whose continuation
        // under the base earns most, so the episode earns at least the base's (Bertsekas's
        // cost improvement, exact here because the copies share every random number)
        let mut s = small();
        s.arrivals.chats_per_day *= 0.3;
        let settings = LookaheadSettings {
            kind: DecisionKind::Route,
            horizon_s: 10.0 * 86_400.0,
            max_decisions: 0,
            future: Future::Exact,
        };
        for seed in 1..4 {
            let e = lookahead_episode(&s, "c-mu", &make, &settings, seed);
            assert!(
                e.lookahead_return >= e.base_return - 1e-6,
                "seed {seed}: {} < {}",
                e.lookahead_return,
                e.base_return
            );
        }
    }
}
