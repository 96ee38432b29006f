//! # handoff
//!
//! A reinforcement-learning environment and toolkit for customer-service dispatch when an agentic
//! AI and human workers share the work, calibrated to Alibaba's Taobao field experiment
//! (arXiv:2605.14830). This crate is the `handoff` command line and re-exports the workspace:
//!
//! - [`env`]: the simulator and the Gymnasium-style environment (`handoff-env`);
//! - [`agents`]: dispatch policies (`handoff-agents`).

pub use handoff_agents as agents;
pub use handoff_env as env;

pub mod cli;
