//! The fit of the simulator's free parameters to the study's effects by simulated method of
//! moments (`handoff calibrate --fit`).
//!
//! COBYLA (the `cobyla` crate: a bounded, derivative-free trust-region method, maintained, pure
//! Rust) minimises [`distance`], the tolerance-scaled squared distance between simulated and
//! study effects, on the same seeds at every evaluation (common random numbers).

use handoff_env::Scenario;
use serde::Serialize;

use crate::calibration::{Targets, distance, measure};

/// The parameters the paper does not give, which `--fit` adjusts: (dotted path, lower, upper).
/// `workers.staffing_scale` multiplies the hourly staffing profile (capped at 1): how many
/// workers are on duty, hence how close the centre runs to its capacity.
pub const FREE_PARAMETERS: &[(&str, f64, f64)] = &[
    ("workers.staffing_scale", 0.5, 1.5),
    ("ai.emotional_threshold", 0.3, 3.0),
    ("customers.frustration_ai_reply", 0.0, 0.4),
    ("satisfaction.ai_share", 0.0, 3.0),
    ("study_policy.takeover_frustration", 0.1, 3.0),
    ("issues.ai_solvable_share", 0.2, 0.95),
    ("effort.emotional", 0.2, 1.0),
    ("effort.human_initiated", 0.2, 1.0),
    ("customers.rating_propensity", 0.03, 0.4),
    ("satisfaction.base", 3.0, 5.0),
    ("retrial.base", 0.2, 0.6),
    ("satisfaction.waiting", 0.0, 2.0),
    ("workers.multitask_cost", 0.0, 1.0),
    ("customers.frustration_per_wait_min", 0.0, 1.0),
    ("customers.frustration_relief", 0.0, 0.8),
    ("satisfaction.frustration", 0.0, 3.0),
    ("ai.productive_prob", 0.3, 1.0),
    ("satisfaction.multitasking", 0.0, 2.0),
];

/// A scenario with the free parameters set to `values` (in the units of [`FREE_PARAMETERS`]).
fn set_parameters(scenario: &Scenario, values: &[f64]) -> Result<Scenario, String> {
    let mut v = serde_json::to_value(scenario).map_err(|e| e.to_string())?;
    let mut staffing_scale = 1.0;
    for ((path, _, _), &x) in FREE_PARAMETERS.iter().zip(values) {
        if *path == "workers.staffing_scale" {
            staffing_scale = x;
            continue;
        }
        let pointer = format!("/{}", path.replace('.', "/"));
        let slot = v.pointer_mut(&pointer).ok_or_else(|| format!("no parameter {path}"))?;
        *slot = serde_json::json!(x);
    }
    let mut s: Scenario = serde_json::from_value(v).map_err(|e| e.to_string())?;
    for x in &mut s.workers.staffing {
        *x = (*x * staffing_scale).min(1.0);
    }
    Ok(s)
}

/// The free parameters of `scenario` (the staffing scale of a scenario is 1 by definition).
fn get_parameters(scenario: &Scenario) -> Vec<f64> {
    let v = serde_json::to_value(scenario).expect("scenarios serialise");
    FREE_PARAMETERS
        .iter()
        .map(|(path, lo, hi)| {
            if *path == "workers.staffing_scale" {
                return 1.0;
            }
            let pointer = format!("/{}", path.replace('.', "/"));
            v.pointer(&pointer).and_then(|x| x.as_f64()).unwrap_or(*lo).clamp(*lo, *hi)
        })
        .collect()
}

/// Maps parameters to the unit cube the optimiser works in, and back.
fn normalise(x: &[f64]) -> Vec<f64> {
    FREE_PARAMETERS.iter().zip(x).map(|((_, lo, hi), v)| (v - lo) / (hi - lo)).collect()
}

fn denormalise(u: &[f64]) -> Vec<f64> {
    FREE_PARAMETERS
        .iter()
        .zip(u)
        .map(|((_, lo, hi), v)| lo + v.clamp(0.0, 1.0) * (hi - lo))
        .collect()
}

/// The result of a fit.
#[derive(Debug, Clone, Serialize)]
pub struct FitResult {
    /// The objective before the fit.
    pub distance_before: f64,
    /// The objective after the fit.
    pub distance_after: f64,
    /// Evaluations used.
    pub evaluations: u64,
    /// Fitted values: (parameter, before, after).
    pub parameters: Vec<(String, f64, f64)>,
}

/// Fits the free parameters of `full` by simulated method of moments: COBYLA minimises the
/// tolerance-scaled squared distance between simulated and study effects, measured on `full`
/// scaled by `fit_scale` over `fit_days` days, on seeds 1 to `seeds` at every evaluation (common
/// random numbers), for at most `max_evaluations` evaluations. `on_evaluation` sees the number of
/// evaluations so far and the latest distance. Returns the fitted full-scale scenario.
pub fn fit(
    full: &Scenario,
    fit_scale: f64,
    fit_days: u32,
    seeds: u64,
    max_evaluations: u64,
    on_evaluation: &dyn Fn(u64, f64),
) -> Result<(Scenario, FitResult), String> {
    let targets = Targets::builtin();
    let mut base = full.scaled(fit_scale);
    base.days = fit_days;
    let x0 = get_parameters(full);
    let u0 = normalise(&x0);
    let bounds = vec![(0.0, 1.0); FREE_PARAMETERS.len()];
    let evaluations = std::cell::Cell::new(0u64);
    let objective = |u: &[f64], _: &mut ()| -> f64 {
        let d = match set_parameters(&base, &denormalise(u)) {
            Ok(s) if s.validate("fit").is_ok() => distance(&measure(&s, seeds, &|| {}), &targets),
            _ => 1e12,
        };
        evaluations.set(evaluations.get() + 1);
        on_evaluation(evaluations.get(), d);
        d
    };
    let start_distance = {
        let s = set_parameters(&base, &x0)?;
        distance(&measure(&s, seeds, &|| {}), &targets)
    };
    let result = cobyla::minimize(
        objective,
        &u0,
        &bounds,
        &[] as &[&dyn cobyla::Func<()>],
        (),
        max_evaluations as usize,
        cobyla::RhoBeg::All(0.1),
        Some(cobyla::StopTols { ftol_rel: 1e-4, ..cobyla::StopTols::default() }),
    );
    let (u, y) = match result {
        Ok((_, u, y)) => (u, y),
        Err((_, u, y)) => (u, y),
    };
    let x = denormalise(&u);
    let fitted = set_parameters(full, &x)?;
    fitted.validate("fitted scenario").map_err(|e| e.to_string())?;
    let parameters = FREE_PARAMETERS
        .iter()
        .zip(x0.iter().zip(&x))
        .map(|((p, _, _), (a, b))| ((*p).to_string(), *a, *b))
        .collect();
    Ok((
        fitted,
        FitResult {
            distance_before: start_distance,
            distance_after: y,
            evaluations: evaluations.get(),
            parameters,
        },
    ))
}
