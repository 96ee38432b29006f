//! `emotion-first`: the study's early-intervention lesson (arXiv:2605.14830): emotional
//! escalations lose the most from every minute of delay, and workers put in less effort the
//! longer an escalated chat waited, so angry customers are served first.
//!
//! AI-eligible chats go to the AI. An emotional escalation goes to the least-loaded worker, who
//! can answer soonest, instead of back to a busy supervisor; other escalations go back to the
//! supervisor as deployed. A worker answers, in order: the longest-waiting emotional
//! escalation; an AI chat whose sentiment fell below the deployment's takeover threshold; the most
//! frustrated waiting customer.

use handoff_env::{CandidateKind, DecisionKind, Escalation, Observation, Policy, Scenario};

use crate::least_loaded::least_loaded_worker;
use crate::params::{Param, ParamSet};
use crate::pick::{TakeoverRule, any_valid, best_of_kind, first_valid, route_as_deployed};

/// Angry customers first, in routing and in attention.
#[derive(Debug, Clone)]
pub struct EmotionFirst {
    takeover: TakeoverRule,
}

impl EmotionFirst {
    /// The takeover rule, by default the deployment's.
    pub fn params(scenario: &Scenario) -> Vec<Param> {
        TakeoverRule::params(scenario)
    }

    /// The rule with the takeover rule of `scenario.study_policy`.
    pub fn new(scenario: &Scenario) -> Self {
        Self::with(&ParamSet::defaults("emotion-first", Self::params(scenario)))
    }

    /// The rule with the takeover rule in `set`.
    pub fn with(set: &ParamSet) -> Self {
        Self { takeover: TakeoverRule::with(set) }
    }

    fn route(obs: &Observation) -> usize {
        if obs.chat.escalation == Some(Escalation::Emotional) {
            return least_loaded_worker(obs)
                .or_else(|| first_valid(obs, CandidateKind::Queue))
                .unwrap_or_else(|| any_valid(obs));
        }
        route_as_deployed(obs)
    }

    fn attend(&self, obs: &Observation) -> usize {
        let emotional = best_of_kind(obs, CandidateKind::Chat, |c| {
            if c.escalation == Some(Escalation::Emotional) { f64::from(c.wait_s) } else { -1.0 }
        })
        .filter(|&i| obs.candidates[i].escalation == Some(Escalation::Emotional));
        emotional
            .or_else(|| self.takeover.pick(obs))
            .or_else(|| best_of_kind(obs, CandidateKind::Chat, |c| f64::from(c.frustration)))
            .or_else(|| first_valid(obs, CandidateKind::Wait))
            .unwrap_or_else(|| any_valid(obs))
    }
}

impl EmotionFirst {
    /// A free slot takes the longest-waiting emotional escalation, else the most frustrated
    /// queued customer.
    fn assign(obs: &Observation) -> usize {
        best_of_kind(obs, CandidateKind::Queued, |c| {
            let emotional = c.escalation == Some(Escalation::Emotional);
            f64::from(c.frustration) + if emotional { 1e6 + f64::from(c.wait_s) } else { 0.0 }
        })
        .unwrap_or_else(|| any_valid(obs))
    }
}

impl Policy for EmotionFirst {
    fn name(&self) -> &str {
        "emotion-first"
    }

    fn act(&mut self, obs: &Observation) -> usize {
        match obs.kind {
            DecisionKind::Route => Self::route(obs),
            DecisionKind::Attend => self.attend(obs),
            DecisionKind::Assign => Self::assign(obs),
        }
    }
}
