//! Errors of training: every one says what was wrong and where, and whether the user's input
//! caused it ([`TrainError::is_input`]: the command line exits 2 for those, 1 for the others).

use std::path::{Path, PathBuf};

use handoff_env::ScenarioError;
use thiserror::Error;

/// Why a training run, a checkpoint or a trained policy could not be used.
#[derive(Debug, Error)]
pub enum TrainError {
    /// A value of the training configuration is unknown or out of range.
    #[error("{0}")]
    Config(String),
    /// The scenario cannot be used.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// A run directory or checkpoint is missing, damaged, or belongs to another run.
    #[error("{0}")]
    Checkpoint(String),
    /// A file of the run could not be written.
    #[error("{}: {message}", path.display())]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The learner chose an action the environment refused (a bug, not bad input).
    #[error("learner chose an invalid action: {0}")]
    InvalidAction(String),
}

impl TrainError {
    /// A failure to write `path`.
    pub fn write(path: &Path, message: impl std::fmt::Display) -> Self {
        TrainError::Write { path: path.to_path_buf(), message: message.to_string() }
    }

    /// A damaged or unreadable file of a checkpoint at `path`.
    pub fn unreadable(path: &Path, message: impl std::fmt::Display) -> Self {
        TrainError::Checkpoint(format!("{}: {message}", path.display()))
    }

    /// Whether the user's input caused the error (configuration, scenario, run directory or
    /// checkpoint), rather than the machine or a bug.
    pub fn is_input(&self) -> bool {
        !matches!(self, TrainError::Write { .. } | TrainError::InvalidAction(_))
    }
}
