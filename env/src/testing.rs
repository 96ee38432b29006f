//! What the crate's unit tests share.

use crate::observation::Observation;
use crate::policy::Policy;

/// Always the first valid action.
#[derive(Clone)]
pub(crate) struct First;

impl Policy for First {
    fn name(&self) -> &str {
        "first"
    }
    fn act(&mut self, obs: &Observation) -> usize {
        obs.valid_actions().next().expect("a decision has a valid action")
    }
}
