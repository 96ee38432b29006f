//! Running a whole simulation with one policy for every decision.

use crate::outcome::ChatRecord;
use crate::policy::Policy;
use crate::rng;
use crate::sim::{SimCounters, Simulator};

/// Runs `sim` from `seed` to the end with `policy` making every decision, handing each completed
/// chat to `on_chat`. Returns the run's counters.
pub fn run(
    sim: &mut Simulator,
    seed: u64,
    policy: &mut dyn Policy,
    on_chat: impl FnMut(&ChatRecord),
) -> SimCounters {
    run_observed(sim, seed, policy, on_chat, |_, _| {})
}

/// [`run`], also showing `on_decision` the simulator at each decision (its observation is the
/// decision's) with the action the policy chose, before the action is applied.
pub fn run_observed(
    sim: &mut Simulator,
    seed: u64,
    policy: &mut dyn Policy,
    mut on_chat: impl FnMut(&ChatRecord),
    mut on_decision: impl FnMut(&Simulator, usize),
) -> SimCounters {
    sim.reset(seed);
    policy.reset(rng::policy_seed(seed));
    loop {
        let more = sim.advance();
        sim.completed().iter().for_each(&mut on_chat);
        sim.clear_completed();
        if !more {
            return sim.counters();
        }
        let action = policy.act(sim.observation());
        on_decision(sim, action);
        if let Err(e) = sim.apply(action) {
            panic!("policy {} chose an invalid action: {e}", policy.name());
        }
    }
}
