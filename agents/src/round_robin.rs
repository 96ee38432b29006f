//! `round-robin`: the textbook even-share rule of call-centre routing (Gans, Koole and
//! Mandelbaum 2003, "Telephone call centers", M&SOM): each human chat goes to the next worker in
//! turn, and each worker answers their chats in turn.
//!
//! AI-eligible chats go to the AI as deployed. Workers are taken in cyclic order of their ids
//! among those with a free slot (else the queue), escalations included. A worker answers the
//! first waiting chat after the one answered last, in the order the chats were taken on, and
//! never steps into an AI chat of their own accord.

use handoff_env::{CandidateKind, DecisionKind, Observation, Policy};

use crate::pick::{any_valid, first_valid, take_in_order, valid_of_kind};

/// Cyclic routing and cyclic attention.
#[derive(Debug, Clone, Default)]
pub struct RoundRobin {
    next_worker: u32,
}

impl RoundRobin {
    fn route(&mut self, obs: &Observation) -> usize {
        if let Some(ai) = first_valid(obs, CandidateKind::Ai) {
            return ai;
        }
        // the offered worker whose id comes next in cyclic order from `next_worker`
        let next = self.next_worker;
        let chosen = valid_of_kind(obs, CandidateKind::Worker)
            .min_by_key(|(_, c)| (c.worker < next, c.worker))
            .map(|(i, c)| (i, c.worker));
        match chosen {
            Some((i, worker)) => {
                self.next_worker = worker + 1;
                i
            }
            None => first_valid(obs, CandidateKind::Queue).unwrap_or_else(|| any_valid(obs)),
        }
    }

    fn attend(obs: &Observation) -> usize {
        let held = |i: &usize| obs.candidates[*i].kind == CandidateKind::Chat;
        let n = obs.candidates.len();
        let last = (0..n).filter(held).find(|&i| obs.candidates[i].last_answered);
        let start = last.map_or(0, |i| i + 1);
        (0..n)
            .map(|k| (start + k) % n)
            .find(|&i| obs.mask[i] && obs.candidates[i].kind == CandidateKind::Chat)
            .or_else(|| first_valid(obs, CandidateKind::Wait))
            .unwrap_or_else(|| any_valid(obs))
    }
}

impl Policy for RoundRobin {
    fn name(&self) -> &str {
        "round-robin"
    }

    fn reset(&mut self, _seed: u64) {
        self.next_worker = 0;
    }

    fn act(&mut self, obs: &Observation) -> usize {
        match obs.kind {
            DecisionKind::Route => self.route(obs),
            DecisionKind::Attend => Self::attend(obs),
            DecisionKind::Assign => take_in_order(obs),
        }
    }
}
