//! `handoff_rl._native.Env`: one environment, stepped from Python.

use std::sync::{Mutex, MutexGuard};

use handoff_env::{HandoffEnv, Info, Policy, StepError};
use numpy::PyArray1;
use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::options::{EnvOptions, ScenarioArgs};

create_exception!(
    _native,
    InvalidAction,
    PyValueError,
    "An action that is out of range or masked out at this decision; the environment is unchanged."
);

/// What `reset` returns: observation, action mask and info.
type Reset<'py> = (Bound<'py, PyArray1<f32>>, Bound<'py, PyArray1<i8>>, Bound<'py, PyDict>);

/// The environment and the buffer its observation is encoded into.
#[derive(Clone)]
struct State {
    env: HandoffEnv,
    features: Vec<f32>,
    /// The rule whose choice `info["rule_action"]` reports, if one was asked for.
    rule: Option<Box<dyn Policy>>,
}

/// One handoff environment: `reset(seed)` and `step(action)` return NumPy arrays (observation as
/// float32, action mask as int8) and an info dict. Not for use from two threads at once.
#[pyclass(module = "handoff_rl._native")]
pub struct Env {
    state: Mutex<State>,
    /// The scenario's name.
    #[pyo3(get)]
    scenario_name: String,
    /// Length of the observation vector.
    #[pyo3(get)]
    observation_len: usize,
    /// Number of actions (candidate slots).
    #[pyo3(get)]
    n_actions: usize,
    /// Workers in the centre (after `scale`): the agents `worker_0` to `worker_{n-1}` of the
    /// multi-agent view.
    #[pyo3(get)]
    n_workers: u32,
    low: Vec<f32>,
    high: Vec<f32>,
}

/// Locks `state`, or says that another thread is using the environment (waiting would hold the
/// interpreter while the other thread needs it back).
pub fn lock<T>(state: &Mutex<T>) -> PyResult<MutexGuard<'_, T>> {
    state.try_lock().map_err(|_| {
        PyRuntimeError::new_err(
            "the environment is being stepped by another thread; give each thread its own",
        )
    })
}

/// `info` as a Python dict, with the kind of the decision now waiting, the agent whose
/// decision it is (`router` or `worker_17`), and the step's ended chats as (credited agent,
/// reward) pairs.
pub fn info_dict<'py>(
    py: Python<'py>,
    info: &Info,
    env: &HandoffEnv,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("time_s", info.time_s)?;
    d.set_item("chats_completed", info.chats_completed)?;
    d.set_item("chats_completed_step", info.chats_completed_step)?;
    d.set_item("chats_in_flight", info.chats_in_flight)?;
    d.set_item("steps", info.steps)?;
    d.set_item("episode_return", info.episode_return)?;
    d.set_item("decision", env.observation().kind.label())?;
    d.set_item("agent", env.observation().agent().to_string())?;
    let credited: Vec<(String, f64)> =
        env.chat_rewards().iter().map(|(agent, reward)| (agent.to_string(), *reward)).collect();
    d.set_item("chat_rewards", credited)?;
    Ok(d)
}

/// The current action mask as int8.
pub fn mask_array<'py>(py: Python<'py>, env: &HandoffEnv) -> Bound<'py, PyArray1<i8>> {
    PyArray1::from_iter(py, env.action_mask().iter().map(|&m| i8::from(m)))
}

impl State {
    fn observation<'py>(&mut self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        self.env.observation().encode(&mut self.features);
        PyArray1::from_slice(py, &self.features)
    }

    /// Adds the rule's choice at the decision now waiting to `info` (none after the end).
    fn add_rule_action(&mut self, info: &Bound<'_, PyDict>) -> PyResult<()> {
        if let Some(rule) = &mut self.rule {
            if !self.env.is_over() {
                info.set_item("rule_action", rule.act(self.env.observation()))?;
            }
        }
        Ok(())
    }
}

#[pymethods]
impl Env {
    /// An environment on `scenario` (a built-in name or a TOML file), changed by the keyword
    /// arguments of [`ScenarioArgs`] (`control`, `fallback`, `reward`, `days`, `scale`,
    /// `max_steps`). `rule` names a policy (as `fallback` does) whose choice at every agent
    /// decision `info["rule_action"]` reports, for learners that imitate or improve on it.
    #[new]
    #[pyo3(signature = (scenario = handoff_env::scenario::DEFAULT_SCENARIO, *, rule = None,
        **options))]
    fn new(
        scenario: &str,
        rule: Option<String>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let options = EnvOptions::new(scenario, ScenarioArgs::from_py(options)?)?;
        let env = options.env()?;
        let rule = rule.map(|name| options.policy("rule", &name)).transpose()?;
        let space = env.observation_space();
        let observation_len = env.observation_len();
        Ok(Self {
            scenario_name: env.scenario().name.clone(),
            n_actions: env.action_space().n,
            n_workers: env.scenario().workers.count,
            state: Mutex::new(State { env, features: vec![0.0; observation_len], rule }),
            observation_len,
            low: space.low,
            high: space.high,
        })
    }

    /// Lower bounds of the observation, float32.
    #[getter]
    fn observation_low<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        PyArray1::from_slice(py, &self.low)
    }

    /// Upper bounds of the observation, float32.
    #[getter]
    fn observation_high<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        PyArray1::from_slice(py, &self.high)
    }

    /// The scenario as TOML, every value in force.
    fn scenario_toml(&self) -> PyResult<String> {
        let state = lock(&self.state)?;
        toml_of(state.env.scenario())
    }

    /// Starts an episode from `seed`: `(observation, action_mask, info)`. An episode in which
    /// the agent has no decision to make is over at once (`is_over()`).
    fn reset<'py>(&self, py: Python<'py>, seed: u64) -> PyResult<Reset<'py>> {
        let mut guard = lock(&self.state)?;
        let state = &mut *guard;
        let info = py.detach(|| state.env.reset(seed).1);
        let info = info_dict(py, &info, &state.env)?;
        if let Some(rule) = &mut state.rule {
            rule.reset(seed);
        }
        state.add_rule_action(&info)?;
        Ok((state.observation(py), mask_array(py, &state.env), info))
    }

    /// Takes `action`: `(observation, reward, terminated, truncated, action_mask, info)`. An
    /// invalid action raises `InvalidAction` and changes nothing.
    #[allow(clippy::type_complexity)]
    fn step<'py>(
        &self,
        py: Python<'py>,
        action: i64,
    ) -> PyResult<(
        Bound<'py, PyArray1<f32>>,
        f64,
        bool,
        bool,
        Bound<'py, PyArray1<i8>>,
        Bound<'py, PyDict>,
    )> {
        let mut guard = lock(&self.state)?;
        let state = &mut *guard;
        let Ok(action) = usize::try_from(action) else {
            return Err(InvalidAction::new_err(format!(
                "action {action} is negative (the action space has {} actions)",
                self.n_actions
            )));
        };
        let step = py.detach(|| state.env.step(action)).map_err(step_error)?;
        let info = info_dict(py, &step.info, &state.env)?;
        state.add_rule_action(&info)?;
        Ok((
            state.observation(py),
            step.reward,
            step.terminated,
            step.truncated,
            mask_array(py, &state.env),
            info,
        ))
    }

    /// The valid actions now, in increasing order.
    fn valid_actions(&self) -> PyResult<Vec<usize>> {
        Ok(lock(&self.state)?.env.observation().valid_actions().collect())
    }

    /// The workers who have come on duty in this episode so far, in the order they first did,
    /// from the `start`-th on (the multi-agent view's workers join its live agents so).
    fn workers_joined(&self, start: usize) -> PyResult<Vec<u32>> {
        let state = lock(&self.state)?;
        let joined = state.env.simulator().first_on_duty();
        Ok(joined.get(start..).unwrap_or_default().to_vec())
    }

    /// Whether the episode has ended (or never started): call `reset`.
    fn is_over(&self) -> PyResult<bool> {
        Ok(lock(&self.state)?.env.is_over())
    }

    /// A copy that continues exactly as this environment would: every random stream, the
    /// fallback policy's state and the episode so far are copied, and stepping one leaves the
    /// other untouched (compare options by rolling each out on a copy).
    fn clone(&self) -> PyResult<Self> {
        let state = lock(&self.state)?.clone();
        Ok(Self {
            state: Mutex::new(state),
            scenario_name: self.scenario_name.clone(),
            observation_len: self.observation_len,
            n_actions: self.n_actions,
            n_workers: self.n_workers,
            low: self.low.clone(),
            high: self.high.clone(),
        })
    }

    /// `copy.copy`: the same as [`Env::clone`] (a shallow copy would share the simulator).
    fn __copy__(&self) -> PyResult<Self> {
        self.clone()
    }

    /// `copy.deepcopy`: the same as [`Env::clone`].
    fn __deepcopy__(&self, _memo: &Bound<'_, PyDict>) -> PyResult<Self> {
        self.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "Env(scenario={:?}, observation_len={}, n_actions={})",
            self.scenario_name, self.observation_len, self.n_actions
        )
    }
}

/// `InvalidAction` for an action the environment refused; `RuntimeError` for a step outside an
/// episode.
pub fn step_error(e: StepError) -> PyErr {
    match e {
        StepError::OutOfRange { .. } | StepError::Masked { .. } => {
            InvalidAction::new_err(e.to_string())
        }
        _ => PyRuntimeError::new_err(e.to_string()),
    }
}

/// The scenario as TOML.
pub fn toml_of(scenario: &handoff_env::Scenario) -> PyResult<String> {
    toml::to_string(scenario).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}
