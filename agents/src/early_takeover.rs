//! `early-takeover`: step into AI chats whose sentiment is falling before the AI's own
//! emotional-escalation trigger fires. The study found human-initiated interventions the least
//! harmful kind of escalation and every minute of delay costly (arXiv:2605.14830); this rule
//! pushes that to an earlier trigger.
//!
//! Routes as deployed. A worker with a free slot takes over their most frustrated supervised AI
//! chat as soon as its frustration passes halfway from the customers' mean starting frustration
//! to the deployment's takeover threshold (`trigger_share` sets how far); otherwise they answer
//! the longest-waiting chat.

use handoff_env::{DecisionKind, Observation, Policy, Scenario};

use crate::params::{Param, ParamSet};
use crate::pick::{TakeoverRule, longest_wait_or_wait, route_as_deployed, take_in_order};

/// The deployment with an earlier takeover trigger.
#[derive(Debug, Clone)]
pub struct EarlyTakeover {
    takeover: TakeoverRule,
}

impl EarlyTakeover {
    /// `trigger_share`: where the trigger sits between the customers' mean starting frustration
    /// (0) and the deployment's threshold (1); halfway by default.
    pub fn params() -> Vec<Param> {
        vec![Param::real(
            "trigger_share",
            "the takeover trigger's place between the customers' mean starting frustration (0) \
             and the deployment's threshold (1)",
            [0.0, 1.0],
            0.5,
        )]
    }

    /// The rule with its trigger halfway between `customers.frustration_mean` and
    /// `study_policy.takeover_frustration`.
    pub fn new(scenario: &Scenario) -> Self {
        Self::with(scenario, &ParamSet::defaults("early-takeover", Self::params()))
    }

    /// The deployment's takeover rule with the threshold `trigger_share` of `set` places.
    pub fn with(scenario: &Scenario, set: &ParamSet) -> Self {
        let start = scenario.customers.frustration_mean;
        let deployed = scenario.study_policy.takeover_frustration;
        let share = set.value("trigger_share");
        let threshold = (start + share * (deployed - start)) as f32;
        Self { takeover: TakeoverRule { threshold, ..TakeoverRule::deployed(scenario) } }
    }

    /// The takeover score at which this rule takes over.
    pub fn trigger(&self) -> f32 {
        self.takeover.threshold
    }
}

impl Policy for EarlyTakeover {
    fn name(&self) -> &str {
        "early-takeover"
    }

    fn act(&mut self, obs: &Observation) -> usize {
        match obs.kind {
            DecisionKind::Route => route_as_deployed(obs),
            DecisionKind::Attend => {
                self.takeover.pick(obs).unwrap_or_else(|| longest_wait_or_wait(obs))
            }
            DecisionKind::Assign => take_in_order(obs),
        }
    }
}
