//! Tuning a heuristic's parameters for mean return, as a researcher would tune a baseline by
//! hand but with a search: the global search of [`crate::search`] (a Latin hypercube, then
//! CMA-ES) over the parameters' ranges, every candidate scored on the same validation seeds
//! (common random numbers), so candidates differ only by their parameters. Rules with thresholds
//! are often flat near their defaults (a limit above every customer's frustration changes
//! nothing), which is why the search looks at the whole box first. The defaults are scored first
//! and kept if nothing beats them, so tuning never reports a policy worse than the defaults on
//! its validation seeds.

use handoff_agents::{Heuristic, ParamSet};
use handoff_env::Scenario;

use crate::episode::run_episodes;
use crate::search::{Scope, Search, maximise};

/// Tuning's validation seeds start here: disjoint from `handoff eval`'s default seeds (from 1),
/// training's validation seeds (from 1,000,000) and test seeds (from 2,000,000).
pub const TUNE_FIRST_SEED: u64 = 3_000_000;

/// How to tune.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TuneSettings {
    /// Validation seeds per candidate.
    pub seeds: u64,
    /// The first validation seed.
    pub first_seed: u64,
    /// Candidates the search may evaluate (the defaults included).
    pub budget: usize,
    /// Seed of the search's own randomness.
    pub search_seed: u64,
}

impl TuneSettings {
    /// The search a tuning runs: global, without restarts, seeded by `search_seed`.
    pub fn search(&self) -> Search {
        Search { scope: Scope::Global, restarts: false, seed: self.search_seed }
    }
}

impl Default for TuneSettings {
    fn default() -> Self {
        Self { seeds: 8, first_seed: TUNE_FIRST_SEED, budget: 60, search_seed: 0 }
    }
}

/// A tuned heuristic.
#[derive(Debug, Clone, PartialEq)]
pub struct Tuned {
    /// The tuned parameter values.
    pub set: ParamSet,
    /// Mean return of the tuned values on the validation seeds.
    pub score: f64,
    /// Mean return of the defaults on the same seeds.
    pub default_score: f64,
    /// The tuned values' return on each validation seed.
    pub seed_returns: Vec<f64>,
    /// Distinct parameter sets evaluated.
    pub evaluations: usize,
}

/// The returns of `heuristic` with `set` on the validation seeds of `settings`.
pub fn validation_returns(
    scenario: &Scenario,
    heuristic: &Heuristic,
    set: &ParamSet,
    settings: &TuneSettings,
) -> Vec<f64> {
    run_episodes(scenario, settings.first_seed, settings.seeds, &|| heuristic.build(scenario, set))
        .iter()
        .map(|e| e.episode_return)
        .collect()
}

/// Tunes `heuristic`'s parameters on `scenario` for mean return over the validation seeds.
/// `on_eval` is called after each candidate is scored.
pub fn tune(
    scenario: &Scenario,
    heuristic: &Heuristic,
    settings: &TuneSettings,
    on_eval: &dyn Fn(),
) -> Tuned {
    let defaults = heuristic.params(scenario);
    let params = defaults.params().to_vec();
    let ranges: Vec<[f64; 2]> = params.iter().map(|p| [p.min, p.max]).collect();
    let integer: Vec<bool> = params.iter().map(|p| p.integer).collect();
    let with_values = |values: &[f64]| {
        let mut set = defaults.clone();
        for (p, &v) in params.iter().zip(values) {
            set.set(p.name, v).expect("the search stays in range");
        }
        set
    };
    // the per-seed returns of the best candidate so far (the search keeps the first of equals,
    // as `maximise` does)
    let mut best_returns: Option<(f64, Vec<f64>)> = None;
    let optimum = maximise(
        &ranges,
        &integer,
        defaults.values(),
        settings.budget,
        settings.search(),
        |values| {
            let returns = validation_returns(scenario, heuristic, &with_values(values), settings);
            on_eval();
            let score = crate::stats::mean(&returns);
            if best_returns.as_ref().is_none_or(|(best, _)| score > *best) {
                best_returns = Some((score, returns));
            }
            score
        },
    );
    let set = with_values(&optimum.values);
    let (_, seed_returns) = best_returns.expect("the defaults were scored");
    Tuned {
        set,
        score: optimum.score,
        default_score: optimum.start_score,
        seed_returns,
        evaluations: optimum.evaluations,
    }
}
