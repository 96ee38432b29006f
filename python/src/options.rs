//! What every constructor takes: a scenario by name or file, and the keyword arguments that
//! change it (decision kinds, fallback policy, reward weights, days, scale, truncation).

use std::collections::HashMap;

use handoff_env::scenario::BUILTIN;
use handoff_env::{DecisionKind, HandoffEnv, Policy, Scenario};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// Where the errors of keyword arguments say they come from.
const SOURCE: &str = "keyword arguments";

/// A scenario and how the agent meets it, from Python's keyword arguments.
#[derive(Debug, Clone)]
pub struct EnvOptions {
    /// The scenario, with every keyword argument applied and validated.
    pub scenario: Scenario,
}

impl EnvOptions {
    /// Loads `scenario` (a built-in name or a TOML file) and applies the keyword arguments; a bad
    /// value is a `ValueError` naming the argument or the scenario field and its allowed range.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        scenario: &str,
        control: Option<Vec<String>>,
        fallback: Option<String>,
        reward: Option<HashMap<String, f64>>,
        days: Option<u32>,
        scale: f64,
        max_steps: Option<u64>,
    ) -> PyResult<Self> {
        let mut s = Scenario::load(scenario).map_err(value_error)?;
        if let Some(kinds) = control {
            if kinds.is_empty() {
                return Err(PyValueError::new_err(
                    "control: name at least one decision kind (route, attend, assign)",
                ));
            }
            s.env.control = kinds
                .iter()
                .map(|k| {
                    k.parse::<DecisionKind>().map_err(|e| value_error(format!("control: {e}")))
                })
                .collect::<PyResult<_>>()?;
        }
        if let Some(weights) = reward {
            // the scenario's own override path: an unknown weight or a value out of range is
            // refused naming it
            let paths: Vec<(String, f64)> = weights
                .into_iter()
                .map(|(name, value)| (format!("reward.{name}"), value))
                .collect();
            let overrides = paths.iter().map(|(path, value)| (path.as_str(), (*value).into()));
            s = s.with_overrides(SOURCE, overrides).map_err(value_error)?;
        }
        if let Some(d) = days {
            s.days = d;
        }
        if let Some(m) = max_steps {
            s.env.max_steps = m;
        }
        handoff_env::scenario::check_scale(scale)
            .map_err(|e| value_error(format!("scale: {e}")))?;
        s = s.scaled(scale);
        if let Some(f) = fallback {
            s.env.fallback_policy = f;
        }
        s.validate(SOURCE).map_err(value_error)?;
        let options = Self { scenario: s };
        options.fallback()?;
        Ok(options)
    }

    /// The fallback policy: a built-in or shipped tuned policy, with parameters or from a file,
    /// as `handoff eval --policy` takes them.
    pub fn fallback(&self) -> PyResult<Box<dyn Policy>> {
        self.policy("fallback", &self.scenario.env.fallback_policy)
    }

    /// The policy `name` (what `handoff eval --policy` takes but checkpoints) on the scenario; a
    /// `ValueError` naming the keyword argument `argument` when it cannot be made.
    pub fn policy(&self, argument: &str, name: &str) -> PyResult<Box<dyn Policy>> {
        handoff_agents::spec::resolve(name, &self.scenario)
            .map_err(|e| value_error(format!("{argument}: {e}")))
    }

    /// A fresh environment on the scenario.
    pub fn env(&self) -> PyResult<HandoffEnv> {
        Ok(HandoffEnv::new(self.scenario.clone(), self.fallback()?))
    }
}

/// A `ValueError` with the message of `e`.
pub fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// The names of the built-in scenarios.
#[pyfunction]
pub fn scenario_names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(name, _)| *name).collect()
}

/// The names of the built-in heuristics and the shipped tuned policies.
#[pyfunction]
pub fn policy_names() -> Vec<&'static str> {
    handoff_agents::policy_names().chain(handoff_agents::SHIPPED.iter().map(|(n, _)| *n)).collect()
}
