//! The interface every dispatch policy implements, learned or hand-written.

use dyn_clone::DynClone;

use crate::observation::Observation;

/// A dispatch policy: given the observation of a decision, choose a valid action.
///
/// Policies are `Clone` (`Box<dyn Policy>` too, through `dyn-clone`), so that an environment
/// and the policies acting in it can be copied and a copy continues exactly as the original
/// would ([`crate::HandoffEnv::rollout_return`]).
pub trait Policy: DynClone + Send {
    /// The policy's name, as listed by `handoff policies`.
    fn name(&self) -> &str;

    /// Called at the start of every episode with a seed for the policy's own randomness.
    fn reset(&mut self, _seed: u64) {}

    /// Chooses an action: an index into `obs.candidates` whose `obs.mask` entry is true.
    fn act(&mut self, obs: &Observation) -> usize;
}

dyn_clone::clone_trait_object!(Policy);
