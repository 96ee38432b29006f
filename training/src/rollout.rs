//! Improving the best rule by simulation: approximate policy iteration on every decision the
//! agent controls: whether an AI-eligible chat goes to the AI or to a worker, which of the
//! equally loaded workers on offer takes a chat (route), which chat a ready worker answers or
//! takes over from the AI, or none (attend), and which queued chat a worker with a free slot
//! takes, or none (assign).
//!
//! One iteration:
//! 1. **Collect.** Run the current policy (at first the rule itself) on training seeds. At a
//!    share of its AI-or-worker decisions, copy the environment and run the routed chat to its
//!    end under the current policy once with each option (`HandoffEnv::rollout_chat`); at a
//!    share of the decisions that give a chat to a worker while an equally loaded worker whose
//!    replies have been quicker is on offer, the same with each of the two workers. The copies
//!    share every random number, so the two records of the chat differ only through the
//!    decision, free of the noise of everything else the centre does. At a share of the attend
//!    and assign decisions, the rule's choice and one other valid option drawn at random are
//!    each taken on a copy, and the chats the decision touches (the worker's held chats and
//!    every option's chat) run to their end under the current policy
//!    (`HandoffEnv::rollout_touched`): a worker's choice of chat delays their other chats, so it
//!    is credited with what all of them come to, and with the human replies they take, the
//!    worker time the other customers lose (`rollout.credit = "horizon"` adds up the whole
//!    centre's reward over `rollout.horizon_s` instead).
//! 2. **Fit.** Ridge regressions of the chat's reward gain from the AI and of the human replies
//!    the AI saves on the decision's features ([`route_features`]), of the chat's reward gain
//!    with the quicker worker on the gap in pace ([`pace_features`]), and of the centre's gain
//!    with the other option on the difference of the two options' traits (`option_features`),
//!    per kind: estimates given what a dispatcher sees (they average over the futures the copies
//!    knew).
//! 3. **Improve.** The AI's advantage is the gain plus a price per saved reply; the price, and
//!    whether the pace correction is used, are chosen on validation episodes, then whether the
//!    attend and the assign corrections are added; the new policy is the rule corrected where
//!    those advantages disagree with it ([`Corrected`]); the next iteration rolls out under it.
//!
//! [`train`] runs the iterations at full size on training seeds (hashed from the run's seed),
//! makes the choices on the validation seeds, and writes the corrected rule as a policy file
//! (`RUN/policy.toml`, with its `[correction]`); the closing comparison
//! (`crate::run::closing_comparison`) judges it on unseen test seeds.

use std::path::Path;
use std::time::Instant;

use handoff_agents::corrected::{
    OPTION_FEATURE_NAMES, OPTION_FEATURES, PACE_FEATURE_NAMES, PACE_FEATURES, ROUTE_FEATURE_NAMES,
    ROUTE_FEATURES, option_features, pace_features, quicker_peer, route_choice, route_features,
};
use handoff_agents::spec::{self, CorrectionRecord, PolicyFile};
use handoff_agents::{Advantage, Corrected, Corrections, make_env};
use handoff_env::rng::{Stream, derive_seed, policy_seed, uniform};
use handoff_env::{DecisionKind, HandoffEnv, ModelStamp, Observation, Policy, Scenario, Touched};
use handoff_eval::{EpisodeResult, mean_kpis, run_episodes, stats};
use rand::SeedableRng;
use rayon::prelude::*;

use crate::config::{Credit, TrainConfig};
use crate::error::TrainError;
use crate::logger::Logger;
use crate::run::{
    CORRECTED_RULE_FILE, EVAL_FIRST_SEED, EvalSnapshot, Progress, ROLLOUTS_DIR, TrainOptions,
    TrainOutcome, VALIDATION_FILE, best_heuristic, create_run_dir, write_run_file,
};
use crate::setup::{self, TrainingScenario};

/// One rollout comparison of an AI-or-worker decision: its features and what the AI changes for
/// the chat, on the same random numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// The training episode's seed.
    pub seed: u64,
    /// [`route_features`] of the decision.
    pub features: [f64; ROUTE_FEATURES],
    /// The chat's reward with the AI minus its reward with the alternative.
    pub reward_gain: f64,
    /// Human replies the chat needs with the alternative minus with the AI: the worker time the
    /// AI saves for the other customers.
    pub replies_saved: f64,
}

/// One rollout comparison of a worker choice: its features and what the quicker worker changes
/// for the chat, on the same random numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PaceSample {
    /// The training episode's seed.
    pub seed: u64,
    /// [`pace_features`] of the decision.
    pub features: [f64; PACE_FEATURES],
    /// The chat's reward with the quicker worker minus its reward with the rule's.
    pub reward_gain: f64,
}

/// One rollout comparison of an attend or assign decision: the features of the other option
/// against the rule's choice, and what the other option changes, on the same random numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptionSample {
    /// The training episode's seed.
    pub seed: u64,
    /// `option_features` of the other option against the rule's.
    pub features: [f64; OPTION_FEATURES],
    /// The reward credited ([`Credit`]) with the other option minus with the rule's.
    pub reward_gain: f64,
    /// Human replies the touched chats take with the rule's option minus with the other: the
    /// worker time the other option saves for the customers not counted ([`Credit::Chats`];
    /// 0 with [`Credit::Horizon`], which counts every customer).
    pub replies_saved: f64,
}

/// The comparisons of one or more episodes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Samples {
    /// AI-or-worker decisions.
    pub route: Vec<Sample>,
    /// Worker choices.
    pub pace: Vec<PaceSample>,
    /// Attend decisions.
    pub attend: Vec<OptionSample>,
    /// Assign decisions.
    pub assign: Vec<OptionSample>,
}

impl Samples {
    /// Appends `other`'s comparisons.
    pub fn extend(&mut self, other: Samples) {
        self.route.extend(other.route);
        self.pace.extend(other.pace);
        self.attend.extend(other.attend);
        self.assign.extend(other.assign);
    }

    /// Comparisons of every kind.
    pub fn len(&self) -> usize {
        self.route.len() + self.pace.len() + self.attend.len() + self.assign.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The comparisons of each iteration (its number and its samples) as CSV tables named by the
/// decision kind, for the kinds with any (`route`, `pace`, `attend`, `assign`): per row the
/// iteration, the training episode's seed, what the other option changed (`reward_gain`, and
/// `replies_saved` but at the pace, whose comparisons count no replies) and the decision's
/// features by name ([`ROUTE_FEATURE_NAMES`], [`PACE_FEATURE_NAMES`],
/// [`OPTION_FEATURE_NAMES`]). Numbers are written as the shortest text that reads back to the
/// same value.
pub fn comparison_tables(iterations: &[(u64, Samples)]) -> Vec<(&'static str, String)> {
    fn header(kind: &'static str, replies: bool, names: &[&str]) -> (&'static str, String) {
        let replies = if replies { ",replies_saved" } else { "" };
        (kind, format!("iteration,seed,reward_gain{replies},{}\n", names.join(",")))
    }
    fn row(table: &mut String, iteration: u64, seed: u64, targets: &[f64], features: &[f64]) {
        table.push_str(&format!("{iteration},{seed}"));
        for x in targets.iter().chain(features) {
            table.push_str(&format!(",{x}"));
        }
        table.push('\n');
    }
    let mut tables = [
        header("route", true, &ROUTE_FEATURE_NAMES),
        header("pace", false, &PACE_FEATURE_NAMES),
        header("attend", true, &OPTION_FEATURE_NAMES),
        header("assign", true, &OPTION_FEATURE_NAMES),
    ];
    let headers = tables.each_ref().map(|(_, table)| table.len());
    for (iteration, s) in iterations {
        let [route, pace, attend, assign] = tables.each_mut().map(|(_, table)| table);
        for x in &s.route {
            row(route, *iteration, x.seed, &[x.reward_gain, x.replies_saved], &x.features);
        }
        for x in &s.pace {
            row(pace, *iteration, x.seed, &[x.reward_gain], &x.features);
        }
        for (table, options) in [(attend, &s.attend), (assign, &s.assign)] {
            for x in options {
                row(table, *iteration, x.seed, &[x.reward_gain, x.replies_saved], &x.features);
            }
        }
    }
    // a table holding its header alone is left out
    tables
        .into_iter()
        .zip(headers)
        .filter(|((_, t), header)| t.len() > *header)
        .map(|(t, _)| t)
        .collect()
}

/// How samples are collected: the share of each kind of decision compared by rollout (0 to 1;
/// 0 leaves the kind to the rule).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Collection {
    /// Share of the AI-or-worker decisions.
    pub share: f64,
    /// Share of the worker choices with a quicker peer.
    pub pace_share: f64,
    /// Share of the attend decisions.
    pub attend_share: f64,
    /// Share of the assign decisions.
    pub assign_share: f64,
    /// What an attend or assign comparison credits the option with.
    pub credit: Credit,
    /// Simulated seconds over which [`Credit::Horizon`] adds up the reward.
    pub horizon_s: f64,
}

/// The rule `rule` with `corrections`, as the learner runs it.
fn corrected(rule: Box<dyn Policy>, corrections: &Corrections) -> Corrected {
    Corrected::new("rollout", rule, corrections.clone())
}

/// The comparison of the rule's choice `rule` at the attend or assign decision of `env` (the
/// episode of `seed`) with another valid option drawn by `sampler`, each credited as
/// `collection` says under `acting`; `None` when there is no other option.
fn compare_options(
    env: &HandoffEnv,
    seed: u64,
    rule: usize,
    acting: &Corrected,
    collection: Collection,
    sampler: &mut rand_pcg::Pcg64Mcg,
) -> Option<OptionSample> {
    let Collection { credit, horizon_s, .. } = collection;
    let obs = env.observation();
    let others = obs.valid_count().checked_sub(1).filter(|&n| n > 0)?;
    // the k-th valid option other than the rule's
    let k = ((uniform(sampler) * others as f64) as usize).min(others - 1);
    let other = obs.valid_actions().filter(|&i| i != rule).nth(k)?;
    let with = |action| {
        let credit = match credit {
            Credit::Chats => env.rollout_touched(action, acting).map(Option::unwrap_or_default),
            Credit::Horizon => env
                .rollout_return(action, acting, horizon_s)
                .map(|reward| Touched { reward, human_replies: 0 }),
        };
        credit.expect("the options compared are valid")
    };
    let (with_other, with_rule) = (with(other), with(rule));
    Some(OptionSample {
        seed,
        features: option_features(obs, rule, other),
        reward_gain: with_other.reward - with_rule.reward,
        replies_saved: f64::from(with_rule.human_replies) - f64::from(with_other.human_replies),
    })
}

/// Runs the rule `make_rule` builds, with `corrections`, on `scenario` from `seed` (the
/// scenario's fallback making the decisions the agent does not control) and compares the
/// options of a share of each kind of its decisions by rollout under that policy.
pub fn collect(
    scenario: &Scenario,
    seed: u64,
    make_rule: &dyn Fn() -> Box<dyn Policy>,
    corrections: &Corrections,
    collection: Collection,
) -> Samples {
    let mut env = make_env(scenario.clone()).expect("the scenario's fallback is checked");
    let mut acting = corrected(make_rule(), corrections);
    // what the acting policy routes before its pace correction, asked on its own copy so that
    // the acting policy sees each decision once
    let mut probe = acting.clone();
    let mut rule = make_rule();
    let mut sampler = rand_pcg::Pcg64Mcg::seed_from_u64(derive_seed(seed, Stream::Policy, 2));
    let mut scratch = Observation::new(0);
    let mut samples = Samples::default();
    env.reset(seed);
    acting.reset(policy_seed(seed));
    probe.reset(policy_seed(seed));
    while !env.is_over() {
        let obs = env.observation();
        let outcome = |action| {
            env.rollout_chat(action, &acting).expect("the options compared are valid actions")
        };
        let sampled = route_choice(rule.as_mut(), obs, &mut scratch)
            .filter(|_| uniform(&mut sampler) < collection.share);
        if let Some(choice) = sampled
            && let (Some(ai), Some(alternative)) = (outcome(choice.ai), outcome(choice.alternative))
        {
            samples.route.push(Sample {
                seed,
                features: route_features(obs, &obs.candidates[choice.alternative]),
                reward_gain: ai.reward - alternative.reward,
                replies_saved: f64::from(alternative.human_replies) - f64::from(ai.human_replies),
            });
        }
        let option_share = match obs.kind {
            DecisionKind::Route => 0.0,
            DecisionKind::Attend => collection.attend_share,
            DecisionKind::Assign => collection.assign_share,
        };
        if option_share > 0.0 && uniform(&mut sampler) < option_share {
            let rule_choice = rule.act(obs);
            let compared =
                compare_options(&env, seed, rule_choice, &acting, collection, &mut sampler);
            match (obs.kind, compared) {
                (DecisionKind::Attend, Some(sample)) => samples.attend.push(sample),
                (DecisionKind::Assign, Some(sample)) => samples.assign.push(sample),
                _ => {}
            }
        }
        if collection.pace_share > 0.0 && obs.kind == DecisionKind::Route {
            let chosen = probe.routed(obs);
            let peer =
                quicker_peer(obs, chosen).filter(|_| uniform(&mut sampler) < collection.pace_share);
            if let Some(peer) = peer
                && let (Some(rule), Some(quicker)) = (outcome(chosen), outcome(peer))
            {
                samples.pace.push(PaceSample {
                    seed,
                    features: pace_features(&obs.candidates[chosen], &obs.candidates[peer]),
                    reward_gain: quicker.reward - rule.reward,
                });
            }
        }
        let action = acting.act(env.observation());
        env.step(action).expect("the policy takes valid actions");
    }
    samples
}

/// [`collect`] on `seeds` consecutive seeds from `first_seed`, in parallel, in seed order,
/// calling `on_batch` with the seeds done and the samples so far after each batch of twice as
/// many seeds as threads: progress that does not change the samples.
pub fn collect_seeds(
    scenario: &Scenario,
    first_seed: u64,
    seeds: u64,
    make_rule: &(dyn Fn() -> Box<dyn Policy> + Sync),
    corrections: &Corrections,
    collection: Collection,
    on_batch: &mut dyn FnMut(u64, &Samples),
) -> Samples {
    let batch = 2 * rayon::current_num_threads() as u64;
    let mut all = Samples::default();
    let mut next = first_seed;
    while next < first_seed + seeds {
        let end = (next + batch).min(first_seed + seeds);
        let per_seed: Vec<Samples> = (next..end)
            .into_par_iter()
            .map(|seed| collect(scenario, seed, make_rule, corrections, collection))
            .collect();
        per_seed.into_iter().for_each(|s| all.extend(s));
        next = end;
        on_batch(next - first_seed, &all);
    }
    all
}

/// The ridge regression of the targets on the features of `rows`: the weights minimising the
/// squared error plus `ridge` times the number of rows times the squared weights (the bias, the
/// first feature, is not penalised). `None` with fewer rows than features.
pub fn fit<const N: usize>(rows: &[([f64; N], f64)], ridge: f64) -> Option<Vec<f64>> {
    if rows.len() < N {
        return None;
    }
    let mut gram = nalgebra::DMatrix::<f64>::zeros(N, N);
    let mut moment = nalgebra::DVector::<f64>::zeros(N);
    for (features, target) in rows {
        let x = nalgebra::DVector::from_column_slice(features);
        gram += &x * x.transpose();
        moment += &x * *target;
    }
    let penalty = ridge * rows.len() as f64;
    for i in 1..N {
        gram[(i, i)] += penalty;
    }
    Some(gram.cholesky()?.solve(&moment).iter().copied().collect())
}

/// Two fitted estimates of the other option's advantage, the reward gain of the chats
/// compared and the human replies it saves, and their sum at a price per saved reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimates {
    /// Weights of the reward gain.
    pub reward_gain: Vec<f64>,
    /// Weights of the replies saved.
    pub replies_saved: Vec<f64>,
}

impl Estimates {
    /// Fits both on the route comparisons `samples`.
    pub fn fit(samples: &[Sample], ridge: f64) -> Option<Self> {
        Self::fit_rows(samples.iter().map(|s| (s.features, s.reward_gain, s.replies_saved)), ridge)
    }

    /// Fits both on the attend or assign comparisons `samples`.
    pub fn fit_options(samples: &[OptionSample], ridge: f64) -> Option<Self> {
        Self::fit_rows(samples.iter().map(|s| (s.features, s.reward_gain, s.replies_saved)), ridge)
    }

    /// Fits both on rows of (features, reward gain, replies saved).
    fn fit_rows<const N: usize>(
        rows: impl Iterator<Item = ([f64; N], f64, f64)>,
        ridge: f64,
    ) -> Option<Self> {
        let (gains, saved): (Vec<_>, Vec<_>) = rows.map(|(x, g, r)| ((x, g), (x, r))).unzip();
        Some(Self { reward_gain: fit(&gains, ridge)?, replies_saved: fit(&saved, ridge)? })
    }

    /// The other option's advantage with a saved human reply worth `reply_value` reward to
    /// the other customers.
    pub fn advantage(&self, reply_value: f64) -> Advantage {
        let weights =
            self.reward_gain.iter().zip(&self.replies_saved).map(|(g, r)| g + reply_value * r);
        Advantage { weights: weights.collect() }
    }
}

/// The quicker worker's advantage fitted on `samples`, `None` with too few.
pub fn fit_pace(samples: &[PaceSample], ridge: f64) -> Option<Advantage> {
    let rows: Vec<_> = samples.iter().map(|s| (s.features, s.reward_gain)).collect();
    fit(&rows, ridge).map(|weights| Advantage { weights })
}

/// The corrections a validation chose and what they earned there.
struct Chosen {
    /// Mean validation return.
    mean: f64,
    /// The price of a saved reply of the route correction, `None` without it.
    reply_value: Option<f64>,
    /// Whether the pace correction is used.
    pace: bool,
    /// The price of a saved reply of the attend correction, `None` without it.
    attend: Option<f64>,
    /// The price of a saved reply of the assign correction, `None` without it.
    assign: Option<f64>,
    /// The validation episodes.
    episodes: Vec<EpisodeResult>,
}

impl Chosen {
    /// How many of the four corrections (route, pace, attend, assign) it uses.
    fn corrections(&self) -> usize {
        usize::from(self.reply_value.is_some())
            + usize::from(self.pace)
            + usize::from(self.attend.is_some())
            + usize::from(self.assign.is_some())
    }
}

/// The `keep_se`-standard-error rule: of the candidates whose validation mean is within
/// `keep_se` paired standard errors (over the validation seeds) of the best mean, the one with
/// the fewest corrections, the earliest of those in `candidates`' order.
///
/// The best of a dozen noisy validation means favours the luckiest candidate: with one standard
/// error the learner kept corrections that beat the rule on validation by 1.3 and 1.7 of them
/// and lost on the test seeds (docs/rollout.md). A correction has to beat the noise of the seeds,
/// and the luck of the best of many, to stay.
fn choose(candidates: Vec<Chosen>, keep_se: f64) -> Chosen {
    let returns = |c: &Chosen| c.episodes.iter().map(|e| e.episode_return).collect::<Vec<_>>();
    let best = candidates
        .iter()
        .max_by(|a, b| a.mean.total_cmp(&b.mean))
        .map(returns)
        .expect("the rule itself is always a candidate");
    let within_noise = |c: &Chosen| {
        let shortfall: Vec<f64> = best.iter().zip(returns(c)).map(|(b, r)| b - r).collect();
        stats::mean(&shortfall) <= keep_se * stats::standard_error(&shortfall)
    };
    candidates
        .into_iter()
        .filter(within_noise)
        .min_by_key(Chosen::corrections)
        .expect("the best is within its own noise")
}

/// The rows of [`VALIDATION_FILE`], one per candidate, in the order they were compared.
#[derive(Default)]
struct ValidationReport {
    /// Each row's cells but the last, and whether it was kept.
    rows: Vec<(String, bool)>,
    /// The corrections of each row of the stage being chosen (from `stage`), to mark the kept.
    keys: Vec<[Option<f64>; 4]>,
    /// The first row of the stage being chosen.
    stage: usize,
}

impl ValidationReport {
    /// The corrections of `c`: route price, pace (1 or none), attend price, assign price.
    fn key(c: &Chosen) -> [Option<f64>; 4] {
        [c.reply_value, c.pace.then_some(1.0), c.attend, c.assign]
    }

    /// Starts a stage with `candidates` of `iteration`, each paired with the rule's
    /// `rule_episodes`.
    fn record(&mut self, iteration: u64, candidates: &[Chosen], rule_episodes: &[EpisodeResult]) {
        let cell = |x: Option<f64>| x.map_or(String::new(), |v| v.to_string());
        self.stage = self.rows.len();
        self.keys.clear();
        for c in candidates {
            let gains: Vec<f64> = c
                .episodes
                .iter()
                .zip(rule_episodes)
                .map(|(e, r)| e.episode_return - r.episode_return)
                .collect();
            let row = format!(
                "{iteration},{},{},{},{},{:.3},{:.3},{:.3}",
                cell(c.reply_value),
                c.pace,
                cell(c.attend),
                cell(c.assign),
                c.mean,
                stats::mean(&gains),
                stats::standard_error(&gains),
            );
            self.rows.push((row, false));
            self.keys.push(Self::key(c));
        }
    }

    /// Marks the stage's row with `chosen`'s corrections kept (none when the stage kept what
    /// an earlier stage chose).
    fn keep(&mut self, chosen: &Chosen) {
        let key = Self::key(chosen);
        if let Some(i) = self.keys.iter().position(|k| *k == key) {
            self.rows[self.stage + i].1 = true;
        }
    }

    /// Writes the rows with their header to `path`, atomically.
    fn write(&self, path: &Path) -> Result<(), TrainError> {
        let mut text = String::from(
            "iteration,route_reply_value,pace,attend_reply_value,assign_reply_value,\
             mean_return,minus_rule,minus_rule_se,kept\n",
        );
        for (row, kept) in &self.rows {
            text.push_str(&format!("{row},{kept}\n"));
        }
        write_run_file(path, &text)
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

/// The decision kinds a run corrects: `rollout.kinds`, each one the scenario gives the agent,
/// or all of those.
fn corrected_kinds(
    config: &TrainConfig,
    scenario: &Scenario,
) -> Result<Vec<DecisionKind>, TrainError> {
    let control = &scenario.env.control;
    if let Some(kind) = config.rollout.kinds.iter().find(|k| !control.contains(k)) {
        let given: Vec<&str> = control.iter().map(|k| k.label()).collect();
        return Err(TrainError::Config(format!(
            "rollout.kinds: {} is not a decision the agent makes in {} (env.control = [{}])",
            kind.label(),
            config.scenario,
            given.join(", ")
        )));
    }
    Ok(if config.rollout.kinds.is_empty() { control.clone() } else { config.rollout.kinds.clone() })
}

/// The collection of `r`, with the kinds not in `kinds` left to the rule.
fn collection(r: &crate::config::RolloutConfig, kinds: &[DecisionKind]) -> Collection {
    let on = |kind: DecisionKind, share: f64| if kinds.contains(&kind) { share } else { 0.0 };
    Collection {
        share: on(DecisionKind::Route, r.share),
        pace_share: on(DecisionKind::Route, r.pace_share),
        attend_share: on(DecisionKind::Attend, r.attend_share),
        assign_share: on(DecisionKind::Assign, r.assign_share),
        credit: r.credit,
        horizon_s: r.horizon_s,
    }
}

/// The estimates fitted on one iteration's samples, `None` for a kind without enough.
struct Fitted {
    /// The route estimates.
    route: Option<Estimates>,
    /// The pace estimate.
    pace: Option<Advantage>,
    /// The attend estimates.
    attend: Option<Estimates>,
    /// The assign estimates.
    assign: Option<Estimates>,
}

impl Fitted {
    /// Fits every kind `collection` compares; an error when routing is compared but too few
    /// of its decisions were.
    fn fit(samples: &Samples, ridge: f64, collection: Collection) -> Result<Self, TrainError> {
        let route = if collection.share > 0.0 {
            Some(Estimates::fit(&samples.route, ridge).ok_or_else(|| {
                TrainError::Config(format!(
                    "only {} rollout comparisons: the scenario has too few AI-or-worker \
                     decisions (raise rollout.seeds or rollout.share, or leave route out of \
                     rollout.kinds)",
                    samples.route.len()
                ))
            })?)
        } else {
            None
        };
        Ok(Self {
            route,
            pace: fit_pace(&samples.pace, ridge),
            attend: Estimates::fit_options(&samples.attend, ridge),
            assign: Estimates::fit_options(&samples.assign, ridge),
        })
    }

    /// The corrections `chosen` uses.
    fn corrections(&self, chosen: &Chosen) -> Corrections {
        let none = Corrections::none();
        let priced =
            |fitted: &Option<Estimates>, value: Option<f64>, zero: Advantage| match (fitted, value)
            {
                (Some(estimates), Some(value)) => estimates.advantage(value),
                _ => zero,
            };
        Corrections {
            route: priced(&self.route, chosen.reply_value, none.route),
            pace: self.pace.clone().filter(|_| chosen.pace).unwrap_or(none.pace),
            attend: priced(&self.attend, chosen.attend, none.attend),
            assign: priced(&self.assign, chosen.assign, none.assign),
        }
    }
}

/// `on` with its validation episodes and mean, the corrections it names taken from `fitted`.
fn validated(
    on: Chosen,
    fitted: &Fitted,
    validation: &Scenario,
    seeds: u64,
    make_rule: &(dyn Fn() -> Box<dyn Policy> + Sync),
) -> Chosen {
    let corrections = fitted.corrections(&on);
    let (mean, episodes) =
        validate(validation, seeds, &|| Box::new(corrected(make_rule(), &corrections)));
    Chosen { mean, episodes, ..on }
}

/// Trains the rollout learner with `config` (validated: [`crate::train::train`] is the entry)
/// into `options.run_dir` (see the module's docs), calling `on_progress` after every batch of
/// training seeds. A run is short (minutes) and is not resumed: `options.resume` on a complete
/// run returns it as it is.
pub(crate) fn train(
    config: &TrainConfig,
    options: &TrainOptions,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<TrainOutcome, TrainError> {
    let run = options.run_dir.as_path();
    let policy_path = run.join(CORRECTED_RULE_FILE);
    let r = &config.rollout;
    let target = setup::target_scenario(config)?;
    let kinds = corrected_kinds(config, &target)?;
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
    // seconds spent comparing, over the iterations so far (validation excluded from the rate)
    let mut comparing_s = 0.0;
    let total = r.episodes();
    let mut samples = Samples::default();
    // each iteration's comparisons, when the run writes them out (`rollout.save_comparisons`)
    let mut saved = Vec::new();
    let mut corrections = Corrections::none();
    // the rule itself (no correction) is always a candidate, and stays unless a correction beats
    // it by more than the validation's noise (`choose`)
    let rule_only = || Chosen {
        mean: rule_return,
        reply_value: None,
        pace: false,
        attend: None,
        assign: None,
        episodes: rule_validation.1.clone(),
    };
    let mut chosen = rule_only();
    let mut report = ValidationReport::default();
    let collection = collection(r, &kinds);
    for iteration in 0..r.iterations {
        let first_seed = derive_seed(config.seed, Stream::Policy, iteration);
        let earlier = samples.len();
        let started = Instant::now();
        let collected = collect_seeds(
            &scenario,
            first_seed,
            r.seeds,
            &make_rule,
            &corrections,
            collection,
            &mut |done, so_far| {
                on_progress(&Progress {
                    global_step: iteration * r.seeds + done,
                    total_steps: total,
                    sps: (earlier + so_far.len()) as f64
                        / (comparing_s + started.elapsed().as_secs_f64()),
                    recent_return: None,
                });
            },
        );
        comparing_s += started.elapsed().as_secs_f64();
        if r.save_comparisons {
            saved.push((iteration, collected.clone()));
        }
        samples.extend(collected);
        let step = (iteration + 1) * r.seeds;
        logger.scalar("rollout/samples", samples.route.len() as f64, step);
        logger.scalar("rollout/pace_samples", samples.pace.len() as f64, step);
        logger.scalar("rollout/attend_samples", samples.attend.len() as f64, step);
        logger.scalar("rollout/assign_samples", samples.assign.len() as f64, step);
        let fitted = Fitted::fit(&samples, r.ridge, collection)?;
        let mut candidates = vec![rule_only()];
        let values = std::iter::once(None).chain(r.reply_values.iter().map(|&v| Some(v)));
        for (reply_value, with_pace) in values.flat_map(|v| [(v, false), (v, true)]).skip(1) {
            if (with_pace && fitted.pace.is_none())
                || (reply_value.is_some() && fitted.route.is_none())
            {
                continue;
            }
            let on = Chosen { reply_value, pace: with_pace, ..rule_only() };
            candidates.push(validated(on, &fitted, &validation, r.validation_seeds, &make_rule));
        }
        report.record(iteration, &candidates, &rule_validation.1);
        chosen = choose(candidates, r.keep_se);
        report.keep(&chosen);
        // then the attend and the assign corrections, each priced like the route's, one kind at
        // a time on top of what was chosen before; the horizon credit counts every customer and
        // prices no reply: one candidate
        let prices = match r.credit {
            Credit::Chats => r.option_reply_values.as_slice(),
            Credit::Horizon => &[0.0],
        };
        for (kind, estimates) in
            [(DecisionKind::Attend, &fitted.attend), (DecisionKind::Assign, &fitted.assign)]
        {
            if estimates.is_none() {
                continue;
            }
            let mut candidates = Vec::new();
            for value in prices.iter().map(|&v| Some(v)) {
                let mut on = Chosen { episodes: Vec::new(), ..chosen };
                match kind {
                    DecisionKind::Attend => on.attend = value,
                    DecisionKind::Assign => on.assign = value,
                    DecisionKind::Route => unreachable!("routing is chosen above"),
                }
                candidates.push(validated(
                    on,
                    &fitted,
                    &validation,
                    r.validation_seeds,
                    &make_rule,
                ));
            }
            candidates.insert(0, chosen);
            report.record(iteration, &candidates[1..], &rule_validation.1);
            chosen = choose(candidates, r.keep_se);
            report.keep(&chosen);
        }
        corrections = fitted.corrections(&chosen);
        logger.scalar("eval/return", chosen.mean, step);
        logger.scalar("eval/best_heuristic_return", rule_return, step);
        logger.flush()?;
    }
    // the scenario as the file names it (without the run's `control`), as a reader reloads it
    let mut named = Scenario::load(&config.scenario)?;
    named.days = scenario.days;
    let stamp = ModelStamp::of(&named);
    let used = |on: Option<f64>, advantage: &Advantage| {
        if on.is_some() { advantage.weights.clone() } else { Vec::new() }
    };
    let file = PolicyFile {
        correction: Some(CorrectionRecord {
            rule: rule_name.clone(),
            scenario: config.scenario.clone(),
            days: scenario.days,
            model: stamp,
            reply_value: chosen.reply_value.unwrap_or(0.0),
            samples: samples.len() as u64,
            weights: corrections.route.weights.clone(),
            pace_weights: if chosen.pace { corrections.pace.weights.clone() } else { Vec::new() },
            attend_weights: used(chosen.attend, &corrections.attend),
            assign_weights: used(chosen.assign, &corrections.assign),
        }),
        ..rule
    };
    report.write(&run.join(VALIDATION_FILE))?;
    if r.save_comparisons {
        let folder = run.join(ROLLOUTS_DIR);
        std::fs::create_dir_all(&folder).map_err(|e| TrainError::write(&folder, e))?;
        for (kind, table) in comparison_tables(&saved) {
            write_run_file(&folder.join(format!("{kind}.csv")), &table)?;
        }
    }
    let path_text = policy_path.display().to_string();
    write_run_file(&policy_path, &file.to_toml(&path_text))?;
    Ok(TrainOutcome {
        checkpoint: policy_path,
        global_step: total,
        finished: true,
        iterations_here: r.iterations,
        // on the days the reply value was chosen on: the corrected rule beside the rule itself
        eval: Some(EvalSnapshot {
            return_mean: chosen.mean,
            best_heuristic: rule_name,
            best_heuristic_return: rule_return,
            kpis: mean_kpis(&chosen.episodes),
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
        .is_some_and(|c| c.to_toml() == config.to_toml());
    if !policy_path.exists() || !matches {
        return Err(TrainError::Checkpoint(format!(
            "{} holds no complete rollout run with this configuration: a rollout run takes \
             minutes and is not resumed; start it again without --resume",
            run.display()
        )));
    }
    Ok(TrainOutcome {
        checkpoint: policy_path.to_path_buf(),
        global_step: config.rollout.episodes(),
        finished: true,
        iterations_here: 0,
        eval: None,
        best_heuristic: best.0,
        centre,
    })
}

#[cfg(test)]
mod tests {
    use handoff_eval::Kpis;

    use super::*;

    fn sample(frustration: f64, reward_gain: f64) -> Sample {
        let mut features = [0.0; ROUTE_FEATURES];
        features[0] = 1.0;
        features[1] = frustration;
        features[2] = frustration * frustration;
        Sample { seed: 0, features, reward_gain, replies_saved: 1.0 }
    }

    /// A candidate whose validation returns are `returns`.
    fn candidate(reply_value: Option<f64>, pace: bool, returns: &[f64]) -> Chosen {
        let episodes = returns
            .iter()
            .map(|&episode_return| EpisodeResult { seed: 0, episode_return, kpis: Kpis::default() })
            .collect();
        Chosen {
            mean: stats::mean(returns),
            reply_value,
            pace,
            attend: None,
            assign: None,
            episodes,
        }
    }

    #[test]
    fn the_choice_keeps_the_fewest_corrections_within_the_noise_of_the_best() {
        let rule = || candidate(None, false, &[0.0, 0.0, 0.0, 0.0]);
        // pace alone gains 10 on every seed; both corrections 2 more on average, but that 2
        // (+6, -2, +6, -2) is within its standard error (2.3)
        let pace = || candidate(None, true, &[10.0, 10.0, 10.0, 10.0]);
        let both = candidate(Some(0.1), true, &[16.0, 8.0, 16.0, 8.0]);
        let chosen = choose(vec![rule(), pace(), both], 1.0);
        assert_eq!((chosen.reply_value, chosen.pace), (None, true), "the pace correction alone");
        // a gain the noise cannot explain keeps both corrections
        let clear = candidate(Some(0.1), true, &[20.0, 19.0, 20.0, 19.0]);
        let chosen = choose(vec![rule(), pace(), clear], 2.0);
        assert_eq!((chosen.reply_value, chosen.pace), (Some(0.1), true));
        // nothing beats the rule beyond its noise: the rule itself
        let noisy = candidate(Some(0.1), false, &[5.0, -3.0, 5.0, -3.0]);
        let chosen = choose(vec![rule(), noisy], 1.0);
        assert_eq!((chosen.reply_value, chosen.pace), (None, false));
        // a gain of 1.5 standard errors stays at one and goes at two
        let gains = [6.0, -2.0, 6.0, -2.0, 6.0, -2.0, 6.0, -2.0];
        let lucky = || candidate(Some(0.1), false, &gains);
        let rule8 = || candidate(None, false, &[0.0; 8]);
        let se = stats::standard_error(&gains);
        assert!((1.0..2.0).contains(&(lucky().mean / se)), "{} SE", lucky().mean / se);
        assert_eq!(choose(vec![rule8(), lucky()], 1.0).reply_value, Some(0.1));
        assert_eq!(choose(vec![rule8(), lucky()], 2.0).reply_value, None);
    }

    #[test]
    fn the_kinds_left_out_are_left_to_the_rule_and_one_the_agent_does_not_make_is_refused() {
        let scenario = Scenario::builtin("small").unwrap();
        let mut config = TrainConfig { scenario: "small".to_string(), ..TrainConfig::default() };
        let all = corrected_kinds(&config, &scenario).unwrap();
        assert_eq!(all, [DecisionKind::Route, DecisionKind::Attend], "small's own control");
        let every = collection(&config.rollout, &all);
        assert!(every.share > 0.0 && every.pace_share > 0.0 && every.attend_share > 0.0);
        assert_eq!(every.assign_share, 0.0, "small does not give the agent the queue");
        config.rollout.kinds = vec![DecisionKind::Attend];
        let attend = collection(&config.rollout, &corrected_kinds(&config, &scenario).unwrap());
        assert_eq!((attend.share, attend.pace_share), (0.0, 0.0), "routing left to the rule");
        assert_eq!(attend.attend_share, config.rollout.attend_share);
        config.rollout.kinds = vec![DecisionKind::Assign];
        let Err(TrainError::Config(message)) = corrected_kinds(&config, &scenario) else {
            panic!("assign is not small's")
        };
        assert!(message.starts_with("rollout.kinds: assign is not a decision"), "{message}");
    }

    #[test]
    fn the_validation_report_marks_the_candidate_each_stage_kept() {
        let rule = candidate(None, false, &[0.0, 0.0]);
        let pace = candidate(None, true, &[3.0, 5.0]);
        let mut report = ValidationReport::default();
        report.record(0, &[rule, pace], &candidate(None, false, &[0.0, 0.0]).episodes);
        report.keep(&candidate(None, true, &[3.0, 5.0]));
        let rows: Vec<&str> = report.rows.iter().map(|(r, _)| r.as_str()).collect();
        assert_eq!(rows, ["0,,false,,,0.000,0.000,0.000", "0,,true,,,4.000,4.000,1.000"]);
        assert_eq!(report.rows.iter().map(|r| r.1).collect::<Vec<_>>(), [false, true]);
        // a stage that keeps what an earlier one chose marks none of its own rows
        let attend = Chosen { attend: Some(0.4), ..candidate(None, true, &[2.0, 2.0]) };
        report.record(0, &[attend], &candidate(None, false, &[0.0, 0.0]).episodes);
        report.keep(&candidate(None, true, &[3.0, 5.0]));
        assert_eq!(report.rows.iter().map(|r| r.1).collect::<Vec<_>>(), [false, true, false]);
    }

    #[test]
    fn the_comparison_tables_hold_every_comparison_of_each_kind_compared_exactly() {
        let route = Sample { seed: 7, ..sample(0.3, -0.125) };
        let attend = OptionSample {
            seed: 8,
            features: [0.1; OPTION_FEATURES],
            reward_gain: 1.0 / 3.0,
            replies_saved: -2.0,
        };
        let first = Samples { route: vec![route; 2], attend: vec![attend], ..Samples::default() };
        let second = Samples { route: vec![route], ..Samples::default() };
        let tables = comparison_tables(&[(0, first), (1, second)]);
        let kinds: Vec<&str> = tables.iter().map(|t| t.0).collect();
        assert_eq!(kinds, ["route", "attend"], "no pace or assign comparisons, no table");
        let route_rows: Vec<&str> = tables[0].1.lines().collect();
        assert!(route_rows[0].starts_with("iteration,seed,reward_gain,replies_saved,bias,"));
        assert_eq!(route_rows[0].split(',').count(), 4 + ROUTE_FEATURES);
        assert_eq!(route_rows.len(), 4, "a header and three comparisons");
        assert!(route_rows[3].starts_with("1,7,-0.125,1,1,0.3,"), "{}", route_rows[3]);
        let attend_row: Vec<f64> =
            tables[1].1.lines().nth(1).unwrap().split(',').map(|x| x.parse().unwrap()).collect();
        assert_eq!(attend_row[..4], [0.0, 8.0, 1.0 / 3.0, -2.0], "read back exactly");
        assert_eq!(attend_row[4..], attend.features);
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
