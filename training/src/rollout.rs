//! Improving the best rule by simulation: approximate policy iteration on the decision where the
//! tuned rules differ most from each other, whether an AI-eligible chat goes to the AI or to a
//! worker.
//!
//! One iteration:
//! 1. **Collect.** Run the current policy (at first the rule itself) on training seeds. At a
//!    share of its AI-or-worker decisions, copy the environment and run the routed chat to its
//!    end under the current policy once with each option (`HandoffEnv::rollout_chat`). Both
//!    copies share every random number, so the two records of the chat differ only through the
//!    decision, free of the noise of everything else the centre does.
//! 2. **Fit.** Ridge regressions of the chat's reward gain from the AI and of the human replies
//!    the AI saves on the decision's features ([`route_features`]): estimates given what a
//!    dispatcher sees (they average over the futures the copies knew).
//! 3. **Improve.** The AI's advantage is the gain plus a price per saved reply, chosen on
//!    validation episodes; the new policy is the rule corrected where that advantage disagrees
//!    with it ([`Corrected`]); the next iteration rolls out under it.
//!
//! [`train`] runs the iterations at full size on training seeds (hashed from the run's seed),
//! chooses the value of a saved human reply on the validation seeds, and writes the corrected
//! rule as a policy file (`RUN/policy.toml`, with its `[correction]`); the closing comparison
//! (`crate::train::closing_comparison`) judges it on unseen test seeds.

use std::path::Path;
use std::time::Instant;

use handoff_agents::corrected::{ROUTE_FEATURES, route_choice, route_features};
use handoff_agents::spec::{self, CorrectionRecord, PolicyFile};
use handoff_agents::{Corrected, RouteAdvantage, make_env};
use handoff_env::rng::{Stream, derive_seed, uniform};
use handoff_env::{ModelStamp, Observation, Policy, Scenario};
use handoff_eval::{EpisodeResult, mean_kpis, run_episodes, stats};
use rand::SeedableRng;
use rayon::prelude::*;

use crate::config::TrainConfig;
use crate::error::TrainError;
use crate::logger::Logger;
use crate::setup::{self, TrainingScenario};
use crate::train::{
    EVAL_FIRST_SEED, EvalSnapshot, Progress, TrainOptions, TrainOutcome, best_heuristic,
    create_run_dir,
};

/// The policy file a rollout run writes into its directory.
pub const POLICY_FILE: &str = "policy.toml";

/// One rollout comparison: the decision's features and what the AI changes for the chat, on
/// the same random numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// [`route_features`] of the decision.
    pub features: [f64; ROUTE_FEATURES],
    /// The chat's reward with the AI minus its reward with the alternative.
    pub reward_gain: f64,
    /// Human replies the chat needs with the alternative minus with the AI: the worker time the
    /// AI saves for the other customers.
    pub replies_saved: f64,
}

/// How samples are collected.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Collection {
    /// Share of the AI-or-worker decisions compared by rollout (0 to 1).
    pub share: f64,
}

/// Runs the rule `make_rule` builds, corrected by `advantage`, on `scenario` from `seed` (the
/// scenario's fallback making the decisions the agent does not control) and compares the two
/// options of a `share` of its AI-or-worker decisions by rollout under that policy.
pub fn collect(
    scenario: &Scenario,
    seed: u64,
    make_rule: &dyn Fn() -> Box<dyn Policy>,
    advantage: &RouteAdvantage,
    collection: Collection,
) -> Vec<Sample> {
    let mut env = make_env(scenario.clone()).expect("the scenario's fallback is checked");
    let mut acting = Corrected::new("rollout", make_rule(), advantage.clone());
    let mut rule = make_rule();
    let mut sampler = rand_pcg::Pcg64Mcg::seed_from_u64(derive_seed(seed, Stream::Policy, 2));
    let mut scratch = Observation::new(0);
    let mut samples = Vec::new();
    env.reset(seed);
    acting.reset(derive_seed(seed, Stream::Policy, 0));
    while !env.is_over() {
        let obs = env.observation();
        let sampled = route_choice(rule.as_mut(), obs, &mut scratch)
            .filter(|_| uniform(&mut sampler) < collection.share);
        if let Some(choice) = sampled {
            let outcome = |action| {
                env.rollout_chat(action, &acting).expect("route_choice offers valid actions")
            };
            if let (Some(ai), Some(alternative)) = (outcome(choice.ai), outcome(choice.alternative))
            {
                samples.push(Sample {
                    features: route_features(obs, &obs.candidates[choice.alternative]),
                    reward_gain: ai.reward - alternative.reward,
                    replies_saved: f64::from(alternative.human_replies)
                        - f64::from(ai.human_replies),
                });
            }
        }
        let action = acting.act(env.observation());
        env.step(action).expect("the policy takes valid actions");
    }
    samples
}

/// [`collect`] on `seeds` consecutive seeds from `first_seed`, in parallel, in seed order.
pub fn collect_seeds(
    scenario: &Scenario,
    first_seed: u64,
    seeds: u64,
    make_rule: &(dyn Fn() -> Box<dyn Policy> + Sync),
    advantage: &RouteAdvantage,
    collection: Collection,
    on_seed: &(dyn Fn() + Sync),
) -> Vec<Sample> {
    let per_seed: Vec<Vec<Sample>> = (first_seed..first_seed + seeds)
        .into_par_iter()
        .map(|seed| {
            let samples = collect(scenario, seed, make_rule, advantage, collection);
            on_seed();
            samples
        })
        .collect();
    per_seed.concat()
}

/// The ridge regression of `target` on the samples' features: the weights minimising the
/// squared error plus `ridge` times the number of samples times the squared weights (the bias is
/// not penalised). `None` with fewer samples than features.
pub fn fit(samples: &[Sample], ridge: f64, target: impl Fn(&Sample) -> f64) -> Option<Vec<f64>> {
    if samples.len() < ROUTE_FEATURES {
        return None;
    }
    let mut gram = nalgebra::DMatrix::<f64>::zeros(ROUTE_FEATURES, ROUTE_FEATURES);
    let mut moment = nalgebra::DVector::<f64>::zeros(ROUTE_FEATURES);
    for s in samples {
        let x = nalgebra::DVector::from_column_slice(&s.features);
        gram += &x * x.transpose();
        moment += &x * target(s);
    }
    let penalty = ridge * samples.len() as f64;
    for i in 1..ROUTE_FEATURES {
        gram[(i, i)] += penalty;
    }
    Some(gram.cholesky()?.solve(&moment).iter().copied().collect())
}

/// The two fitted estimates, the chat's own gain from the AI and the human replies it saves,
/// and their sum at a price per saved reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimates {
    /// Weights of the reward gain.
    pub reward_gain: Vec<f64>,
    /// Weights of the replies saved.
    pub replies_saved: Vec<f64>,
}

impl Estimates {
    /// Fits both on `samples`.
    pub fn fit(samples: &[Sample], ridge: f64) -> Option<Self> {
        Some(Self {
            reward_gain: fit(samples, ridge, |s| s.reward_gain)?,
            replies_saved: fit(samples, ridge, |s| s.replies_saved)?,
        })
    }

    /// The AI's advantage with a saved human reply worth `reply_value` reward to the other
    /// customers.
    pub fn advantage(&self, reply_value: f64) -> RouteAdvantage {
        let weights =
            self.reward_gain.iter().zip(&self.replies_saved).map(|(g, r)| g + reply_value * r);
        RouteAdvantage { weights: weights.collect() }
    }
}

/// The rule a run improves: `rollout.rule`, or the best heuristic on the validation seeds.
fn rule_file(
    config: &TrainConfig,
    scenario: &Scenario,
    best: &(String, f64),
) -> Result<(String, PolicyFile), TrainError> {
    let name = if config.rollout.rule.is_empty() { &best.0 } else { &config.rollout.rule };
    let invalid = |e: spec::SpecError| TrainError::Config(format!("rollout.rule: {e}"));
    let file = spec::policy_file(name).map_err(invalid)?;
    file.param_set(scenario, name).map_err(invalid)?;
    if file.correction.is_some() {
        return Err(TrainError::Config(format!(
            "rollout.rule: {name} is corrected already; name the rule it corrects"
        )));
    }
    Ok((name.clone(), file))
}

/// The episodes of `make` on the validation seeds and their mean return.
fn validate(
    scenario: &Scenario,
    seeds: u64,
    make: &(dyn Fn() -> Box<dyn Policy> + Sync),
) -> (f64, Vec<EpisodeResult>) {
    let episodes = run_episodes(scenario, EVAL_FIRST_SEED, seeds, make);
    (stats::mean(&episodes.iter().map(|e| e.episode_return).collect::<Vec<_>>()), episodes)
}

/// Trains the rollout learner with `config` into `options.run_dir` (see the module's docs),
/// calling `on_progress` after every iteration. A run is short (minutes) and is not
/// resumed: `options.resume` on a complete run returns it as it is.
pub fn train(
    config: &TrainConfig,
    options: &TrainOptions,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<TrainOutcome, TrainError> {
    config.validate()?;
    let run = options.run_dir.as_path();
    let policy_path = run.join(POLICY_FILE);
    let r = &config.rollout;
    let target = setup::target_scenario(config)?;
    let mut scenario = target.clone();
    if config.days > 0 {
        scenario.days = config.days;
    }
    let centre = TrainingScenario {
        scaled_workers: scenario.workers.count,
        scenario: scenario.clone(),
        full_wait_min: None,
        training_wait_min: None,
    };
    // the rule is chosen where the policy is judged, over the scenario's own days: in
    // taobao-levers retrials come back within 7 days, and one-day episodes rank the rules
    // otherwise (they pick study-control, among the worst over 17 days)
    let best = best_heuristic(&target, config.eval_seeds);
    if options.resume {
        return resumed(config, run, &policy_path, best, centre);
    }
    let (rule_name, rule) = rule_file(config, &scenario, &best)?;
    create_run_dir(run, config, options.overwrite)?;
    let mut logger = Logger::new(run)?;
    let make_rule = || rule.build(&scenario, &rule_name).expect("checked by rule_file");
    let mut validation = target.clone();
    if r.validation_days > 0 {
        validation.days = r.validation_days;
    }
    let rule_validation = validate(&validation, r.validation_seeds, &make_rule);
    let rule_return = rule_validation.0;
    let started = Instant::now();
    let total = r.seeds * r.iterations;
    let mut samples = Vec::new();
    let mut advantage = RouteAdvantage::zero();
    // (mean validation return, the chosen reply value, its validation episodes)
    let mut chosen = (rule_return, None::<f64>, rule_validation.1.clone());
    for iteration in 0..r.iterations {
        let first_seed = derive_seed(config.seed, Stream::Policy, iteration);
        let collected = collect_seeds(
            &scenario,
            first_seed,
            r.seeds,
            &make_rule,
            &advantage,
            Collection { share: r.share },
            &|| {},
        );
        samples.extend(collected);
        let step = (iteration + 1) * r.seeds;
        on_progress(&Progress {
            global_step: step,
            total_steps: total,
            sps: samples.len() as f64 / started.elapsed().as_secs_f64(),
            recent_return: None,
        });
        logger.scalar("rollout/samples", samples.len() as f64, step);
        let estimates = Estimates::fit(&samples, r.ridge).ok_or_else(|| {
            TrainError::Config(format!(
                "only {} rollout comparisons: the scenario has too few AI-or-worker decisions \
                 (raise rollout.seeds or rollout.share)",
                samples.len()
            ))
        })?;
        // the value of a saved reply with the best validation return; the rule itself (no
        // correction) stays unless a value beats it
        chosen = (rule_return, None, rule_validation.1.clone());
        for &value in &r.reply_values {
            let candidate = estimates.advantage(value);
            let (mean, episodes) = validate(&validation, r.validation_seeds, &|| {
                Box::new(Corrected::new("rollout", make_rule(), candidate.clone()))
            });
            if mean > chosen.0 {
                chosen = (mean, Some(value), episodes);
            }
        }
        advantage = chosen.1.map_or_else(RouteAdvantage::zero, |v| estimates.advantage(v));
        logger.scalar("eval/return", chosen.0, step);
        logger.scalar("eval/best_heuristic_return", rule_return, step);
        logger.flush()?;
    }
    // the scenario as the file names it (without the run's `control`), as a reader reloads it
    let mut named = Scenario::load(&config.scenario)?;
    named.days = scenario.days;
    let stamp = ModelStamp::of(&named);
    let file = PolicyFile {
        correction: Some(CorrectionRecord {
            rule: rule_name.clone(),
            scenario: config.scenario.clone(),
            days: scenario.days,
            model: stamp,
            reply_value: chosen.1.unwrap_or(0.0),
            samples: samples.len() as u64,
            weights: advantage.weights.clone(),
        }),
        ..rule
    };
    let path_text = policy_path.display().to_string();
    let tmp = run.join(".policy.toml.tmp");
    std::fs::write(&tmp, file.to_toml(&path_text))
        .and_then(|()| std::fs::rename(&tmp, &policy_path))
        .map_err(|e| TrainError::write(&policy_path, e))?;
    Ok(TrainOutcome {
        checkpoint: policy_path,
        global_step: total,
        finished: true,
        iterations_here: r.iterations,
        // on the days the reply value was chosen on: the corrected rule beside the rule itself
        eval: Some(EvalSnapshot {
            return_mean: chosen.0,
            best_heuristic: rule_name,
            best_heuristic_return: rule_return,
            kpis: mean_kpis(&chosen.2),
        }),
        best_heuristic: best.0,
        centre,
    })
}

/// `--resume` of a rollout run: complete when its policy file is there, else nothing to resume.
fn resumed(
    config: &TrainConfig,
    run: &Path,
    policy_path: &Path,
    best: (String, f64),
    centre: TrainingScenario,
) -> Result<TrainOutcome, TrainError> {
    let saved = crate::checkpoint::config_path(run);
    let text = std::fs::read_to_string(&saved).ok();
    let matches = text
        .and_then(|t| TrainConfig::from_toml(&saved.display().to_string(), &t).ok())
        .is_some_and(|c| c == *config);
    if !policy_path.exists() || !matches {
        return Err(TrainError::Checkpoint(format!(
            "{} holds no complete rollout run with this configuration: a rollout run takes \
             minutes and is not resumed; start it again without --resume",
            run.display()
        )));
    }
    Ok(TrainOutcome {
        checkpoint: policy_path.to_path_buf(),
        global_step: config.rollout.seeds * config.rollout.iterations,
        finished: true,
        iterations_here: 0,
        eval: None,
        best_heuristic: best.0,
        centre,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(frustration: f64, reward_gain: f64) -> Sample {
        let mut features = [0.0; ROUTE_FEATURES];
        features[0] = 1.0;
        features[1] = frustration;
        features[2] = frustration * frustration;
        Sample { features, reward_gain, replies_saved: 1.0 }
    }

    #[test]
    fn the_fit_recovers_a_known_linear_advantage() {
        // advantage = 0.2 - 0.5 * frustration, exactly; other features vary to keep the
        // problem well posed
        let samples: Vec<Sample> = (0..200usize)
            .map(|i| {
                let f = i as f64 / 100.0;
                let mut s = sample(f, 0.2 - 0.5 * f);
                for (k, x) in s.features.iter_mut().enumerate().skip(3) {
                    let bits = handoff_env::rng::splitmix64((i * 100 + k) as u64);
                    *x = (bits >> 11) as f64 / (1u64 << 53) as f64;
                }
                s
            })
            .collect();
        let fitted = Estimates::fit(&samples, 0.0).unwrap();
        let w = &fitted.reward_gain;
        assert!((w[0] - 0.2).abs() < 1e-6 && (w[1] + 0.5).abs() < 1e-6, "{w:?}");
        assert!(w[2..].iter().all(|w| w.abs() < 1e-6), "{w:?}");
        // one saved reply per chat, worth 0.1: the advantage's bias goes up by 0.1
        let advantage = fitted.advantage(0.1);
        assert!((advantage.weights[0] - 0.3).abs() < 1e-6, "{:?}", advantage.weights);
        assert!(Estimates::fit(&samples[..3], 0.0).is_none(), "too few samples");
    }
}
