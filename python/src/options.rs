//! What every constructor takes: a scenario by name or file, and the keyword arguments that
//! change it (decision kinds, fallback policy, reward weights, days, scale, truncation), declared
//! once in [`ScenarioArgs`].

use std::collections::BTreeMap;
use std::ffi::CString;

use handoff_agents::{Centre, CentreRequest};
use handoff_env::scenario::BUILTIN;
use handoff_env::{DecisionKind, HandoffEnv, Policy, Scenario};
use pyo3::exceptions::{PyTypeError, PyUserWarning, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyList, PyTuple};
use serde::Deserialize;
use serde_json::Value;

/// Where the errors of keyword arguments say they come from.
const SOURCE: &str = "keyword arguments";

/// The keyword arguments that change the scenario, the one place they are declared: Python
/// passes them as a mapping (`**options` of `HandoffEnv`, the vector environments and
/// `evaluate`, whose `ScenarioOptions` type lists them for type checkers and `help()`), and they
/// are read here. An unknown name is a `TypeError` as Python raises it for a keyword argument
/// a function does not take; a value of the wrong type is a `ValueError` naming it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioArgs {
    /// Decision kinds the agent makes (default: the scenario's `env.control`).
    control: Option<Vec<String>>,
    /// The policy for the other decisions, as `handoff eval --policy` names it.
    fallback: Option<String>,
    /// Reward weights to override, by name (`reward.NAME` of the scenario).
    reward: Option<BTreeMap<String, f64>>,
    /// Simulated days per episode.
    days: Option<u32>,
    /// Workers and arrivals scaled by this factor.
    scale: Option<f64>,
    /// Truncate episodes after this many agent steps (0: never).
    max_steps: Option<u64>,
}

impl ScenarioArgs {
    /// Reads the keyword arguments in `options` (none: every default).
    pub fn from_py(options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let Some(options) = options else { return Ok(Self::default()) };
        let Value::Object(map) = json_of(options.as_any(), "options")? else {
            unreachable!("a dict is a JSON object")
        };
        serde_json::from_value(Value::Object(map.clone())).map_err(|e| {
            let message = e.to_string();
            if let Some(unknown) = unknown_argument(&message) {
                return unknown;
            }
            // for a value of the wrong type, find whose
            let culprit = map.iter().find(|(name, value)| {
                let alone = serde_json::Map::from_iter([((*name).clone(), (*value).clone())]);
                serde_json::from_value::<Self>(Value::Object(alone)).is_err()
            });
            match culprit {
                Some((name, _)) => value_error(format!("{name}: {message}")),
                None => value_error(message),
            }
        })
    }

    /// Refuses `max_steps`, for callers that run whole episodes.
    pub fn without_max_steps(self, caller: &str) -> PyResult<Self> {
        match self.max_steps {
            Some(_) => Err(value_error(format!("max_steps: {caller} runs whole episodes"))),
            None => Ok(self),
        }
    }
}

/// serde's error for a field [`ScenarioArgs`] does not have (`unknown field `frameskip`,
/// expected one of ...`) as the `TypeError` Python raises for a keyword argument a function does
/// not take, in Python's words (the Python classes put their own name in front), so that
/// libraries which retry without an argument on that error (TorchRL, Stable-Baselines3) do.
fn unknown_argument(message: &str) -> Option<PyErr> {
    let rest = message.strip_prefix("unknown field `")?;
    let (name, rest) = rest.split_once('`')?;
    let allowed = rest.trim_start_matches(", expected one of ").replace('`', "");
    Some(PyTypeError::new_err(format!(
        "got an unexpected keyword argument '{name}' (the scenario's keyword arguments: {allowed})"
    )))
}

/// A Python value as JSON, for [`ScenarioArgs`]; `name` says where it sits in an error.
fn json_of(value: &Bound<'_, PyAny>, name: &str) -> PyResult<Value> {
    if value.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(flag) = value.cast::<PyBool>() {
        return Ok(Value::Bool(flag.is_true()));
    }
    if let Ok(whole) = value.extract::<i64>() {
        return Ok(whole.into());
    }
    if let Ok(whole) = value.extract::<u64>() {
        return Ok(whole.into());
    }
    if let Ok(number) = value.extract::<f64>() {
        return serde_json::Number::from_f64(number)
            .map(Value::Number)
            .ok_or_else(|| value_error(format!("{name}: {number} is not a finite number")));
    }
    if let Ok(text) = value.extract::<String>() {
        return Ok(Value::String(text));
    }
    if let Ok(dict) = value.cast::<PyDict>() {
        let mut map = serde_json::Map::new();
        for (key, item) in dict.iter() {
            let key: String = key
                .extract()
                .map_err(|_| value_error(format!("{name}: the keys must be strings")))?;
            let item = json_of(&item, &key)?;
            map.insert(key, item);
        }
        return Ok(Value::Object(map));
    }
    if value.cast::<PyList>().is_ok() || value.cast::<PyTuple>().is_ok() {
        let items = value.try_iter()?.map(|item| json_of(&item?, name));
        return items.collect::<PyResult<_>>().map(Value::Array);
    }
    Err(value_error(format!(
        "{name}: a value of type {} is not taken here",
        value.get_type().name()?
    )))
}

/// A scenario and how the agent meets it, from Python's keyword arguments: a centre
/// ([`Centre`]), built as the command line and training build theirs.
#[derive(Debug, Clone)]
pub struct EnvOptions {
    centre: Centre,
}

impl EnvOptions {
    /// Loads `scenario` (a built-in name or a TOML file) and applies the keyword arguments; a bad
    /// value is a `ValueError` naming the argument or the scenario field and its allowed range.
    /// What the centre cannot deliver as asked is a Python `UserWarning`.
    pub fn new(py: Python<'_>, scenario: &str, args: ScenarioArgs) -> PyResult<Self> {
        let control = match args.control {
            Some(kinds) if kinds.is_empty() => {
                return Err(PyValueError::new_err(
                    "control: name at least one decision kind (route, attend, assign)",
                ));
            }
            Some(kinds) => Some(
                kinds
                    .iter()
                    .map(|k| {
                        k.parse::<DecisionKind>().map_err(|e| value_error(format!("control: {e}")))
                    })
                    .collect::<PyResult<_>>()?,
            ),
            None => None,
        };
        let request = CentreRequest {
            control,
            fallback: args.fallback,
            reward: args.reward.unwrap_or_default().into_iter().collect(),
            days: args.days,
            max_steps: args.max_steps,
            scale: args.scale.unwrap_or(1.0),
            ..CentreRequest::new(scenario)
        };
        let centre = request.build(SOURCE).map_err(value_error)?;
        for warning in &centre.warnings {
            user_warning(py, warning)?;
        }
        Ok(Self { centre })
    }

    /// Options on a scenario already resolved and validated; a `ValueError` when its fallback
    /// policy cannot be made.
    pub fn from_scenario(scenario: Scenario) -> PyResult<Self> {
        let source = scenario.name.clone();
        Ok(Self { centre: Centre::new(scenario, &source).map_err(value_error)? })
    }

    /// The scenario, with every keyword argument applied.
    pub fn scenario(&self) -> &Scenario {
        &self.centre.scenario
    }

    /// The policy `name` (what `handoff eval --policy` takes but checkpoints) on the scenario; a
    /// `ValueError` naming the keyword argument `argument` when it cannot be made.
    pub fn policy(&self, argument: &str, name: &str) -> PyResult<Box<dyn Policy>> {
        handoff_agents::spec::resolve(name, self.scenario())
            .map_err(|e| value_error(format!("{argument}: {e}")))
    }

    /// A fresh environment on the scenario.
    pub fn env(&self) -> HandoffEnv {
        self.centre.env()
    }
}

/// Warns `text` to Python as a `UserWarning`.
pub fn user_warning(py: Python<'_>, text: &str) -> PyResult<()> {
    let message = CString::new(text).map_err(value_error)?;
    PyErr::warn(py, &py.get_type::<PyUserWarning>(), &message, 1)
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
