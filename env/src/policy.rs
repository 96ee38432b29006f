//! The interface every dispatch policy implements, learned or hand-written.

use dyn_clone::DynClone;

use crate::observation::Observation;
use crate::scenario::{DecisionKind, Scenario};

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

/// A policy that makes the decisions of the kinds the scenario lets the agent control
/// (`env.control`) and leaves the others to the scenario's fallback policy, as the environment
/// does.
#[derive(Clone)]
pub struct DecisionSplit {
    agent: Box<dyn Policy>,
    fallback: Box<dyn Policy>,
    /// Whether the agent makes each kind of decision, indexed by `DecisionKind as usize`.
    controlled: [bool; 3],
}

impl DecisionSplit {
    /// `agent` for the kinds `scenario` controls, `fallback` for the rest.
    pub fn new(scenario: &Scenario, agent: Box<dyn Policy>, fallback: Box<dyn Policy>) -> Self {
        Self { agent, fallback, controlled: DecisionKind::ALL.map(|k| scenario.controls(k)) }
    }
}

impl Policy for DecisionSplit {
    fn name(&self) -> &str {
        self.agent.name()
    }

    fn reset(&mut self, seed: u64) {
        self.agent.reset(seed);
        self.fallback.reset(crate::rng::fallback_seed(seed));
    }

    fn act(&mut self, obs: &Observation) -> usize {
        if self.controlled[obs.kind as usize] {
            self.agent.act(obs)
        } else {
            self.fallback.act(obs)
        }
    }
}
