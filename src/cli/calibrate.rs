//! `handoff calibrate`: the simulator against the field experiment, and the fit of its free
//! parameters by simulated method of moments.

use handoff_agents::by_name;
use handoff_env::Scenario;
use handoff_env::calibration::{
    DELAY_BUCKETS, DelayCurves, Row, SeedMeasurement, Targets, distance, measure_seed, summarise,
};
use indicatif::ProgressBar;
use serde::Serialize;

use super::table::render;
use super::{CliError, progress_bar};

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

/// What `handoff calibrate --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct CalibrationReport {
    /// Whether every target passed.
    pub pass: bool,
    /// The scenario measured.
    pub scenario: String,
    /// Seeds measured.
    pub seeds: u64,
    /// Standard errors added to each tolerance (0 at full scale).
    pub widen: f64,
    /// The targets, then the metrics reported but not targeted (`study` null).
    pub targets: Vec<Row>,
    /// Mechanism curves: by intervention-delay bucket, for technical and emotional escalations.
    pub curves: Vec<CurvePoint>,
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

/// The delay bucket labels.
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

/// Measures `seeds` seeds (1, 2, ...) of both study arms.
pub fn measure(scenario: &Scenario, seeds: u64, progress: &ProgressBar) -> Vec<SeedMeasurement> {
    (1..=seeds)
        .map(|seed| {
            let mut control = by_name("study-control", scenario).expect("built in");
            let mut treatment = by_name("study-treatment", scenario).expect("built in");
            let m = measure_seed(scenario, seed, control.as_mut(), treatment.as_mut());
            progress.inc(1);
            m
        })
        .collect()
}

/// Measures and summarises.
pub fn calibrate(scenario: &Scenario, seeds: u64, widen: f64) -> CalibrationReport {
    let targets = Targets::builtin();
    let bar = progress_bar(seeds, "simulating seeds");
    let measured = measure(scenario, seeds, &bar);
    bar.finish_and_clear();
    let rows = summarise(&measured, &targets, widen);
    let mut curves = DelayCurves::default();
    for m in &measured {
        curves.merge(&m.curves);
    }
    CalibrationReport {
        pass: rows.iter().all(|r| r.pass != Some(false)),
        scenario: scenario.name.clone(),
        seeds,
        widen,
        targets: rows,
        curves: curve_points(&curves),
    }
}

fn num(x: f64) -> String {
    if x.is_finite() { format!("{x:.3}") } else { "n/a".into() }
}

/// Renders the report as tables.
pub fn render_text(report: &CalibrationReport) -> String {
    let mut rows = vec![
        ["metric", "study", "simulated", "95 % CI", "tolerance", "result"]
            .map(String::from)
            .to_vec(),
    ];
    for r in &report.targets {
        rows.push(vec![
            r.label.clone(),
            r.study.map(num).unwrap_or_else(|| "-".into()),
            num(r.simulated),
            format!("[{}, {}]", num(r.ci_low), num(r.ci_high)),
            r.tolerance.map(num).unwrap_or_else(|| "-".into()),
            match r.pass {
                Some(true) => "pass".into(),
                Some(false) => "FAIL".into(),
                None => "not a target".into(),
            },
        ]);
    }
    let passed = report.targets.iter().filter(|r| r.pass == Some(true)).count();
    let total = report.targets.iter().filter(|r| r.pass.is_some()).count();
    let mut out = format!(
        "calibration of {} against arXiv:2605.14830, {} seed(s){}\n\n",
        report.scenario,
        report.seeds,
        if report.widen > 0.0 {
            format!(", tolerances widened by {} standard errors", report.widen)
        } else {
            String::new()
        }
    );
    out.push_str(&render(&rows));
    out.push_str(&format!(
        "\n{passed} of {total} targets pass\n\nmechanisms: escalated chats by intervention delay\n"
    ));
    let mut curve_rows = vec![
        ["escalation", "delay", "chats", "effort", "messages/reply", "rating"]
            .map(String::from)
            .to_vec(),
    ];
    for p in &report.curves {
        curve_rows.push(vec![
            p.escalation.clone(),
            p.delay.clone(),
            p.chats.to_string(),
            num(p.effort),
            num(p.messages),
            num(p.rating),
        ]);
    }
    out.push_str(&render(&curve_rows));
    out
}

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

/// Fits the free parameters of `full` by simulated method of moments: COBYLA (a bounded,
/// derivative-free trust-region method) minimises the tolerance-scaled squared distance between
/// simulated and study effects, measured on `fit_scenario` (typically a reduced scale of `full`)
/// over the same seeds at every evaluation (common random numbers). Returns the fitted full-scale
/// scenario.
pub fn fit(
    full: &Scenario,
    fit_scale: f64,
    fit_days: u32,
    seeds: u64,
    max_evaluations: u64,
) -> Result<(Scenario, FitResult), CliError> {
    let targets = Targets::builtin();
    let mut base = full.scaled(fit_scale);
    base.days = fit_days;
    let x0 = get_parameters(full);
    let u0 = normalise(&x0);
    let bounds = vec![(0.0, 1.0); FREE_PARAMETERS.len()];
    let bar = progress_bar(max_evaluations, "fitting");
    let objective = |u: &[f64], _: &mut ()| -> f64 {
        let d = match set_parameters(&base, &denormalise(u)) {
            Ok(s) if s.validate("fit").is_ok() => {
                let quiet = ProgressBar::hidden();
                distance(&measure(&s, seeds, &quiet), &targets)
            }
            _ => 1e12,
        };
        bar.inc(1);
        bar.set_message(format!("fitting (distance {d:.2})"));
        d
    };
    let start_distance = {
        let s = set_parameters(&base, &x0).map_err(CliError::runtime)?;
        distance(&measure(&s, seeds, &ProgressBar::hidden()), &targets)
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
    bar.finish_and_clear();
    let (u, y) = match result {
        Ok((_, u, y)) => (u, y),
        Err((_, u, y)) => (u, y),
    };
    let x = denormalise(&u);
    let fitted = set_parameters(full, &x).map_err(CliError::runtime)?;
    fitted.validate("fitted scenario").map_err(CliError::runtime)?;
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
            evaluations: bar.position(),
            parameters,
        },
    ))
}

/// Buckets with fewer escalated chats are left out of the plot (too noisy to read).
const MIN_CHATS_PLOTTED: u64 = 30;

/// Reads one quantity of a curve point.
type CurveValue = fn(&CurvePoint) -> f64;

/// Draws the mechanism curves (effort, messages, rating by delay) as an SVG.
pub fn curves_svg(report: &CalibrationReport) -> Result<String, CliError> {
    use plotters::prelude::*;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1200, 380)).into_drawing_area();
        let fail = |e: &dyn std::fmt::Display| CliError::runtime(format!("plotting: {e}"));
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        let panels = root.split_evenly((1, 3));
        let labels = bucket_labels();
        let metrics: [(&str, CurveValue); 3] = [
            ("worker effort", |p| p.effort),
            ("worker messages per reply", |p| p.messages),
            ("rating (stars)", |p| p.rating),
        ];
        for (panel, (title, value)) in panels.iter().zip(metrics) {
            let points = |kind: &str| -> Vec<(usize, f64)> {
                report
                    .curves
                    .iter()
                    .filter(|p| p.escalation == kind)
                    .enumerate()
                    .filter(|(_, p)| p.chats >= MIN_CHATS_PLOTTED && value(p).is_finite())
                    .map(|(i, p)| (i, value(p)))
                    .collect()
            };
            let (tech, emo) = (points("technical"), points("emotional"));
            let all: Vec<f64> = tech.iter().chain(&emo).map(|(_, y)| *y).collect();
            let lo = all.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let (lo, hi) = if lo.is_finite() {
                (lo - 0.1 * (hi - lo + 0.1), hi + 0.1 * (hi - lo + 0.1))
            } else {
                (0.0, 1.0)
            };
            let mut chart = ChartBuilder::on(panel)
                .caption(title, ("sans-serif", 18))
                .margin(12)
                .x_label_area_size(36)
                .y_label_area_size(48)
                .build_cartesian_2d(0usize..labels.len() - 1, lo..hi)
                .map_err(|e| fail(&e))?;
            chart
                .configure_mesh()
                .x_labels(labels.len())
                .x_label_formatter(&|i| labels.get(*i).cloned().unwrap_or_default())
                .x_desc("intervention delay")
                .draw()
                .map_err(|e| fail(&e))?;
            for (series, colour, name) in [(tech, BLUE, "technical"), (emo, RED, "emotional")] {
                chart
                    .draw_series(LineSeries::new(series.clone(), colour.stroke_width(2)))
                    .map_err(|e| fail(&e))?
                    .label(name)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour));
                chart
                    .draw_series(
                        series.iter().map(|&(x, y)| Circle::new((x, y), 3, colour.filled())),
                    )
                    .map_err(|e| fail(&e))?;
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerLeft)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(|e| fail(&e))?;
        }
        root.present().map_err(|e| fail(&e))?;
    }
    Ok(svg)
}
