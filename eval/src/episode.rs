//! One evaluation episode: a policy on a scenario from a seed, to the end, with its return and
//! its KPIs accumulated chat by chat (constant memory, whatever the horizon).

pub use handoff_env::EscalationMix;
use handoff_env::Simulator;
use handoff_env::rng::{Stream, derive_seed};
use handoff_env::scenario::DecisionKind;
use handoff_env::{ChatRecord, Ending};
use handoff_env::{Escalation, Observation, Policy, Scenario};
use rayon::prelude::*;
use serde::Serialize;

/// Key performance indicators of an episode, or their means over episodes. Shares are fractions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Kpis {
    /// Chats that arrived and ended.
    pub chats: f64,
    /// Return divided by chats.
    pub return_per_chat: f64,
    /// Mean chat duration, minutes.
    pub duration_min: f64,
    /// Mean time a customer spent waiting for replies, minutes.
    pub wait_min: f64,
    /// Mean star rating over the chats that were rated (NaN, `null` in JSON, when none were).
    pub rating: f64,
    /// Share of chats rated.
    pub rating_rate: f64,
    /// Mean latent satisfaction, 1 to 5.
    pub satisfaction: f64,
    /// Share of customers who came back within 7 days.
    pub retrial: f64,
    /// Share of chats the customer abandoned while waiting.
    pub abandonment: f64,
    /// Share of chats resolved.
    pub resolved: f64,
    /// Share of chats the AI handled at some point.
    pub ai_share: f64,
    /// Shares of AI-handled chats by how they left the AI.
    pub escalation: EscalationMix,
    /// Other chats a worker juggled per human reply, averaged over the chats workers answered
    /// (supervised AI chats weighted by `workers.supervision_load`): the concurrency the assign
    /// decision controls.
    pub concurrency: f64,
    /// Share of chats that were customers coming back (`retrial.returns`).
    pub returning: f64,
}

/// The outcome of one policy on one seed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpisodeResult {
    /// The episode's seed.
    pub seed: u64,
    /// Sum of the rewards of every chat.
    #[serde(rename = "return")]
    pub episode_return: f64,
    /// The episode's KPIs.
    pub kpis: Kpis,
}

/// Sums over completed chats, turned into [`Kpis`] at the end.
#[derive(Debug, Clone, Default)]
struct KpiSums {
    chats: u64,
    reward: f64,
    duration_s: f64,
    wait_s: f64,
    rating_sum: f64,
    rated: u64,
    satisfaction: f64,
    retrials: u64,
    abandoned: u64,
    resolved: u64,
    ai: u64,
    by_escalation: [u64; 4],
    answered: u64,
    concurrency: f64,
    returning: u64,
}

impl KpiSums {
    fn add(&mut self, chat: &ChatRecord) {
        self.chats += 1;
        self.reward += chat.reward;
        self.duration_s += chat.duration_s;
        self.wait_s += chat.wait_s;
        if let Some(r) = chat.rating {
            self.rating_sum += f64::from(r);
            self.rated += 1;
        }
        self.satisfaction += chat.satisfaction;
        self.retrials += u64::from(chat.retrial);
        self.abandoned += u64::from(chat.ending == Ending::Abandoned);
        self.resolved += u64::from(chat.resolved());
        self.returning += u64::from(chat.retrial_of.is_some());
        if chat.human_replies > 0 {
            self.answered += 1;
            self.concurrency += chat.concurrency;
        }
        if chat.ai_involved {
            self.ai += 1;
            let k = match chat.escalation {
                Some(Escalation::Technical) => 0,
                Some(Escalation::Emotional) => 1,
                Some(Escalation::Human) => 2,
                None => 3,
            };
            self.by_escalation[k] += 1;
        }
    }

    fn kpis(&self) -> Kpis {
        let n = self.chats as f64;
        let ai = self.ai as f64;
        let share_of_ai = |k: usize| self.by_escalation[k] as f64 / ai;
        Kpis {
            chats: n,
            return_per_chat: self.reward / n,
            duration_min: self.duration_s / 60.0 / n,
            wait_min: self.wait_s / 60.0 / n,
            rating: self.rating_sum / self.rated as f64,
            rating_rate: self.rated as f64 / n,
            satisfaction: self.satisfaction / n,
            retrial: self.retrials as f64 / n,
            abandonment: self.abandoned as f64 / n,
            resolved: self.resolved as f64 / n,
            ai_share: ai / n,
            escalation: EscalationMix {
                technical: share_of_ai(0),
                emotional: share_of_ai(1),
                human: share_of_ai(2),
                none: share_of_ai(3),
            },
            concurrency: self.concurrency / self.answered as f64,
            returning: self.returning as f64 / n,
        }
    }
}

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
        self.fallback.reset(derive_seed(seed, Stream::Policy, 1));
    }

    fn act(&mut self, obs: &Observation) -> usize {
        if self.controlled[obs.kind as usize] {
            self.agent.act(obs)
        } else {
            self.fallback.act(obs)
        }
    }
}

/// Runs `policy` (with `fallback` for the decisions the scenario does not give the agent) on
/// `scenario` from `seed` to the end of the horizon.
pub fn run_episode(
    scenario: &Scenario,
    seed: u64,
    policy: Box<dyn Policy>,
    fallback: Box<dyn Policy>,
) -> EpisodeResult {
    let mut sim = Simulator::new(scenario.clone());
    let mut split = DecisionSplit::new(scenario, policy, fallback);
    let mut sums = KpiSums::default();
    handoff_env::run(&mut sim, seed, &mut split, |chat| sums.add(chat));
    EpisodeResult { seed, episode_return: sums.reward, kpis: sums.kpis() }
}

/// Runs the policy `make` builds on `seeds` consecutive seeds from `first_seed`, in parallel, with
/// the scenario's fallback policy for the decisions it does not give the agent.
pub fn run_episodes(
    scenario: &Scenario,
    first_seed: u64,
    seeds: u64,
    make: &(dyn Fn() -> Box<dyn Policy> + Sync),
) -> Vec<EpisodeResult> {
    (0..seeds)
        .into_par_iter()
        .map(|i| {
            let fallback =
                handoff_agents::fallback(scenario, &scenario.name).expect("validated fallback");
            run_episode(scenario, first_seed + i, make(), fallback)
        })
        .collect()
}
