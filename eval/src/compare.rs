//! Policies compared on common random numbers (what `handoff eval` runs).
//!
//! Every policy runs on the same seeds; a seed fixes the arrivals, the customers, their issues
//! and the AI's behaviour on each chat, so differences between policies are differences of
//! dispatch, not of luck. Per policy: mean episode return with a seeded percentile-bootstrap
//! interval, the interquartile mean, KPI means, and the paired difference to a baseline (per seed,
//! with its own interval) and the win rate.

use handoff_env::rng::{Stream, derive_seed};
use handoff_env::{ModelStamp, Policy, Scenario};
use rayon::prelude::*;
use serde::Serialize;

use crate::episode::{EpisodeResult, KPIS, Kpis, run_episode};
use crate::stats;

/// Makes a policy by name for a scenario, or says why it cannot.
pub type PolicyFactory<'a> = dyn Fn(&str, &Scenario) -> Result<Box<dyn Policy>, String> + Sync + 'a;

/// The baseline when none is named: the study's deployment, if evaluated.
pub const DEFAULT_BASELINE: &str = "study-treatment";

/// The policies to evaluate on `scenario` and the baseline, as `handoff eval` and the Python
/// package take them: every built-in
/// policy and the shipped tuned ones that fit the scenario when none is named; the baseline
/// defaults to `study-treatment` when it is evaluated, else the first policy, and is added to the
/// list when missing.
pub fn policy_list(
    policies: &[String],
    baseline: Option<&str>,
    scenario: &Scenario,
) -> Result<(Vec<String>, String), String> {
    let mut list: Vec<String> = if policies.is_empty() {
        handoff_agents::baseline_policies(scenario)
    } else {
        policies.to_vec()
    };
    for (i, name) in list.iter().enumerate() {
        if list[..i].contains(name) {
            return Err(format!("policy {name} is given twice"));
        }
    }
    let baseline = match baseline {
        Some(b) => b.to_string(),
        None if list.iter().any(|p| p == DEFAULT_BASELINE) => DEFAULT_BASELINE.to_string(),
        None => list[0].clone(),
    };
    if !list.contains(&baseline) {
        list.insert(0, baseline.clone());
    }
    Ok((list, baseline))
}

/// How to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalConfig {
    /// Number of seeds (episodes per policy).
    pub seeds: u64,
    /// The first seed; seeds are consecutive from it.
    pub first_seed: u64,
    /// Confidence level of the intervals.
    pub confidence: f64,
    /// Bootstrap resamples per interval.
    pub resamples: usize,
    /// Seed of the bootstrap's generator.
    pub bootstrap_seed: u64,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self { seeds: 10, first_seed: 1, confidence: 0.95, resamples: 10_000, bootstrap_seed: 0 }
    }
}

/// Whether `value` of the input `field` is in `range`; the message names the field, the value
/// and the range (`seeds: 0 is outside 1..=100000`), as every front end words it.
pub fn check_range<T: PartialOrd + std::fmt::Display>(
    field: &str,
    value: T,
    range: &std::ops::RangeInclusive<T>,
) -> Result<(), String> {
    if range.contains(&value) {
        return Ok(());
    }
    Err(format!("{field}: {value} is outside {}..={}", range.start(), range.end()))
}

impl EvalConfig {
    /// The seeds an evaluation may run.
    pub const SEEDS: std::ops::RangeInclusive<u64> = 1..=100_000;

    /// The bootstrap resamples an interval may take.
    pub const RESAMPLES: std::ops::RangeInclusive<usize> = 100..=1_000_000;

    /// Checks `seeds` and `resamples` against [`Self::SEEDS`] and [`Self::RESAMPLES`], naming
    /// the field that is out of range.
    pub fn check(&self) -> Result<(), String> {
        check_range("seeds", self.seeds, &Self::SEEDS)?;
        check_range("resamples", self.resamples, &Self::RESAMPLES)
    }

    /// The seeds evaluated.
    pub fn seed_list(&self) -> Vec<u64> {
        (0..self.seeds).map(|i| self.first_seed + i).collect()
    }
}

/// A policy against the baseline, seed by seed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Mean over seeds of (policy return - baseline return).
    pub diff: f64,
    /// Bootstrap interval of `diff`.
    pub ci: [f64; 2],
    /// Share of seeds on which the policy's return beat the baseline's (ties count half).
    pub win_rate: f64,
}

/// One policy's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicySummary {
    /// The policy's name.
    pub name: String,
    /// Mean episode return over seeds.
    pub return_mean: f64,
    /// Bootstrap interval of the mean return.
    pub return_ci: [f64; 2],
    /// Interquartile mean of the episode returns.
    pub return_iqm: f64,
    /// KPI means over seeds.
    pub kpis: Kpis,
    /// The paired comparison with the baseline (the baseline against itself: zero).
    pub vs_baseline: Comparison,
    /// Every episode, in seed order.
    #[serde(skip)]
    pub episodes: Vec<EpisodeResult>,
}

impl PolicySummary {
    /// The episode returns, in seed order.
    pub fn returns(&self) -> Vec<f64> {
        self.episodes.iter().map(|e| e.episode_return).collect()
    }
}

/// The whole evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// The scenario's name.
    pub scenario: String,
    /// The model the evaluation ran on.
    pub model: ModelStamp,
    /// The seeds every policy ran on.
    pub seeds: Vec<u64>,
    /// Confidence level of the intervals.
    pub confidence: f64,
    /// The policy the others are compared with.
    pub baseline: String,
    /// One entry per policy, in the order asked for.
    pub policies: Vec<PolicySummary>,
}

impl EvalReport {
    /// The summary of the policy called `name`.
    pub fn policy(&self, name: &str) -> Option<&PolicySummary> {
        self.policies.iter().find(|p| p.name == name)
    }
}

/// Means of the KPIs over episodes (ratings over the episodes that had any).
pub fn mean_kpis(episodes: &[EpisodeResult]) -> Kpis {
    let mut mean = Kpis::default();
    for kpi in &KPIS {
        (kpi.set)(&mut mean, stats::mean_finite(episodes.iter().map(|e| (kpi.get)(&e.kpis))));
    }
    mean
}

/// Evaluates `policies` on `scenario` over the seeds of `config`, comparing each with
/// `baseline` (which must be one of them). Episodes run in parallel on rayon's pool; results do
/// not depend on the number of threads. `on_episode` is called after each episode (progress).
pub fn evaluate(
    scenario: &Scenario,
    policies: &[String],
    baseline: &str,
    config: &EvalConfig,
    factory: &PolicyFactory<'_>,
    on_episode: &(dyn Fn() + Sync),
) -> Result<EvalReport, String> {
    if config.seeds == 0 {
        return Err("at least one seed is needed".to_string());
    }
    if config.first_seed.checked_add(config.seeds - 1).is_none() {
        return Err(format!(
            "{} seeds from {} run past the largest seed, {}",
            config.seeds,
            config.first_seed,
            u64::MAX
        ));
    }
    let Some(baseline_index) = policies.iter().position(|p| p == baseline) else {
        return Err(format!("the baseline {baseline} is not among the evaluated policies"));
    };
    // fail before any work when a name or the fallback does not resolve
    for name in policies.iter().chain([&scenario.env.fallback_policy]) {
        factory(name, scenario)?;
    }
    let seeds = config.seed_list();
    let jobs: Vec<(usize, u64)> =
        (0..policies.len()).flat_map(|p| seeds.iter().map(move |&s| (p, s))).collect();
    let episodes: Vec<EpisodeResult> = jobs
        .par_iter()
        .map(|&(p, seed)| {
            let policy = factory(&policies[p], scenario).expect("checked above");
            let fallback = factory(&scenario.env.fallback_policy, scenario).expect("checked");
            let result = run_episode(scenario, seed, policy, fallback);
            on_episode();
            result
        })
        .collect();
    let per_policy: Vec<&[EpisodeResult]> = episodes.chunks(seeds.len()).collect();
    let baseline_returns: Vec<f64> =
        per_policy[baseline_index].iter().map(|e| e.episode_return).collect();
    let summaries = policies
        .iter()
        .zip(&per_policy)
        .enumerate()
        .map(|(i, (name, episodes))| {
            let returns: Vec<f64> = episodes.iter().map(|e| e.episode_return).collect();
            let diffs: Vec<f64> =
                returns.iter().zip(&baseline_returns).map(|(r, b)| r - b).collect();
            let boot_seed =
                |k| derive_seed(config.bootstrap_seed, Stream::Policy, 2 * i as u64 + k);
            PolicySummary {
                name: name.clone(),
                return_mean: stats::mean(&returns),
                return_ci: stats::bootstrap_mean_ci(
                    &returns,
                    config.confidence,
                    config.resamples,
                    boot_seed(0),
                ),
                return_iqm: stats::iqm(&returns),
                kpis: mean_kpis(episodes),
                vs_baseline: Comparison {
                    diff: stats::mean(&diffs),
                    ci: stats::bootstrap_mean_ci(
                        &diffs,
                        config.confidence,
                        config.resamples,
                        boot_seed(1),
                    ),
                    win_rate: stats::win_rate(&returns, &baseline_returns),
                },
                episodes: episodes.to_vec(),
            }
        })
        .collect();
    Ok(EvalReport {
        scenario: scenario.name.clone(),
        model: ModelStamp::of(scenario),
        seeds,
        confidence: config.confidence,
        baseline: baseline.to_string(),
        policies: summaries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_evaluation_out_of_range_is_refused_naming_the_field() {
        assert!(EvalConfig::default().check().is_ok());
        let few = EvalConfig { seeds: 0, ..EvalConfig::default() };
        assert_eq!(few.check().unwrap_err(), "seeds: 0 is outside 1..=100000");
        let coarse = EvalConfig { resamples: 99, ..EvalConfig::default() };
        assert_eq!(coarse.check().unwrap_err(), "resamples: 99 is outside 100..=1000000");
    }
}
