//! # handoff-env
//!
//! A discrete-event simulator of customer-service dispatch shared by an agentic AI and human
//! workers, calibrated to the Taobao field experiment of Wang, Zhu, Feng, Lu and Jia,
//! "Agentic AI and Human-in-the-Loop Interventions" (arXiv:2605.14830), and a Gymnasium-style
//! environment on top of it.
//!
//! - [`Scenario`]: every parameter, from TOML, validated.
//! - [`Simulator`]: the event loop; [`run`] runs it with one policy.
//! - [`HandoffEnv`] and [`VectorEnv`]: `reset(seed)`, `step(action)`, spaces and action masks.
//! - [`Policy`]: what every dispatch policy implements.
//! - [`MODEL_VERSION`] and [`ModelStamp`]: which model a result was made on.
//! - [`log`]: a centre's chat log read row by row, and its arrivals as a replayable trace.
//!
//! ```
//! use handoff_env::{HandoffEnv, Observation, Policy, Scenario};
//!
//! /// Always the first valid action.
//! #[derive(Clone)]
//! struct First;
//! impl Policy for First {
//!     fn name(&self) -> &str { "first" }
//!     fn act(&mut self, obs: &Observation) -> usize { obs.valid_actions().next().unwrap() }
//! }
//!
//! let mut scenario = Scenario::builtin("small").unwrap();
//! scenario.arrivals.chats_per_day = 100.0;
//! let mut env = HandoffEnv::new(scenario, Box::new(First));
//! let mut features = vec![0.0f32; env.observation_len()];
//! let (obs, _info) = env.reset(7);
//! obs.encode(&mut features);
//! assert!(env.observation_space().contains(&features));
//! let mut episode_return = 0.0;
//! while !env.is_over() {
//!     let action = First.act(env.observation());
//!     let step = env.step(action).unwrap();
//!     episode_return += step.reward;
//! }
//! assert!(episode_return.is_finite());
//! ```

mod chat;
mod csv;
mod digest;
mod ending;
mod env;
mod error;
pub mod log;
mod lookahead;
mod observation;
mod outcome;
mod policy;
mod render;
pub mod rng;
mod runner;
pub mod scenario;
mod sim;
mod spaces;
mod stats;
#[cfg(test)]
mod testing;
mod vector;
pub mod version;

pub use chat::{Escalation, RETRIAL_ID_STEP};
pub use csv::{ChatCsv, HEADER as CHAT_CSV_HEADER, write_row as write_chat_csv_row};
pub use digest::digest;
pub use ending::Ending;
pub use env::{HandoffEnv, Info, Step};
pub use error::{ScenarioError, StepError};
pub use lookahead::Touched;
pub use observation::{
    Agent, CANDIDATE_FEATURES, Candidate, CandidateKind, GLOBAL_FEATURES, Observation,
    observation_len, observation_space,
};
pub use outcome::{ChatRecord, Timeline};
pub use policy::{DecisionSplit, Policy};
pub use render::RasterSize;
pub use runner::{run, run_observed};
pub use scenario::{DecisionKind, Scenario, Shifts};
pub use sim::{ShortHour, StaffingCoverage, event_queue};
pub use sim::{SimCounters, Simulator, Worker};
pub use spaces::BoxSpace;
pub use stats::{ArmStats, ArmSummary, EscalationMix, SegmentStats, SegmentSummary};
pub use vector::{VectorEnv, VectorStepError};
pub use version::{MODEL_VERSION, ModelStamp};
