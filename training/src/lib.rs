//! # handoff-training
//!
//! Learners for the handoff environment, behind one entry ([`train::train`]): the rollout
//! learner (the default: the best rule, corrected where simulation says so, [`rollout`]), and
//! PPO and double DQN with Burn, one readable file each (after CleanRL), driven by one training
//! loop ([`network`]) that logs to TensorBoard with CleanRL's tags, checkpoints, resumes bit for
//! bit and validates against the best heuristic. Every run ends with a comparison on held-out
//! seeds ([`run`]; evaluation itself lives in `handoff-eval`).

pub mod checkpoint;
pub mod config;
pub mod dqn;
pub mod error;
pub mod learner;
pub mod logger;
pub mod network;
pub mod ppo;
pub mod rollout;
pub mod run;
pub mod runs;
pub mod setup;
pub mod train;

pub use error::TrainError;
