//! The calibration report: the study's arms measured on several seeds, checked against the
//! targets, with the mechanism curves and, when asked, the sensitivity and the cross-validation
//! of the fit ([`calibrate`]).

use handoff_env::{ModelStamp, Scenario};
use serde::Serialize;

use super::fit::{HeldOut, Sensitivity};
use super::measure::{Arms, DELAY_BUCKETS, DelayCurves, Row, Targets, measure_arms, summarise};
use handoff_agents::SpecError;

/// What `handoff calibrate --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct CalibrationReport {
    /// Whether every target passed, known gaps aside.
    pub pass: bool,
    /// The scenario measured.
    pub scenario: String,
    /// The model measured.
    pub model: ModelStamp,
    /// The policies of the two arms.
    pub arms: Arms,
    /// Seeds measured.
    pub seeds: u64,
    /// Standard errors added to each tolerance (0 at full scale).
    pub widen: f64,
    /// The targets, then the metrics reported but not targeted (`study` null).
    pub targets: Vec<Row>,
    /// Mechanism curves: by intervention-delay bucket, for technical and emotional escalations.
    pub curves: Vec<CurvePoint>,
    /// Which targets each free parameter moves (`--sensitivity`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensitivity: Option<Sensitivity>,
    /// How well refits without each family of targets predict it (`--cross-validate`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cross_validation: Option<Vec<HeldOut>>,
}

/// One point of a mechanism curve, over all seeds.
#[derive(Debug, Clone, Serialize)]
pub struct CurvePoint {
    /// `technical` or `emotional`.
    pub escalation: String,
    /// The delay bucket, such as `2-5 min`.
    pub delay: String,
    /// Escalated chats in the bucket.
    pub chats: u64,
    /// Mean worker effort.
    pub effort: f64,
    /// Mean worker messages per reply.
    pub messages: f64,
    /// Mean rating of the rated chats.
    pub rating: f64,
}

/// The delay bucket labels, such as `2-5 min`.
pub fn bucket_labels() -> Vec<String> {
    DELAY_BUCKETS
        .iter()
        .map(
            |(lo, hi)| {
                if hi.is_finite() { format!("{lo}-{hi} min") } else { format!("{lo}+ min") }
            },
        )
        .collect()
}

fn curve_points(curves: &DelayCurves) -> Vec<CurvePoint> {
    let labels = bucket_labels();
    let mut out = Vec::new();
    for (name, sums) in [("technical", &curves.technical), ("emotional", &curves.emotional)] {
        for (s, label) in sums.iter().zip(&labels) {
            let per = |x: f64, n: u64| if n == 0 { f64::NAN } else { x / n as f64 };
            out.push(CurvePoint {
                escalation: name.into(),
                delay: label.clone(),
                chats: s.chats,
                effort: per(s.effort, s.chats),
                messages: per(s.messages, s.chats),
                rating: per(s.rating, s.rated),
            });
        }
    }
    out
}

/// Measures `arms` on `seeds` seeds and checks them against the built-in targets, each
/// tolerance widened by `widen` standard errors; `on_seed` is called after each seed. An error
/// when a policy cannot be made on `scenario`.
pub fn calibrate(
    scenario: &Scenario,
    arms: &Arms,
    seeds: u64,
    widen: f64,
    on_seed: &dyn Fn(),
) -> Result<CalibrationReport, SpecError> {
    let measured = measure_arms(scenario, arms, seeds, on_seed)?;
    let rows = summarise(&measured, &Targets::builtin(), widen);
    let mut curves = DelayCurves::default();
    for m in &measured {
        curves.merge(&m.curves);
    }
    Ok(CalibrationReport {
        pass: !rows.iter().any(Row::fails),
        scenario: scenario.name.clone(),
        model: ModelStamp::of(scenario),
        arms: arms.clone(),
        seeds,
        widen,
        targets: rows,
        curves: curve_points(&curves),
        sensitivity: None,
        cross_validation: None,
    })
}
