//! The interface every dispatch policy implements, learned or hand-written.

use crate::observation::Observation;

/// A dispatch policy: given the observation of a decision, choose a valid action.
pub trait Policy: Send {
    /// The policy's name, as listed by `handoff policies`.
    fn name(&self) -> &str;

    /// Called at the start of every episode with a seed for the policy's own randomness.
    fn reset(&mut self, _seed: u64) {}

    /// Chooses an action: an index into `obs.candidates` whose `obs.mask` entry is true.
    fn act(&mut self, obs: &Observation) -> usize;
}
