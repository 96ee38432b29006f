//! The fit of the simulator's free parameters to the study's effects by simulated method of
//! moments (`handoff calibrate --fit`).
//!
//! The global search of [`crate::search`] (a Latin hypercube over the parameters' ranges, then
//! CMA-ES with restarts) minimises [`distance`], the tolerance-scaled squared distance between
//! simulated and study effects (known gaps left out), on the same seeds at every evaluation
//! (common random numbers). It starts from the scenario's values or, with [`FitStart::Centre`],
//! from the middle of every parameter's range; with [`Scope::Local`] it skips the hypercube and
//! searches around the start in small steps (a refinement of a fit). The search's own seed is part
//! of the settings and of the result, so a fit is repeated bit for bit by its command.

use handoff_env::Scenario;
use serde::Serialize;

use super::measure::{SeedMeasurement, Targets, distance, measure, seed_mean};
use crate::search::{Scope, Search, maximise};

/// The free parameter that is not a field of the scenario but the peak of its staffing profile.
const STAFFING_PEAK: &str = "workers.staffing_peak";

/// The parameters the paper does not give, which `--fit` adjusts: (dotted path, lower, upper).
/// `workers.staffing_peak` is the share of the workers on duty in the busiest hour: how close the
/// centre runs to its capacity. The fit scales the hourly staffing profile to it and keeps the
/// profile's shape, so the parameter means the same whatever level a file's profile has (a scale
/// of the file's own profile, the fit's parameter until model version 2, made a fit from the
/// centre depend on the profile an earlier fit had written). It goes no higher than the peak of
/// version 0's profile (0.569): there the roster already bends its rest and day-off rules in a
/// fifth of its shifts to put 647 workers on duty, and a fit that asked 10 % more (model version
/// 1's first candidate) bent them in 35 %.
pub const FREE_PARAMETERS: &[(&str, f64, f64)] = &[
    (STAFFING_PEAK, 0.3, 0.57),
    ("ai.emotional_threshold", 0.3, 3.0),
    ("customers.frustration_ai_reply", 0.0, 0.4),
    ("satisfaction.ai_share", 0.0, 3.0),
    ("study_policy.takeover_frustration", 0.1, 3.0),
    ("study_policy.takeover_per_unproductive", 0.0, 1.0),
    ("study_policy.takeover_per_minute", 0.0, 0.5),
    ("issues.ai_solvable_share", 0.2, 0.95),
    ("effort.emotional", 0.2, 1.0),
    ("effort.human_initiated", 0.2, 1.0),
    ("workers.perfunctory_close_rate", 0.0, 1.0),
    ("ai.reply_median_s", 2.0, 40.0),
    ("customers.rating_propensity", 0.03, 0.4),
    ("satisfaction.base", 3.0, 5.0),
    ("retrial.base", 0.2, 0.6),
    ("retrial.unresolved", 0.0, 3.0),
    // the study's mechanism 5 (Goes et al. 2018): juggling chats slows replies, so the fit may
    // weaken it but not switch it off
    ("workers.multitask_cost", 0.1, 1.0),
    ("workers.switch_slip", 0.0, 0.5),
    ("customers.frustration_relief", 0.0, 0.95),
];

/// A scenario with the free parameters set to `values` (in the units of [`FREE_PARAMETERS`]),
/// through [`Scenario::with_overrides`], which validates it (the staffing profile is then scaled
/// to its peak, which keeps it valid: the peak is below 1); an error for values the scenario
/// refuses.
fn set_parameters(scenario: &Scenario, values: &[f64]) -> Result<Scenario, String> {
    let mut staffing_peak = None;
    let mut overrides = Vec::new();
    for ((path, _, _), &x) in FREE_PARAMETERS.iter().zip(values) {
        if *path == STAFFING_PEAK {
            staffing_peak = Some(x);
        } else {
            overrides.push((*path, toml::Value::Float(x)));
        }
    }
    let mut s = scenario.with_overrides("the fit", overrides).map_err(|e| e.to_string())?;
    if let Some(peak) = staffing_peak {
        let now = staffing_peak_of(&s);
        if now <= 0.0 {
            let e = "the fit scales workers.staffing to its peak, and every value is 0";
            return Err(e.to_string());
        }
        let scale = peak / now;
        for x in &mut s.workers.staffing {
            *x *= scale;
        }
    }
    Ok(s)
}

/// The share of the workers on duty in the busiest hour.
fn staffing_peak_of(scenario: &Scenario) -> f64 {
    scenario.workers.staffing.iter().copied().fold(0.0, f64::max)
}

/// The free parameters of `scenario`.
fn get_parameters(scenario: &Scenario) -> Vec<f64> {
    FREE_PARAMETERS
        .iter()
        .map(|(path, lo, hi)| {
            if *path == STAFFING_PEAK {
                return staffing_peak_of(scenario).clamp(*lo, *hi);
            }
            let value = scenario.value_at(path).and_then(|x| x.as_float());
            value.expect("every free parameter is a real field").clamp(*lo, *hi)
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
    /// The search that found them, with its seed.
    pub optimiser: String,
}

/// Where a fit starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FitStart {
    /// The scenario's own values (for the shipped scenario: the values fitted with every target).
    #[default]
    Scenario,
    /// The middle of every parameter's fit range: a fit that knows nothing of earlier fits.
    Centre,
}

/// Where the fit's simulations run: a reduced centre over a few days on fixed seeds, the same
/// at every evaluation (common random numbers), and where the optimiser starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitSettings {
    /// Scale of workers and arrivals.
    pub scale: f64,
    /// Simulated days.
    pub days: u32,
    /// Seeds 1 to `seeds`.
    pub seeds: u64,
    /// The starting point.
    pub start: FitStart,
    /// Seed of the search's own randomness (the simulations' seeds do not depend on it).
    pub search_seed: u64,
    /// Where the search looks: the whole box (a fit from scratch) or around the start (a
    /// refinement of a fit).
    pub scope: Scope,
}

impl FitSettings {
    /// `full` as the fit simulates it.
    fn reduce(&self, full: &Scenario) -> Scenario {
        let mut s = full.scaled(self.scale);
        s.days = self.days;
        s
    }
}

/// Fits the free parameters of `full` to `targets` by simulated method of moments: the global
/// search minimises the tolerance-scaled squared distance between simulated and study effects,
/// measured as `settings` say, for at most `max_evaluations` evaluations. `on_evaluation` sees
/// the number of evaluations so far and the latest distance. Returns the fitted full-scale
/// scenario.
pub fn fit(
    full: &Scenario,
    targets: &Targets,
    settings: FitSettings,
    max_evaluations: u64,
    on_evaluation: &dyn Fn(u64, f64),
) -> Result<(Scenario, FitResult), String> {
    let base = settings.reduce(full);
    let seeds = settings.seeds;
    let x0 = match settings.start {
        FitStart::Scenario => get_parameters(full),
        FitStart::Centre => denormalise(&vec![0.5; FREE_PARAMETERS.len()]),
    };
    let ranges: Vec<[f64; 2]> = FREE_PARAMETERS.iter().map(|&(_, lo, hi)| [lo, hi]).collect();
    let mut evaluations = 0u64;
    let search = Search { scope: settings.scope, restarts: true, seed: settings.search_seed };
    let optimum = maximise(
        &ranges,
        &vec![false; ranges.len()],
        &x0,
        max_evaluations.max(1) as usize,
        search,
        |x| {
            // set_parameters validates: parameters the scenario refuses score a flat penalty
            let d = match set_parameters(&base, x) {
                Ok(s) => distance(&measure(&s, seeds, &|| {}), targets),
                Err(_) => UNSIMULATABLE,
            };
            evaluations += 1;
            on_evaluation(evaluations, d);
            -d
        },
    );
    let x = optimum.values;
    let fitted = set_parameters(full, &x)?;
    let parameters = FREE_PARAMETERS
        .iter()
        .zip(x0.iter().zip(&x))
        .map(|((p, _, _), (a, b))| ((*p).to_string(), *a, *b))
        .collect();
    Ok((
        fitted,
        FitResult {
            distance_before: -optimum.start_score,
            distance_after: -optimum.score,
            evaluations: optimum.evaluations as u64,
            parameters,
            optimiser: search.describe(max_evaluations),
        },
    ))
}

/// The distance given to parameters the scenario refuses (the search avoids them).
const UNSIMULATABLE: f64 = 1e12;

/// How much each free parameter moves each target at a point: the central difference of the
/// target over a step of `step` of the parameter's fit range, in units of the target's tolerance.
#[derive(Debug, Clone, Serialize)]
pub struct Sensitivity {
    /// The step, as a share of each parameter's range.
    pub step: f64,
    /// The target metrics, in the order of each row's effects.
    pub targets: Vec<String>,
    /// One row per free parameter.
    pub rows: Vec<SensitivityRow>,
}

/// One free parameter's effect on every target.
#[derive(Debug, Clone, Serialize)]
pub struct SensitivityRow {
    /// The parameter's dotted path.
    pub parameter: String,
    /// Its value at the point.
    pub value: f64,
    /// The change of each target (in tolerances) from `-step/2` to `+step/2` of the range.
    pub effects: Vec<f64>,
}

/// The sensitivity of every target to every free parameter of `full` at its current values,
/// simulated as `settings` say. `on_evaluation` sees the evaluations done so far.
pub fn sensitivity(
    full: &Scenario,
    targets: &Targets,
    settings: FitSettings,
    step: f64,
    on_evaluation: &dyn Fn(u64),
) -> Result<Sensitivity, String> {
    let base = settings.reduce(full);
    let u0 = normalise(&get_parameters(full));
    let done = std::cell::Cell::new(0);
    let at = |u: &[f64]| -> Result<Vec<SeedMeasurement>, String> {
        let s = set_parameters(&base, &denormalise(u))?;
        let m = measure(&s, settings.seeds, &|| {});
        done.set(done.get() + 1);
        on_evaluation(done.get());
        Ok(m)
    };
    let mut rows = Vec::new();
    for (i, (path, _, _)) in FREE_PARAMETERS.iter().enumerate() {
        // a step that stays inside the range, shifted inwards at its ends
        let lo = (u0[i] - step / 2.0).clamp(0.0, 1.0 - step);
        let (mut down, mut up) = (u0.clone(), u0.clone());
        down[i] = lo;
        up[i] = lo + step;
        let (below, above) = (at(&down)?, at(&up)?);
        let effects = targets
            .targets
            .iter()
            .map(|t| (seed_mean(&above, &t.metric) - seed_mean(&below, &t.metric)) / t.tolerance)
            .collect();
        rows.push(SensitivityRow {
            parameter: (*path).to_string(),
            value: denormalise(&u0)[i],
            effects,
        });
    }
    Ok(Sensitivity {
        step,
        targets: targets.targets.iter().map(|t| t.metric.clone()).collect(),
        rows,
    })
}

/// The target families of the cross-validation: (name, metric prefix).
pub const FAMILIES: &[(&str, &str)] = &[
    ("durations", "duration_"),
    ("durations by escalation type", "duration_twin_"),
    ("escalation paths", "path_"),
    ("ratings by segment", "rating_"),
    ("retrials", "retrial_"),
    ("escalation mix", "mix_"),
    ("ratings by escalation type", "rating_twin_"),
    ("control levels", "control_"),
];

/// The family of `metric`: the longest matching prefix of [`FAMILIES`].
pub fn family_of(metric: &str) -> &'static str {
    FAMILIES
        .iter()
        .filter(|(_, prefix)| metric.starts_with(prefix))
        .max_by_key(|(_, prefix)| prefix.len())
        .map_or("other", |(name, _)| name)
}

/// How well a fit without one family predicts it.
#[derive(Debug, Clone, Serialize)]
pub struct HeldOut {
    /// The family left out of the fit.
    pub family: String,
    /// The fit's distance on the other families.
    pub fitted_distance: f64,
    /// Each left-out target: (metric, study, predicted, predicted distance in tolerances).
    pub predictions: Vec<(String, f64, f64, f64)>,
}

/// Leave-one-family-out cross-validation: refits `full` without each family of targets in turn
/// (at most `max_evaluations` evaluations each) and predicts the family left out. `on_family`
/// sees each family's name as its refit starts.
pub fn cross_validate(
    full: &Scenario,
    targets: &Targets,
    settings: FitSettings,
    max_evaluations: u64,
    on_family: &dyn Fn(&str),
) -> Result<Vec<HeldOut>, String> {
    let mut out = Vec::new();
    for (family, _) in FAMILIES {
        let (held, kept): (Vec<_>, Vec<_>) =
            targets.targets.iter().cloned().partition(|t| family_of(&t.metric) == *family);
        if held.is_empty() {
            continue;
        }
        on_family(family);
        let kept = Targets { targets: kept };
        let (refit, result) = fit(full, &kept, settings, max_evaluations, &|_, _| {})?;
        let measured = measure(&settings.reduce(&refit), settings.seeds, &|| {});
        let predictions = held
            .iter()
            .map(|t| {
                let predicted = seed_mean(&measured, &t.metric);
                (t.metric.clone(), t.study, predicted, t.residual(predicted).abs())
            })
            .collect();
        out.push(HeldOut {
            family: (*family).to_string(),
            fitted_distance: result.distance_after,
            predictions,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_read_back_as_they_were_set() {
        let taobao = Scenario::builtin("taobao").unwrap();
        // a point inside every range
        let point: Vec<f64> = FREE_PARAMETERS
            .iter()
            .enumerate()
            .map(|(i, (_, lo, hi))| lo + (hi - lo) * 0.3 + 0.01 * i as f64)
            .collect();
        let set = set_parameters(&taobao, &point).unwrap();
        for ((read, want), (path, _, _)) in
            get_parameters(&set).iter().zip(&point).zip(FREE_PARAMETERS)
        {
            assert!((read - want).abs() <= 1e-12 * want.abs(), "{path}: {read} against {want}");
        }
        assert_ne!(get_parameters(&taobao), point);
        // the shipped values set on the shipped scenario change nothing, bit for bit
        let same = set_parameters(&taobao, &get_parameters(&taobao)).unwrap();
        assert_eq!(same.workers.staffing, taobao.workers.staffing);
    }

    #[test]
    fn the_staffing_peak_means_the_same_whatever_level_the_file_has() {
        let taobao = Scenario::builtin("taobao").unwrap();
        let mut thinner = taobao.clone();
        for x in &mut thinner.workers.staffing {
            *x *= 0.8;
        }
        let centre: Vec<f64> = FREE_PARAMETERS.iter().map(|(_, lo, hi)| (lo + hi) / 2.0).collect();
        let (a, b) =
            (set_parameters(&taobao, &centre).unwrap(), set_parameters(&thinner, &centre).unwrap());
        for (x, y) in a.workers.staffing.iter().zip(&b.workers.staffing) {
            assert!((x - y).abs() < 1e-12, "{x} against {y}");
        }
        assert!((staffing_peak_of(&a) - 0.435).abs() < 1e-12);
        // the profile keeps its shape: the quietest hour keeps its share of the busiest
        let ratio = |s: &Scenario| s.workers.staffing[3] / staffing_peak_of(s);
        assert!((ratio(&a) - ratio(&taobao)).abs() < 1e-12);
        let mut unstaffed = taobao.clone();
        unstaffed.workers.staffing = vec![0.0; 24];
        let e = set_parameters(&unstaffed, &centre).unwrap_err();
        assert!(e.contains("workers.staffing"), "{e}");
    }

    #[test]
    fn every_target_belongs_to_a_family() {
        for t in &Targets::builtin().targets {
            assert_ne!(family_of(&t.metric), "other", "{} has no family", t.metric);
        }
        assert_eq!(family_of("rating_twin_human"), "ratings by escalation type");
        assert_eq!(family_of("rating_ineligible"), "ratings by segment");
        assert_eq!(family_of("duration_twin_none_pct"), "durations by escalation type");
        assert_eq!(family_of("duration_all_pct"), "durations");
        assert_eq!(family_of("path_share_emotional_vs_technical_pp"), "escalation paths");
    }

    #[test]
    fn sensitivity_finds_what_a_parameter_moves_and_what_it_cannot() {
        let full = Scenario::builtin("taobao").unwrap();
        let settings = FitSettings {
            scale: 0.03,
            days: 2,
            seeds: 1,
            start: FitStart::Scenario,
            search_seed: 0,
            scope: Scope::Global,
        };
        let targets = Targets::builtin();
        let s = sensitivity(&full, &targets, settings, 0.1, &|_| {}).unwrap();
        let row = s.rows.iter().find(|r| r.parameter == "satisfaction.base").unwrap();
        let effect =
            |metric: &str| row.effects[s.targets.iter().position(|t| t == metric).unwrap()];
        // a tenth of the range (0.2 stars) on the base, against a tolerance of 0.1 stars: about
        // 2, give or take what clamping to 1..5 stars, rounding and selection into rating
        // (extreme experiences are rated more often) do on a small sample
        let level = effect("control_rating_mean");
        assert!((1.0..=3.0).contains(&level), "control rating moved {level} tolerances");
        // satisfaction does not act on time: on common random numbers, exactly no change
        for metric in ["duration_eligible_pct", "duration_all_pct", "mix_technical_pct"] {
            assert_eq!(effect(metric), 0.0, "{metric}");
        }
    }
}
