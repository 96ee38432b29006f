//! The handoff environment behind Burn's own reinforcement-learning interface
//! ([`burn::rl::Environment`]), so that users of Burn's RL tools can drive it too.
//!
//! ```
//! use burn::rl::Environment;
//! use handoff_agents::burn_rl::BurnEnv;
//! use handoff_env::Scenario;
//!
//! let mut scenario = Scenario::builtin("small").unwrap();
//! scenario.arrivals.chats_per_day = 200.0;
//! let mut env = BurnEnv::new(scenario, 7).unwrap();
//! let mut steps = 0;
//! loop {
//!     let state = env.state();
//!     // the last valid action: a stand-in for a Burn agent's choice
//!     let action = state.mask.iter().rposition(|&valid| valid).unwrap();
//!     let result = env.step(action);
//!     steps += 1;
//!     if result.done || result.truncated {
//!         break;
//!     }
//! }
//! assert!(steps > 0);
//! ```
//!
//! Burn's `step` cannot return an error, so an invalid action (masked or out of range) leaves
//! the environment unchanged and returns the same state with reward 0; check
//! [`BurnState::mask`] first. Burn's `reset` takes no seed: episode `k` of an adapter built
//! with seed `s` uses the seed the vector environment would give its first environment.

use burn::rl::{Environment, StepResult};
use handoff_env::VectorEnv;
use handoff_env::{HandoffEnv, Scenario, ScenarioError};

use crate::make_env;

/// What the adapter shows: the encoded observation and the action mask.
#[derive(Debug, Clone, PartialEq)]
pub struct BurnState {
    /// The flat observation (see `handoff_env::observation_space`).
    pub observation: Vec<f32>,
    /// Which actions are valid.
    pub mask: Vec<bool>,
}

/// A [`HandoffEnv`] as a [`burn::rl::Environment`].
pub struct BurnEnv {
    env: HandoffEnv,
    seed: u64,
    episodes: u64,
}

impl BurnEnv {
    /// An adapter on `scenario` whose episodes are seeded from `seed`; it starts reset. An error
    /// when the scenario's fallback policy is not built in.
    pub fn new(scenario: Scenario, seed: u64) -> Result<Self, ScenarioError> {
        let mut adapter = Self { env: make_env(scenario)?, seed, episodes: 0 };
        adapter.reset();
        Ok(adapter)
    }

    /// The wrapped environment.
    pub fn inner(&self) -> &HandoffEnv {
        &self.env
    }
}

impl Environment for BurnEnv {
    type State = BurnState;
    type Action = usize;

    /// Episodes end by the environment's own rules (`env.max_steps` truncates).
    const MAX_STEPS: usize = usize::MAX;

    fn state(&self) -> BurnState {
        let mut observation = vec![0.0; self.env.observation_len()];
        self.env.observation().encode(&mut observation);
        BurnState { observation, mask: self.env.action_mask().to_vec() }
    }

    fn step(&mut self, action: usize) -> StepResult<BurnState> {
        match self.env.step(action) {
            Ok(step) => StepResult {
                next_state: self.state(),
                reward: step.reward,
                done: step.terminated,
                truncated: step.truncated,
            },
            Err(_) => StepResult {
                next_state: self.state(),
                reward: 0.0,
                done: self.env.is_over(),
                truncated: false,
            },
        }
    }

    fn reset(&mut self) {
        self.env.reset(VectorEnv::episode_seed(self.seed, 0, self.episodes));
        self.episodes += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small busy centre where the agent makes every kind of decision.
    fn quick() -> Scenario {
        let mut s = Scenario::builtin("small").unwrap();
        s.arrivals.chats_per_day = 150.0;
        s.workers.count = 2;
        s.env.control = handoff_env::DecisionKind::ALL.to_vec();
        s.env.hold_s = 30.0;
        s.retrial.returns = true;
        s
    }

    #[test]
    fn an_episode_through_burn_matches_the_environment() {
        let mut adapter = BurnEnv::new(quick(), 4).unwrap();
        let mut env = make_env(quick()).unwrap();
        env.reset(VectorEnv::episode_seed(4, 0, 0));
        let mut total = (0.0, 0.0);
        loop {
            let state = adapter.state();
            let action = state.mask.iter().rposition(|&m| m).unwrap();
            let result = adapter.step(action);
            let step = env.step(action).unwrap();
            total.0 += result.reward;
            total.1 += step.reward;
            assert_eq!(result.done, step.terminated);
            if result.done || result.truncated {
                break;
            }
        }
        assert_eq!(total.0, total.1);
    }

    #[test]
    fn an_invalid_action_changes_nothing() {
        let mut adapter = BurnEnv::new(quick(), 5).unwrap();
        let before = adapter.state();
        let invalid = before.mask.iter().position(|&m| !m).unwrap();
        let result = adapter.step(invalid);
        assert_eq!(result.reward, 0.0);
        assert!(!result.done);
        assert_eq!(result.next_state, before);
        assert_eq!(adapter.step(99).next_state, before);
    }
}
