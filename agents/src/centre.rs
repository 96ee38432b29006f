//! A centre as a command, a training run or Python asks for it: a scenario by built-in name or
//! file and the changes each of them offers (the agent's decision kinds, the fallback policy,
//! reward weights, days, truncation, a scale), applied in one order and validated once, with the
//! fallback policy resolved once for every environment made on the centre.

use handoff_env::{DecisionKind, HandoffEnv, Policy, Scenario, ScenarioError};

use crate::fallback_error;
use crate::spec::{self, PolicyFile};

/// What is asked of a scenario. [`CentreRequest::new`] asks for the scenario as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct CentreRequest {
    /// A built-in scenario's name or a scenario file's path.
    pub scenario: String,
    /// The decision kinds the agent makes, in place of the scenario's `env.control`.
    pub control: Option<Vec<DecisionKind>>,
    /// The policy for the other decisions, in place of `env.fallback_policy`.
    pub fallback: Option<String>,
    /// Reward weights by name (`reward.NAME`), merged as a file's values are.
    pub reward: Vec<(String, f64)>,
    /// Simulated days per episode, in place of the scenario's.
    pub days: Option<u32>,
    /// Agent steps after which an episode is truncated (0: never), in place of `env.max_steps`.
    pub max_steps: Option<u64>,
    /// Workers and arrivals scaled by this factor (1: the scenario's own centre).
    pub scale: f64,
}

/// A centre built from a [`CentreRequest`]: the scenario with every change applied and
/// validated, and its fallback policy, resolved.
#[derive(Debug, Clone)]
pub struct Centre {
    /// The scenario.
    pub scenario: Scenario,
    /// What the centre cannot deliver as the scenario asks, for the caller to say: hours whose
    /// staffing the roster cannot cover, hours with chats and no one on duty after scaling.
    pub warnings: Vec<String>,
    fallback: PolicyFile,
}

impl CentreRequest {
    /// The scenario `scenario` as it is.
    pub fn new(scenario: impl Into<String>) -> Self {
        Self {
            scenario: scenario.into(),
            control: None,
            fallback: None,
            reward: Vec::new(),
            days: None,
            max_steps: None,
            scale: 1.0,
        }
    }

    /// Loads the scenario and applies the request: the decision kinds, the reward weights, the
    /// days, the truncation, the scale, then the fallback; validates the result once, naming
    /// `source` (where the changes come from: a flag, a configuration file, keyword arguments)
    /// in its errors; and resolves the fallback policy.
    pub fn build(&self, source: &str) -> Result<Centre, ScenarioError> {
        let mut s = Scenario::load(&self.scenario)?;
        if let Some(kinds) = &self.control {
            s.env.control = kinds.clone();
        }
        if !self.reward.is_empty() {
            let paths: Vec<(String, f64)> = self
                .reward
                .iter()
                .map(|(name, value)| (format!("reward.{name}"), *value))
                .collect();
            s = s.with_overrides(
                source,
                paths.iter().map(|(path, value)| (path.as_str(), (*value).into())),
            )?;
        }
        if let Some(days) = self.days {
            s.days = days;
        }
        if let Some(steps) = self.max_steps {
            s.env.max_steps = steps;
        }
        let mut warnings = Vec::new();
        if let Some(shortfall) = s.staffing_coverage().shortfall() {
            warnings.push(format!("{}: {shortfall}", self.scenario));
        }
        if self.scale != 1.0 {
            handoff_env::scenario::check_scale(self.scale).map_err(|message| {
                ScenarioError::Invalid {
                    source_name: source.to_string(),
                    field: "scale".to_string(),
                    message,
                }
            })?;
            s = s.scaled(self.scale);
            let hours = s.unstaffed_hours();
            if !hours.is_empty() {
                warnings.push(format!(
                    "scale {} leaves {} worker{} and no one on duty in {} of the 24 hours while \
                     chats arrive: those customers can only wait or leave",
                    self.scale,
                    s.workers.count,
                    if s.workers.count == 1 { "" } else { "s" },
                    hours.len()
                ));
            }
        }
        if let Some(fallback) = &self.fallback {
            s.env.fallback_policy = fallback.clone();
        }
        s.validate(source)?;
        let mut centre = Centre::new(s, source)?;
        centre.warnings = warnings;
        Ok(centre)
    }
}

impl Centre {
    /// The centre of `scenario`, validated already, with its fallback policy resolved; an error
    /// naming `source` and `env.fallback_policy` when it does not resolve.
    pub fn new(scenario: Scenario, source: &str) -> Result<Self, ScenarioError> {
        let name = &scenario.env.fallback_policy;
        let fallback = spec::policy_file(name).map_err(fallback_error(source))?;
        fallback.build(&scenario, name).map_err(fallback_error(source))?;
        Ok(Self { scenario, warnings: Vec::new(), fallback })
    }

    /// A fresh instance of the fallback policy.
    pub fn fallback(&self) -> Box<dyn Policy> {
        self.fallback
            .build(&self.scenario, &self.scenario.env.fallback_policy)
            .expect("the fallback built when the centre was made")
    }

    /// A fresh environment on the centre, the fallback making the decisions the agent does not.
    pub fn env(&self) -> HandoffEnv {
        HandoffEnv::new(self.scenario.clone(), self.fallback())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_applies_every_change_and_validates_once() {
        let mut request = CentreRequest::new("small");
        request.control = Some(vec![DecisionKind::Route]);
        request.fallback = Some("least-loaded".into());
        request.reward = vec![("abandonment".into(), -2.0)];
        request.days = Some(2);
        request.max_steps = Some(10);
        request.scale = 0.5;
        let centre = request.build("test").unwrap();
        let plain = Scenario::builtin("small").unwrap();
        let s = &centre.scenario;
        assert_eq!(s.env.control, vec![DecisionKind::Route]);
        assert_eq!(s.env.fallback_policy, "least-loaded");
        assert_eq!(s.reward.abandonment, -2.0);
        assert_eq!((s.days, s.env.max_steps), (2, 10));
        assert_eq!(s.workers.count, plain.scaled(0.5).workers.count);
        assert_eq!(centre.fallback().name(), "least-loaded");
        assert_eq!(centre.env().scenario().env.fallback_policy, "least-loaded");
    }

    #[test]
    fn what_cannot_be_delivered_is_refused_or_reported_naming_the_source() {
        let mut request = CentreRequest::new("small");
        request.fallback = Some("no-such-rule".into());
        let e = request.build("--fallback").unwrap_err().to_string();
        assert!(e.contains("--fallback") && e.contains("env.fallback_policy"), "{e}");

        let mut request = CentreRequest::new("small");
        request.days = Some(0);
        assert!(request.build("--days").unwrap_err().to_string().contains("--days"));

        let mut request = CentreRequest::new("small");
        request.scale = 0.001;
        let centre = request.build("--scale").unwrap();
        assert_eq!(centre.warnings.len(), 1, "{:?}", centre.warnings);
        assert!(centre.warnings[0].contains("no one on duty"), "{:?}", centre.warnings);
        assert!(CentreRequest::new("small").build("-").unwrap().warnings.is_empty());
    }
}
