//! A tie-break any heuristic that routes to workers can take (`quickest_first`): of the equally
//! loaded workers on offer, the chat goes to the one whose replies have been quickest so far in
//! the episode ([`handoff_env::Candidate::reply_time_ratio`], what a dispatcher learns by
//! watching), instead of the first the simulator lists. It is the structure the rollout learner
//! finds on the study's centre (docs/rollout.md), written as a rule, so that a learner is
//! measured against a bar that has it.

use handoff_env::{Observation, Policy};

use crate::corrected::quicker_peer;
use crate::params::Param;

/// The `quickest_first` parameter: 1 takes the quickest of the equally loaded workers, 0 (the
/// default) the rule's own choice.
pub fn quickest_first_param() -> Param {
    Param::integer(
        "quickest_first",
        "1: of equally loaded workers, route to the one whose replies have been quickest so \
         far; 0: the rule's own choice",
        [0.0, 1.0],
        0.0,
    )
}

/// `inner` with the quickest-first tie-break among equally loaded workers.
#[derive(Clone)]
pub struct QuickestFirst {
    inner: Box<dyn Policy>,
}

impl QuickestFirst {
    /// Wraps `inner` when `on`; otherwise returns it unchanged.
    pub fn wrap(inner: Box<dyn Policy>, on: bool) -> Box<dyn Policy> {
        if on { Box::new(Self { inner }) } else { inner }
    }
}

impl Policy for QuickestFirst {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn reset(&mut self, seed: u64) {
        self.inner.reset(seed);
    }

    fn act(&mut self, obs: &Observation) -> usize {
        let chosen = self.inner.act(obs);
        quicker_peer(obs, chosen).unwrap_or(chosen)
    }
}

#[cfg(test)]
mod tests {
    use handoff_env::{Candidate, Scenario};

    use super::*;
    use crate::by_name;
    use crate::pick::route_to;
    use crate::spec::resolve;

    /// A route decision with workers `(load, reply_time_ratio)`, listed as the simulator lists
    /// them (least loaded first).
    fn route(workers: &[(f32, f32)]) -> Observation {
        route_to(workers.iter().map(|&(load, reply_time_ratio)| Candidate {
            load,
            reply_time_ratio,
            ..Candidate::default()
        }))
    }

    #[test]
    fn the_chat_goes_to_the_quickest_of_the_equally_loaded_workers_and_nowhere_else() {
        let scenario = Scenario::builtin("small").unwrap();
        let mut plain = by_name("least-loaded", &scenario).unwrap();
        let mut quick = resolve("least-loaded@quickest_first=1", &scenario).unwrap();
        let obs = route(&[(0.25, 1.3), (0.25, 0.8), (0.25, 1.0), (0.5, 0.5)]);
        // the rule takes the first listed; of the equally loaded, the quickest is the second (the
        // quickest of all holds more chats)
        assert_eq!(plain.act(&obs), 2);
        assert_eq!(quick.act(&obs), 3);
        // a quicker worker who holds more chats is no peer
        let obs = route(&[(0.25, 1.3), (0.5, 0.5)]);
        assert_eq!(quick.act(&obs), 2);
        // nothing quicker: the rule's choice
        let obs = route(&[(0.25, 0.9), (0.25, 1.1)]);
        assert_eq!(quick.act(&obs), 2);
    }
}
