//! `handoff calibrate`: the simulator against the field experiment, and the fit of its free
//! parameters by simulated method of moments (the work itself, the report included, is
//! `handoff_eval::calibration::run`; this module reads the options, reports progress and
//! renders).

use std::path::PathBuf;

use handoff_eval::calibration::{Arms, Calibrated, Calibration, CalibrationError, Event, Row};
use handoff_eval::calibration::{CalibrationReport, CurvePoint, bucket_labels};
use handoff_eval::fit::{FitSettings, FitStart, Sensitivity};
use handoff_eval::search::{LOCAL_STEP, Scope};

use super::format::{fixed, progress_bar, table};
use super::{CliError, check_writable, load_scenario, to_json, write_all_atomic};

/// The options of `handoff calibrate`.
#[derive(Debug, Clone, clap::Args)]
pub struct CalibrateArgs {
    /// The scenario, its days and its scale.
    #[command(flatten)]
    pub centre: super::CentreArgs,
    /// Seeds to simulate (1, 2, ..., N).
    #[arg(long, default_value_t = 5, allow_hyphen_values = true, value_parser = super::whole_number::<u64>(1, 1000))]
    pub seeds: u64,
    /// Widen every tolerance by this many standard errors of the estimate (for reduced
    /// scales, whose sampling error exceeds the study's).
    #[arg(long, default_value_t = 0.0)]
    pub widen: f64,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Write the mechanism curves (effort, messages, rating by intervention delay) as SVG.
    #[arg(long, value_name = "PATH", alias = "out")]
    pub svg: Option<PathBuf>,
    /// Fit the free parameters by simulated method of moments, then write the fitted
    /// scenario to --fit-out and report on it.
    #[arg(long)]
    pub fit: bool,
    /// Where --fit writes the fitted scenario.
    #[arg(long, value_name = "PATH", default_value = "fitted.toml")]
    pub fit_out: PathBuf,
    /// Scale of the simulations inside the fit.
    #[arg(long, default_value_t = 0.25, allow_hyphen_values = true, value_parser = super::scale)]
    pub fit_scale: f64,
    /// Simulated days of the simulations inside the fit (1 to 3650).
    #[arg(long, default_value_t = 6, allow_hyphen_values = true, value_parser = super::days())]
    pub fit_days: u32,
    /// Seeds of the simulations inside the fit (the same at every evaluation).
    #[arg(long, default_value_t = 2, allow_hyphen_values = true, value_parser = super::whole_number::<u64>(1, 1000))]
    pub fit_seeds: u64,
    /// Where the fit and the refits of --cross-validate start: the scenario's own values, or
    /// the middle of every parameter's fit range (a fit that knows nothing of earlier fits;
    /// give it more --fit-evaluations).
    #[arg(long, value_enum, default_value_t = StartArg::Scenario)]
    pub fit_start: StartArg,
    /// How the fit searches: `global`, a Latin hypercube over every range and then CMA-ES with
    /// restarts (a fit from scratch); `local`, CMA-ES from the start values in steps of
    /// --fit-step of each range, no hypercube (refines a fit, e.g. one from the centre).
    #[arg(long, value_enum, default_value_t = ScopeArg::Global)]
    pub fit_search: ScopeArg,
    /// The first step of `--fit-search local`, as a share of each parameter's range (above 0,
    /// at most 0.5; default 0.05): smaller for the last, small moves of a refinement on
    /// full-scale simulations.
    #[arg(long, value_name = "SHARE")]
    pub fit_step: Option<f64>,
    /// Seed of the fit's search (its Latin hypercube and CMA-ES); the simulations' seeds do not
    /// depend on it. The fit prints it, so that its command repeats it bit for bit.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true, value_parser = super::parse_seed)]
    pub fit_search_seed: u64,
    /// Most objective evaluations of the fit (and of each refit of --cross-validate).
    #[arg(long, default_value_t = 300, allow_hyphen_values = true, value_parser = super::whole_number::<u64>(1, u64::MAX))]
    pub fit_evaluations: u64,
    /// Print which targets each free parameter moves: central differences over a tenth of each
    /// parameter's fit range at the scenario's values (after --fit, the fitted ones), in units
    /// of each target's tolerance, simulated like the fit (--fit-scale, --fit-days, --fit-seeds).
    #[arg(long)]
    pub sensitivity: bool,
    /// Refit with each family of targets left out in turn and report how well each refit
    /// predicts the family it did not see (one fit per family: slow).
    #[arg(long)]
    pub cross_validate: bool,
    /// The control arm's policy: a heuristic, one with parameters (`NAME@key=value,...`), a
    /// policy file or a shipped tuned policy. The study's estimators then compare it with the
    /// treatment arm (the fit, --sensitivity and --cross-validate keep the study's arms).
    #[arg(long, value_name = "POLICY", default_value = "study-control")]
    pub control: String,
    /// The treatment arm's policy, as --control: try a workflow of the treated workers, e.g.
    /// `study-treatment@max_chats=2`, against the study's effects.
    #[arg(long, value_name = "POLICY", default_value = "study-treatment")]
    pub treatment: String,
}

/// The values of `--fit-start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StartArg {
    /// The scenario's own values.
    Scenario,
    /// The middle of every parameter's fit range.
    Centre,
}

impl From<StartArg> for FitStart {
    fn from(a: StartArg) -> Self {
        match a {
            StartArg::Scenario => FitStart::Scenario,
            StartArg::Centre => FitStart::Centre,
        }
    }
}

/// The values of `--fit-search`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScopeArg {
    /// Every range: a Latin hypercube, then CMA-ES with restarts.
    Global,
    /// Around the start: CMA-ES in small steps.
    Local,
}

/// The search `--fit-search` and `--fit-step` ask for, or why they cannot be had together.
fn fit_scope(search: ScopeArg, step: Option<f64>) -> Result<Scope, CliError> {
    match (search, step) {
        (ScopeArg::Global, None) => Ok(Scope::Global),
        (ScopeArg::Global, Some(_)) => Err(CliError::input(
            "--fit-step sets the first step of --fit-search local; the global search's is fixed",
        )),
        (ScopeArg::Local, None) => Ok(Scope::Local { step: LOCAL_STEP }),
        (ScopeArg::Local, Some(step)) if step > 0.0 && step <= 0.5 => Ok(Scope::Local { step }),
        (ScopeArg::Local, Some(step)) => Err(CliError::input(format!(
            "--fit-step {step}: a share of each range above 0 and at most 0.5"
        ))),
    }
}

/// The step of `--sensitivity`, as a share of each parameter's fit range.
const SENSITIVITY_STEP: f64 = 0.1;
/// Effects smaller than this many tolerances are left out of the sensitivity table.
const SENSITIVITY_SHOWN: f64 = 0.25;
/// The sensitivity table shows at most this many targets per parameter (JSON has them all).
const SENSITIVITY_TOP: usize = 4;

/// Runs `handoff calibrate`: fits first with `--fit`, then measures; exit 1 when a target fails
/// (the report is printed first).
pub fn run(args: &CalibrateArgs) -> Result<String, CliError> {
    if !(0.0..=100.0).contains(&args.widen) {
        return Err(CliError::input("--widen must be in 0..100"));
    }
    let arms = Arms { control: args.control.clone(), treatment: args.treatment.clone() };
    if !arms.is_study() && (args.fit || args.sensitivity || args.cross_validate) {
        return Err(CliError::input(
            "--control and --treatment change the arms measured; --fit, --sensitivity and \
             --cross-validate fit the model to the study's own arms: run them without",
        ));
    }
    let scope = fit_scope(args.fit_search, args.fit_step)?;
    let scenario = load_scenario(&args.centre.scenario, args.centre.days)?;
    for (flag, policy) in [("--control", &arms.control), ("--treatment", &arms.treatment)] {
        if policy.starts_with("ckpt:") {
            return Err(CliError::input(format!(
                "{flag} {policy}: calibrate takes heuristics and policy files; compare a trained \
                 policy with `handoff eval`"
            )));
        }
        handoff_agents::spec::resolve(policy, &scenario)
            .map_err(|e| CliError::input(format!("{flag}: {e}")))?;
    }
    let mut outputs: Vec<(&str, &std::path::Path)> =
        args.svg.iter().map(|p| ("--svg", p.as_path())).collect();
    if args.fit {
        outputs.push(("--fit-out", &args.fit_out));
    }
    check_writable(&outputs)?;
    super::interrupt::on_interrupt(if args.fit {
        "the fit was not finished; no output was written and earlier files are as they were"
    } else {
        "the calibration was not finished; no output was written"
    });
    let request = Calibration {
        scenario,
        arms,
        seeds: args.seeds,
        widen: args.widen,
        scale: args.centre.scale,
        settings: FitSettings {
            scale: args.fit_scale,
            days: args.fit_days,
            seeds: args.fit_seeds,
            start: args.fit_start.into(),
            search_seed: args.fit_search_seed,
            scope,
        },
        fit_evaluations: args.fit.then_some(args.fit_evaluations),
        sensitivity_step: args.sensitivity.then_some(SENSITIVITY_STEP),
        cross_validate: args.cross_validate.then_some(args.fit_evaluations),
    };
    // one bar per phase, made when the phase's first event comes
    let bar = std::cell::RefCell::new(None::<(&'static str, super::format::Progress)>);
    let on_event = |event: Event<'_>| {
        let (phase, len) = match event {
            Event::Fit { of, .. } => ("fitting", of),
            Event::Sensitivity { of, .. } => ("sensitivity", of),
            Event::Refit { of, .. } => ("cross-validating", of),
            Event::Seed { of } => ("simulating seeds", of),
        };
        let mut current = bar.borrow_mut();
        if current.as_ref().is_none_or(|(p, _)| *p != phase) {
            if let Some((_, done)) = current.take() {
                done.finish_and_clear();
            }
            *current = Some((phase, progress_bar(len, phase)));
        }
        let (_, progress) = current.as_ref().expect("made above");
        match event {
            Event::Fit { evaluations, distance, .. } => {
                progress.set_position(evaluations);
                progress.set_message(format!("fitting (distance {distance:.2})"));
            }
            Event::Sensitivity { done, .. } => progress.set_position(done),
            Event::Refit { family, .. } => {
                progress.set_message(format!("refitting without {family}"));
                progress.inc(1);
            }
            Event::Seed { .. } => progress.inc(1),
        }
    };
    let calibrated = handoff_eval::calibration::run(&request, &on_event).map_err(|e| match e {
        CalibrationError::Policy(e) => CliError::input(e.to_string()),
        CalibrationError::Fit(message) => CliError::runtime(message),
    })?;
    if let Some((_, done)) = bar.borrow_mut().take() {
        done.finish_and_clear();
    }
    let Calibrated { report, fitted } = calibrated;
    let mut files = Vec::new();
    let mut prefix = String::new();
    if let Some((fitted, result)) = &fitted {
        let text = toml::to_string_pretty(fitted).map_err(CliError::runtime)?;
        files.push((args.fit_out.as_path(), text));
        prefix = format!(
            "fit: distance {:.2} -> {:.2} in {} evaluations ({}); wrote {}\n{}\n",
            result.distance_before,
            result.distance_after,
            result.evaluations,
            result.optimiser,
            args.fit_out.display(),
            result
                .parameters
                .iter()
                .map(|(p, a, b)| format!("  {p}: {a:.4} -> {b:.4}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    if let Some(path) = &args.svg {
        files.push((path.as_path(), curves_svg(&report)?));
    }
    write_all_atomic(&files)?;
    let text = if args.json {
        /// The report, with the fit's result (distance, values, search) when there was one.
        #[derive(serde::Serialize)]
        struct Json<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            fit: Option<&'a handoff_eval::calibration::fit::FitResult>,
            #[serde(flatten)]
            report: &'a handoff_eval::calibration::CalibrationReport,
        }
        to_json(&Json { fit: fitted.as_ref().map(|(_, result)| result), report: &report })
    } else {
        prefix + &render_text(&report)
    };
    if report.pass {
        Ok(text)
    } else {
        print!("{text}");
        Err(CliError { message: "calibration targets failed".into(), code: 1 })
    }
}

fn fixed3(x: f64) -> String {
    fixed(x, 3)
}

/// Renders the report as tables.
pub fn render_text(report: &CalibrationReport) -> String {
    let mut rows = vec![
        ["metric", "study", "simulated", "95 % CI", "tolerance", "result"]
            .map(String::from)
            .to_vec(),
    ];
    let (gaps, checked): (Vec<&Row>, Vec<&Row>) =
        report.targets.iter().partition(|r| r.known_gap.is_some());
    let row = |r: &Row| {
        vec![
            r.label.clone(),
            r.study.map(fixed3).unwrap_or_else(|| "-".into()),
            fixed3(r.simulated),
            format!("[{}, {}]", fixed3(r.ci_low), fixed3(r.ci_high)),
            r.tolerance.map(fixed3).unwrap_or_else(|| "-".into()),
            match r.pass {
                Some(true) => "pass".into(),
                Some(false) => "FAIL".into(),
                None => "not a target".into(),
            },
        ]
    };
    rows.extend(checked.iter().map(|r| row(r)));
    let passed = checked.iter().filter(|r| r.pass == Some(true)).count();
    let total = checked.iter().filter(|r| r.pass.is_some()).count();
    let mut out = format!(
        "calibration of {} against arXiv:2605.14830, {} seed(s){}{}\n\n",
        report.scenario,
        report.seeds,
        if report.widen > 0.0 {
            format!(", tolerances widened by {} standard errors", report.widen)
        } else {
            String::new()
        },
        if report.arms.is_study() {
            String::new()
        } else {
            format!(
                "\narms: control {}, treatment {} (not the study's)",
                report.arms.control, report.arms.treatment
            )
        }
    );
    out.push_str(&table(&rows));
    out.push_str(&format!("\n{passed} of {total} targets pass\n"));
    if !gaps.is_empty() {
        out.push_str(&format!(
            "\nknown gaps: {} target(s) the model does not reproduce, outside the verdict\n",
            gaps.len()
        ));
        let mut gap_rows = vec![rows[0].clone()];
        gap_rows.extend(gaps.iter().map(|r| row(r)));
        out.push_str(&table(&gap_rows));
        out.push('\n');
        for r in &gaps {
            out.push_str(&format!("{}: {}\n", r.label, r.known_gap.as_deref().unwrap_or("")));
        }
    }
    out.push_str("\nmechanisms: escalated chats by intervention delay\n");
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
            fixed3(p.effort),
            fixed3(p.messages),
            fixed3(p.rating),
        ]);
    }
    out.push_str(&table(&curve_rows));
    if let Some(s) = &report.sensitivity {
        out.push_str(&render_sensitivity(s));
    }
    if let Some(cv) = &report.cross_validation {
        out.push_str(
            "\ncross-validation: each family of targets predicted by a refit without it\n",
        );
        let mut rows = vec![
            ["left out", "target", "study", "predicted", "off by (tolerances)"]
                .map(String::from)
                .to_vec(),
        ];
        for h in cv {
            for (metric, study, predicted, z) in &h.predictions {
                rows.push(vec![
                    h.family.clone(),
                    metric.clone(),
                    fixed3(*study),
                    fixed3(*predicted),
                    fixed(*z, 2),
                ]);
            }
        }
        out.push_str(&table(&rows));
    }
    out
}

/// Renders the sensitivity: per free parameter, the [`SENSITIVITY_TOP`] targets it moves most,
/// by at least [`SENSITIVITY_SHOWN`] tolerances over the step.
fn render_sensitivity(s: &Sensitivity) -> String {
    let mut rows = vec![
        ["parameter", "value", "targets moved (tolerances per step)"].map(String::from).to_vec(),
    ];
    for r in &s.rows {
        let mut moved: Vec<(&String, f64)> = s
            .targets
            .iter()
            .zip(&r.effects)
            .filter(|(_, e)| e.abs() >= SENSITIVITY_SHOWN)
            .map(|(t, e)| (t, *e))
            .collect();
        moved.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        let text = if moved.is_empty() {
            "none (identified by no target)".to_string()
        } else {
            let shown = moved.iter().take(SENSITIVITY_TOP).map(|(t, e)| format!("{t} {e:+.2}"));
            let mut text = shown.collect::<Vec<_>>().join(", ");
            if moved.len() > SENSITIVITY_TOP {
                text.push_str(&format!(" and {} more", moved.len() - SENSITIVITY_TOP));
            }
            text
        };
        rows.push(vec![r.parameter.clone(), fixed(r.value, 4), text]);
    }
    format!(
        "\nsensitivity: change of each target over {} of each parameter's fit range\n{}",
        fixed(s.step, 2),
        table(&rows)
    )
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
            super::format::draw_legend(&mut chart, SeriesLabelPosition::LowerLeft)?;
        }
        root.present().map_err(|e| fail(&e))?;
    }
    Ok(svg)
}
