//! `handoff simulate`: both arms of the study on the same random numbers.

use std::collections::BTreeMap;
use std::path::Path;

use handoff_agents::by_name;
use handoff_env::csv::ChatCsv;
use handoff_env::runner;
use handoff_env::sim::{SimCounters, Simulator};
use handoff_env::stats::{ArmStats, ArmSummary, SegmentSummary};
use handoff_env::{ChatRecord, Scenario};
use serde::Serialize;

use super::CliError;
use super::table::render;

/// The study's two arms: (arm name, policy name).
pub const ARMS: [(&str, &str); 2] =
    [("control", "study-control"), ("treatment", "study-treatment")];

/// What `handoff simulate --json` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimulateReport {
    /// The scenario's name.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// Simulated days.
    pub days: u32,
    /// Per arm, the summaries of all, eligible and ineligible chats.
    pub arms: BTreeMap<String, ArmSummary>,
}

/// Runs one arm, handing every chat to `on_chat`; returns the run's counters.
pub fn run_arm(
    scenario: &Scenario,
    seed: u64,
    policy: &str,
    on_chat: impl FnMut(&ChatRecord),
) -> SimCounters {
    let mut sim = Simulator::new(scenario.clone());
    let mut policy = by_name(policy, scenario).expect("the study's policies are built in");
    runner::run(&mut sim, seed, policy.as_mut(), on_chat)
}

/// Runs both arms (in parallel unless a CSV is written) and summarises them.
pub fn simulate(
    scenario: &Scenario,
    seed: u64,
    csv: Option<&Path>,
) -> Result<SimulateReport, CliError> {
    let mut stats: Vec<ArmStats> = vec![ArmStats::default(), ArmStats::default()];
    if let Some(path) = csv {
        let fail = |e: std::io::Error| CliError::runtime(format!("{}: {e}", path.display()));
        let mut out = ChatCsv::create(path).map_err(fail)?;
        let mut error = None;
        for ((arm, policy), st) in ARMS.iter().zip(stats.iter_mut()) {
            run_arm(scenario, seed, policy, |r| {
                st.add(r);
                if error.is_none() {
                    error = out.write(arm, r).err();
                }
            });
        }
        if let Some(e) = error {
            return Err(fail(e));
        }
        out.finish().map_err(fail)?;
    } else {
        std::thread::scope(|s| {
            for ((_, policy), st) in ARMS.iter().zip(stats.iter_mut()) {
                s.spawn(move || {
                    run_arm(scenario, seed, policy, |r| st.add(r));
                });
            }
        });
    }
    let arms =
        ARMS.iter().zip(&stats).map(|((arm, _), st)| (arm.to_string(), st.summary())).collect();
    Ok(SimulateReport { scenario: scenario.name.clone(), seed, days: scenario.days, arms })
}

fn pct(x: f64) -> String {
    format!("{:.1} %", 100.0 * x)
}

fn segment_rows(report: &SimulateReport) -> Vec<Vec<String>> {
    let mut rows = vec![
        [
            "arm",
            "segment",
            "chats",
            "mean min",
            "median min",
            "rating",
            "rated",
            "satisfaction",
            "retrial",
            "abandoned",
            "resolved",
            "switch-aways",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for (arm, summary) in &report.arms {
        for (segment, s) in [
            ("all", &summary.all),
            ("eligible", &summary.eligible),
            ("ineligible", &summary.ineligible),
        ] {
            rows.push(vec![
                arm.clone(),
                segment.into(),
                s.chats.to_string(),
                format!("{:.2}", s.duration_mean_s / 60.0),
                format!("{:.2}", s.duration_median_s / 60.0),
                format!("{:.3}", s.rating_mean),
                pct(s.rating_rate),
                format!("{:.3}", s.satisfaction_mean),
                pct(s.retrial_rate),
                pct(s.abandonment_rate),
                pct(s.resolution_rate),
                format!("{:.2}", s.switch_aways_mean),
            ]);
        }
    }
    rows
}

/// Treatment-minus-control effects the way the study reads them.
fn effect_rows(control: &ArmSummary, treatment: &ArmSummary) -> Vec<Vec<String>> {
    let mut rows =
        vec![["segment", "duration (geo. mean)", "rating", "retrial"].map(String::from).to_vec()];
    let segments: [(&str, &SegmentSummary, &SegmentSummary); 3] = [
        ("all", &control.all, &treatment.all),
        ("eligible", &control.eligible, &treatment.eligible),
        ("ineligible", &control.ineligible, &treatment.ineligible),
    ];
    for (name, c, t) in segments {
        let duration = 100.0 * (t.duration_geomean_s / c.duration_geomean_s - 1.0);
        rows.push(vec![
            name.into(),
            format!("{duration:+.1} %"),
            format!("{:+.3}", t.rating_mean - c.rating_mean),
            format!("{:+.1} pts", 100.0 * (t.retrial_rate - c.retrial_rate)),
        ]);
    }
    rows
}

/// Renders the report as text tables.
pub fn render_text(report: &SimulateReport) -> String {
    let mut out = format!(
        "scenario {}, seed {}, {} day(s): both arms on the same customers\n\n",
        report.scenario, report.seed, report.days
    );
    out.push_str(&render(&segment_rows(report)));
    if let (Some(c), Some(t)) = (report.arms.get("control"), report.arms.get("treatment")) {
        if let Some(mix) = &t.eligible.escalation_mix {
            out.push_str(&format!(
                "\nescalation mix (treatment, eligible): technical {}, emotional {}, human {}, none {}\n",
                pct(mix.technical),
                pct(mix.emotional),
                pct(mix.human),
                pct(mix.none)
            ));
        }
        out.push_str("\neffects, treatment minus control:\n");
        out.push_str(&render(&effect_rows(c, t)));
    }
    out
}
