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

#[cfg(feature = "burn")]
pub mod burn_rl;
pub mod c_mu;
pub mod c_mu_theta;
pub mod centre;
pub mod corrected;
pub mod early_takeover;
pub mod emotion_first;
#[cfg(feature = "burn")]
pub mod learned;
pub mod least_loaded;
pub mod limit;
pub mod longest_wait;
#[cfg(feature = "burn")]
pub mod net;
pub mod params;
pub mod pick;
pub mod quickest;
pub mod random;
pub mod resolver;
pub mod round_robin;
pub mod spec;
pub mod study;

use handoff_env::{ChatRecord, HandoffEnv, Policy, Scenario, ScenarioError};
use handoff_env::{SimCounters, Simulator};

pub use c_mu::CMu;
pub use c_mu_theta::CMuTheta;
pub use centre::{Centre, CentreRequest};
pub use corrected::{Advantage, Corrected, Corrections};
pub use early_takeover::EarlyTakeover;
pub use emotion_first::EmotionFirst;
#[cfg(feature = "burn")]
pub use learned::LearnedPolicy;
pub use least_loaded::LeastLoaded;
pub use limit::ConcurrencyLimit;
pub use longest_wait::LongestWaitFirst;
pub use params::{Param, ParamError, ParamSet};
pub use quickest::QuickestFirst;
pub use random::RandomPolicy;
pub use resolver::PolicyResolver;
pub use round_robin::RoundRobin;
pub use spec::{PolicyFile, PolicySpec, SHIPPED, SpecError, TuningRecord};
pub use study::{STUDY_ARMS, StudyControl, StudyTreatment};

/// A built-in heuristic: its name, what it does, its parameters and how to build it.
pub struct Heuristic {
    /// The name `--policy` takes.
    pub name: &'static str,
    /// One line on what it does; each module documents its source.
    pub description: &'static str,
    /// Its own parameters on a scenario (the concurrency limit `max_chats` and the tie-break
    /// `quickest_first` are added for all but `random`).
    own_params: fn(&Scenario) -> Vec<Param>,
    /// Builds it from a full parameter set.
    build: fn(&Scenario, &ParamSet) -> Box<dyn Policy>,
    /// Whether it takes the concurrency limit and the quickest-first tie-break.
    limited: bool,
}

impl Heuristic {
    /// The parameters on `scenario`, each at its default.
    pub fn params(&self, scenario: &Scenario) -> ParamSet {
        let mut params = (self.own_params)(scenario);
        if self.limited {
            params.push(limit::max_chats_param(scenario));
            params.push(quickest::quickest_first_param());
        }
        ParamSet::defaults(self.name, params)
    }

    /// The policy with the values in `set` (from [`Heuristic::params`] of the same scenario).
    pub fn build(&self, scenario: &Scenario, set: &ParamSet) -> Box<dyn Policy> {
        let policy = (self.build)(scenario, set);
        let policy = match set.get("max_chats") {
            Some(limit) => ConcurrencyLimit::wrap(policy, limit as u32, scenario),
            None => policy,
        };
        QuickestFirst::wrap(policy, set.get("quickest_first").is_some_and(|on| on >= 0.5))
    }
}

fn no_params(_: &Scenario) -> Vec<Param> {
    Vec::new()
}

/// The built-in heuristics. Their parameters default to the rules as first written.
pub const POLICIES: &[Heuristic] = &[
    Heuristic {
        name: "study-control",
        description: "the study's control arm: humans handle every chat, longest wait first",
        own_params: no_params,
        build: |_, _| Box::new(StudyControl),
        limited: true,
    },
    Heuristic {
        name: "study-treatment",
        description: "the study's deployment: eligible chats to the AI, escalations back to the \
                      supervisor, takeover when an AI chat's frustration reaches \
                      study_policy.takeover_frustration",
        own_params: StudyTreatment::params,
        build: |_, set| Box::new(StudyTreatment::with(set)),
        limited: true,
    },
    Heuristic {
        name: "random",
        description: "a uniformly random valid action",
        own_params: no_params,
        build: |_, _| Box::new(RandomPolicy::default()),
        limited: false,
    },
    Heuristic {
        name: "round-robin",
        description: "workers in turn for human chats; each worker answers their chats in turn",
        own_params: no_params,
        build: |_, _| Box::new(RoundRobin::default()),
        limited: true,
    },
    Heuristic {
        name: "least-loaded",
        description: "every human chat, escalations too, to the worker holding fewest chats; \
                      longest wait first",
        own_params: no_params,
        build: |_, _| Box::new(LeastLoaded),
        limited: true,
    },
    Heuristic {
        name: "longest-wait-first",
        description: "the deployment without takeovers: always the longest-waiting customer",
        own_params: no_params,
        build: |_, _| Box::new(LongestWaitFirst),
        limited: true,
    },
    Heuristic {
        name: "emotion-first",
        description: "emotional escalations first, to the least-loaded worker; then the most \
                      frustrated customer",
        own_params: EmotionFirst::params,
        build: |_, set| Box::new(EmotionFirst::with(set)),
        limited: true,
    },
    Heuristic {
        name: "early-takeover",
        description: "the deployment, taking over AI chats halfway to its frustration threshold",
        own_params: |_| EarlyTakeover::params(),
        build: |scenario, set| Box::new(EarlyTakeover::with(scenario, set)),
        limited: true,
    },
    Heuristic {
        name: "c-mu",
        description: "answer the chat with the highest cost of waiting times rate of finishing \
                      (c-mu rule)",
        own_params: CMu::params,
        build: |scenario, set| Box::new(CMu::with(scenario, set)),
        limited: true,
    },
    Heuristic {
        name: "c-mu-theta",
        description: "the c-mu/theta rule for overloaded queues with abandonment (Atar, Giat and \
                      Shimkin 2010)",
        own_params: CMu::params,
        build: |scenario, set| Box::new(CMuTheta::with(scenario, set)),
        limited: true,
    },
];

/// The built-in heuristic called `name`.
pub fn heuristic(name: &str) -> Option<&'static Heuristic> {
    POLICIES.iter().find(|h| h.name == name)
}

/// The names of the built-in heuristics.
pub fn policy_names() -> impl Iterator<Item = &'static str> {
    POLICIES.iter().map(|h| h.name)
}

/// Every heuristic there is to compare with on `scenario`: each built-in one with its defaults,
/// then the shipped tuned ones ([`SHIPPED`]) whose values fit the scenario (a concurrency limit
/// above its cap does not).
pub fn baseline_policies(scenario: &Scenario) -> Vec<String> {
    let tuned = SHIPPED.iter().map(|(name, _)| *name).filter(|name| {
        spec::shipped(name).is_some_and(|file| file.param_set(scenario, name).is_ok())
    });
    policy_names().chain(tuned).map(str::to_string).collect()
}

/// A built-in policy by name with its default parameters, configured from `scenario`.
pub fn by_name(name: &str, scenario: &Scenario) -> Option<Box<dyn Policy>> {
    let h = heuristic(name)?;
    Some(h.build(scenario, &h.params(scenario)))
}

/// The policy `scenario` names in `env.fallback_policy`, resolved as `handoff eval --policy`
/// resolves a name: a built-in or shipped tuned policy, with `@key=value` overrides, or a policy
/// file. The one resolver of fallbacks (the command line, the environment, the evaluation, the
/// training centre and Python; a [`Centre`] reads it once for all its environments); the error
/// names `source` and the field ([`fallback_error`]).
pub fn fallback(scenario: &Scenario, source: &str) -> Result<Box<dyn Policy>, ScenarioError> {
    spec::resolve(&scenario.env.fallback_policy, scenario).map_err(fallback_error(source))
}

/// A fallback policy that does not resolve, as the error of the scenario field
/// `env.fallback_policy` from `source`.
pub(crate) fn fallback_error(source: &str) -> impl Fn(SpecError) -> ScenarioError + '_ {
    move |e| ScenarioError::Invalid {
        source_name: source.to_string(),
        field: "env.fallback_policy".to_string(),
        message: e.to_string(),
    }
}

/// An environment on `scenario` whose uncontrolled decisions are made by the policy the
/// scenario names in `env.fallback_policy` ([`fallback`]); an error when that does not resolve.
pub fn make_env(scenario: Scenario) -> Result<HandoffEnv, ScenarioError> {
    let fallback = fallback(&scenario, &scenario.name)?;
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
        for name in policy_names() {
            let policy = by_name(name, &scenario).unwrap_or_else(|| panic!("{name} is missing"));
            assert_eq!(policy.name(), name);
            scenario.env.fallback_policy = name.to_string();
            assert!(make_env(scenario.clone()).is_ok(), "{name} cannot be a fallback");
        }
        assert!(by_name("oracle", &scenario).is_none());
        scenario.env.fallback_policy = "oracle".into();
        let error = make_env(scenario).unwrap_err().to_string();
        assert!(error.contains("env.fallback_policy") && error.contains("oracle"), "{error}");
    }
}
