//! What only the mechanisms link to a log: how long replies take and how many rounds an issue
//! needs (the durations and the workers' messages), how readily customers rate and how they rate
//! (the ratings), how often they come back (retrials). Fitted by simulated method of moments:
//! the simulated key numbers minus the log's, each in units of its tolerance, are the residuals
//! of a least-squares problem, solved on the same seeds at every evaluation (common random
//! numbers).
//!
//! Why Levenberg-Marquardt (the `levenberg-marquardt` crate, a port of MINPACK's `lmder`, on the
//! `nalgebra` version `cmaes` already brings): the start is a calibrated centre near the answer,
//! each parameter moves its own moments smoothly and monotonically (reply time the durations,
//! the rating propensity the rated share, ...), and there are about as many moments as
//! parameters. A trust-region Gauss-Newton step then needs a Jacobian (one simulation per
//! parameter, run in parallel) and one trial point per iteration: a million-chat log fits in
//! tens of candidates, where the global search (Latin hypercube and CMA-ES) needed 600.

use std::cell::RefCell;

use handoff_env::Scenario;
use levenberg_marquardt::{LeastSquaresProblem, LevenbergMarquardt, TerminationReason};
use nalgebra::storage::Owned;
use nalgebra::{DMatrix, DVector, Dyn};
use rayon::prelude::*;
use serde::Serialize;

use super::summary::{Kpi, LogSummary, Z95};

/// What a parameter sets in the scenario.
enum Setting {
    /// One value, by its dotted path.
    Value(&'static str),
    /// Several values scaled by one factor (1 at the base), keeping the base's ratios.
    Scale(&'static [&'static str]),
}

/// A parameter the service fit adjusts: what it sets, its range, whether the fit moves it on a
/// log scale (a time that may be 5 or 600 seconds, a factor), and the log column it needs
/// (`None`: every log has it).
struct ServiceParameter {
    setting: Setting,
    range: [f64; 2],
    log_scale: bool,
    needs: Option<&'static str>,
}

impl ServiceParameter {
    /// The value where the fit stands at `x` (its own scale, clamped to the range), and back.
    fn value(&self, x: f64) -> f64 {
        let v = if self.log_scale { libm::exp(x) } else { x };
        v.clamp(self.range[0], self.range[1])
    }

    fn coordinate(&self, value: f64) -> f64 {
        if self.log_scale { libm::log(value) } else { value }
    }

    /// The parameter's value in `scenario` (a factor is 1 there).
    fn base(&self, scenario: &Scenario) -> f64 {
        match self.setting {
            Setting::Value(path) => read(scenario, path),
            Setting::Scale(_) => 1.0,
        }
    }

    /// The scenario values it sets to reach `value` from `base`, by path.
    fn assignments(&self, base: &Scenario, value: f64) -> Vec<(&'static str, f64)> {
        match self.setting {
            Setting::Value(path) => vec![(path, value)],
            Setting::Scale(paths) => paths.iter().map(|&p| (p, read(base, p) * value)).collect(),
        }
    }
}

fn read(scenario: &Scenario, path: &str) -> f64 {
    let value = scenario.value_at(path).and_then(|v| v.as_float());
    value.expect("every service parameter sets a real field")
}

/// The parameters, with ranges wide enough for a centre unlike Taobao (the study's values lie
/// inside each).
const PARAMETERS: &[ServiceParameter] = &[
    // durations: the time a reply takes
    ServiceParameter {
        setting: Setting::Value("workers.reply_median_s"),
        range: [5.0, 600.0],
        log_scale: true,
        needs: None,
    },
    // the rounds an issue needs, through the messages workers write (without that column a fit
    // of the durations alone trades rounds for reply time into a corner)
    ServiceParameter {
        setting: Setting::Scale(&["issues.rounds_eligible_mean", "issues.rounds_ineligible_mean"]),
        // a third keeps the base's rounds at least one
        range: [0.34, 8.0],
        log_scale: true,
        needs: Some("worker_messages"),
    },
    // ratings: how many customers rate, and the satisfaction behind the stars
    ServiceParameter {
        setting: Setting::Value("customers.rating_propensity"),
        range: [0.02, 0.6],
        log_scale: false,
        needs: Some("rating"),
    },
    ServiceParameter {
        setting: Setting::Value("satisfaction.base"),
        range: [2.0, 5.0],
        log_scale: false,
        needs: Some("rating"),
    },
    // retrials
    ServiceParameter {
        setting: Setting::Value("retrial.base"),
        range: [0.02, 0.9],
        log_scale: false,
        needs: Some("retrial"),
    },
];

/// The key numbers the fit matches (those of the log that the parameters move). Of the
/// durations, the mean: the work a chat brings, so the fitted centre carries the log's load (its
/// waits near a busy hour's full staffing move ten times as much as the load does). The
/// quartiles are predicted, not fitted: the simulator's durations are rounds of replies, and
/// fitted to the quartiles the independent queue's centre carried 1.8 % less work than its log
/// and waited 20 % less.
const MOMENTS: &[&str] =
    &["duration_mean_s", "worker_messages_mean", "rated_share", "rating_mean", "retrial_share"];

/// Days each candidate is simulated (at most the scenario's): a week, every day of the roster's
/// weekly pattern. Three days fitted the study's 25-day log as well, but the independent queue's
/// fitted centre then waited 24 % less than its log (3.7 s against 4.9; a week: 4.4).
const FIT_DAYS: u32 = 7;

/// Seeds each candidate is simulated on.
const FIT_SEEDS: u64 = 2;

/// A moment's difference counts in units of 1 % of the log's value, or of the log's own
/// standard error where that is wider: the fit does not chase the log's noise.
const RELATIVE_TOLERANCE: f64 = 0.01;

/// The Jacobian's forward-difference step: 3 % of a parameter's value (on a log scale, 0.03),
/// wide enough that a difference on common random numbers moves many chats, not a few.
const DIFFERENCE_STEP: f64 = 0.03;

/// The fit stops when an iteration improves the distance, or moves the parameters, by less than
/// this share: below it the moments' own noise decides.
const TOLERANCE: f64 = 1e-3;

/// One fitted value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FittedParameter {
    /// Its dotted path.
    pub path: &'static str,
    /// The base scenario's value.
    pub base: f64,
    /// The fitted value.
    pub fitted: f64,
}

/// The service fit's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceFit {
    /// The values, base and fitted.
    pub parameters: Vec<FittedParameter>,
    /// The key numbers matched.
    pub moments: Vec<&'static str>,
    /// The distance (sum of squared differences in tolerance units) at the base's values.
    pub distance_before: f64,
    /// The distance at the fitted values.
    pub distance_after: f64,
    /// Candidates simulated.
    pub evaluations: usize,
    /// Whether the fit converged (else the budget of candidates ended it).
    pub converged: bool,
}

/// The fit's state between the optimiser's calls: the candidates simulated so far and the best
/// point with its distance.
struct Progress {
    evaluations: usize,
    best: (Vec<f64>, f64),
}

/// The least-squares problem: residuals at the current coordinates, simulated when set.
struct Moments<'a> {
    x: DVector<f64>,
    residuals: Option<DVector<f64>>,
    /// Whether each coordinate is a logarithm (its difference step is then absolute).
    log_scale: Vec<bool>,
    budget: usize,
    progress: &'a RefCell<Progress>,
    /// The residuals at a point (each simulation on `FIT_SEEDS` seeds).
    simulate: &'a (dyn Fn(&[f64]) -> Vec<f64> + Sync),
}

impl Moments<'_> {
    /// Simulates `points` in parallel when the budget allows them all; keeps the best.
    fn evaluate(&self, points: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
        let mut progress = self.progress.borrow_mut();
        if progress.evaluations + points.len() > self.budget {
            return None;
        }
        progress.evaluations += points.len();
        let residuals: Vec<Vec<f64>> = points.par_iter().map(|x| (self.simulate)(x)).collect();
        for (x, r) in points.iter().zip(&residuals) {
            let distance: f64 = r.iter().map(|v| v * v).sum();
            if distance < progress.best.1 {
                progress.best = (x.clone(), distance);
            }
        }
        Some(residuals)
    }
}

impl LeastSquaresProblem<f64, Dyn, Dyn> for Moments<'_> {
    type ResidualStorage = Owned<f64, Dyn>;
    type JacobianStorage = Owned<f64, Dyn, Dyn>;
    type ParameterStorage = Owned<f64, Dyn>;

    fn set_params(&mut self, x: &DVector<f64>) {
        self.x.copy_from(x);
        self.residuals = self
            .evaluate(&[x.iter().copied().collect()])
            .map(|mut r| DVector::from_vec(r.remove(0)));
    }

    fn params(&self) -> DVector<f64> {
        self.x.clone()
    }

    fn residuals(&self) -> Option<DVector<f64>> {
        self.residuals.clone()
    }

    fn jacobian(&self) -> Option<DMatrix<f64>> {
        let at = self.residuals.as_ref()?;
        let steps: Vec<f64> = (self.x.iter().zip(&self.log_scale))
            .map(|(x, &log)| if log { DIFFERENCE_STEP } else { DIFFERENCE_STEP * x.abs() })
            .collect();
        let points: Vec<Vec<f64>> = (0..self.x.len())
            .map(|j| {
                let mut x: Vec<f64> = self.x.iter().copied().collect();
                x[j] += steps[j];
                x
            })
            .collect();
        let shifted = self.evaluate(&points)?;
        let mut jacobian = DMatrix::zeros(at.len(), self.x.len());
        for (j, r) in shifted.iter().enumerate() {
            for i in 0..at.len() {
                jacobian[(i, j)] = (r[i] - at[i]) / steps[j];
            }
        }
        Some(jacobian)
    }
}

/// Fits the service of `scenario` to the log's key numbers `log` with at most `budget`
/// candidates (the moments the log has: it always has durations), starting from its values and
/// reporting `base`'s beside the fitted ones; an error when the fitted values do not make a
/// valid scenario.
pub(super) fn fit_service(
    scenario: &Scenario,
    base: &Scenario,
    log: &[Kpi],
    columns: &handoff_env::log::Columns,
    policy: &str,
    budget: usize,
) -> Result<ServiceFit, String> {
    let parameters: Vec<&'static ServiceParameter> =
        PARAMETERS.iter().filter(|p| p.needs.is_none_or(|c| columns.has(c))).collect();
    let targets: Vec<(&'static str, f64, f64)> = MOMENTS
        .iter()
        .filter_map(|m| log.iter().find(|k| k.name == *m))
        .map(|k| {
            let standard_error = (k.log.hi - k.log.lo) / (2.0 * Z95);
            (k.name, k.log.value, standard_error.max(RELATIVE_TOLERANCE * k.log.value.abs()))
        })
        .collect();
    let with = |coordinates: &[f64]| -> Result<Scenario, String> {
        let overrides = parameters
            .iter()
            .zip(coordinates)
            .flat_map(|(p, &x)| p.assignments(scenario, p.value(x)))
            .map(|(path, v)| (path, toml::Value::Float(v)));
        scenario.with_overrides("the service fit", overrides).map_err(|e| e.to_string())
    };
    let simulate = |coordinates: &[f64]| -> Vec<f64> {
        let Ok(mut short) = with(coordinates) else {
            // a point the scenario refuses is as far as can be
            return vec![f64::MAX.sqrt() / targets.len() as f64; targets.len()];
        };
        short.days = short.days.min(FIT_DAYS);
        let per_seed: Vec<Vec<Kpi>> = (1..=FIT_SEEDS)
            .into_par_iter()
            .map(|seed| {
                let mut run = LogSummary::without_workers();
                super::simulate_into(&short, policy, seed, &mut run);
                run.kpis()
            })
            .collect();
        targets
            .iter()
            .map(|(name, value, tolerance)| {
                let simulated: f64 = per_seed
                    .iter()
                    .filter_map(|kpis| kpis.iter().find(|k| k.name == *name))
                    .map(|k| k.log.value)
                    .sum::<f64>()
                    / FIT_SEEDS as f64;
                (simulated - value) / tolerance
            })
            .collect()
    };
    let start: Vec<f64> =
        parameters.iter().map(|p| p.coordinate(p.value(p.coordinate(p.base(scenario))))).collect();
    let progress = RefCell::new(Progress { evaluations: 0, best: (start.clone(), f64::INFINITY) });
    let mut problem = Moments {
        x: DVector::from_vec(start.clone()),
        residuals: None,
        log_scale: parameters.iter().map(|p| p.log_scale).collect(),
        budget: budget.max(1),
        progress: &progress,
        simulate: &simulate,
    };
    problem.set_params(&DVector::from_vec(start.clone()));
    let distance_before = progress.borrow().best.1;
    let (_, report) = LevenbergMarquardt::new()
        .with_ftol(TOLERANCE)
        .with_xtol(TOLERANCE)
        .with_patience(budget.max(1))
        .minimize(problem);
    let converged = matches!(
        report.termination,
        TerminationReason::Converged { .. }
            | TerminationReason::ResidualsZero
            | TerminationReason::Orthogonal
    );
    let progress = progress.into_inner();
    let fitted = with(&progress.best.0)?;
    Ok(ServiceFit {
        parameters: parameters
            .iter()
            .zip(&progress.best.0)
            .flat_map(|(p, &x)| p.assignments(scenario, p.value(x)))
            .map(|(path, _)| FittedParameter {
                path,
                base: read(base, path),
                fitted: read(&fitted, path),
            })
            .collect(),
        moments: targets.iter().map(|t| t.0).collect(),
        distance_before,
        distance_after: progress.best.1,
        evaluations: progress.evaluations,
        converged,
    })
}
