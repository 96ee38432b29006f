//! An evaluation as people and programs read it: the Markdown table and the JSON document that
//! `handoff eval` prints (the Python package returns the same), and the number formats they use.

use std::fmt::Write as _;

use serde::Serialize;

use crate::assertion::AssertionOutcome;
use crate::compare::EvalReport;

/// `x` with `decimals` decimals, `n/a` when it is not finite.
pub fn fixed(x: f64, decimals: usize) -> String {
    if x.is_finite() { format!("{x:.decimals$}") } else { "n/a".into() }
}

/// Decimals for a column of numbers, from its largest magnitude: 2 below 100, 1 below 1,000,
/// none from there on (returns of long episodes), so a column reads in one format.
pub fn decimals_for(values: &[f64]) -> usize {
    let largest = values.iter().filter(|x| x.is_finite()).fold(0.0f64, |m, x| m.max(x.abs()));
    if largest >= 1000.0 {
        0
    } else if largest >= 100.0 {
        1
    } else {
        2
    }
}

/// A share as a percentage with one decimal and no sign, `n/a` when it is not finite.
pub fn percent_number(share: f64) -> String {
    fixed(100.0 * share, 1)
}

/// One checked assertion, as `--json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct AssertionJson {
    /// The expression.
    pub expression: String,
    /// Whether it held.
    pub passed: bool,
    /// Value of the left side.
    pub lhs: f64,
    /// Value of the right side.
    pub rhs: f64,
}

/// What `handoff eval --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct EvalJson<'a> {
    /// The evaluation.
    #[serde(flatten)]
    pub report: &'a EvalReport,
    /// The assertions, checked.
    pub assertions: Vec<AssertionJson>,
}

impl<'a> EvalJson<'a> {
    /// The report and its checked assertions.
    pub fn new(report: &'a EvalReport, outcomes: &[AssertionOutcome]) -> Self {
        let assertions = outcomes
            .iter()
            .map(|o| AssertionJson {
                expression: o.text.clone(),
                passed: o.passed,
                lhs: o.lhs,
                rhs: o.rhs,
            })
            .collect();
        Self { report, assertions }
    }
}

/// The report as a Markdown table (plus the assertions' verdicts).
pub fn markdown(report: &EvalReport, outcomes: &[AssertionOutcome]) -> String {
    let seeds = &report.seeds;
    let mut out = format!(
        "handoff eval: scenario {}, {} seeds ({}..={}), baseline {}, {:.0} % bootstrap intervals\n\n",
        report.scenario,
        seeds.len(),
        seeds.first().copied().unwrap_or(0),
        seeds.last().copied().unwrap_or(0),
        report.baseline,
        100.0 * report.confidence
    );
    let _ = writeln!(
        out,
        "| policy | return (95 % CI) | minus {} (95 % CI) | win rate | duration min | wait min \
         | rating | abandoned % |",
        column_label(&report.baseline)
    );
    out.push_str("|---|---|---|---:|---:|---:|---:|---:|\n");
    // one number format per column: as many decimals as the column's largest magnitude allows
    let returns: Vec<f64> = report
        .policies
        .iter()
        .flat_map(|p| [p.return_mean, p.return_ci[0], p.return_ci[1]])
        .collect();
    let diffs: Vec<f64> = report
        .policies
        .iter()
        .flat_map(|p| [p.vs_baseline.diff, p.vs_baseline.ci[0], p.vs_baseline.ci[1]])
        .collect();
    let (rd, dd) = (decimals_for(&returns), decimals_for(&diffs));
    for p in &report.policies {
        let k = &p.kpis;
        let _ = writeln!(
            out,
            "| {} | {} [{}, {}] | {} [{}, {}] | {} | {:.2} | {:.2} | {} | {} |",
            p.name,
            fixed(p.return_mean, rd),
            fixed(p.return_ci[0], rd),
            fixed(p.return_ci[1], rd),
            fixed(p.vs_baseline.diff, dd),
            fixed(p.vs_baseline.ci[0], dd),
            fixed(p.vs_baseline.ci[1], dd),
            // the baseline against itself has no win rate to speak of
            if p.name == report.baseline {
                "-".to_string()
            } else {
                format!("{:.2}", p.vs_baseline.win_rate)
            },
            k.duration_min,
            k.wait_min,
            fixed(k.rating, 3),
            percent_number(k.abandonment),
        );
    }
    if !outcomes.is_empty() {
        out.push('\n');
        for o in outcomes {
            let _ = writeln!(out, "{o}");
        }
    }
    out
}

/// How a column header names a policy: a policy file by its file name (the line above the table
/// and the rows give the whole path), any other policy by its name.
pub fn column_label(policy: &str) -> &str {
    if handoff_agents::spec::names_a_file(policy) {
        std::path::Path::new(policy).file_name().and_then(|n| n.to_str()).unwrap_or(policy)
    } else {
        policy
    }
}
