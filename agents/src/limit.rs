//! A concurrency limit any heuristic can take (`max_chats`): a worker holds at most that many
//! chats at once, below the scenario's cap. Routing offers only workers under the limit (else the
//! chat queues), and a worker at the limit passes on queued chats until one of theirs ends.
//! A worker at the limit takes no AI chat over either. Fewer concurrent chats mean faster replies
//! (the multitasking cost) and more waiting in the queue: the trade-off a centre sets with its
//! concurrency limit.

use handoff_env::{CandidateKind, DecisionKind, Observation, Policy, Scenario};

use crate::params::Param;
use crate::pick::first_valid;

/// The `max_chats` parameter for `scenario`: 1 to the cap, default the cap (no limit).
pub fn max_chats_param(scenario: &Scenario) -> Param {
    let cap = f64::from(scenario.workers.cap);
    Param::integer(
        "max_chats",
        "most chats a worker holds at once; the scenario's cap means no limit",
        [1.0, cap],
        cap,
    )
}

/// Chats a worker holds, from a candidate's `load` (held chats over the cap).
fn held(load: f32, cap: u32) -> u32 {
    (load * cap as f32).round() as u32
}

/// `inner` with workers held to `max_chats` chats at once.
#[derive(Clone)]
pub struct ConcurrencyLimit {
    inner: Box<dyn Policy>,
    max_chats: u32,
    cap: u32,
    /// The observation with what the limit forbids masked out, reused between decisions.
    filtered: Option<Observation>,
}

impl ConcurrencyLimit {
    /// Wraps `inner`; a limit at or above the scenario's cap returns `inner` unchanged.
    pub fn wrap(inner: Box<dyn Policy>, max_chats: u32, scenario: &Scenario) -> Box<dyn Policy> {
        let cap = scenario.workers.cap;
        if max_chats >= cap {
            return inner;
        }
        Box::new(Self { inner, max_chats, cap, filtered: None })
    }
}

impl Policy for ConcurrencyLimit {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn reset(&mut self, seed: u64) {
        self.inner.reset(seed);
    }

    fn act(&mut self, obs: &Observation) -> usize {
        let at_limit = |load: f32| held(load, self.cap) >= self.max_chats;
        match obs.kind {
            DecisionKind::Assign if at_limit(obs.worker.load) => {
                first_valid(obs, CandidateKind::Pass).unwrap_or_else(|| self.inner.act(obs))
            }
            DecisionKind::Assign => self.inner.act(obs),
            DecisionKind::Attend if !at_limit(obs.worker.load) => self.inner.act(obs),
            DecisionKind::Route | DecisionKind::Attend => {
                // routing: workers at the limit are not offered; attention: a worker at the
                // limit takes nothing over
                let filtered = self.filtered.get_or_insert_with(|| obs.clone());
                filtered.clone_from(obs);
                for (c, m) in filtered.candidates.iter().zip(filtered.mask.iter_mut()) {
                    let over = match c.kind {
                        CandidateKind::Worker => at_limit(c.load),
                        CandidateKind::Takeover => true,
                        _ => false,
                    };
                    *m &= !over;
                }
                if filtered.mask.iter().any(|&m| m) {
                    self.inner.act(filtered)
                } else {
                    self.inner.act(obs)
                }
            }
        }
    }
}
