//! A rule with learned corrections where they matter: whether an AI-eligible chat goes to the AI
//! or to the worker the rule would choose, which of the equally loaded workers on offer takes a
//! chat, which chat a ready worker answers or takes over (attend), and which queued chat a worker
//! with a free slot takes (assign).
//!
//! Each correction is a linear estimate ([`Advantage`]) of how much the other option earns over
//! the rule's choice. The route estimate is the AI's advantage over the rule's worker (the
//! chat's own reward gain plus the worker time it saves, priced in reward), on a few features of
//! the decision ([`route_features`]). The pace estimate is the advantage of the quickest of the
//! equally loaded workers on offer ([`quicker_peer`]: the worker whose replies have been
//! quickest so far, [`handoff_env::Candidate::reply_time_ratio`]) over the rule's worker, on the
//! gap in their pace ([`pace_features`]); the rules pick among equally loaded workers in the
//! order the simulator lists them. The option estimates ([`option_features`]) are the advantage
//! of each other valid option of an attend or assign decision over the rule's choice, linear in
//! the difference of the two options' features, with a bias that is the cost of leaving the
//! rule's choice; the best option is taken where its advantage is positive. The options are
//! those the centre allows: a takeover or a queued chat that the rule's own `max_chats` would
//! refuse is one the correction may take (the limit is the rule's choice, not the centre's).
//!
//! The policy takes the rule's action unless an estimate says another option is better, so with
//! zero weights it *is* the rule, decision for decision (residual policy learning, Silver et al.
//! 2018), and fitting the estimates to rollout comparisons on common random numbers is one step
//! of policy iteration from the rule (Bertsekas's rollout, distilled). `handoff train --algo
//! rollout` fits them (`training/src/rollout.rs`).

use handoff_env::{Candidate, CandidateKind, DecisionKind, Escalation, Observation, Policy};
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
        libm::sin(angle),
        libm::cos(angle),
        f64::from(alternative.load.min(1.0)),
        f64::from(u8::from(alternative.kind == CandidateKind::Queue)),
        frustration * free_share,
    ]
}

/// Number of [`pace_features`].
pub const PACE_FEATURES: usize = 4;

/// Names of the [`pace_features`], in order (for reports and policy files).
pub const PACE_FEATURE_NAMES: [&str; PACE_FEATURES] =
    ["bias", "pace_gap", "pace_gap_x_load", "rule_worker_is_supervisor"];

/// The worker the pace correction may prefer to the rule's choice `chosen` at a route decision:
/// of the other offered workers holding as many chats, the one whose replies have been quickest
/// so far, when quicker than the rule's worker (`None` otherwise, and when `chosen` is not a
/// worker).
pub fn quicker_peer(obs: &Observation, chosen: usize) -> Option<usize> {
    let rule = obs.candidates.get(chosen)?;
    if obs.kind != DecisionKind::Route || rule.kind != CandidateKind::Worker {
        return None;
    }
    let peers = obs.candidates.iter().enumerate().filter(|&(i, c)| {
        i != chosen && obs.mask[i] && c.kind == CandidateKind::Worker && c.load == rule.load
    });
    let (i, quickest) =
        peers.min_by(|a, b| a.1.reply_time_ratio.total_cmp(&b.1.reply_time_ratio))?;
    (quickest.reply_time_ratio < rule.reply_time_ratio).then_some(i)
}

/// What the pace correction reads when `peer` could take the chat the rule gives `rule`: how
/// much slower the rule's worker has been (in multiples of the centre's median reply), that gap
/// times their load, and whether the rule's worker supervised the chat (an escalation).
pub fn pace_features(rule: &Candidate, peer: &Candidate) -> [f64; PACE_FEATURES] {
    let gap = f64::from(rule.reply_time_ratio - peer.reply_time_ratio);
    [1.0, gap, gap * f64::from(rule.load.min(1.0)), f64::from(u8::from(rule.is_supervisor))]
}

/// Number of [`option_features`]: the bias (the cost of leaving the rule's choice) and the
/// differences of [`OPTION_TRAITS`] traits.
pub const OPTION_FEATURES: usize = 1 + OPTION_TRAITS;

/// Number of traits of one option of an attend or assign decision ([`option_traits`]).
pub const OPTION_TRAITS: usize = 14;

/// Names of the [`option_features`], in order (for reports and policy files).
pub const OPTION_FEATURE_NAMES: [&str; OPTION_FEATURES] = [
    "switch",
    "takeover",
    "idle",
    "wait_min",
    "frustration",
    "takeover_x_frustration",
    "emotional",
    "technical",
    "human_initiated",
    "last_answered",
    "rounds_done",
    "ai_unproductive",
    "takeover_x_queue",
    "idle_x_queue",
    "own_escalation",
];

/// What a dispatcher sees of the option `c` of the attend or assign decision `obs`: whether it
/// takes over an AI chat, whether it writes or takes nothing (wait, pass), the customer's wait
/// (minutes) and frustration, why the chat left the AI, whether the worker answered it last,
/// its productive rounds, the AI's unproductive replies, the backlog (queued chats per worker
/// on duty) for takeovers and for idling, and whether it is the worker's own escalation (at
/// assign decisions; the observation does not mark it at attend).
pub fn option_traits(obs: &Observation, c: &Candidate) -> [f64; OPTION_TRAITS] {
    let flag = |b: bool| f64::from(u8::from(b));
    let takeover = flag(c.kind == CandidateKind::Takeover);
    let idle = flag(matches!(c.kind, CandidateKind::Wait | CandidateKind::Pass));
    let backlog = f64::from(obs.queue_len) / f64::from(obs.on_duty.max(1));
    let frustration = f64::from(c.frustration);
    [
        takeover,
        idle,
        f64::from(c.wait_s) / 60.0,
        frustration,
        takeover * frustration,
        flag(c.escalation == Some(Escalation::Emotional)),
        flag(c.escalation == Some(Escalation::Technical)),
        flag(c.escalation == Some(Escalation::Human)),
        flag(c.last_answered),
        f64::from(c.rounds_done),
        f64::from(c.ai_unproductive),
        takeover * backlog,
        idle * backlog,
        flag(c.is_supervisor),
    ]
}

/// What the option correction reads when the option `other` could replace the rule's choice
/// `rule` at the attend or assign decision `obs`: a bias of 1 and the difference of their
/// [`option_traits`].
pub fn option_features(obs: &Observation, rule: usize, other: usize) -> [f64; OPTION_FEATURES] {
    let (a, b) =
        (option_traits(obs, &obs.candidates[other]), option_traits(obs, &obs.candidates[rule]));
    let mut features = [1.0; OPTION_FEATURES];
    for (f, (x, y)) in features[1..].iter_mut().zip(a.iter().zip(&b)) {
        *f = x - y;
    }
    features
}

/// A learned estimate: the advantage of the option the rule did not choose, linear in the
/// decision's features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Advantage {
    /// One weight per feature.
    pub weights: Vec<f64>,
}

impl Advantage {
    /// The estimate that never corrects the rule, on `features` features.
    pub fn zero(features: usize) -> Self {
        Self { weights: vec![0.0; features] }
    }

    /// The estimated advantage for `features`.
    pub fn estimate(&self, features: &[f64]) -> f64 {
        self.weights.iter().zip(features).map(|(w, x)| w * x).sum()
    }

    /// Whether the weights fit the features `names`: one finite weight each; `what` names the
    /// estimate in the message.
    pub fn check(&self, what: &str, names: &[&str]) -> Result<(), String> {
        if self.weights.len() != names.len() {
            return Err(format!(
                "{what}: {} weights, expected {} ({})",
                self.weights.len(),
                names.len(),
                names.join(", ")
            ));
        }
        if let Some(i) = self.weights.iter().position(|w| !w.is_finite()) {
            return Err(format!("{what}: weight {} is not finite", names[i]));
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

/// The learned estimates of a corrected rule, one per decision it corrects; a zero estimate
/// never corrects.
#[derive(Debug, Clone, PartialEq)]
pub struct Corrections {
    /// The AI's advantage over the rule's alternative ([`route_features`]).
    pub route: Advantage,
    /// The quicker equally loaded worker's advantage ([`pace_features`]).
    pub pace: Advantage,
    /// An attend option's advantage over the rule's ([`option_features`]).
    pub attend: Advantage,
    /// An assign option's advantage over the rule's ([`option_features`]).
    pub assign: Advantage,
}

impl Corrections {
    /// No correction: the rule itself.
    pub fn none() -> Self {
        Self {
            route: Advantage::zero(ROUTE_FEATURES),
            pace: Advantage::zero(PACE_FEATURES),
            attend: Advantage::zero(OPTION_FEATURES),
            assign: Advantage::zero(OPTION_FEATURES),
        }
    }

    /// Whether each estimate has one finite weight per feature; the message names the field
    /// of a policy file's `[correction]` (`weights`, `pace_weights`, `attend_weights`,
    /// `assign_weights`).
    pub fn check(&self) -> Result<(), String> {
        self.route.check("weights", &ROUTE_FEATURE_NAMES)?;
        self.pace.check("pace_weights", &PACE_FEATURE_NAMES)?;
        self.attend.check("attend_weights", &OPTION_FEATURE_NAMES)?;
        self.assign.check("assign_weights", &OPTION_FEATURE_NAMES)
    }
}

/// The valid option of the attend or assign decision `obs` other than the rule's choice `rule`
/// with the greatest `advantage`, when that is positive.
pub fn better_option(obs: &Observation, rule: usize, advantage: &Advantage) -> Option<usize> {
    let best = obs
        .valid_actions()
        .filter(|&i| i != rule)
        .map(|i| (i, advantage.estimate(&option_features(obs, rule, i))))
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    (best.1 > 0.0).then_some(best.0)
}

/// A rule whose AI-or-worker routing of AI-eligible chats, whose choice among equally loaded
/// workers, and whose attend and assign choices follow learned advantage estimates where they
/// disagree with the rule.
#[derive(Clone)]
pub struct Corrected {
    name: String,
    rule: Box<dyn Policy>,
    corrections: Corrections,
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
    /// `rule` corrected by `corrections`, shown as `name`.
    pub fn new(name: impl Into<String>, rule: Box<dyn Policy>, corrections: Corrections) -> Self {
        Self { name: name.into(), rule, corrections, scratch: Observation::new(0) }
    }

    /// The rule's action with the route correction, before the pace correction.
    pub fn routed(&mut self, obs: &Observation) -> usize {
        let Some(choice) = route_choice(self.rule.as_mut(), obs, &mut self.scratch) else {
            return self.rule.act(obs);
        };
        let features = route_features(obs, &obs.candidates[choice.alternative]);
        let advantage = self.corrections.route.estimate(&features);
        // the rule's choice stands unless the estimate prefers the other option
        match (choice.rule == choice.ai, advantage) {
            (true, a) if a < 0.0 => choice.alternative,
            (false, a) if a > 0.0 => choice.ai,
            _ => choice.rule,
        }
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
        let options = match obs.kind {
            DecisionKind::Route => None,
            DecisionKind::Attend => Some(&self.corrections.attend),
            DecisionKind::Assign => Some(&self.corrections.assign),
        };
        if let Some(advantage) = options {
            let rule = self.rule.act(obs);
            return better_option(obs, rule, advantage).unwrap_or(rule);
        }
        let chosen = self.routed(obs);
        let Some(peer) = quicker_peer(obs, chosen) else { return chosen };
        let features = pace_features(&obs.candidates[chosen], &obs.candidates[peer]);
        if self.corrections.pace.estimate(&features) > 0.0 { peer } else { chosen }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use handoff_env::scenario::DecisionKind;

    fn worker(index: u32, load: f32, pace: f32) -> Candidate {
        Candidate {
            kind: CandidateKind::Worker,
            worker: index,
            load,
            reply_time_ratio: pace,
            ..Candidate::default()
        }
    }

    /// A route decision offering the AI, the queue and `workers`.
    fn route(workers: &[Candidate]) -> Observation {
        let mut obs = Observation::new(2 + workers.len());
        obs.kind = DecisionKind::Route;
        obs.candidates[0].kind = CandidateKind::Ai;
        obs.candidates[1].kind = CandidateKind::Queue;
        obs.mask[1] = true;
        for (i, w) in workers.iter().enumerate() {
            obs.candidates[2 + i] = *w;
            obs.mask[2 + i] = true;
        }
        obs
    }

    #[test]
    fn the_quicker_peer_is_the_quickest_equally_loaded_worker_on_offer() {
        let obs = route(&[worker(0, 0.0, 1.1), worker(1, 0.0, 0.8), worker(2, 0.0, 0.9)]);
        assert_eq!(quicker_peer(&obs, 2), Some(3));
        assert_eq!(quicker_peer(&obs, 4), Some(3));
        assert_eq!(quicker_peer(&obs, 3), None, "the rule's worker is the quickest");
        assert_eq!(quicker_peer(&obs, 1), None, "the queue is not a worker");
        // a quicker worker holding more chats is no peer, nor is one masked out
        let mut obs = route(&[worker(0, 0.0, 1.1), worker(1, 0.25, 0.7)]);
        assert_eq!(quicker_peer(&obs, 2), None);
        obs.candidates[3].load = 0.0;
        obs.mask[3] = false;
        assert_eq!(quicker_peer(&obs, 2), None);
        obs.kind = DecisionKind::Attend;
        assert_eq!(quicker_peer(&obs, 2), None, "only routing");
    }

    #[test]
    fn the_pace_correction_moves_the_chat_only_where_its_estimate_is_positive() {
        let obs = route(&[worker(0, 0.0, 1.2), worker(1, 0.0, 0.9)]);
        let rule: Box<dyn Policy> = Box::new(crate::LeastLoaded);
        let with = |weights: Vec<f64>| {
            let corrections = Corrections { pace: Advantage { weights }, ..Corrections::none() };
            let mut policy = Corrected::new("test", rule.clone(), corrections);
            policy.act(&obs)
        };
        assert_eq!(with(vec![0.0; PACE_FEATURES]), 2, "no correction: the rule's worker");
        assert_eq!(with(vec![0.0, 1.0, 0.0, 0.0]), 3, "a gap of 0.3 at weight 1");
        assert_eq!(with(vec![-0.5, 1.0, 0.0, 0.0]), 2, "the gap does not pay its cost");
        let features = pace_features(&obs.candidates[2], &obs.candidates[3]);
        assert!((features[1] - 0.3).abs() < 1e-6 && features[2] == 0.0, "{features:?}");
    }

    /// An attend decision offering to wait and the chats `chats` (wait in seconds, frustration).
    fn attend(chats: &[(f32, f32)]) -> Observation {
        let mut obs = Observation::new(1 + chats.len());
        obs.kind = DecisionKind::Attend;
        obs.candidates[0].kind = CandidateKind::Wait;
        obs.mask[0] = true;
        for (i, &(wait_s, frustration)) in chats.iter().enumerate() {
            obs.candidates[1 + i] = Candidate {
                kind: CandidateKind::Chat,
                wait_s,
                frustration,
                ..Candidate::default()
            };
            obs.mask[1 + i] = true;
        }
        obs
    }

    #[test]
    fn the_option_correction_takes_the_best_other_option_only_where_it_pays() {
        // the rule answers the first chat; the second has waited a minute longer and is more
        // frustrated, the third has waited two minutes longer and is less
        let obs = attend(&[(30.0, 1.0), (90.0, 1.5), (150.0, 0.5)]);
        let features = option_features(&obs, 1, 3);
        assert_eq!(features[0], 1.0, "the bias");
        assert!((features[3] - 2.0).abs() < 1e-9, "two minutes' more wait: {features:?}");
        assert!((features[4] + 0.5).abs() < 1e-9, "half a unit less frustration: {features:?}");
        assert_eq!(option_features(&obs, 1, 1)[1..], [0.0; OPTION_TRAITS], "the same option");
        let weights = |switch: f64, per_wait_min: f64, per_frustration: f64| {
            let mut w = vec![0.0; OPTION_FEATURES];
            (w[0], w[3], w[4]) = (switch, per_wait_min, per_frustration);
            Advantage { weights: w }
        };
        assert_eq!(better_option(&obs, 1, &Advantage::zero(OPTION_FEATURES)), None);
        assert_eq!(better_option(&obs, 1, &weights(-0.1, 0.1, 0.0)), Some(3), "the longest wait");
        assert_eq!(better_option(&obs, 1, &weights(-0.1, 0.1, 0.3)), Some(2), "frustration too");
        assert_eq!(better_option(&obs, 1, &weights(-0.5, 0.1, 0.0)), None, "not worth a switch");
        // waiting (an idle option) is one of the others, and an option masked out is not
        let mut obs = obs;
        obs.mask[3] = false;
        assert_eq!(better_option(&obs, 1, &weights(-0.05, 0.1, 0.0)), Some(2));
        let mut idle = vec![0.0; OPTION_FEATURES];
        idle[2] = 1.0;
        assert_eq!(better_option(&obs, 1, &Advantage { weights: idle }), Some(0));
        // with every estimate zero the corrected rule is the rule
        let mut policy = Corrected::new("zero", Box::new(crate::LeastLoaded), Corrections::none());
        let mut rule = crate::LeastLoaded;
        assert_eq!(policy.act(&obs), rule.act(&obs));
    }

    #[test]
    fn corrections_that_do_not_fit_their_features_name_the_field() {
        let mut c = Corrections::none();
        assert_eq!(c.check(), Ok(()));
        c.assign.weights.pop();
        let message = c.check().unwrap_err();
        assert!(message.starts_with("assign_weights: 14 weights, expected 15"), "{message}");
        c = Corrections::none();
        c.attend.weights[4] = f64::NAN;
        assert_eq!(c.check().unwrap_err(), "attend_weights: weight frustration is not finite");
    }
}
