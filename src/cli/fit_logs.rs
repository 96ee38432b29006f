//! `handoff fit-logs`: a centre's chat log turned into a scenario (the fit itself is
//! `handoff_eval::logs`).

use std::path::{Path, PathBuf};

use handoff_eval::logs::{FitLogsSettings, LogError, LogFit, default_name, fit_logs};

use super::format::progress_bar;
use super::{CliError, check_writable, to_json, write_all_atomic};

/// The options of `handoff fit-logs`.
#[derive(Debug, Clone, clap::Args)]
pub struct FitLogsArgs {
    /// The log: a CSV with handoff's chats columns (`handoff simulate --csv` writes one).
    /// Required: arrival_s (or arrival, ISO 8601), first_wait_s, duration_s, ending.
    #[arg(long, value_name = "FILE")]
    pub chats: PathBuf,
    /// The built-in scenario whose values the log cannot show are kept.
    #[arg(long, default_value = handoff_env::scenario::DEFAULT_SCENARIO)]
    pub base: String,
    /// Where to write the fitted scenario (default: LOG-fitted.toml in this folder).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// The fitted scenario's name (default: the log's file stem).
    #[arg(long)]
    pub name: Option<String>,
    /// The arm to fit, in a log with an `arm` column (`simulate --csv` writes `control` and
    /// `treatment`); a log that holds more than one arm needs it.
    #[arg(long)]
    pub arm: Option<String>,
    /// Seeds of the fitted simulator to set beside the log (1 to 1000).
    #[arg(long, default_value_t = 4, allow_hyphen_values = true, value_parser = super::whole_number::<u64>(1, 1000))]
    pub seeds: u64,
    /// The policy the fitted simulator runs (default: study-treatment when the log shows AI
    /// chats, else study-control).
    #[arg(long)]
    pub policy: Option<String>,
    /// Most candidates of the service fit: simulated method of moments (Levenberg-Marquardt)
    /// that moves the reply time (durations), the rounds an issue needs (worker messages), the
    /// rating propensity and satisfaction (ratings) and the retrial base toward the log's, each
    /// where the log has its column, in turns with the workers on duty; 20 to 120 candidates
    /// (docs/logs.md). 0 keeps the base's service.
    #[arg(long, default_value_t = 200, allow_hyphen_values = true, value_parser = super::whole_number::<usize>(0, 10000))]
    pub fit_service: usize,
    /// Also draw the log against the fitted simulator (arrivals by hour, patience) as an SVG.
    #[arg(long, value_name = "PATH")]
    pub svg: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

impl From<LogError> for CliError {
    /// Every log error is bad input: exit 2.
    fn from(e: LogError) -> Self {
        CliError::input(e)
    }
}

/// Runs `handoff fit-logs`: fits, writes the scenario (and the SVG) atomically, reports.
pub fn run(args: &FitLogsArgs) -> Result<String, CliError> {
    let name = args.name.clone().unwrap_or_else(|| default_name(&args.chats));
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from(format!("{name}-fitted.toml")));
    let mut outputs: Vec<(&str, &Path)> = vec![("--out", &out)];
    if let Some(svg) = &args.svg {
        outputs.push(("--svg", svg));
    }
    check_writable(&outputs)?;
    let settings = FitLogsSettings {
        base: args.base.clone(),
        name,
        seeds: args.seeds,
        arm: args.arm.clone(),
        policy: args.policy.clone(),
        service_budget: args.fit_service,
    };
    let bar = progress_bar(args.seeds, "simulating the fitted centre");
    let fit = fit_logs(&args.chats, &settings, &|| bar.inc(1))?;
    bar.finish_and_clear();
    let mut files = vec![(out.as_path(), fit.scenario_toml.clone())];
    if let Some(svg) = &args.svg {
        files.push((svg.as_path(), svg_text(&fit)?));
    }
    write_all_atomic(&files)?;
    let out_text = out.display().to_string();
    if args.json {
        #[derive(serde::Serialize)]
        struct Json<'a> {
            out: &'a str,
            #[serde(flatten)]
            fit: &'a LogFit,
        }
        return Ok(to_json(&Json { out: &out_text, fit: &fit }));
    }
    Ok(text(&fit, &out_text))
}

fn text(fit: &LogFit, out: &str) -> String {
    let e = &fit.estimates;
    let mut t = format!(
        "{}: {} chats over {} days (optional columns: {}).\n\nEstimated from the log \
         (95 % intervals):\n",
        fit.file,
        fit.rows,
        fit.days,
        if fit.columns.optional.is_empty() {
            "none".into()
        } else {
            fit.columns.optional.join(", ")
        }
    );
    let c = e.chats_per_day;
    t += &format!("  chats per day        {:.1} [{:.1}, {:.1}]\n", c.value, c.lo, c.hi);
    let (quiet, busy) = e
        .arrivals_per_hour
        .iter()
        .enumerate()
        .fold(((0, f64::INFINITY), (0, 0.0)), |(q, b), (h, &r)| {
            (if r < q.1 { (h, r) } else { q }, if r > b.1 { (h, r) } else { b })
        });
    t += &format!(
        "  arrivals by hour     {:.1} per hour at {:02}:00 (quietest) to {:.1} at {:02}:00 (busiest)\n",
        quiet.1, quiet.0, busy.1, busy.0
    );
    if let Some(s) = e.eligible_share {
        t += &format!("  AI-eligible share    {:.4} [{:.4}, {:.4}]\n", s.value, s.lo, s.hi);
    }
    if let Some(p) = &e.patience {
        t += &format!(
            "  patience (log-normal) median {:.1} s [{:.1}, {:.1}], sigma {:.3} [{:.3}, {:.3}]; \
             {} left before a first reply, {} answered first\n",
            p.median_s,
            p.median_ci[0],
            p.median_ci[1],
            p.sigma,
            p.sigma_ci[0],
            p.sigma_ci[1],
            p.abandonments,
            p.answered
        );
    }
    if let (Some(w), Some(finishing)) = (&e.workers_by_hour, e.finishing_share()) {
        let peak = w.iter().copied().fold(0.0, f64::max);
        t += &format!(
            "  workers answering    up to {peak:.1} in an hour (mean over days), {:.1} % of them \
             finishing chats after a shift (the fitted centre, seen the same way)\n",
            100.0 * finishing
        );
    }
    if let Some(cap) = e.chats_held_at_once {
        t += &format!("  chats held at once   up to {cap} per worker\n");
    }
    if let Some(s) = &fit.service {
        t += &format!(
            "\nService fit (simulated method of moments on {}; {} candidates, {}): distance \
             {:.1} -> {:.1}\n",
            s.moments.join(", "),
            s.evaluations,
            if s.converged { "converged" } else { "stopped by the budget" },
            s.distance_before,
            s.distance_after
        );
        for p in &s.parameters {
            t += &format!("  {:<32} {:.4} (base {:.4})\n", p.path, p.fitted, p.base);
        }
    }
    if fit.service.is_none() {
        t += "\nThe service is the base's (--fit-service 0): by default the reply time, rounds, \
              ratings and retrials are fitted to the log.\n";
    }
    t += &format!("\nKept from the base scenario ({}):\n", fit.base);
    for k in &fit.kept {
        t += &format!("  - {k}\n");
    }
    t += &format!(
        "\nThe log beside the fitted simulator ({}, {} seeds; 95 % intervals):\n\n\
         | quantity | unit | log | fitted simulator | intervals overlap |\n|---|---|---|---|---|\n",
        fit.policy, fit.seeds
    );
    let cell = |i: &handoff_eval::logs::Interval| {
        let d = if i.value.abs() < 1.0 { 4 } else { 1 };
        format!("{:.d$} [{:.d$}, {:.d$}]", i.value, i.lo, i.hi)
    };
    for k in &fit.kpis {
        let (sim, overlap) = match &k.simulated {
            Some(s) => (cell(s), if s.overlaps(&k.log) { "yes" } else { "no" }),
            None => ("-".to_string(), "-"),
        };
        t += &format!("| {} | {} | {} | {} | {} |\n", k.name, k.unit, cell(&k.log), sim, overlap);
    }
    t += &format!(
        "\nwrote {out}; compare policies on it with `handoff eval --scenario {out}`, train on it \
         with `handoff train --scenario {out}`\n"
    );
    t
}

/// Draws the log against the fitted simulator: arrivals by hour, and patience (the log's
/// Kaplan-Meier survival against the fitted log-normal).
fn svg_text(fit: &LogFit) -> Result<String, CliError> {
    use plotters::prelude::*;
    let fail = |e: &dyn std::fmt::Display| CliError::runtime(format!("plotting: {e}"));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1100, 400)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        let panels = root.split_evenly((1, 2));
        let log_rates = fit.estimates.arrivals_per_hour;
        let sim_rates = fit.simulated_arrivals_per_hour;
        let top = log_rates.iter().chain(&sim_rates).copied().fold(0.0, f64::max) * 1.1 + 1e-9;
        let mut chart = ChartBuilder::on(&panels[0])
            .caption("arrivals per hour", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..24.0, 0.0..top)
            .map_err(|e| fail(&e))?;
        chart.configure_mesh().x_desc("hour of the day").draw().map_err(|e| fail(&e))?;
        let steps = |rates: &[f64; 24]| -> Vec<(f64, f64)> {
            (0..24).flat_map(|h| [(h as f64, rates[h]), (h as f64 + 1.0, rates[h])]).collect()
        };
        for (rates, colour, name) in
            [(log_rates, BLACK, "log"), (sim_rates, RED, "fitted simulator")]
        {
            chart
                .draw_series(LineSeries::new(steps(&rates), colour.stroke_width(2)))
                .map_err(|e| fail(&e))?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour));
        }
        super::format::draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        let curve = &fit.patience_curve;
        let x_max = curve.iter().map(|p| p.0).fold(60.0, f64::max);
        let y_min = curve.iter().map(|p| p.1).fold(1.0, f64::min);
        let y_min = (y_min - 0.1 * (1.0 - y_min)).max(0.0);
        let mut chart = ChartBuilder::on(&panels[1])
            .caption("patience: share still waiting", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..x_max, y_min..1.0)
            .map_err(|e| fail(&e))?;
        chart.configure_mesh().x_desc("seconds of the first wait").draw().map_err(|e| fail(&e))?;
        chart
            .draw_series(LineSeries::new(curve.iter().copied(), BLACK.stroke_width(2)))
            .map_err(|e| fail(&e))?
            .label("log (Kaplan-Meier)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK));
        if let Some(p) = &fit.estimates.patience {
            let points = (0..=200).map(|i| {
                let t = x_max * f64::from(i) / 200.0;
                (t, p.survival(t.max(1e-9)))
            });
            chart
                .draw_series(LineSeries::new(points, RED.stroke_width(2)))
                .map_err(|e| fail(&e))?
                .label("fitted log-normal")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], RED));
        }
        super::format::draw_legend(&mut chart, SeriesLabelPosition::LowerLeft)?;
        root.present().map_err(|e| fail(&e))?;
    }
    Ok(svg)
}
