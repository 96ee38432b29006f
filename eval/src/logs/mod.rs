//! Bring your own centre: a chat log (handoff's own chats CSV, or any log with its columns)
//! read row by row, the values it identifies estimated directly, written as a scenario on a
//! calibrated base, and the log's key numbers set beside the fitted simulator's.
//!
//! What a log identifies, and how (Brown et al., "Statistical analysis of a telephone call
//! center", JASA 2005):
//! - the volume and the hourly profile of arrivals: counts per day and per hour of the day;
//! - customers' patience: a log-normal by censored maximum likelihood on first waits
//!   ([`patience`]);
//! - the share of AI-eligible chats, when the log marks them;
//! - the workers on duty in each hour, from the workers seen answering, when the log names them
//!   (less the minutes workers spend finishing chats after their shift, measured on the fitted
//!   simulator the same way).
//!
//! The service fit ([`service`]) then fits what only the mechanisms link to the log (the reply
//! time, the rounds an issue needs, ratings, retrials). Everything else (effort, attention, the
//! AI) is the base scenario's, calibrated to the Taobao study: a log of chats does not show it.

mod patience;
mod service;
mod summary;
mod write;

use std::path::Path;

use handoff_agents::spec::resolve;
use handoff_env::{Scenario, Simulator};
use rayon::prelude::*;
use serde::Serialize;

pub use handoff_env::log::{Columns, LogError, LogRow, OPTIONAL, REQUIRED, read_log};
pub use patience::{CensoredWaits, MIN_ABANDONMENTS, PatienceFit};
pub use service::{FittedParameter, ServiceFit};
pub use summary::{Interval, Kpi, LogSummary};

/// How to fit a log.
#[derive(Debug, Clone, PartialEq)]
pub struct FitLogsSettings {
    /// The built-in scenario the log's values are written onto.
    pub base: String,
    /// The fitted scenario's name.
    pub name: String,
    /// Seeds of the fitted simulator to set beside the log.
    pub seeds: u64,
    /// The arm to read from a log with an `arm` column (`simulate --csv` writes both).
    pub arm: Option<String>,
    /// The policy the fitted simulator runs (default: `study-treatment` when the log shows AI
    /// chats, else `study-control`).
    pub policy: Option<String>,
    /// Most candidates of the service fit (simulated method of moments on durations, messages,
    /// ratings and retrials); 0 leaves the service at the base's.
    pub service_budget: usize,
}

/// The values a log identifies, each with its interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimates {
    /// Chats per day (a Poisson count's interval).
    pub chats_per_day: Interval,
    /// Arrivals per hour of each hour of the day, averaged over days.
    pub arrivals_per_hour: [f64; 24],
    /// The share of AI-eligible chats, when the log marks them.
    pub eligible_share: Option<Interval>,
    /// Patience, when enough customers left before a first reply.
    pub patience: Option<PatienceFit>,
    /// Workers seen answering in each hour of the day (mean over days), when the log names
    /// them.
    pub workers_by_hour: Option<[f64; 24]>,
    /// Workers on duty in each hour of the day: those seen answering, less the share of their
    /// minutes the fitted simulator, seen the same way, spends finishing chats after its shifts.
    pub workers_on_duty: Option<[f64; 24]>,
    /// The most chats a worker holds at once (`workers.cap`), when the log names workers.
    pub chats_held_at_once: Option<u32>,
}

impl Estimates {
    /// The share by which the workers seen answering exceed those on duty (the minutes spent
    /// finishing chats after a shift), once the workers on duty are estimated.
    pub fn finishing_share(&self) -> Option<f64> {
        let (seen, on_duty) = (self.workers_by_hour?, self.workers_on_duty?);
        Some(seen.iter().sum::<f64>() / on_duty.iter().sum::<f64>() - 1.0)
    }
}

/// A log fitted: the scenario written, the estimates behind it and the comparison.
#[derive(Debug, Clone, Serialize)]
pub struct LogFit {
    /// The log's path.
    pub file: String,
    /// Chats in the log.
    pub rows: u64,
    /// Whole days the log spans.
    pub days: u32,
    /// The optional columns found.
    pub columns: Columns,
    /// The base scenario.
    pub base: String,
    /// What the log identified.
    pub estimates: Estimates,
    /// Values kept at the base's because the log cannot show them, each with the reason.
    pub kept: Vec<String>,
    /// The service fit, when it ran.
    pub service: Option<ServiceFit>,
    /// The policy the fitted simulator ran.
    pub policy: String,
    /// Its seeds.
    pub seeds: u64,
    /// The log's key numbers beside the fitted simulator's.
    pub kpis: Vec<Kpi>,
    /// Arrivals per hour of each hour of the day in the fitted simulator, mean over seeds.
    pub simulated_arrivals_per_hour: [f64; 24],
    /// The Kaplan-Meier survival of patience in the log (seconds, share still patient).
    pub patience_curve: Vec<(f64, f64)>,
    /// The fitted scenario's TOML, with a comment on the source of every value.
    pub scenario_toml: String,
    /// The fitted scenario.
    #[serde(skip)]
    pub scenario: Scenario,
}

/// The fitted scenario's name when none is given: the log's file stem.
pub fn default_name(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "log".into())
}

/// Reads the log at `path` (the rows of `arm`, when given) into its sums.
pub fn summarise_log(path: &Path, arm: Option<&str>) -> Result<(Columns, LogSummary), LogError> {
    let mut summary = LogSummary::default();
    let (columns, _) = read_log(path, arm, |row| summary.add(row))?;
    Ok((columns, summary))
}

/// One run of `scenario` under `policy` (a name that resolves on it) from `seed`, summed into
/// `run` as a log is: the fitted simulator's side of every comparison with the log.
fn simulate_into(scenario: &Scenario, policy: &str, seed: u64, run: &mut LogSummary) {
    let mut sim = Simulator::new(scenario.clone());
    let mut p = resolve(policy, scenario).expect("the policy was resolved on the scenario");
    handoff_env::run(&mut sim, seed, p.as_mut(), |chat| run.add(&chat.log_row()));
}

/// [`simulate_into`] a new summary.
fn simulated_summary(scenario: &Scenario, policy: &str, seed: u64) -> LogSummary {
    let mut run = LogSummary::default();
    simulate_into(scenario, policy, seed, &mut run);
    run
}

/// Days of the run that sees the simulated workers as a log shows them: a week, every day of
/// the roster's pattern.
const WORKERS_SEEN_DAYS: u32 = 7;

/// Rounds of (workers on duty, service fit) at most: the workers seen answering depend on how
/// long replies take, and the durations on how many workers there are.
const ROUNDS: usize = 4;

/// The rounds end when the workers on duty change by less than this share.
const WORKERS_SETTLED: f64 = 0.005;

/// The workers on duty in each hour: `current` (the workers `scenario` puts on duty), less the
/// share of minutes its simulated workers, seen as the log sees its own (`at_work`: answering a
/// chat, pauses under 15 minutes included), spend finishing chats after a shift, over the day.
/// Only a surplus is taken off: a centre whose simulated workers are seen less than the log's
/// has pauses over 15 minutes on duty, which depend on which free worker the dispatch picks,
/// and a correction upward would chase the simulator's dispatch instead of the log's workers.
/// One share for the day keeps the log's hourly shape (by hour, the minutes finished after a
/// shift and the pauses on duty fall in different hours, and taking off only the one would bias
/// the day down).
fn on_duty(
    scenario: &Scenario,
    policy: &str,
    at_work: &[f64; 24],
    current: &[f64; 24],
) -> [f64; 24] {
    let mut short = scenario.clone();
    short.days = short.days.min(WORKERS_SEEN_DAYS);
    let seen = simulated_summary(&short, policy, 1).workers_by_hour().unwrap_or(*at_work);
    let share = (at_work.iter().sum::<f64>() / seen.iter().sum::<f64>()).min(1.0);
    current.map(|w| w * share)
}

/// Fits the log at `path`: estimates what it identifies, writes the scenario on the base, and
/// runs the fitted simulator on `settings.seeds` seeds (in parallel; `on_seed` after each) to
/// set its key numbers beside the log's.
pub fn fit_logs(
    path: &Path,
    settings: &FitLogsSettings,
    on_seed: &(dyn Fn() + Sync),
) -> Result<LogFit, LogError> {
    let base = Scenario::builtin(&settings.base).ok_or_else(|| {
        LogError::Scenario(format!(
            "--base \"{}\" is not a built-in scenario (allowed: {})",
            settings.base,
            handoff_env::scenario::BUILTIN.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        ))
    })?;
    let (columns, summary) = summarise_log(path, settings.arm.as_deref())?;
    let log_kpis = summary.kpis();
    let file = path.display().to_string();
    let mut estimates = Estimates {
        chats_per_day: summary.chats_per_day(),
        arrivals_per_hour: summary.arrivals_per_hour(),
        eligible_share: columns.has("ai_eligible").then(|| summary.eligible_share()),
        patience: summary.patience.fit(),
        workers_by_hour: summary.workers_by_hour(),
        workers_on_duty: None,
        chats_held_at_once: summary.chats_held_at_once(),
    };
    // the scenario's text: the estimates, then the service fit's values when there are any
    let write = |estimates: &Estimates, service: Option<&ServiceFit>| {
        let mut written =
            write::scenario_toml(&file, &settings.name, &settings.base, &base, &summary, estimates);
        if let Some(fit) = service {
            for p in &fit.parameters {
                let note = format!(
                    "simulated method of moments on the log's {} ({} candidates, {}; base {:.4})",
                    fit.moments.join(", "),
                    fit.evaluations,
                    if fit.converged { "converged" } else { "stopped by the budget" },
                    p.base
                );
                write::insert_value(&mut written.text, p.path, p.fitted, &note);
            }
        }
        written
    };
    let mut written = write(&estimates, None);
    let parse = |text: &str| {
        Scenario::from_toml(&format!("{file} (fitted)"), text)
            .map_err(|e| LogError::Scenario(e.to_string()))
    };
    let mut scenario = parse(&written.text)?;
    let shows_ai = summary.ai_involved().0 > 0;
    let policy = settings
        .policy
        .clone()
        .unwrap_or_else(|| if shows_ai { "study-treatment" } else { "study-control" }.to_string());
    resolve(&policy, &scenario).map_err(|e| LogError::Scenario(format!("--policy: {e}")))?;
    // the workers on duty and the service, in turns until the workers settle; each file
    // written is the scenario (its rounded values are the ones simulated)
    let mut service_fit: Option<ServiceFit> = None;
    for round in 0..ROUNDS {
        let mut settled = true;
        if let Some(at_work) = &estimates.workers_by_hour {
            let current = estimates.workers_on_duty.unwrap_or(*at_work);
            let next = on_duty(&scenario, &policy, at_work, &current);
            settled = (next.iter().sum::<f64>() / current.iter().sum::<f64>() - 1.0).abs()
                < WORKERS_SETTLED;
            estimates.workers_on_duty = Some(next);
            written = write(&estimates, service_fit.as_ref());
            scenario = parse(&written.text)?;
        }
        // the service fitted on these workers, or nothing left to move
        if round > 0 && settled {
            break;
        }
        let spent = service_fit.as_ref().map_or(0, |f| f.evaluations);
        if settings.service_budget > spent {
            let fit = service::fit_service(
                &scenario,
                &base,
                &log_kpis,
                &columns,
                &policy,
                settings.service_budget - spent,
            )
            .map_err(LogError::Scenario)?;
            service_fit = Some(match service_fit {
                // the distance before any fit, and every candidate of every round
                Some(earlier) => ServiceFit {
                    distance_before: earlier.distance_before,
                    evaluations: earlier.evaluations + fit.evaluations,
                    ..fit
                },
                None => fit,
            });
            written = write(&estimates, service_fit.as_ref());
            scenario = parse(&written.text)?;
        } else if settled {
            break;
        }
    }
    written.kept.push(
        if service_fit.is_some() {
            "effort, attention, the AI and the customers' writing and frustration: the base's \
             (the service fit moved the reply time, and the rounds, ratings and retrials where \
             the log has their columns)"
        } else {
            "the service (reply times, rounds an issue needs, effort, attention, the AI) and the \
             customers' writing, frustration, rating and retrial: the base's; a log of chats shows \
             their joint effect (durations, ratings), not each"
        }
        .to_string(),
    );
    let per_seed: Vec<(Vec<Kpi>, [f64; 24])> = (1..=settings.seeds)
        .into_par_iter()
        .map(|seed| {
            let run = simulated_summary(&scenario, &policy, seed);
            on_seed();
            (run.kpis(), run.arrivals_per_hour())
        })
        .collect();
    let mut simulated_arrivals_per_hour = [0.0; 24];
    for (_, rates) in &per_seed {
        for (sum, rate) in simulated_arrivals_per_hour.iter_mut().zip(rates) {
            *sum += rate / per_seed.len() as f64;
        }
    }
    let mut kpis = log_kpis;
    for kpi in &mut kpis {
        let values: Vec<f64> = per_seed
            .iter()
            .filter_map(|(seed, _)| seed.iter().find(|k| k.name == kpi.name))
            .map(|k| k.log.value)
            .collect();
        if values.len() == per_seed.len() && !values.is_empty() {
            kpi.simulated = Some(Interval::over_seeds(&values));
        }
    }
    Ok(LogFit {
        file,
        rows: summary.rows,
        days: summary.days(),
        columns,
        base: settings.base.clone(),
        estimates,
        kept: written.kept,
        service: service_fit,
        policy,
        seeds: settings.seeds,
        kpis,
        simulated_arrivals_per_hour,
        patience_curve: summary.patience.kaplan_meier(),
        scenario_toml: written.text,
        scenario,
    })
}
