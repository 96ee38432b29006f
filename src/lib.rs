//! # handoff
//!
//! A reinforcement-learning environment and toolkit for customer-service dispatch when an agentic
//! AI and human workers share the work, calibrated to Alibaba's Taobao field experiment
//! (arXiv:2605.14830). This crate is the `handoff` command line and re-exports the workspace:
//!
//! - [`env`]: the simulator and the Gymnasium-style environment (`handoff-env`);
//! - [`agents`]: dispatch policies (`handoff-agents`);
//! - [`eval`]: evaluation with common random numbers, statistics and the calibration
//!   (`handoff-eval`);
//! - [`training`]: the learners, PPO and DQN (`handoff-training`);
//! - [`bench`]: the measurements `handoff bench` prints; [`cli`]: the commands.
//!
//! ```
//! use handoff::agents::{RandomPolicy, make_env};
//! use handoff::env::{Policy, Scenario};
//!
//! let mut env = make_env(Scenario::builtin("small").unwrap()).unwrap();
//! let mut policy = RandomPolicy::default();
//! env.reset(42);
//! for _ in 0..100 {
//!     let action = policy.act(env.observation());
//!     let step = env.step(action).unwrap();
//!     assert!(!step.terminated);
//! }
//! ```

pub use handoff_agents as agents;
pub use handoff_env as env;
pub use handoff_eval as eval;
pub use handoff_training as training;

pub mod bench;
pub mod cli;
