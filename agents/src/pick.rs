//! Building blocks the heuristics share: finding candidates of a kind, and the deployment's
//! routing rule, so that each policy states only what makes it different.

use handoff_env::{Candidate, CandidateKind, DecisionKind, Observation, Scenario};

use crate::params::{Param, ParamSet};

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

/// The deployment's routing: AI-eligible chats to the AI, everything else to the least-loaded
/// worker with a free slot (else the queue, where an escalation goes ahead of new chats). An
/// escalation goes back to its supervisor when they hold no more chats than the least-loaded
/// other worker: the supervisor has watched the chat, but a busier supervisor would keep the
/// escalated customer waiting behind their other chats.
pub fn route_as_deployed(obs: &Observation) -> usize {
    debug_assert_eq!(obs.kind, DecisionKind::Route);
    if let Some(ai) = first_valid(obs, CandidateKind::Ai) {
        return ai;
    }
    let Some(s) = supervisor(obs).filter(|_| obs.chat.escalation.is_some()) else {
        return least_loaded_or_queue(obs);
    };
    let other = obs
        .candidates
        .iter()
        .zip(&obs.mask)
        .position(|(c, &m)| m && c.kind == CandidateKind::Worker && !c.is_supervisor);
    match other {
        Some(o) if obs.candidates[o].load < obs.candidates[s].load => o,
        _ => s,
    }
}

/// Attention when nothing is urgent: the longest-waiting held chat, else write nothing now.
pub fn longest_wait_or_wait(obs: &Observation) -> usize {
    longest_waiting_chat(obs)
        .or_else(|| first_valid(obs, CandidateKind::Wait))
        .unwrap_or_else(|| any_valid(obs))
}

/// The takeover rule: a free worker steps into the supervised AI chat with the highest score,
/// once that score reaches `threshold`. The score is what the supervisor sees of the chat: the
/// customer's frustration (the sentiment), plus `per_unproductive` for each AI reply that did
/// not move the issue forward, plus `per_minute` for each minute the chat has spent with the AI.
/// With both weights at 0 it is the deployment as the study documents it: sentiment alone
/// (ties: the most frustrated first).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TakeoverRule {
    /// The score at which a worker takes over (`takeover_frustration`).
    pub threshold: f32,
    /// What each unproductive AI reply adds (`takeover_per_unproductive`).
    pub per_unproductive: f32,
    /// What each minute with the AI adds (`takeover_per_minute`).
    pub per_minute: f32,
}

/// What made a takeover: the customer's sentiment alone reached the threshold, or the AI's lack
/// of progress (its stalled replies, its time on the chat) was needed to reach it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TakeoverTrigger {
    /// The frustration alone reached the threshold.
    Sentiment,
    /// The progress terms were needed.
    Progress,
}

impl TakeoverRule {
    /// The deployment's rule, `scenario.study_policy`'s.
    pub fn deployed(scenario: &Scenario) -> Self {
        let p = &scenario.study_policy;
        Self {
            threshold: p.takeover_frustration as f32,
            per_unproductive: p.takeover_per_unproductive as f32,
            per_minute: p.takeover_per_minute as f32,
        }
    }

    /// The rule's three parameters, by default the deployment's (`study_policy`).
    pub fn params(scenario: &Scenario) -> Vec<Param> {
        let p = &scenario.study_policy;
        vec![
            Param::real(
                "takeover_frustration",
                "a free worker takes over a supervised AI chat whose takeover score (the \
                 customer's frustration plus the two terms below) has reached this; above the \
                 AI's own emotional threshold takeovers all but stop",
                [0.0, p.takeover_frustration.max(2.0)],
                p.takeover_frustration,
            ),
            Param::real(
                "takeover_per_unproductive",
                "what each AI reply that did not move the issue adds to the takeover score, in \
                 units of frustration (0: sentiment alone)",
                [0.0, p.takeover_per_unproductive.max(1.0)],
                p.takeover_per_unproductive,
            ),
            Param::real(
                "takeover_per_minute",
                "what each minute with the AI adds to the takeover score, in units of \
                 frustration (0: sentiment alone)",
                [0.0, p.takeover_per_minute.max(0.5)],
                p.takeover_per_minute,
            ),
        ]
    }

    /// The rule with the parameters of [`TakeoverRule::params`] in `set`.
    pub fn with(set: &ParamSet) -> Self {
        Self {
            threshold: set.value("takeover_frustration") as f32,
            per_unproductive: set.value("takeover_per_unproductive") as f32,
            per_minute: set.value("takeover_per_minute") as f32,
        }
    }

    /// The takeover score of a supervised AI chat.
    pub fn score(&self, c: &Candidate) -> f32 {
        c.frustration + self.per_unproductive * c.ai_unproductive + self.per_minute * c.age_s / 60.0
    }

    /// The supervised AI chat to take over, if any scores at least the threshold.
    pub fn pick(&self, obs: &Observation) -> Option<usize> {
        let best = if self.per_unproductive == 0.0 && self.per_minute == 0.0 {
            // sentiment alone: the simulator offers takeovers most frustrated first, so the
            // first is the best (the same choice as scoring them all, without the scan)
            first_valid(obs, CandidateKind::Takeover)
        } else {
            best_of_kind(obs, CandidateKind::Takeover, |c| f64::from(self.score(c)))
        };
        best.filter(|&i| self.score(&obs.candidates[i]) >= self.threshold)
    }

    /// What made the takeover of `c`.
    pub fn trigger(&self, c: &Candidate) -> TakeoverTrigger {
        if c.frustration >= self.threshold {
            TakeoverTrigger::Sentiment
        } else {
            TakeoverTrigger::Progress
        }
    }
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

/// A route decision for tests: the AI (masked), the queue, then `workers` (each made a worker
/// candidate numbered by its place), as the simulator offers them.
#[cfg(test)]
pub(crate) fn route_to(workers: impl ExactSizeIterator<Item = Candidate>) -> Observation {
    let mut obs = Observation::new(2 + workers.len());
    obs.kind = DecisionKind::Route;
    obs.candidates[0].kind = CandidateKind::Ai;
    obs.candidates[1].kind = CandidateKind::Queue;
    obs.mask[1] = true;
    for (i, c) in workers.enumerate() {
        obs.candidates[2 + i] = Candidate { kind: CandidateKind::Worker, worker: i as u32, ..c };
        obs.mask[2 + i] = true;
    }
    obs
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An attend decision: waiting, then supervised AI chats (frustration, unproductive AI
    /// replies, minutes with the AI), most frustrated first as the simulator offers them.
    fn attend(takeovers: &[(f32, f32, f32)]) -> Observation {
        let mut obs = Observation::new(1 + takeovers.len());
        obs.kind = DecisionKind::Attend;
        obs.candidates[0].kind = CandidateKind::Wait;
        obs.mask[0] = true;
        for (i, &(frustration, unproductive, minutes)) in takeovers.iter().enumerate() {
            obs.candidates[1 + i] = Candidate {
                kind: CandidateKind::Takeover,
                frustration,
                ai_unproductive: unproductive,
                age_s: 60.0 * minutes,
                ..Candidate::default()
            };
            obs.mask[1 + i] = true;
        }
        obs
    }

    const SENTIMENT: TakeoverRule =
        TakeoverRule { threshold: 0.5, per_unproductive: 0.0, per_minute: 0.0 };

    /// A route decision for an escalated chat: the AI (masked), the queue, then workers by load
    /// (`(load, is_supervisor)`), the supervisor first as the simulator offers them.
    fn route_escalation(workers: &[(f32, bool)]) -> Observation {
        let mut obs = route_to(workers.iter().map(|&(load, is_supervisor)| Candidate {
            load,
            is_supervisor,
            ..Candidate::default()
        }));
        obs.chat.escalation = Some(handoff_env::Escalation::Technical);
        obs
    }

    #[test]
    fn an_escalation_goes_to_its_supervisor_unless_another_worker_holds_fewer_chats() {
        // the supervisor holds no more than the least-loaded other worker: back to them
        assert_eq!(route_as_deployed(&route_escalation(&[(0.25, true), (0.25, false)])), 2);
        assert_eq!(route_as_deployed(&route_escalation(&[(0.0, true), (0.25, false)])), 2);
        // a busier supervisor: the least-loaded other worker
        assert_eq!(route_as_deployed(&route_escalation(&[(0.75, true), (0.25, false)])), 3);
        // no supervisor with a free slot: the least-loaded worker, else the queue
        assert_eq!(route_as_deployed(&route_escalation(&[(0.5, false)])), 2);
        assert_eq!(route_as_deployed(&route_escalation(&[])), 1);
        // a new chat never looks for a supervisor
        let mut new_chat = route_escalation(&[(0.75, true), (0.25, false)]);
        new_chat.chat.escalation = None;
        assert_eq!(route_as_deployed(&new_chat), 2);
    }

    #[test]
    fn sentiment_alone_takes_the_most_frustrated_chat_at_the_threshold() {
        let obs = attend(&[(0.6, 0.0, 1.0), (0.55, 3.0, 9.0), (0.2, 2.0, 2.0)]);
        assert_eq!(SENTIMENT.pick(&obs), Some(1));
        assert_eq!(SENTIMENT.trigger(&obs.candidates[1]), TakeoverTrigger::Sentiment);
        let calm = attend(&[(0.49, 5.0, 30.0)]);
        assert_eq!(SENTIMENT.pick(&calm), None, "below the threshold, however stalled");
        let mut masked = obs.clone();
        masked.mask[1] = false;
        assert_eq!(SENTIMENT.pick(&masked), Some(2), "the next valid one");
    }

    #[test]
    fn the_ais_lack_of_progress_brings_a_calm_chat_to_a_takeover() {
        let rule = TakeoverRule { per_unproductive: 0.2, per_minute: 0.05, ..SENTIMENT };
        // 0.2 + 2 x 0.2 + 3 x 0.05 = 0.75 against 0.45 + 0 + 0.05 = 0.5
        let obs = attend(&[(0.45, 0.0, 1.0), (0.2, 2.0, 3.0)]);
        assert_eq!(rule.pick(&obs), Some(2));
        assert_eq!(rule.trigger(&obs.candidates[2]), TakeoverTrigger::Progress);
        assert!((rule.score(&obs.candidates[2]) - 0.75).abs() < 1e-6);
        assert_eq!(rule.pick(&attend(&[(0.2, 1.0, 1.0)])), None, "0.45 is short of 0.5");
    }

    #[test]
    fn the_rules_parameters_default_to_the_deployment_and_set_it() {
        let mut scenario = Scenario::builtin("small").unwrap();
        scenario.study_policy.takeover_per_unproductive = 0.3;
        let mut set = ParamSet::defaults("test", TakeoverRule::params(&scenario));
        assert_eq!(TakeoverRule::with(&set), TakeoverRule::deployed(&scenario));
        set.set("takeover_per_minute", 0.1).unwrap();
        assert_eq!(TakeoverRule::with(&set).per_minute, 0.1);
        assert!(set.set("takeover_per_unproductive", -0.1).is_err());
    }
}
