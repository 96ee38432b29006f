//! # handoff-agents
//!
//! Dispatch policies for the handoff environment: the two arms of the field experiment
//! (arXiv:2605.14830) and the heuristic baselines researchers compare against ([`POLICIES`]).
//! Every policy implements [`handoff_env::Policy`] and reads only the
//! [`handoff_env::Observation`], as a learned policy would.
//!
//! ```
//! use handoff_agents::by_name;
//! use handoff_env::{Scenario, runner, sim::Simulator};
//!
//! let scenario = Scenario::builtin("small").unwrap();
//! let mut policy = by_name("study-treatment", &scenario).unwrap();
//! let mut sim = Simulator::new(scenario);
//! let mut escalated = 0;
//! let counters = runner::run(&mut sim, 1, policy.as_mut(), |chat| {
//!     escalated += usize::from(chat.escalation.is_some());
//! });
//! assert_eq!(counters.arrived, counters.completed);
//! assert!(escalated > 0);
//! ```

pub mod c_mu;
pub mod early_takeover;
pub mod emotion_first;
pub mod learned;
pub mod least_loaded;
pub mod longest_wait;
pub mod net;
pub mod pick;
pub mod random;
pub mod round_robin;
pub mod study;

use handoff_env::{Policy, Scenario};

pub use c_mu::CMu;
pub use early_takeover::EarlyTakeover;
pub use emotion_first::EmotionFirst;
pub use learned::LearnedPolicy;
pub use least_loaded::LeastLoaded;
pub use longest_wait::LongestWaitFirst;
pub use random::RandomPolicy;
pub use round_robin::RoundRobin;
pub use study::{StudyControl, StudyTreatment};

/// The built-in policies: (name, one-line description). Each module documents its source.
pub const POLICIES: &[(&str, &str)] = &[
    ("study-control", "the study's control arm: humans handle every chat, longest wait first"),
    (
        "study-treatment",
        "the study's deployment: eligible chats to the AI, escalations back to the supervisor, \
         takeover when sentiment falls",
    ),
    ("random", "a uniformly random valid action"),
    ("round-robin", "workers in turn for human chats; each worker answers their chats in turn"),
    (
        "least-loaded",
        "every human chat, escalations too, to the worker holding fewest chats; longest wait first",
    ),
    ("longest-wait-first", "the deployment without takeovers: always the longest-waiting customer"),
    (
        "emotion-first",
        "emotional escalations first, to the least-loaded worker; then the most frustrated customer",
    ),
    ("early-takeover", "the deployment, taking over AI chats halfway to its sentiment threshold"),
    (
        "c-mu",
        "answer the chat with the highest cost of waiting times rate of finishing (c-mu rule)",
    ),
];

/// A built-in policy by name, configured from `scenario`.
pub fn by_name(name: &str, scenario: &Scenario) -> Option<Box<dyn Policy>> {
    let policy: Box<dyn Policy> = match name {
        "study-control" => Box::new(StudyControl),
        "study-treatment" => Box::new(StudyTreatment::new(scenario)),
        "random" => Box::new(RandomPolicy::default()),
        "round-robin" => Box::new(RoundRobin::default()),
        "least-loaded" => Box::new(LeastLoaded),
        "longest-wait-first" => Box::new(LongestWaitFirst),
        "emotion-first" => Box::new(EmotionFirst::new(scenario)),
        "early-takeover" => Box::new(EarlyTakeover::new(scenario)),
        "c-mu" => Box::new(CMu::new(scenario)),
        _ => return None,
    };
    Some(policy)
}

/// An environment on `scenario` whose uncontrolled decisions are made by the policy the
/// scenario names in `env.fallback_policy` (validated when the scenario was loaded).
pub fn make_env(scenario: Scenario) -> handoff_env::HandoffEnv {
    let fallback = by_name(&scenario.env.fallback_policy, &scenario)
        .expect("scenario validation admits only built-in fallback policies");
    handoff_env::HandoffEnv::new(scenario, fallback)
}

#[cfg(test)]
mod tests {
    use super::*;
    use handoff_env::scenario::FALLBACK_POLICY_NAMES;

    #[test]
    fn every_fallback_name_a_scenario_may_use_is_built_in() {
        let scenario = Scenario::default();
        for name in FALLBACK_POLICY_NAMES {
            let policy = by_name(name, &scenario).unwrap_or_else(|| panic!("{name} is missing"));
            assert_eq!(policy.name(), *name);
        }
        for (name, _) in POLICIES {
            let policy = by_name(name, &scenario).unwrap_or_else(|| panic!("{name} is missing"));
            assert_eq!(policy.name(), *name);
            assert!(FALLBACK_POLICY_NAMES.contains(name), "{name} cannot be a fallback");
        }
        assert!(by_name("oracle", &scenario).is_none());
    }
}
