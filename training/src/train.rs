//! The one entry to every learner: [`train`] validates a configuration and dispatches to the
//! rollout learner ([`crate::rollout`]) or to the network learners' loop ([`crate::network`]).

pub use crate::run::{EvalSnapshot, Progress, TrainOptions, TrainOutcome};

use crate::config::{Algo, TrainConfig};
use crate::error::TrainError;

/// Trains with `config` into `options.run_dir`, calling `on_progress` after every iteration:
/// validates `config`, then [`train_validated`].
pub fn train(
    config: &TrainConfig,
    options: &TrainOptions,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<TrainOutcome, TrainError> {
    config.validate()?;
    train_validated(config, options, on_progress)
}

/// [`train`] for a configuration [`TrainConfig::validate`] accepted already (the command line
/// validates once, where it reads the file and the flags): the one dispatch to every learner.
pub fn train_validated(
    config: &TrainConfig,
    options: &TrainOptions,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<TrainOutcome, TrainError> {
    match config.algo {
        Algo::Rollout => crate::rollout::train(config, options, on_progress),
        Algo::Ppo | Algo::Dqn => crate::network::train(config, options, on_progress),
    }
}
