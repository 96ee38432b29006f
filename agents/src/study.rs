//! The two arms of the field experiment (arXiv:2605.14830) as dispatch policies.
//!
//! - `study-control`: workers handle every chat themselves. New chats go to the least-loaded
//!   worker with a free slot (else the queue); a worker answers the chat that has waited longest.
//! - `study-treatment`: the deployment. AI-eligible chats go to the AI; an escalated chat goes back
//!   to the worker who supervised it (queued for that worker while their slots are full); a free
//!   worker takes over a supervised AI chat whose sentiment has fallen below the threshold
//!   `study_policy.takeover_frustration` (a human-initiated intervention), and otherwise answers
//!   the chat that has waited longest.

use handoff_env::{CandidateKind, DecisionKind, Observation, Policy, Scenario};

/// The index of the first valid candidate of `kind`.
pub fn first_valid(obs: &Observation, kind: CandidateKind) -> Option<usize> {
    obs.candidates.iter().zip(&obs.mask).position(|(c, &m)| m && c.kind == kind)
}

/// The valid held chat whose customer has waited longest (ties: the lower slot).
pub fn longest_waiting_chat(obs: &Observation) -> Option<usize> {
    let mut best: Option<(usize, f32)> = None;
    for (i, (c, &m)) in obs.candidates.iter().zip(&obs.mask).enumerate() {
        if m && c.kind == CandidateKind::Chat && best.is_none_or(|(_, w)| c.wait_s > w) {
            best = Some((i, c.wait_s));
        }
    }
    best.map(|(i, _)| i)
}

/// The first valid action: the fallback of every rule.
pub fn any_valid(obs: &Observation) -> usize {
    obs.mask.iter().position(|&m| m).expect("a decision has a valid action")
}

/// Routes to the least-loaded worker (candidates come least-loaded first), else the queue.
fn least_loaded_or_queue(obs: &Observation) -> usize {
    first_valid(obs, CandidateKind::Worker)
        .or_else(|| first_valid(obs, CandidateKind::Queue))
        .unwrap_or_else(|| any_valid(obs))
}

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
            DecisionKind::Attend => longest_waiting_chat(obs)
                .or_else(|| first_valid(obs, CandidateKind::Wait))
                .unwrap_or_else(|| any_valid(obs)),
        }
    }
}

/// The treatment arm: the study's deployment of the agentic AI.
#[derive(Debug, Clone)]
pub struct StudyTreatment {
    takeover_frustration: f32,
}

impl StudyTreatment {
    /// The deployment with the takeover threshold of `scenario.study_policy`.
    pub fn new(scenario: &Scenario) -> Self {
        Self { takeover_frustration: scenario.study_policy.takeover_frustration as f32 }
    }
}

impl Policy for StudyTreatment {
    fn name(&self) -> &str {
        "study-treatment"
    }

    fn act(&mut self, obs: &Observation) -> usize {
        match obs.kind {
            DecisionKind::Route => {
                if let Some(ai) = first_valid(obs, CandidateKind::Ai) {
                    return ai;
                }
                if obs.chat.escalation.is_some() {
                    let supervisor = obs
                        .candidates
                        .iter()
                        .zip(&obs.mask)
                        .position(|(c, &m)| m && c.is_supervisor);
                    return supervisor
                        .or_else(|| first_valid(obs, CandidateKind::Queue))
                        .unwrap_or_else(|| any_valid(obs));
                }
                least_loaded_or_queue(obs)
            }
            DecisionKind::Attend => {
                // takeover candidates come most frustrated first
                let takeover = first_valid(obs, CandidateKind::Takeover)
                    .filter(|&i| obs.candidates[i].frustration >= self.takeover_frustration);
                takeover
                    .or_else(|| longest_waiting_chat(obs))
                    .or_else(|| first_valid(obs, CandidateKind::Wait))
                    .unwrap_or_else(|| any_valid(obs))
            }
        }
    }
}
