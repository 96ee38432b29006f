//! `least-loaded`: join the shortest queue, the classic load-balancing rule (Winston 1977,
//! "Optimality of the shortest line discipline"), with a worker's load being the chats they hold.
//!
//! AI-eligible chats go to the AI as deployed; every other chat, escalations included, goes to
//! the worker holding the fewest chats (the supervisor on a tie), rather than back to a busy
//! supervisor as deployed. Workers answer the longest-waiting chat and never step into an AI chat
//! of their own accord.

use handoff_env::{CandidateKind, DecisionKind, Observation, Policy};

use crate::pick::{any_valid, best_of_kind, first_valid, longest_wait_or_wait, take_in_order};

/// The offered worker holding the fewest chats (ties: the supervisor, who is offered first).
pub fn least_loaded_worker(obs: &Observation) -> Option<usize> {
    best_of_kind(obs, CandidateKind::Worker, |c| -f64::from(c.load))
}

/// AI for eligible chats, otherwise the least-loaded worker, else the queue.
pub fn route_least_loaded(obs: &Observation) -> usize {
    route_least_loaded_calm_to_ai(obs, f32::INFINITY)
}

/// AI for eligible chats whose customer's frustration is at most `ai_limit`, otherwise the
/// least-loaded worker, else the queue.
pub fn route_least_loaded_calm_to_ai(obs: &Observation, ai_limit: f32) -> usize {
    first_valid(obs, CandidateKind::Ai)
        .filter(|_| obs.chat.frustration <= ai_limit)
        .or_else(|| least_loaded_worker(obs))
        .or_else(|| first_valid(obs, CandidateKind::Queue))
        .unwrap_or_else(|| any_valid(obs))
}

/// Least-loaded routing for every human chat.
#[derive(Debug, Clone, Default)]
pub struct LeastLoaded;

impl Policy for LeastLoaded {
    fn name(&self) -> &str {
        "least-loaded"
    }

    fn act(&mut self, obs: &Observation) -> usize {
        match obs.kind {
            DecisionKind::Route => route_least_loaded(obs),
            DecisionKind::Attend => longest_wait_or_wait(obs),
            DecisionKind::Assign => take_in_order(obs),
        }
    }
}
