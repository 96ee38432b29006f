//! What the learning agent controls, and the study's own deployment policy.

use serde::{Deserialize, Serialize};

use super::HOUR_S;
use super::validate::Validator;
use crate::error::ScenarioError;

/// The kinds of decision an agent can control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DecisionKind {
    /// A chat arrives or is escalated: to the AI, to the queue, or to which worker.
    Route,
    /// A worker is ready to write: which chat to answer, which AI chat to take over, or (with
    /// `env.hold_s`) to hold a moment.
    Attend,
    /// A worker has a free slot while chats are queued: which queued chat to take, or none.
    Assign,
}

impl DecisionKind {
    /// Every kind, in the order of the observation's kind flags.
    pub const ALL: [DecisionKind; 3] =
        [DecisionKind::Route, DecisionKind::Attend, DecisionKind::Assign];

    /// The name scenario files and the command line use.
    pub fn label(self) -> &'static str {
        match self {
            DecisionKind::Route => "route",
            DecisionKind::Attend => "attend",
            DecisionKind::Assign => "assign",
        }
    }
}

impl std::str::FromStr for DecisionKind {
    type Err = String;

    /// Reads `route`, `attend` or `assign`, as scenario files and the command line write them.
    fn from_str(name: &str) -> Result<Self, String> {
        DecisionKind::ALL
            .into_iter()
            .find(|k| k.label() == name)
            .ok_or_else(|| format!("\"{name}\" is not a decision kind (route, attend, assign)"))
    }
}

/// Environment settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnvConfig {
    /// Decision kinds the agent controls; the others are made by `fallback_policy`.
    pub control: Vec<DecisionKind>,
    /// Built-in policy for the decisions the agent does not control (checked where the
    /// environment is built, `handoff_agents::make_env`: the policies live there).
    pub fallback_policy: String,
    /// Size of the candidate set (the discrete action space).
    pub candidates: u32,
    /// Agent steps after which an episode is truncated (0: never).
    pub max_steps: u64,
    /// Seconds a worker may hold, writing nothing while customers await a reply, before being
    /// asked again (0: no holding; 'wait' is then offered only when nobody awaits a reply).
    pub hold_s: f64,
}

impl Default for EnvConfig {
    fn default() -> Self {
        Self {
            control: vec![DecisionKind::Route, DecisionKind::Attend],
            fallback_policy: "study-treatment".into(),
            candidates: 8,
            max_steps: 0,
            hold_s: 0.0,
        }
    }
}

impl EnvConfig {
    /// Checks the candidate count against the workers' `cap` (wait, every held chat and a
    /// takeover) and the hold time.
    pub(super) fn validate(&self, v: &mut Validator<'_>, cap: u32) -> Result<(), ScenarioError> {
        let min_candidates = cap + 2;
        v.range("env.candidates", f64::from(self.candidates), f64::from(min_candidates), 256.0)?;
        v.range("env.hold_s", self.hold_s, 0.0, HOUR_S)?;
        Ok(())
    }
}

/// Parameters of the study's deployment policy (`study-treatment`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StudyPolicy {
    /// The takeover score of an AI chat at which its supervising worker, when free, takes it
    /// over: the customer's frustration, plus the two terms below (the takeover rule,
    /// `handoff_agents::pick::TakeoverRule`).
    pub takeover_frustration: f64,
    /// What each AI reply that did not move the issue forward adds to the takeover score, in
    /// units of frustration: a supervisor who sees the AI stall steps in before the customer is
    /// upset. 0 (the default): sentiment alone.
    pub takeover_per_unproductive: f64,
    /// What each minute the chat has spent with the AI adds to the takeover score, in units of
    /// frustration. 0 (the default): sentiment alone.
    pub takeover_per_minute: f64,
    /// The treated workers' adapted workflow (arXiv:2605.14830: supervising the AI, they
    /// switched away from AI-ineligible chats less often): a worker stays with the AI-ineligible
    /// chat they answered last, answering it or holding until its customer writes, unless another
    /// customer has waited longer than this many seconds. 0 turns the adaptation off (needs
    /// `env.hold_s` > 0 to hold).
    pub focus_s: f64,
}

impl Default for StudyPolicy {
    fn default() -> Self {
        Self {
            takeover_frustration: 0.7,
            takeover_per_unproductive: 0.0,
            takeover_per_minute: 0.0,
            focus_s: 0.0,
        }
    }
}

impl StudyPolicy {
    /// Checks every value of this section against its allowed range.
    pub(super) fn validate(&self, v: &mut Validator<'_>) -> Result<(), ScenarioError> {
        v.range("study_policy.takeover_frustration", self.takeover_frustration, 0.0, 100.0)?;
        v.range(
            "study_policy.takeover_per_unproductive",
            self.takeover_per_unproductive,
            0.0,
            10.0,
        )?;
        v.range("study_policy.takeover_per_minute", self.takeover_per_minute, 0.0, 10.0)?;
        v.range("study_policy.focus_s", self.focus_s, 0.0, HOUR_S)?;
        Ok(())
    }
}
