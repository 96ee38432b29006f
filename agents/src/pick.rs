//! Building blocks the heuristics share: finding candidates of a kind, and the deployment's
//! routing rule, so that each policy states only what makes it different.

use handoff_env::{Candidate, CandidateKind, DecisionKind, Observation, Scenario};

use crate::params::Param;

/// The index of the first valid candidate of `kind`.
pub fn first_valid(obs: &Observation, kind: CandidateKind) -> Option<usize> {
    obs.candidates.iter().zip(&obs.mask).position(|(c, &m)| m && c.kind == kind)
}

/// The valid candidates of `kind`, with their indices.
pub fn valid_of_kind(
    obs: &Observation,
    kind: CandidateKind,
) -> impl Iterator<Item = (usize, &Candidate)> + '_ {
    obs.candidates
        .iter()
        .zip(&obs.mask)
        .enumerate()
        .filter(move |(_, (c, m))| **m && c.kind == kind)
        .map(|(i, (c, _))| (i, c))
}

/// The valid candidate of `kind` with the highest `score` (ties: the lower index).
pub fn best_of_kind(
    obs: &Observation,
    kind: CandidateKind,
    mut score: impl FnMut(&Candidate) -> f64,
) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, c) in valid_of_kind(obs, kind) {
        let s = score(c);
        if best.is_none_or(|(_, b)| s > b) {
            best = Some((i, s));
        }
    }
    best.map(|(i, _)| i)
}

/// The valid held chat whose customer has waited longest (ties: the lower slot).
pub fn longest_waiting_chat(obs: &Observation) -> Option<usize> {
    best_of_kind(obs, CandidateKind::Chat, |c| f64::from(c.wait_s))
}

/// The first valid action: the fallback of every rule.
pub fn any_valid(obs: &Observation) -> usize {
    obs.mask.iter().position(|&m| m).expect("a decision has a valid action")
}

/// Routes to the least-loaded worker (candidates come least-loaded first), else the queue.
pub fn least_loaded_or_queue(obs: &Observation) -> usize {
    first_valid(obs, CandidateKind::Worker)
        .or_else(|| first_valid(obs, CandidateKind::Queue))
        .unwrap_or_else(|| any_valid(obs))
}

/// The worker who supervised the escalated chat being routed, when they have a free slot.
pub fn supervisor(obs: &Observation) -> Option<usize> {
    obs.candidates.iter().zip(&obs.mask).position(|(c, &m)| m && c.is_supervisor)
}

/// The deployment's routing: AI-eligible chats to the AI, an escalation back to its supervisor
/// when they have a free slot, else to the least-loaded other worker (a queued escalation goes
/// ahead of new chats), everything else to the least-loaded worker.
pub fn route_as_deployed(obs: &Observation) -> usize {
    debug_assert_eq!(obs.kind, DecisionKind::Route);
    if let Some(ai) = first_valid(obs, CandidateKind::Ai) {
        return ai;
    }
    if obs.chat.escalation.is_some() {
        return supervisor(obs).unwrap_or_else(|| least_loaded_or_queue(obs));
    }
    least_loaded_or_queue(obs)
}

/// Attention when nothing is urgent: the longest-waiting held chat, else write nothing now.
pub fn longest_wait_or_wait(obs: &Observation) -> usize {
    longest_waiting_chat(obs)
        .or_else(|| first_valid(obs, CandidateKind::Wait))
        .unwrap_or_else(|| any_valid(obs))
}

/// The most frustrated supervised AI chat whose frustration is at least `threshold`
/// (takeover candidates come most frustrated first).
pub fn takeover_at(obs: &Observation, threshold: f32) -> Option<usize> {
    first_valid(obs, CandidateKind::Takeover)
        .filter(|&i| obs.candidates[i].frustration >= threshold)
}

/// The `takeover_frustration` parameter: the threshold of [`takeover_at`], by default the
/// deployment's (`study_policy.takeover_frustration`).
pub fn takeover_param(scenario: &Scenario) -> Param {
    let deployed = scenario.study_policy.takeover_frustration;
    Param::real(
        "takeover_frustration",
        "a free worker takes over a supervised AI chat whose frustration has reached this; \
         above the AI's own emotional threshold takeovers all but stop",
        [0.0, deployed.max(2.0)],
        deployed,
    )
}

/// The treated workers' workflow (`study_policy.focus_s`): stay with the AI-ineligible chat
/// answered last (answer it when its customer awaits a reply, else hold) unless another customer
/// has waited longer than `focus_s` seconds. `None` when the rule does not apply.
pub fn stay_focused(obs: &Observation, focus_s: f32) -> Option<usize> {
    if focus_s <= 0.0 {
        return None;
    }
    let last = obs
        .candidates
        .iter()
        .position(|c| c.kind == CandidateKind::Chat && c.last_answered && !c.eligible)?;
    let others_waited = valid_of_kind(obs, CandidateKind::Chat)
        .filter(|&(i, _)| i != last)
        .map(|(_, c)| c.wait_s)
        .fold(0.0, f32::max);
    if others_waited > focus_s {
        return None;
    }
    if obs.mask[last] {
        return Some(last);
    }
    first_valid(obs, CandidateKind::Wait)
}

/// The deployment's assignment of queued chats: a worker with a free slot takes the longest
/// waiting of their own escalations, else the chat at the head of the queue (the order in which
/// queued chats are offered), and never keeps a slot free.
pub fn take_in_order(obs: &Observation) -> usize {
    debug_assert_eq!(obs.kind, DecisionKind::Assign);
    first_valid(obs, CandidateKind::Queued).unwrap_or_else(|| any_valid(obs))
}
