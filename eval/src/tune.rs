//! Tuning a heuristic's parameters for mean return, as a researcher would tune a baseline by
//! hand but with a search: CMA-ES (the `cmaes` crate) over the parameters' ranges, every candidate
//! scored on the same validation seeds (common random numbers), so candidates differ only by their
//! parameters.
//!
//! Why CMA-ES: the score is a mean over simulated episodes of rules with thresholds and whole
//! numbers, so it is rugged, piecewise flat and a little noisy in the parameters; CMA-ES needs no
//! gradient or model of the function, ranks candidates rather than trusting their values, and is
//! the standard choice for a few to a few dozen parameters. COBYLA (used by the calibration fit,
//! whose moments are smooth) builds linear models that flat steps mislead. The `cmaes` crate is a
//! maintained, documented implementation with seeded, deterministic runs.
//!
//! A quarter of the budget first goes to a Latin hypercube over the ranges: rules with thresholds
//! are often flat near their defaults (a limit above every customer's frustration changes
//! nothing), and a local search started there sees no slope. CMA-ES starts from the best point
//! of that first look. The search runs in the unit cube (each range mapped to [0, 1]); a
//! candidate outside it is
//! scored at the nearest point inside, less a penalty growing with the distance, so that the
//! search stays in range. Whole-number parameters are rounded. The defaults are scored first and
//! kept if nothing beats them, so tuning never reports a policy worse than the defaults on its
//! validation seeds.

use std::collections::HashMap;

use cmaes::{CMAESOptions, DVector};
use handoff_agents::{Heuristic, ParamSet};
use handoff_env::Scenario;
use handoff_env::rng::uniform;
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

use crate::episode::run_episodes;

/// Tuning's validation seeds start here: disjoint from `handoff eval`'s default seeds (from 1),
/// training's validation seeds (from 1,000,000) and test seeds (from 2,000,000).
pub const TUNE_FIRST_SEED: u64 = 3_000_000;

/// The search's initial step, as a share of each parameter's range.
const INITIAL_STEP: f64 = 0.3;

/// One candidate in this many of the budget goes to the space-filling first look.
const DESIGN_SHARE: usize = 4;

/// `n` points of a Latin hypercube in the unit cube of `dim` dimensions: each coordinate takes
/// one value in each of `n` equal strata, in a random order.
fn latin_hypercube(rng: &mut Pcg64Mcg, n: usize, dim: usize) -> Vec<Vec<f64>> {
    let mut points = vec![vec![0.0; dim]; n];
    for d in 0..dim {
        let mut strata: Vec<usize> = (0..n).collect();
        // Fisher-Yates with the crate's portable uniform draw
        for i in (1..n).rev() {
            let j = ((uniform(rng) * (i + 1) as f64) as usize).min(i);
            strata.swap(i, j);
        }
        for (point, stratum) in points.iter_mut().zip(strata) {
            point[d] = (stratum as f64 + uniform(rng)) / n as f64;
        }
    }
    points
}

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

impl Default for TuneSettings {
    fn default() -> Self {
        Self { seeds: 8, first_seed: TUNE_FIRST_SEED, budget: 60, search_seed: 0 }
    }
}

/// The best point a search found.
#[derive(Debug, Clone, PartialEq)]
pub struct Optimum {
    /// The values, one per parameter.
    pub values: Vec<f64>,
    /// The objective there.
    pub score: f64,
    /// The objective at the start values.
    pub start_score: f64,
    /// Distinct points evaluated.
    pub evaluations: usize,
}

/// Maximises `objective` over the box `ranges` ([min, max] per coordinate; `integer` marks the
/// whole-number ones) from `start`, with CMA-ES, evaluating at most `budget` distinct points
/// (the start among them; points seen before are not evaluated again).
pub fn maximise(
    ranges: &[[f64; 2]],
    integer: &[bool],
    start: &[f64],
    budget: usize,
    seed: u64,
    mut objective: impl FnMut(&[f64]) -> f64,
) -> Optimum {
    let to_value = |i: usize, u: f64| {
        let [lo, hi] = ranges[i];
        let v = lo + u.clamp(0.0, 1.0) * (hi - lo);
        if integer[i] { v.round() } else { v }
    };
    let mut seen: HashMap<Vec<u64>, f64> = HashMap::new();
    // the score at `values`; `None` once the budget is spent on other points
    let mut evaluate = |values: &[f64]| -> Option<f64> {
        let key: Vec<u64> = values.iter().map(|v| v.to_bits()).collect();
        if let Some(&score) = seen.get(&key) {
            return Some(score);
        }
        if seen.len() >= budget {
            return None;
        }
        let score = objective(values);
        seen.insert(key, score);
        Some(score)
    };
    let start_score = evaluate(start).expect("a budget of at least one");
    let mut best = (start.to_vec(), start_score);
    // coordinates with a range to search
    let free: Vec<usize> = (0..ranges.len()).filter(|&i| ranges[i][1] > ranges[i][0]).collect();
    if free.is_empty() || budget <= 1 {
        return Optimum { values: best.0, score: start_score, start_score, evaluations: 1 };
    }
    // a space-filling first look (Latin hypercube over the free coordinates), so that a search
    // starting on a plateau, where the score does not change near the defaults, still finds
    // the region where it does; CMA-ES then starts from the best point seen
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    for point in latin_hypercube(&mut rng, budget / DESIGN_SHARE, free.len()) {
        let mut values = start.to_vec();
        for (k, &i) in free.iter().enumerate() {
            values[i] = to_value(i, point[k]);
        }
        match evaluate(&values) {
            Some(score) if score > best.1 => best = (values, score),
            _ => {}
        }
    }
    let mean: Vec<f64> =
        free.iter().map(|&i| (best.0[i] - ranges[i][0]) / (ranges[i][1] - ranges[i][0])).collect();
    let penalty_scale = start_score.abs() + 1.0;
    let search = |u: &DVector<f64>| -> f64 {
        let mut values = start.to_vec();
        let mut outside = 0.0;
        for (k, &i) in free.iter().enumerate() {
            values[i] = to_value(i, u[k]);
            outside += (u[k] - u[k].clamp(0.0, 1.0)).powi(2);
        }
        let Some(score) = evaluate(&values) else {
            // the budget is spent: the search ends with this generation
            return f64::MAX;
        };
        if score > best.1 {
            best = (values, score);
        }
        // CMA-ES minimises
        -(score - penalty_scale * outside)
    };
    let mut cmaes = CMAESOptions::new(mean, INITIAL_STEP)
        // a safety net: the budget of distinct points ends the search (repeats are free)
        .max_function_evals(budget.saturating_mul(20))
        .seed(seed)
        .build(search)
        .expect("valid CMA-ES options");
    cmaes.run();
    drop(cmaes);
    Optimum { values: best.0, score: best.1, start_score, evaluations: seen.len() }
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
        settings.search_seed,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_optimum_of_a_toy_problem_with_a_whole_number_coordinate() {
        // maximum at (0.3, 7) inside [0, 1] x [1, 10]; the start is far from it
        let f = |v: &[f64]| -((v[0] - 0.3).powi(2) * 100.0 + (v[1] - 7.0).powi(2));
        let optimum = maximise(&[[0.0, 1.0], [1.0, 10.0]], &[false, true], &[0.9, 2.0], 300, 1, f);
        assert!((optimum.values[0] - 0.3).abs() < 0.02, "{optimum:?}");
        assert_eq!(optimum.values[1], 7.0, "{optimum:?}");
        assert!(optimum.score > optimum.start_score);
        assert!(optimum.evaluations <= 300);
    }

    #[test]
    fn an_optimum_on_the_edge_of_the_box_is_found_and_never_left() {
        let f = |v: &[f64]| {
            assert!((0.0..=2.0).contains(&v[0]), "evaluated outside the range: {}", v[0]);
            v[0]
        };
        let optimum = maximise(&[[0.0, 2.0]], &[false], &[1.0], 100, 3, f);
        assert!(optimum.values[0] > 1.98, "{optimum:?}");
    }

    #[test]
    fn a_plateau_around_the_start_does_not_hide_a_peak_elsewhere() {
        // flat in the first coordinate from 1 to 5 (where the start is), a peak at 0.3: a
        // threshold above every customer's frustration changes nothing until it is low enough
        // to bite; the other coordinates matter a little everywhere
        let f = |v: &[f64]| {
            let peak = if v[0] < 1.0 { 10.0 * (1.0 - v[0]) } else { 0.0 };
            peak - (v[1] - 0.5).powi(2) - (v[2] - 0.5).powi(2) - (v[3] - 0.5).powi(2)
        };
        let box4 = [[0.0, 5.0], [0.0, 1.0], [0.0, 1.0], [0.0, 1.0]];
        for seed in 0..8 {
            let optimum = maximise(&box4, &[false; 4], &[5.0, 0.9, 0.9, 0.9], 40, seed, f);
            assert!(optimum.values[0] < 1.0, "seed {seed}: {optimum:?}");
        }
    }

    #[test]
    fn the_start_is_kept_when_nothing_beats_it_and_the_search_is_seeded() {
        let f = |v: &[f64]| -(v[0] - 0.5).abs();
        let a = maximise(&[[0.0, 1.0]], &[false], &[0.5], 50, 7, f);
        assert_eq!((a.values[0], a.score), (0.5, 0.0));
        let g = |v: &[f64]| (v[0] * 9.0).sin();
        let b = maximise(&[[0.0, 1.0]], &[false], &[0.1], 40, 7, g);
        assert_eq!(b, maximise(&[[0.0, 1.0]], &[false], &[0.1], 40, 7, g));
    }
}
