//! # handoff-eval
//!
//! Evaluation for the handoff environment, in four parts:
//!
//! - [`compare`]: dispatch policies compared on common random numbers (every policy meets the
//!   same customers, issues and AI behaviour), with bootstrap confidence intervals, interquartile
//!   means, paired comparisons against a baseline, and [`assertion`]s a CI suite can gate on;
//!   one episode at a time in [`episode`], the statistics in [`stats`].
//! - [`calibration`]: the simulator against the field experiment (arXiv:2605.14830), every
//!   effect estimated the way the study estimates it, with confidence intervals over seeds.
//! - [`fit`]: the free parameters fitted to the study's effects by simulated method of moments.
//! - [`report`]: an evaluation as the Markdown table and the JSON document `handoff eval` prints.
//! - [`tune`]: a heuristic's parameters tuned for mean return on validation seeds (CMA-ES).
//! - [`logs`]: a centre's own chat log read row by row and fitted into a scenario.
//! - [`day`]: one episode kept whole (every chat's timeline, the centre over time) for a
//!   replay page.
//! - [`explain`]: where two policies' decisions differ, in which situations, and what the
//!   difference earned, part by part of the reward.
//! - [`lookahead`]: where a policy leaves room, per decision kind: one-step lookahead on exact
//!   copies (an optimistic ceiling) and on forks (a fair, non-anticipative result).
//!
//! Long work reports progress through callbacks, so that a command line can draw a bar and a
//! library user can log or ignore it.
//!
//! ```
//! use handoff_agents::by_name;
//! use handoff_env::Scenario;
//! use handoff_eval::{EvalConfig, evaluate};
//!
//! let mut scenario = Scenario::builtin("small").unwrap();
//! scenario.arrivals.chats_per_day = 300.0;
//! let policies = ["study-treatment".to_string(), "c-mu".to_string()];
//! let factory = |name: &str, s: &Scenario| by_name(name, s).ok_or(format!("no {name}"));
//! let config = EvalConfig { seeds: 4, ..EvalConfig::default() };
//! let report = evaluate(&scenario, &policies, "study-treatment", &config, &factory, &|| {})
//!     .unwrap();
//! assert_eq!(report.policies.len(), 2);
//! let c_mu = &report.policies[1];
//! assert!(c_mu.return_ci[0] <= c_mu.return_mean && c_mu.return_mean <= c_mu.return_ci[1]);
//! ```

pub mod assertion;
pub mod calibration;
pub mod compare;
pub mod day;
pub mod episode;
pub mod explain;
pub mod logs;
pub mod lookahead;
pub mod report;
pub mod search;
pub mod stats;
pub mod tune;

pub use assertion::{Assertion, AssertionError, AssertionOutcome, Metric};
pub use calibration::fit;
pub use calibration::fit::{FitResult, fit};
pub use calibration::{CalibrationReport, calibrate};
pub use compare::{
    Comparison, DEFAULT_BASELINE, EvalConfig, EvalReport, PolicyFactory, PolicySummary,
    check_range, evaluate, mean_kpis, policy_list,
};
pub use episode::{
    EpisodeResult, EscalationMix, KPIS, Kpi, Kpis, THREADS, check_threads, run_episode,
    run_episodes,
};
pub use handoff_env::DecisionSplit;
pub use logs::{FitLogsSettings, LogError, LogFit, fit_logs};
pub use report::{EvalJson, markdown};
pub use tune::{TUNE_FIRST_SEED, TuneSettings, Tuned, tune};
