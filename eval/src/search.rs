//! A global search over a box of parameters, shared by `handoff tune` (a heuristic's parameters
//! for mean return) and `handoff calibrate --fit` (the simulator's free parameters for the
//! distance to the study's effects).
//!
//! Why CMA-ES (the `cmaes` crate): both objectives are means over simulated episodes of models
//! with thresholds and whole numbers, rugged, piecewise flat and a little noisy in the
//! parameters; CMA-ES needs no gradient or model of the function, ranks candidates rather than
//! trusting their values, and is the standard choice for a few to a few dozen parameters. The
//! `cmaes` crate is a maintained, documented implementation with seeded, deterministic runs.
//! (The fit used COBYLA until model version 1: from the middle of every range its linear models stalled
//! on the plateaus of threshold parameters, at a distance of 376 against 9.1 for the shipped
//! values.)
//!
//! A quarter of the budget first goes to a Latin hypercube over the ranges: a local search
//! started on a plateau sees no slope. CMA-ES starts from the best point of that first look and,
//! with restarts, again from the best point whenever a run converges with budget left. The
//! search runs in the unit cube (each range mapped to [0, 1]); a candidate outside it is scored
//! at the nearest point inside, less a penalty growing with the distance, so that the search
//! stays in range. Whole-number parameters are rounded. The start is scored first and kept if
//! nothing beats it.

use std::collections::HashMap;

use cmaes::{CMAESOptions, DVector};
use handoff_env::rng::uniform;
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

/// The global search's initial step, as a share of each parameter's range.
const GLOBAL_STEP: f64 = 0.3;

/// The local search's usual initial step, as a share of each parameter's range: a twentieth,
/// steps a fit that has found the right region can still take without leaving it.
pub const LOCAL_STEP: f64 = 0.05;

/// One candidate in this many of the budget goes to the space-filling first look.
const DESIGN_SHARE: usize = 4;

/// Most CMA-ES runs after the first when restarts are on.
pub const MAX_RESTARTS: usize = 9;

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

/// Where [`maximise`] looks.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Scope {
    /// The whole box: a Latin hypercube over the ranges first, then CMA-ES from its best point
    /// with a step of three tenths of each range.
    #[default]
    Global,
    /// Around the start: CMA-ES from it with a first step of `step` of each range
    /// ([`LOCAL_STEP`] unless a refinement needs finer), no hypercube (refines values a global
    /// search found).
    Local {
        /// CMA-ES's initial step, as a share of each parameter's range (0 to 1).
        step: f64,
    },
}

impl Scope {
    /// CMA-ES's initial step, as a share of each parameter's range.
    fn initial_step(self) -> f64 {
        match self {
            Scope::Global => GLOBAL_STEP,
            Scope::Local { step } => step,
        }
    }

    /// Points of the space-filling first look out of `budget`.
    fn design_points(self, budget: usize) -> usize {
        match self {
            Scope::Global => budget / DESIGN_SHARE,
            Scope::Local { .. } => 0,
        }
    }
}

/// How [`maximise`] searches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Search {
    /// Where it looks.
    pub scope: Scope,
    /// Whether a CMA-ES run that converges before the budget is spent is followed by another
    /// from the best point so far with the initial step (and another seed), until the budget
    /// is spent or [`MAX_RESTARTS`] runs have ended.
    pub restarts: bool,
    /// Seed of the search's own randomness (the hypercube, CMA-ES's samples).
    pub seed: u64,
}

impl Search {
    /// The search in words with its `budget`, as tuned policy files and fits record it.
    pub fn describe(&self, budget: u64) -> String {
        let method = match self.scope {
            Scope::Global => "a Latin hypercube, then CMA-ES".to_string(),
            Scope::Local { step } => {
                format!("CMA-ES from the start with steps of {step} of each range")
            }
        };
        let restarts = if self.restarts { " with restarts" } else { "" };
        format!("{method}{restarts} (cmaes 0.2); budget {budget}, search seed {}", self.seed)
    }
}

/// Maximises `objective` over the box `ranges` ([min, max] per coordinate; `integer` marks the
/// whole-number ones) from `start` as `search` says, evaluating at most `budget` distinct points
/// (the start among them; points seen before are not evaluated again).
pub fn maximise(
    ranges: &[[f64; 2]],
    integer: &[bool],
    start: &[f64],
    budget: usize,
    search: Search,
    mut objective: impl FnMut(&[f64]) -> f64,
) -> Optimum {
    let Search { scope, restarts, seed } = search;
    let to_value = |i: usize, u: f64| {
        let [lo, hi] = ranges[i];
        let v = lo + u.clamp(0.0, 1.0) * (hi - lo);
        if integer[i] { v.round() } else { v }
    };
    let mut seen: HashMap<Vec<u64>, f64> = HashMap::new();
    // distinct points evaluated (`seen.len()`, readable while `evaluate` holds `seen`)
    let evaluated = std::cell::Cell::new(0usize);
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
        evaluated.set(seen.len());
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
    for point in latin_hypercube(&mut rng, scope.design_points(budget), free.len()) {
        let mut values = start.to_vec();
        for (k, &i) in free.iter().enumerate() {
            values[i] = to_value(i, point[k]);
        }
        match evaluate(&values) {
            Some(score) if score > best.1 => best = (values, score),
            _ => {}
        }
    }
    let penalty_scale = start_score.abs() + 1.0;
    let runs = if restarts { MAX_RESTARTS + 1 } else { 1 };
    for run in 0..runs {
        if run > 0 && evaluated.get() >= budget {
            break;
        }
        let mean: Vec<f64> = free
            .iter()
            .map(|&i| (best.0[i] - ranges[i][0]) / (ranges[i][1] - ranges[i][0]))
            .collect();
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
        let mut cmaes = CMAESOptions::new(mean, scope.initial_step())
            // a safety net: the budget of distinct points ends the search (repeats are free)
            .max_function_evals(budget.saturating_mul(20))
            .seed(seed.wrapping_add(run as u64))
            .build(search)
            .expect("valid CMA-ES options");
        cmaes.run();
    }
    Optimum { values: best.0, score: best.1, start_score, evaluations: evaluated.get() }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The global search with `seed`, restarting or not.
    fn global(seed: u64, restarts: bool) -> Search {
        Search { scope: Scope::Global, restarts, seed }
    }

    #[test]
    fn finds_the_optimum_of_a_toy_problem_with_a_whole_number_coordinate() {
        // maximum at (0.3, 7) inside [0, 1] x [1, 10]; the start is far from it
        let f = |v: &[f64]| -((v[0] - 0.3).powi(2) * 100.0 + (v[1] - 7.0).powi(2));
        let optimum = maximise(
            &[[0.0, 1.0], [1.0, 10.0]],
            &[false, true],
            &[0.9, 2.0],
            300,
            global(1, false),
            f,
        );
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
        let optimum = maximise(&[[0.0, 2.0]], &[false], &[1.0], 100, global(3, false), f);
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
            let optimum =
                maximise(&box4, &[false; 4], &[5.0, 0.9, 0.9, 0.9], 40, global(seed, false), f);
            assert!(optimum.values[0] < 1.0, "seed {seed}: {optimum:?}");
        }
    }

    #[test]
    fn the_start_is_kept_when_nothing_beats_it_and_the_search_is_seeded() {
        let f = |v: &[f64]| -(v[0] - 0.5).abs();
        let a = maximise(&[[0.0, 1.0]], &[false], &[0.5], 50, global(7, false), f);
        assert_eq!((a.values[0], a.score), (0.5, 0.0));
        let g = |v: &[f64]| libm::sin(v[0] * 9.0);
        let b = maximise(&[[0.0, 1.0]], &[false], &[0.1], 40, global(7, false), g);
        assert_eq!(b, maximise(&[[0.0, 1.0]], &[false], &[0.1], 40, global(7, false), g));
    }

    #[test]
    fn restarts_spend_the_budget_where_one_run_would_stop_early() {
        // a sharp optimum CMA-ES converges to quickly: without restarts the search stops well
        // short of its budget; with them it goes on and never does worse
        let f = |v: &[f64]| -((v[0] - 0.7).powi(2) + (v[1] - 0.2).powi(2));
        let once = maximise(&[[0.0, 1.0]; 2], &[false; 2], &[0.1, 0.9], 2000, global(5, false), f);
        let again = maximise(&[[0.0, 1.0]; 2], &[false; 2], &[0.1, 0.9], 2000, global(5, true), f);
        assert!(once.evaluations < 2000, "{once:?}");
        assert!(again.evaluations > once.evaluations, "{again:?}");
        assert!(again.score >= once.score);
        assert_eq!(
            again,
            maximise(&[[0.0, 1.0]; 2], &[false; 2], &[0.1, 0.9], 2000, global(5, true), f)
        );
    }

    #[test]
    fn a_local_search_climbs_the_hill_it_starts_on_and_a_global_one_finds_the_higher() {
        // a hill at 0.25 near the start, a higher plateau beyond 0.8
        let f = |v: &[f64]| -(v[0] - 0.25).powi(2) + if v[0] > 0.8 { 1.0 } else { 0.0 };
        let local = Search { scope: Scope::Local { step: LOCAL_STEP }, restarts: true, seed: 1 };
        let near = maximise(&[[0.0, 1.0]], &[false], &[0.2], 100, local, f);
        assert!((near.values[0] - 0.25).abs() < 0.01, "{near:?}");
        let far = maximise(&[[0.0, 1.0]], &[false], &[0.2], 100, global(1, true), f);
        assert!(far.values[0] > 0.8, "{far:?}");
    }

    #[test]
    fn the_description_names_the_scope_restarts_budget_and_seed() {
        let tune = global(3, false).describe(120);
        assert_eq!(tune, "a Latin hypercube, then CMA-ES (cmaes 0.2); budget 120, search seed 3");
        let local = Search { scope: Scope::Local { step: LOCAL_STEP }, restarts: true, seed: 0 };
        assert_eq!(
            local.describe(400),
            "CMA-ES from the start with steps of 0.05 of each range with restarts (cmaes 0.2); \
             budget 400, search seed 0"
        );
        let fine = Search { scope: Scope::Local { step: 0.01 }, ..local }.describe(200);
        assert!(
            fine.starts_with("CMA-ES from the start with steps of 0.01 of each range"),
            "{fine}"
        );
    }
}
