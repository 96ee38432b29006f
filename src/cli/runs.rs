//! `handoff runs`: the training runs in a folder, at a glance, and the training curve each PPO
//! or DQN run draws beside its TensorBoard files (`curve.svg`).

use std::path::{Path, PathBuf};

use handoff_training::logger::read_scalars;
use handoff_training::runs::{RUNS_ROOT, RunSummary, list_runs};

use super::format::{fixed, table_with_text};
use super::{CliError, to_json};

/// The options of `handoff runs`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunsArgs {
    /// The folder holding the run directories.
    #[arg(long, value_name = "DIR", default_value = RUNS_ROOT)]
    pub root: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `handoff runs`.
pub fn run(args: &RunsArgs) -> Result<String, CliError> {
    // the default folder is missing until the first run; a folder named by hand must exist
    if args.root != Path::new(RUNS_ROOT) && !args.root.is_dir() {
        return Err(CliError::input(format!("--root {}: no such directory", args.root.display())));
    }
    let runs = list_runs(&args.root);
    if args.json {
        return Ok(to_json(&runs));
    }
    if runs.is_empty() {
        return Ok(format!("no runs in {} (start one with: handoff train)\n", args.root.display()));
    }
    let mut rows = vec![
        ["run", "algo", "scenario", "progress", "best validation", "state"]
            .map(String::from)
            .to_vec(),
    ];
    for r in &runs {
        rows.push(vec![
            r.dir.display().to_string(),
            r.algo.clone(),
            r.scenario.clone(),
            format!("{} / {} {}", r.checkpoint_step, r.steps, r.unit),
            r.best_return.map_or_else(|| "-".to_string(), |x| fixed(x, 1)),
            state(r),
        ]);
    }
    Ok(table_with_text(&rows, &[1, 2, 5]))
}

fn state(r: &RunSummary) -> String {
    match (&r.problem, r.complete) {
        (Some(problem), _) => problem.clone(),
        (None, true) => "complete".to_string(),
        (None, false) => format!("stopped: handoff train --run-dir {} --resume", r.dir.display()),
    }
}

/// The training curve of the run in `dir`, from its `scalars.csv`: the return of training
/// episodes (mean of each logged step's episodes) and the validation return beside the best
/// heuristic's, against environment steps.
pub fn curve_svg(dir: &Path) -> Result<String, CliError> {
    use plotters::prelude::*;
    let series: [(&str, &str, RGBColor); 3] = [
        ("charts/episodic_return", "training episodes", BLUE),
        ("eval/return", "validation", RED),
        ("eval/best_heuristic_return", "best heuristic (validation)", BLACK),
    ];
    let data: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|(tag, _, _)| read_scalars(dir, tag).into_iter().map(|(s, v)| (s as f64, v)).collect())
        .collect();
    let points = || data.iter().flatten();
    let x_max = points().map(|p| p.0).fold(1.0, f64::max);
    let (lo, hi) =
        points().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
    let (lo, hi) = if lo.is_finite() { (lo, hi.max(lo + 1e-9)) } else { (0.0, 1.0) };
    let pad = 0.05 * (hi - lo);
    let fail = |e: &dyn std::fmt::Display| CliError::runtime(format!("plotting: {e}"));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 500)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("training curve: {}", dir.display()), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..x_max, (lo - pad)..(hi + pad))
            .map_err(|e| fail(&e))?;
        chart
            .configure_mesh()
            .x_desc("environment steps")
            .y_desc("episode return")
            .draw()
            .map_err(|e| fail(&e))?;
        for ((_, label, colour), points) in series.iter().zip(&data) {
            if points.is_empty() {
                continue;
            }
            let colour = *colour;
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
                .map_err(|e| fail(&e))?
                .label(*label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour));
        }
        super::format::draw_legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        root.present().map_err(|e| fail(&e))?;
    }
    Ok(svg)
}
