//! The renderings of an evaluation the command line adds to the library's Markdown and JSON
//! (`handoff_eval::report`): CSV, JUnit XML and SVG.

use std::fmt::Write as _;

use handoff_eval::{AssertionOutcome, EpisodeResult, EvalReport, KPIS, PolicySummary};

use crate::cli::CliError;
use crate::cli::format::escape_markup as xml;

/// Quotes a CSV field when it needs it.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.into() }
}

/// The CSV header of [`csv`]: the policy, the seed, the return and every KPI's column.
pub fn csv_header() -> String {
    let columns: Vec<&str> = KPIS.iter().map(|k| k.column).collect();
    format!("policy,seed,return,{}", columns.join(","))
}

fn csv_row(name: &str, e: &EpisodeResult) -> String {
    let f = |x: f64| if x.is_finite() { format!("{x}") } else { String::new() };
    let rest: Vec<String> = KPIS.iter().map(|k| f((k.get)(&e.kpis))).collect();
    format!("{},{},{},{}", csv_field(name), e.seed, f(e.episode_return), rest.join(","))
}

/// One row per policy and seed.
pub fn csv(report: &EvalReport) -> String {
    let mut out = csv_header();
    out.push('\n');
    for p in &report.policies {
        for e in &p.episodes {
            out.push_str(&csv_row(&p.name, e));
            out.push('\n');
        }
    }
    out
}

/// A JUnit XML report with one test case per assertion.
pub fn junit(report: &EvalReport, outcomes: &[AssertionOutcome]) -> String {
    let failures = outcomes.iter().filter(|o| !o.passed).count();
    let suite = format!("handoff eval {}", report.scenario);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"handoff eval\" tests=\"{}\" failures=\"{failures}\">",
        outcomes.len()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">",
        xml(&suite),
        outcomes.len()
    );
    out.push_str("    <properties>\n");
    for (name, value) in [
        ("scenario", report.scenario.clone()),
        ("seeds", report.seeds.len().to_string()),
        ("first_seed", report.seeds.first().copied().unwrap_or(0).to_string()),
        ("baseline", report.baseline.clone()),
    ] {
        let _ = writeln!(out, "      <property name=\"{name}\" value=\"{}\"/>", xml(&value));
    }
    out.push_str("    </properties>\n");
    let classname = format!("handoff.eval.{}", report.scenario);
    for o in outcomes {
        let head =
            format!("    <testcase classname=\"{}\" name=\"{}\"", xml(&classname), xml(&o.text));
        if o.passed {
            let _ = writeln!(out, "{head}/>");
        } else {
            let _ = writeln!(out, "{head}>");
            let _ = writeln!(
                out,
                "      <failure type=\"AssertionFailed\" message=\"{}\">{}</failure>",
                xml(&format!("left {} vs right {}", o.lhs, o.rhs)),
                xml(&o.to_string())
            );
            out.push_str("    </testcase>\n");
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// Draws mean returns with their intervals, and paired differences to the baseline with theirs.
pub fn svg(report: &EvalReport) -> Result<String, CliError> {
    use plotters::prelude::*;
    let fail = |e: &dyn std::fmt::Display| CliError::runtime(format!("plotting: {e}"));
    let n = report.policies.len();
    let mut svg = String::new();
    {
        let height = 120 + 34 * n as u32;
        let root = SVGBackend::with_string(&mut svg, (1100, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        let panels = root.split_evenly((1, 2));
        type Value = fn(&PolicySummary) -> (f64, [f64; 2]);
        // (title, value, whether the axis must show zero)
        let views: [(String, Value, bool); 2] = [
            ("episode return (mean, 95 % CI)".to_string(), |p| (p.return_mean, p.return_ci), false),
            (
                format!(
                    "return minus {} (paired, 95 % CI)",
                    handoff_eval::report::column_label(&report.baseline)
                ),
                |p| (p.vs_baseline.diff, p.vs_baseline.ci),
                true,
            ),
        ];
        for (panel, (title, value, with_zero)) in panels.iter().zip(views) {
            let points: Vec<(usize, f64, [f64; 2])> = report
                .policies
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let (m, ci) = value(p);
                    (i, m, ci)
                })
                .filter(|(_, m, ci)| m.is_finite() && ci.iter().all(|x| x.is_finite()))
                .collect();
            let mut lo = points.iter().map(|p| p.2[0]).fold(f64::INFINITY, f64::min);
            let mut hi = points.iter().map(|p| p.2[1]).fold(f64::NEG_INFINITY, f64::max);
            if with_zero || !lo.is_finite() {
                lo = lo.min(0.0);
                hi = hi.max(0.0);
            }
            let pad = 0.05 * (hi - lo).max(1e-9);
            let names: Vec<String> = report.policies.iter().map(|p| p.name.clone()).collect();
            let mut chart = ChartBuilder::on(panel)
                .caption(title, ("sans-serif", 16))
                .margin(12)
                .x_label_area_size(30)
                .y_label_area_size(if names.is_empty() { 10 } else { 130 })
                .build_cartesian_2d((lo - pad)..(hi + pad), -0.5f64..(n as f64 - 0.5))
                .map_err(|e| fail(&e))?;
            chart
                .configure_mesh()
                .y_labels(n.max(1))
                .y_label_formatter(&|y| {
                    let i = y.round();
                    if (y - i).abs() < 1e-6 && i >= 0.0 {
                        names.get(n - 1 - i as usize).cloned().unwrap_or_default()
                    } else {
                        String::new()
                    }
                })
                .disable_y_mesh()
                .x_labels(6)
                .x_label_formatter(&|x| format!("{x:.0}"))
                .light_line_style(WHITE)
                .draw()
                .map_err(|e| fail(&e))?;
            if with_zero {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(0.0, -0.5), (0.0, n as f64 - 0.5)],
                        BLACK.mix(0.3),
                    )))
                    .map_err(|e| fail(&e))?;
            }
            for &(i, m, ci) in &points {
                let y = (n - 1 - i) as f64;
                let colour = if report.policies[i].name == report.baseline { RED } else { BLUE };
                chart
                    .draw_series([
                        PathElement::new(vec![(ci[0], y), (ci[1], y)], colour.stroke_width(2)),
                        PathElement::new(vec![(ci[0], y - 0.15), (ci[0], y + 0.15)], colour),
                        PathElement::new(vec![(ci[1], y - 0.15), (ci[1], y + 0.15)], colour),
                    ])
                    .map_err(|e| fail(&e))?;
                chart
                    .draw_series(std::iter::once(Circle::new((m, y), 4, colour.filled())))
                    .map_err(|e| fail(&e))?;
            }
        }
        root.present().map_err(|e| fail(&e))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_csv_keeps_its_columns_in_their_order() {
        assert_eq!(
            super::csv_header(),
            "policy,seed,return,chats,return_per_chat,duration_min,wait_min,rating,rating_rate,\
             satisfaction,retrial,abandonment,resolved,ai_share,ai_alone,technical,emotional,\
             human,concurrency,returning,worker_messages"
        );
    }
}
