//! A rule with a learned correction where it matters: whether an AI-eligible chat goes to the AI
//! or to the worker the rule would choose.
//!
//! The correction is an estimate of how much more the AI earns than that worker (the chat's own
//! reward gain plus the worker time it saves, priced in reward), linear in a few features of the
//! decision ([`route_features`]). The policy takes the rule's action unless the estimate says the
//! other option is better, so with zero weights it *is* the rule, decision for decision (residual
//! policy learning, Silver et al. 2018), and fitting the estimate to rollout comparisons on
//! common random numbers is one step of policy iteration from the rule (Bertsekas's rollout,
//! distilled). `handoff train --algo rollout` fits it (`training/src/rollout.rs`).

use handoff_env::{Candidate, CandidateKind, DecisionKind, Observation, Policy};
use serde::{Deserialize, Serialize};

use crate::pick::first_valid;

/// Number of [`route_features`].
pub const ROUTE_FEATURES: usize = 12;

/// Names of the [`route_features`], in order (for reports and policy files).
pub const ROUTE_FEATURE_NAMES: [&str; ROUTE_FEATURES] = [
    "bias",
    "frustration",
    "frustration_squared",
    "wait_min",
    "queue_per_worker",
    "free_share",
    "in_flight_per_worker",
    "day_sin",
    "day_cos",
    "alternative_load",
    "alternative_is_queue",
    "frustration_x_free_share",
];

/// What the correction reads at the route decision `obs` of an AI-eligible chat whose
/// alternative to the AI is `alternative` (the rule's worker, or the queue).
pub fn route_features(obs: &Observation, alternative: &Candidate) -> [f64; ROUTE_FEATURES] {
    let on_duty = f64::from(obs.on_duty.max(1));
    let frustration = f64::from(obs.chat.frustration);
    let free_share = f64::from(obs.free_workers) / on_duty;
    let angle = std::f64::consts::TAU * (obs.time_s / 86_400.0).fract();
    [
        1.0,
        frustration,
        frustration * frustration,
        f64::from(obs.chat.wait_s) / 60.0,
        f64::from(obs.queue_len) / on_duty,
        free_share,
        f64::from(obs.in_flight) / on_duty,
        angle.sin(),
        angle.cos(),
        f64::from(alternative.load.min(1.0)),
        f64::from(u8::from(alternative.kind == CandidateKind::Queue)),
        frustration * free_share,
    ]
}

/// The learned estimate: the advantage of the AI over the rule's alternative, linear in
/// [`route_features`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteAdvantage {
    /// One weight per feature, in the order of [`ROUTE_FEATURE_NAMES`].
    pub weights: Vec<f64>,
}

impl RouteAdvantage {
    /// The estimate that never corrects the rule.
    pub fn zero() -> Self {
        Self { weights: vec![0.0; ROUTE_FEATURES] }
    }

    /// The estimated advantage of the AI for `features`.
    pub fn estimate(&self, features: &[f64; ROUTE_FEATURES]) -> f64 {
        self.weights.iter().zip(features).map(|(w, x)| w * x).sum()
    }

    /// Whether the weights fit the features: one finite weight each.
    pub fn check(&self) -> Result<(), String> {
        if self.weights.len() != ROUTE_FEATURES {
            return Err(format!(
                "route advantage: {} weights, expected {ROUTE_FEATURES} ({})",
                self.weights.len(),
                ROUTE_FEATURE_NAMES.join(", ")
            ));
        }
        if let Some(i) = self.weights.iter().position(|w| !w.is_finite()) {
            return Err(format!(
                "route advantage: weight {} is not finite",
                ROUTE_FEATURE_NAMES[i]
            ));
        }
        Ok(())
    }
}

/// The two options of an AI-eligible chat's route decision: the AI, and what the rule does
/// without it (`None` when this is not such a decision).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteChoice {
    /// The AI's action.
    pub ai: usize,
    /// The rule's action when the AI is not an option.
    pub alternative: usize,
    /// The action the rule takes.
    pub rule: usize,
}

/// The rule's choice and both options at `obs`, when it routes an AI-eligible chat with the AI
/// and another option valid; `scratch` is reused for the observation without the AI.
pub fn route_choice(
    rule: &mut dyn Policy,
    obs: &Observation,
    scratch: &mut Observation,
) -> Option<RouteChoice> {
    if obs.kind != DecisionKind::Route || !obs.chat.eligible || obs.valid_count() < 2 {
        return None;
    }
    let ai = first_valid(obs, CandidateKind::Ai)?;
    let chosen = rule.act(obs);
    scratch.clone_from(obs);
    scratch.mask[ai] = false;
    let alternative = if chosen == ai { rule.act(scratch) } else { chosen };
    Some(RouteChoice { ai, alternative, rule: chosen })
}

/// A rule whose AI-or-worker routing of AI-eligible chats follows a learned advantage estimate
/// where it disagrees with the rule.
#[derive(Clone)]
pub struct Corrected {
    name: String,
    rule: Box<dyn Policy>,
    advantage: RouteAdvantage,
    scratch: Observation,
}

impl std::fmt::Debug for Corrected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Corrected")
            .field("name", &self.name)
            .field("rule", &self.rule.name())
            .finish()
    }
}

impl Corrected {
    /// `rule` corrected by `advantage`, shown as `name`.
    pub fn new(name: impl Into<String>, rule: Box<dyn Policy>, advantage: RouteAdvantage) -> Self {
        Self { name: name.into(), rule, advantage, scratch: Observation::new(0) }
    }
}

impl Policy for Corrected {
    fn name(&self) -> &str {
        &self.name
    }

    fn reset(&mut self, seed: u64) {
        self.rule.reset(seed);
    }

    fn act(&mut self, obs: &Observation) -> usize {
        let Some(choice) = route_choice(self.rule.as_mut(), obs, &mut self.scratch) else {
            return self.rule.act(obs);
        };
        let features = route_features(obs, &obs.candidates[choice.alternative]);
        let advantage = self.advantage.estimate(&features);
        // the rule's choice stands unless the estimate prefers the other option
        match (choice.rule == choice.ai, advantage) {
            (true, a) if a < 0.0 => choice.alternative,
            (false, a) if a > 0.0 => choice.ai,
            _ => choice.rule,
        }
    }
}
