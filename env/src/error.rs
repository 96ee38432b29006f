//! Errors of the simulator and the environment: every one says what was wrong and where.

use thiserror::Error;

/// A scenario that cannot be used.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ScenarioError {
    /// The file is not valid TOML, has an unknown field or a value of the wrong type.
    #[error("{source_name}: {message}")]
    Parse {
        /// The file (or built-in scenario) being read.
        source_name: String,
        /// The parser's message, which names the field and line.
        message: String,
    },
    /// A value is out of its allowed range.
    #[error("{source_name}: {field}: {message}")]
    Invalid {
        /// The file (or built-in scenario) being read.
        source_name: String,
        /// The dotted path of the offending field.
        field: String,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// The file could not be read.
    #[error("{source_name}: cannot read: {message}")]
    Io {
        /// The path given.
        source_name: String,
        /// The operating system's message.
        message: String,
    },
    /// Neither a built-in scenario nor an existing file.
    #[error("unknown scenario \"{name}\" (built-in: {builtins}; or give a path to a .toml file)")]
    Unknown {
        /// The name given.
        name: String,
        /// The built-in scenario names.
        builtins: String,
    },
}

/// An action or call the environment refuses; the environment is left unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StepError {
    /// The action index is not below the size of the action space.
    #[error("action {action} is out of range (the action space has {n} actions)")]
    OutOfRange {
        /// The action given.
        action: usize,
        /// The number of actions.
        n: usize,
    },
    /// The action is masked out at this decision.
    #[error("action {action} is masked out at this decision (valid: {valid:?})")]
    Masked {
        /// The action given.
        action: usize,
        /// The valid actions.
        valid: Vec<usize>,
    },
    /// `step` was called after the episode terminated or was truncated, before `reset`.
    #[error("the episode has ended: call reset before step")]
    EpisodeOver,
    /// `step` was called before the first `reset`.
    #[error("the environment has not been reset: call reset before step")]
    NotReset,
}
