//! # handoff-agents
//!
//! Dispatch policies for the handoff environment: the two arms of the field experiment
//! (arXiv:2605.14830) and the heuristic baselines researchers compare against ([`POLICIES`]).
//! Every policy implements [`handoff_env::Policy`] and reads only the
//! [`handoff_env::Observation`], as a learned policy would.
//!
//! ```
//! use handoff_agents::by_name;
//! use handoff_env::{Scenario, Simulator};
//!
//! let scenario = Scenario::builtin("small").unwrap();
//! let mut policy = by_name("study-treatment", &scenario).unwrap();
//! let mut sim = Simulator::new(scenario);
//! let mut escalated = 0;
//! let counters = handoff_env::run(&mut sim, 1, policy.as_mut(), |chat| {
//!     escalated += usize::from(chat.escalation.is_some());
//! });
//! assert_eq!(counters.arrived, counters.completed);
//! assert!(escalated > 0);
//! ```

pub mod burn_rl;
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

use handoff_env::{ChatRecord, HandoffEnv, Policy, Scenario, ScenarioError};
use handoff_env::{SimCounters, Simulator};

pub use c_mu::CMu;
pub use early_takeover::EarlyTakeover;
pub use emotion_first::EmotionFirst;
pub use learned::LearnedPolicy;
pub use least_loaded::LeastLoaded;
pub use longest_wait::LongestWaitFirst;
pub use random::RandomPolicy;
pub use round_robin::RoundRobin;
pub use study::{STUDY_ARMS, StudyControl, StudyTreatment};

/// The built-in policies: (name, one-line description). Each module documents its source.
pub const POLICIES: &[(&str, &str)] = &[
    ("study-control", "the study's control arm: humans handle every chat, longest wait first"),
    (
        "study-treatment",
        "the study's deployment: eligible chats to the AI, escalations back to the supervisor, \
         takeover when an AI chat's sentiment falls below study_policy.takeover_frustration",
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

/// Checks that the policy `scenario` names in `env.fallback_policy` is built in; the error names
/// `source` (the scenario's file) and the field, as a scenario's own validation does.
pub fn check_fallback(scenario: &Scenario, source: &str) -> Result<(), ScenarioError> {
    let name = &scenario.env.fallback_policy;
    if POLICIES.iter().any(|(n, _)| n == name) {
        return Ok(());
    }
    let known: Vec<&str> = POLICIES.iter().map(|(n, _)| *n).collect();
    Err(ScenarioError::Invalid {
        source_name: source.to_string(),
        field: "env.fallback_policy".to_string(),
        message: format!("\"{name}\" is not a built-in policy (allowed: {})", known.join(", ")),
    })
}

/// An environment on `scenario` whose uncontrolled decisions are made by the policy the
/// scenario names in `env.fallback_policy`; an error when that is not a built-in policy.
pub fn make_env(scenario: Scenario) -> Result<HandoffEnv, ScenarioError> {
    check_fallback(&scenario, &scenario.name)?;
    let fallback = by_name(&scenario.env.fallback_policy, &scenario).expect("checked above");
    Ok(HandoffEnv::new(scenario, fallback))
}

/// Runs the built-in policy `policy` for every decision of a whole simulation of `scenario` from
/// `seed`, handing each completed chat to `on_chat`; `None` when no policy has that name.
pub fn run_builtin(
    scenario: &Scenario,
    seed: u64,
    policy: &str,
    on_chat: impl FnMut(&ChatRecord),
) -> Option<SimCounters> {
    let mut policy = by_name(policy, scenario)?;
    let mut sim = Simulator::new(scenario.clone());
    Some(handoff_env::run(&mut sim, seed, policy.as_mut(), on_chat))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_policy_is_built_in_and_may_be_a_fallback() {
        let mut scenario = Scenario::default();
        for (name, _) in POLICIES {
            let policy = by_name(name, &scenario).unwrap_or_else(|| panic!("{name} is missing"));
            assert_eq!(policy.name(), *name);
            scenario.env.fallback_policy = (*name).to_string();
            assert!(make_env(scenario.clone()).is_ok(), "{name} cannot be a fallback");
        }
        assert!(by_name("oracle", &scenario).is_none());
        scenario.env.fallback_policy = "oracle".into();
        let error = make_env(scenario).unwrap_err().to_string();
        assert!(error.contains("env.fallback_policy") && error.contains("oracle"), "{error}");
    }
}
