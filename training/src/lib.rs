//! # handoff-training
//!
//! Evaluation of dispatch policies for the handoff environment: every policy runs on the same
//! seeds (common random numbers: the same customers, issues and AI behaviour for every policy),
//! with bootstrap confidence intervals, interquartile means and paired comparisons against a
//! baseline, and assertions a CI suite can gate on.
//!
//! ```
//! use handoff_agents::by_name;
//! use handoff_env::Scenario;
//! use handoff_training::eval::{EvalConfig, evaluate};
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

pub mod burn_rl;
pub mod checkpoint;
pub mod config;
pub mod dqn;
pub mod eval;
pub mod learner;
pub mod logger;
pub mod ppo;
pub mod setup;
pub mod train;
