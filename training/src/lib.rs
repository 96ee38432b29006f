//! # handoff-training
//!
//! Learners for the handoff environment: PPO and double DQN with Burn, one readable file each
//! (after CleanRL), driven by one training loop ([`train`]) that logs to TensorBoard with
//! CleanRL's tags, checkpoints, resumes bit for bit, validates against the best heuristic and ends
//! with a comparison on held-out seeds (evaluation itself lives in `handoff-eval`).

pub mod checkpoint;
pub mod config;
pub mod dqn;
pub mod error;
pub mod learner;
pub mod logger;
pub mod ppo;
pub mod rollout;
pub mod runs;
pub mod setup;
pub mod train;

pub use error::TrainError;
