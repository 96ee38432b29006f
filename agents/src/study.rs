//! The two arms of the field experiment (arXiv:2605.14830) as dispatch policies.
//!
//! - `study-control`: workers handle every chat themselves. New chats go to the least-loaded
//!   worker with a free slot (else the queue); a worker answers the chat that has waited longest.
//! - `study-treatment`: the deployment. AI-eligible chats go to the AI; an escalated chat goes back
//!   to the worker who supervised it unless another worker holds fewer chats (then to the
//!   least-loaded one); a free worker takes over a supervised AI chat whose takeover score (its sentiment,
//!   and the AI's stalled replies and time on it when `study_policy` weighs them:
//!   [`TakeoverRule`]) has reached `study_policy.takeover_frustration` (a human-initiated
//!   intervention). Otherwise the
//!   treated workers' adapted workflow (`study_policy.focus_s`, see [`stay_focused`]): stay with
//!   the AI-ineligible chat answered last unless another customer has waited too long, else
//!   answer the chat that has waited longest.

use handoff_env::{DecisionKind, Observation, Policy, Scenario};

use crate::params::{Param, ParamSet};
use crate::pick::{
    TakeoverRule, least_loaded_or_queue, longest_wait_or_wait, route_as_deployed, stay_focused,
    take_in_order,
};

/// The study's two arms: (arm name, policy name).
pub const STUDY_ARMS: [(&str, &str); 2] =
    [("control", "study-control"), ("treatment", "study-treatment")];

/// The control arm: humans handle everything.
#[derive(Debug, Clone, Default)]
pub struct StudyControl;

impl Policy for StudyControl {
    fn name(&self) -> &str {
        "study-control"
    }

    fn act(&mut self, obs: &Observation) -> usize {
        match obs.kind {
            DecisionKind::Route => least_loaded_or_queue(obs),
            DecisionKind::Attend => longest_wait_or_wait(obs),
            DecisionKind::Assign => take_in_order(obs),
        }
    }
}

/// The treatment arm: the study's deployment of the agentic AI.
#[derive(Debug, Clone)]
pub struct StudyTreatment {
    takeover: TakeoverRule,
    focus_s: f32,
}

impl StudyTreatment {
    /// The takeover rule and the workflow's `focus_s`, by default those of
    /// `scenario.study_policy` (the concurrency limit is added by the registry).
    pub fn params(scenario: &Scenario) -> Vec<Param> {
        let focus_s = scenario.study_policy.focus_s;
        let mut params = TakeoverRule::params(scenario);
        params.push(Param::real(
            "focus_s",
            "stay with the AI-ineligible chat answered last unless another customer has \
                 waited this long, seconds (0: off; holding needs env.hold_s > 0)",
            [0.0, focus_s.max(600.0)],
            focus_s,
        ));
        params
    }

    /// The deployment with the takeover threshold and workflow of `scenario.study_policy`.
    pub fn new(scenario: &Scenario) -> Self {
        Self::with(&ParamSet::defaults("study-treatment", Self::params(scenario)))
    }

    /// The deployment with the parameters in `set`.
    pub fn with(set: &ParamSet) -> Self {
        Self { takeover: TakeoverRule::with(set), focus_s: set.value("focus_s") as f32 }
    }
}

impl Policy for StudyTreatment {
    fn name(&self) -> &str {
        "study-treatment"
    }

    fn act(&mut self, obs: &Observation) -> usize {
        match obs.kind {
            DecisionKind::Route => route_as_deployed(obs),
            DecisionKind::Attend => self
                .takeover
                .pick(obs)
                .or_else(|| stay_focused(obs, self.focus_s))
                .unwrap_or_else(|| longest_wait_or_wait(obs)),
            DecisionKind::Assign => take_in_order(obs),
        }
    }
}
