//! The Gymnasium-style environment: `reset(seed)` and `step(action)`.
//!
//! The environment runs the simulator until the next decision of a kind the agent controls
//! (`env.control` in the scenario); decisions of other kinds are made by the fallback policy.
//! Decisions with a single valid action are carried out without asking. Each step's reward is
//! the sum of the rewards of the chats that completed since the previous step.

use serde::Serialize;

use crate::error::StepError;
use crate::observation::{Agent, Observation, observation_len, observation_space};
use crate::outcome::ChatRecord;
use crate::policy::Policy;
use crate::rng;
use crate::scenario::{DecisionKind, Scenario};
use crate::sim::Simulator;
use crate::spaces::{BoxSpace, Discrete};

/// Extra information returned by `reset` and `step`, like Gymnasium's `info` dict.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Info {
    /// Simulated time, seconds.
    pub time_s: f64,
    /// Chats completed in this episode so far.
    pub chats_completed: u64,
    /// Chats completed during this step.
    pub chats_completed_step: u32,
    /// Chats in flight.
    pub chats_in_flight: u64,
    /// Agent steps taken in this episode.
    pub steps: u64,
    /// Sum of rewards in this episode so far.
    pub episode_return: f64,
}

/// The result of a step; the observation is read from [`HandoffEnv::observation`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Step {
    /// Reward of the chats that completed during the step.
    pub reward: f64,
    /// The episode reached its natural end: no arrivals left, every chat ended.
    pub terminated: bool,
    /// The episode was cut at `env.max_steps`.
    pub truncated: bool,
    /// Extra information.
    pub info: Info,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    NotReset,
    Running,
    Over,
}

/// A handoff environment. A clone (the simulator, the fallback policy and the episode's
/// counters) continues exactly as the original would, given the same actions.
#[derive(Clone)]
pub struct HandoffEnv {
    sim: Simulator,
    fallback: Box<dyn Policy>,
    /// Whether the agent makes each kind of decision, indexed by `DecisionKind as usize`.
    controlled: [bool; 3],
    max_steps: u64,
    state: State,
    steps: u64,
    completed: u64,
    episode_return: f64,
    /// Chats whose records to keep when they end (rollouts), and each record once it has.
    watched: Vec<(u64, Option<ChatRecord>)>,
    /// The last step's ended chats: who is credited with each, and its reward (a buffer reused
    /// from step to step).
    chat_rewards: Vec<(Agent, f64)>,
}

impl std::fmt::Debug for HandoffEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandoffEnv")
            .field("scenario", &self.sim.scenario().name)
            .field("fallback", &self.fallback.name())
            .field("steps", &self.steps)
            .finish()
    }
}

impl HandoffEnv {
    /// An environment on `scenario`, with `fallback` making the decisions the agent does not
    /// control (normally the policy the scenario names in `env.fallback_policy`).
    pub fn new(scenario: Scenario, fallback: Box<dyn Policy>) -> Self {
        Self {
            controlled: DecisionKind::ALL.map(|k| scenario.controls(k)),
            max_steps: scenario.env.max_steps,
            sim: Simulator::new(scenario),
            fallback,
            state: State::NotReset,
            steps: 0,
            completed: 0,
            episode_return: 0.0,
            watched: Vec::new(),
            chat_rewards: Vec::new(),
        }
    }

    /// The scenario.
    pub fn scenario(&self) -> &Scenario {
        self.sim.scenario()
    }

    /// The action space: one action per candidate slot.
    pub fn action_space(&self) -> Discrete {
        Discrete { n: self.scenario().env.candidates as usize }
    }

    /// The space of encoded observations.
    pub fn observation_space(&self) -> BoxSpace {
        observation_space(self.scenario().env.candidates as usize)
    }

    /// Length of the encoded observation.
    pub fn observation_len(&self) -> usize {
        observation_len(self.scenario().env.candidates as usize)
    }

    /// The current observation.
    pub fn observation(&self) -> &Observation {
        self.sim.observation()
    }

    /// Which actions are valid now.
    pub fn action_mask(&self) -> &[bool] {
        &self.sim.observation().mask
    }

    /// Whether the episode has ended (call `reset`).
    pub fn is_over(&self) -> bool {
        self.state != State::Running
    }

    /// Keeps the records of the chats `chat_ids` when they end, for
    /// [`HandoffEnv::watched_records`] (in place of any watched before).
    pub(crate) fn watch(&mut self, chat_ids: impl IntoIterator<Item = u64>) {
        self.watched.clear();
        self.watched.extend(chat_ids.into_iter().map(|id| (id, None)));
    }

    /// The records of the watched chats, `None` for those that have not ended.
    pub(crate) fn watched_records(&self) -> impl Iterator<Item = Option<&ChatRecord>> {
        self.watched.iter().map(|(_, record)| record.as_ref())
    }

    /// Truncates episodes after `max_steps` agent steps (0: never), as `env.max_steps` does.
    pub(crate) fn set_max_steps(&mut self, max_steps: u64) {
        self.max_steps = max_steps;
    }

    /// The chats that ended during the last step (or the reset), each with the agent credited
    /// with it and its reward: the worker who wrote its last human reply, or the router for a
    /// chat no worker answered (the AI's alone, or abandoned first). The rewards sum to the
    /// step's reward; the multi-agent view's per-agent rewards.
    pub fn chat_rewards(&self) -> &[(Agent, f64)] {
        &self.chat_rewards
    }

    /// The simulator (for inspection).
    pub fn simulator(&self) -> &Simulator {
        &self.sim
    }

    /// A fork on `seed`: a copy with the same observable present (the same observation, mask,
    /// chats, waits and workers) and a future drawn afresh from the streams of `seed`: later
    /// arrivals, and what a dispatcher cannot see of the chats in flight (the rounds an issue
    /// still needs, whether the AI can solve it, the customer's patience, their rating and
    /// retrial draws, every later reply's time and outcome), redrawn consistently with what has
    /// been seen. Unlike a clone, which continues exactly as this environment would and so
    /// knows its future, a fork is what a dispatcher could imagine: comparing options on forks
    /// does not use information a policy cannot have. Same state and seed, same fork, bit for
    /// bit; the fallback policy's state is copied as it is.
    pub fn fork(&self, seed: u64) -> HandoffEnv {
        let mut fork = self.clone();
        fork.sim.redraw_future(seed);
        fork
    }

    /// Starts an episode; the same seed gives the same episode.
    pub fn reset(&mut self, seed: u64) -> (&Observation, Info) {
        self.sim.reset(seed);
        self.fallback.reset(rng::fallback_seed(rng::policy_seed(seed)));
        self.steps = 0;
        self.completed = 0;
        self.episode_return = 0.0;
        let (_, _, more) = self.run_to_agent_decision();
        self.state = if more { State::Running } else { State::Over };
        (self.sim.observation(), self.info(0))
    }

    /// Takes `action` at the current decision and runs to the next one. An invalid action, or a
    /// step outside a running episode, is an error and leaves the environment unchanged.
    pub fn step(&mut self, action: usize) -> Result<Step, StepError> {
        match self.state {
            State::NotReset => return Err(StepError::NotReset),
            State::Over => return Err(StepError::EpisodeOver),
            State::Running => {}
        }
        self.sim.apply(action)?;
        self.steps += 1;
        let (reward, completed, more) = self.run_to_agent_decision();
        self.episode_return += reward;
        let terminated = !more;
        let truncated = more && self.max_steps > 0 && self.steps >= self.max_steps;
        if terminated || truncated {
            self.state = State::Over;
        }
        Ok(Step { reward, terminated, truncated, info: self.info(completed) })
    }

    fn info(&self, completed_step: u32) -> Info {
        Info {
            time_s: self.sim.now(),
            chats_completed: self.completed,
            chats_completed_step: completed_step,
            chats_in_flight: self.sim.chats_in_flight() as u64,
            steps: self.steps,
            episode_return: self.episode_return,
        }
    }

    /// Runs the simulator, letting the fallback decide, until a decision the agent controls.
    /// Returns the reward and number of chats completed on the way, and whether a decision waits.
    fn run_to_agent_decision(&mut self) -> (f64, u32, bool) {
        let mut reward = 0.0;
        let mut completed = 0u32;
        self.chat_rewards.clear();
        loop {
            let more = self.sim.advance();
            for r in self.sim.completed() {
                reward += r.reward;
                self.chat_rewards.push((r.worker.map_or(Agent::Router, Agent::Worker), r.reward));
                if let Some((_, record)) = self.watched.iter_mut().find(|(id, _)| *id == r.chat_id)
                {
                    *record = Some(*r);
                }
            }
            completed += self.sim.completed().len() as u32;
            self.sim.clear_completed();
            if !more {
                self.completed += u64::from(completed);
                return (reward, completed, false);
            }
            if self.controlled[self.sim.observation().kind as usize] {
                self.completed += u64::from(completed);
                return (reward, completed, true);
            }
            let action = self.fallback.act(self.sim.observation());
            if let Err(e) = self.sim.apply(action) {
                panic!("fallback policy {} chose an invalid action: {e}", self.fallback.name());
            }
        }
    }
}
