//! `handoff calibrate` as one call ([`run`]): the fit when asked, the sensitivity and the
//! cross-validation of the scenario's parameters, then the measurement of the arms and the
//! report with all of it, assembled here rather than by the command.

use handoff_agents::SpecError;
use handoff_env::Scenario;

use super::fit::{FAMILIES, FREE_PARAMETERS, FitResult, FitSettings};
use super::{Arms, CalibrationReport, Targets, calibrate, fit};

/// What a calibration asks for.
#[derive(Debug, Clone)]
pub struct Calibration {
    /// The scenario at full size, over the days to measure (the fit, the sensitivity and the
    /// cross-validation work on it; the arms are measured on it at `scale`).
    pub scenario: Scenario,
    /// The arms measured.
    pub arms: Arms,
    /// Seeds of the measurement.
    pub seeds: u64,
    /// Standard errors every tolerance is widened by.
    pub widen: f64,
    /// Scale of the measurement.
    pub scale: f64,
    /// How the fit, the sensitivity and the refits simulate.
    pub settings: FitSettings,
    /// Fit first, with at most this many evaluations (`None`: measure the scenario as it is).
    pub fit_evaluations: Option<u64>,
    /// Measure the sensitivity with this step, a share of each parameter's fit range.
    pub sensitivity_step: Option<f64>,
    /// Cross-validate, each refit with at most this many evaluations.
    pub cross_validate: Option<u64>,
}

/// How far a calibration has come, one phase after another.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event<'a> {
    /// The fit made `evaluations` of at most `of`, the latest at `distance`.
    Fit { evaluations: u64, of: u64, distance: f64 },
    /// The sensitivity made `done` of `of` evaluations.
    Sensitivity { done: u64, of: u64 },
    /// The cross-validation starts the refit without `family` (one of `of`).
    Refit { family: &'a str, of: u64 },
    /// The measurement finished one more of `of` seeds.
    Seed { of: u64 },
}

/// What a calibration made: the report and, after a fit, the fitted full-size scenario and how
/// the fit went.
#[derive(Debug)]
pub struct Calibrated {
    /// The report, sensitivity and cross-validation included when asked.
    pub report: CalibrationReport,
    /// The fitted scenario and the fit's result.
    pub fitted: Option<(Scenario, FitResult)>,
}

/// Why a calibration stopped.
#[derive(Debug)]
pub enum CalibrationError {
    /// An arm's policy cannot be made on the scenario (bad input).
    Policy(SpecError),
    /// The fit, the sensitivity or a refit failed.
    Fit(String),
}

impl std::fmt::Display for CalibrationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CalibrationError::Policy(e) => e.fmt(f),
            CalibrationError::Fit(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for CalibrationError {}

/// Runs the calibration `request` asks for, telling `on_event` how far it has come.
pub fn run(
    request: &Calibration,
    on_event: &dyn Fn(Event<'_>),
) -> Result<Calibrated, CalibrationError> {
    let targets = Targets::builtin();
    let settings = request.settings;
    let mut scenario = request.scenario.clone();
    let mut fitted = None;
    if let Some(of) = request.fit_evaluations {
        let (found, result) =
            fit::fit(&scenario, &targets, settings, of, &|evaluations, distance| {
                on_event(Event::Fit { evaluations, of, distance })
            })
            .map_err(CalibrationError::Fit)?;
        scenario = found.clone();
        fitted = Some((found, result));
    }
    let sensitivity = request
        .sensitivity_step
        .map(|step| {
            let of = 2 * FREE_PARAMETERS.len() as u64;
            let on_done = |done| on_event(Event::Sensitivity { done, of });
            fit::sensitivity(&scenario, &targets, settings, step, &on_done)
        })
        .transpose()
        .map_err(CalibrationError::Fit)?;
    let cross_validation = request
        .cross_validate
        .map(|evaluations| {
            let of = FAMILIES.len() as u64;
            let on_family = |family: &str| on_event(Event::Refit { family, of });
            fit::cross_validate(&scenario, &targets, settings, evaluations, &on_family)
        })
        .transpose()
        .map_err(CalibrationError::Fit)?;
    let measured = scenario.scaled(request.scale);
    let of = request.seeds;
    let mut report = calibrate(&measured, &request.arms, request.seeds, request.widen, &|| {
        on_event(Event::Seed { of })
    })
    .map_err(CalibrationError::Policy)?;
    report.sensitivity = sensitivity;
    report.cross_validation = cross_validation;
    Ok(Calibrated { report, fitted })
}
