//! `handoff simulate`: both arms of the study on the same random numbers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use handoff_agents::{STUDY_ARMS, run_builtin};
use handoff_env::{
    ArmStats, ArmSummary, ChatCsv, ModelStamp, Scenario, SegmentSummary, Shifts, StaffingCoverage,
};
use serde::Serialize;

use super::format::{percent, table};
use super::{CliError, to_json};

/// The options of `handoff simulate`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// The scenario, its days and its scale.
    #[command(flatten)]
    pub centre: super::CentreArgs,
    /// Seed of all random streams; the same seed gives byte-identical output.
    #[arg(long, default_value_t = 1, allow_hyphen_values = true, value_parser = super::parse_seed)]
    pub seed: u64,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Write one row per chat and arm to this CSV file.
    #[arg(long, value_name = "PATH", alias = "chats-csv")]
    pub csv: Option<PathBuf>,
}

/// Runs `handoff simulate`.
pub fn run(args: &SimulateArgs) -> Result<String, CliError> {
    let scenario = args.centre.load()?;
    let report = simulate(&scenario, args.seed, args.csv.as_deref())?;
    Ok(if args.json { to_json(&report) } else { render_text(&report) })
}

/// What `handoff simulate --json` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimulateReport {
    /// The scenario's name.
    pub scenario: String,
    /// The model simulated.
    pub model: ModelStamp,
    /// The seed.
    pub seed: u64,
    /// Simulated days.
    pub days: u32,
    /// The worker-hours on duty against those the staffing profile asks (the same in both arms).
    pub staffing: StaffingCoverage,
    /// Per arm, the summaries of all, eligible and ineligible chats.
    pub arms: BTreeMap<String, ArmSummary>,
}

/// Runs one arm of the study (a built-in policy), handing every chat to `on_chat`.
fn run_arm(
    scenario: &Scenario,
    seed: u64,
    policy: &str,
    on_chat: impl FnMut(&handoff_env::ChatRecord),
) {
    run_builtin(scenario, seed, policy, on_chat).expect("the study's policies are built in");
}

/// Runs both arms (in parallel unless a CSV is written) and summarises them.
pub fn simulate(
    scenario: &Scenario,
    seed: u64,
    csv: Option<&Path>,
) -> Result<SimulateReport, CliError> {
    let mut stats: Vec<ArmStats> = vec![ArmStats::default(), ArmStats::default()];
    if let Some(path) = csv {
        let fail = |e: std::io::Error| CliError::runtime(format!("--csv {}: {e}", path.display()));
        let mut out = ChatCsv::create(path).map_err(fail)?;
        let mut error = None;
        for ((arm, policy), st) in STUDY_ARMS.iter().zip(stats.iter_mut()) {
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
            for ((_, policy), st) in STUDY_ARMS.iter().zip(stats.iter_mut()) {
                s.spawn(move || {
                    run_arm(scenario, seed, policy, |r| st.add(r));
                });
            }
        });
    }
    let arms = STUDY_ARMS
        .iter()
        .zip(&stats)
        .map(|((arm, _), st)| (arm.to_string(), st.summary()))
        .collect();
    Ok(SimulateReport {
        scenario: scenario.name.clone(),
        model: ModelStamp::of(scenario),
        seed,
        days: scenario.days,
        staffing: scenario.staffing_coverage(),
        arms,
    })
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
                percent(s.rating_rate),
                format!("{:.3}", s.satisfaction_mean),
                percent(s.retrial_rate),
                percent(s.abandonment_rate),
                percent(s.resolution_rate),
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

/// The staffing delivered, in one line, and the shortfall when there is one.
fn staffing_line(staffing: &StaffingCoverage) -> String {
    let rules = match staffing.shifts {
        Shifts::Roster => "shift roster",
        Shifts::None => "no shifts",
    };
    let mut line = format!(
        "\nstaffing ({rules}): {} of {} worker-hours asked on duty ({})\n",
        staffing.staffed_worker_hours,
        staffing.asked_worker_hours,
        percent(staffing.delivered())
    );
    if let Some(shortfall) = staffing.shortfall() {
        line.push_str(&format!("warning: {shortfall}\n"));
    }
    line
}

/// Renders the report as text tables.
pub fn render_text(report: &SimulateReport) -> String {
    let mut out = format!(
        "scenario {}, seed {}, {} day(s): both arms on the same customers\n\n",
        report.scenario, report.seed, report.days
    );
    out.push_str(&table(&segment_rows(report)));
    out.push_str(&staffing_line(&report.staffing));
    if let (Some(c), Some(t)) = (report.arms.get("control"), report.arms.get("treatment")) {
        if let Some(mix) = &t.eligible.escalation_mix {
            out.push_str(&format!(
                "\nescalation mix (treatment, eligible): technical {}, emotional {}, human {}, none {}\n",
                percent(mix.technical),
                percent(mix.emotional),
                percent(mix.human),
                percent(mix.none)
            ));
        }
        out.push_str("\neffects, treatment minus control:\n");
        out.push_str(&table(&effect_rows(c, t)));
    }
    out
}
