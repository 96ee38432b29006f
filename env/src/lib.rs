//! # handoff-env
//!
//! A discrete-event simulator of customer-service dispatch shared by an agentic AI and human
//! workers, calibrated to the Taobao field experiment of Wang, Zhu, Feng, Lu and Jia,
//! "Agentic AI and Human-in-the-Loop Interventions" (arXiv:2605.14830), and a Gymnasium-style
//! environment on top of it.
//!
//! - [`Scenario`]: every parameter, from TOML, validated.
//! - [`Simulator`]: the event loop; [`runner::run`] runs it with one policy.
//! - [`HandoffEnv`] and [`VectorEnv`]: `reset(seed)`, `step(action)`, spaces and action masks.
//! - [`Policy`]: what every dispatch policy implements.

pub mod chat;
pub mod csv;
pub mod env;
pub mod error;
pub mod events;
pub mod observation;
pub mod outcome;
pub mod policy;
pub mod pool;
pub mod rng;
pub mod runner;
pub mod scenario;
pub mod sim;
pub mod spaces;
pub mod stats;
pub mod vector;

pub use chat::Escalation;
pub use env::{HandoffEnv, Info, Step};
pub use error::{ScenarioError, StepError};
pub use observation::{Candidate, CandidateKind, Observation};
pub use outcome::{ChatRecord, Ending};
pub use policy::Policy;
pub use scenario::{DecisionKind, Scenario};
pub use sim::Simulator;
pub use vector::VectorEnv;
