//! `handoff_rl._native.Env`: one environment, stepped from Python.

use std::sync::{Mutex, MutexGuard};

use handoff_env::{HandoffEnv, Info, Policy, StepError};
use numpy::{PyArray1, PyArray3, PyArrayMethods};
use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyType};

use crate::options::{EnvOptions, ScenarioArgs, value_error};
use crate::state::{Journal, Saved, journal_action};

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
    /// The rule whose choice `info["rule_action"]` reports, if one was asked for, and its name.
    rule: Option<(Box<dyn Policy>, String)>,
    /// The episode's seed and actions, which pickling saves (none before the first reset).
    journal: Option<Journal>,
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

    /// The rule's choice at the decision now waiting (none without a rule, or after the end).
    fn rule_action(&mut self) -> Option<usize> {
        let (rule, _) = self.rule.as_mut()?;
        (!self.env.is_over()).then(|| rule.act(self.env.observation()))
    }

    /// Adds the rule's choice at the decision now waiting to `info`.
    fn add_rule_action(&mut self, info: &Bound<'_, PyDict>) -> PyResult<()> {
        if let Some(action) = self.rule_action() {
            info.set_item("rule_action", action)?;
        }
        Ok(())
    }

    /// Starts an episode on `seed`: the environment, the rule and the journal.
    fn reset(&mut self, seed: u64) -> Info {
        let info = self.env.reset(seed).1;
        if let Some((rule, _)) = &mut self.rule {
            rule.reset(seed);
        }
        self.journal = Some(Journal::new(seed));
        info
    }

    /// Takes `action` and journals it; an invalid action changes nothing.
    fn step(&mut self, action: usize) -> Result<handoff_env::Step, StepError> {
        let step = self.env.step(action)?;
        if let Some(journal) = &mut self.journal {
            journal.actions.push(journal_action(action));
        }
        Ok(step)
    }

    /// The state as pickling saves it.
    fn saved(&self) -> PyResult<Saved> {
        let mut saved = Saved::new("Env", self.env.scenario())?;
        saved.rule = self.rule.as_ref().map(|(_, name)| name.clone());
        saved.episode = self.journal.clone();
        Ok(saved)
    }

    /// The environment `saved` describes, its episode replayed as `reset` and `step` took it
    /// (the rule consulted after each step, as `info["rule_action"]` did).
    fn restore(saved: &Saved) -> PyResult<Self> {
        let options = saved.options()?;
        let rule = saved.rule.as_deref().map(|name| named_rule(&options, name)).transpose()?;
        let env = options.env();
        let features = vec![0.0; env.observation_len()];
        let mut state = Self { env, features, rule, journal: None };
        if let Some(journal) = &saved.episode {
            state.reset(journal.seed);
            state.rule_action();
            let mut forks = journal.forks.iter().peekable();
            for k in 0..=journal.actions.len() {
                while let Some(&(_, seed)) = forks.next_if(|(at, _)| *at == k as u64) {
                    state.env = state.env.fork(seed);
                }
                let Some(&action) = journal.actions.get(k) else { break };
                state.step(usize::from(action)).map_err(|e| {
                    value_error(format!(
                        "Env state: damaged (its action {k} of {} does not replay: {e})",
                        journal.actions.len()
                    ))
                })?;
                state.rule_action();
            }
            if forks.next().is_some() {
                return Err(value_error(
                    "Env state: damaged (a fork after the last action of its episode)",
                ));
            }
            state.journal = Some(journal.clone());
        }
        Ok(state)
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
        py: Python<'_>,
        scenario: &str,
        rule: Option<String>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let options = EnvOptions::new(py, scenario, ScenarioArgs::from_py(options)?)?;
        let env = options.env();
        let rule = rule.map(|name| named_rule(&options, &name)).transpose()?;
        let features = vec![0.0; env.observation_len()];
        Ok(Self::of(State { env, features, rule, journal: None }))
    }

    /// The environment pickled as `state` (what `pickle` calls): built again on the saved
    /// scenario and its episode replayed. Bytes that are truncated, altered, of another class or
    /// of another model version raise `ValueError` saying which.
    #[classmethod]
    fn _from_state(_cls: &Bound<'_, PyType>, py: Python<'_>, state: &[u8]) -> PyResult<Self> {
        let saved = Saved::from_bytes("Env", state)?;
        py.detach(|| State::restore(&saved)).map(Self::of)
    }

    /// The environment's state as bytes: the scenario, every value in force, and the episode's
    /// seed and actions (what `pickle` saves; `_from_state` reads it back).
    fn state_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let saved = lock(&self.state)?.saved()?;
        Ok(PyBytes::new(py, &saved.to_bytes()))
    }

    /// `pickle`: the environment is rebuilt from [`Env::state_bytes`] by `_from_state`.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        reduced(slf, slf.borrow().state_bytes(slf.py())?)
    }

    /// The centre now as text (Gymnasium's `"ansi"` render mode).
    fn render_text(&self) -> PyResult<String> {
        Ok(lock(&self.state)?.env.render_text())
    }

    /// The centre now as a picture, uint8 `[height, width, 3]` (Gymnasium's `"rgb_array"`); every
    /// frame of an environment has the same size.
    fn render_rgb<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray3<u8>>> {
        rgb_frame(py, &lock(&self.state)?.env)
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
        let info = py.detach(|| state.reset(seed));
        let info = info_dict(py, &info, &state.env)?;
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
        let step = py.detach(|| state.step(action)).map_err(step_error)?;
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
        Ok(Self::of(lock(&self.state)?.clone()))
    }

    /// A fork on `seed`: a copy with the same observable present (observation, mask, chats,
    /// waits, workers) and a future drawn afresh from `seed`, consistently with what has been
    /// seen (`HandoffEnv::fork`): options compared on forks are compared without knowing the
    /// episode's future, as a dispatcher compares them. The same state and seed give the same
    /// fork; it pickles like any environment.
    fn fork(&self, seed: u64) -> PyResult<Self> {
        let mut state = lock(&self.state)?.clone();
        state.env = state.env.fork(seed);
        if let Some(journal) = &mut state.journal {
            journal.forks.push((journal.actions.len() as u64, seed));
        }
        Ok(Self::of(state))
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

/// What `__reduce__` returns: the class's `_from_state` and the state's bytes.
pub type Reduced<'py> = (Bound<'py, PyAny>, (Bound<'py, PyBytes>,));

/// `pickle`'s recipe for `slf`, a class with a `_from_state` classmethod, saved as `state`.
pub fn reduced<'py, T: pyo3::PyClass>(
    slf: &Bound<'py, T>,
    state: Bound<'py, PyBytes>,
) -> PyResult<Reduced<'py>> {
    Ok((slf.as_any().get_type().getattr("_from_state")?, (state,)))
}

/// `env`'s picture of the centre now as a uint8 `[height, width, 3]` array.
pub fn rgb_frame<'py>(py: Python<'py>, env: &HandoffEnv) -> PyResult<Bound<'py, PyArray3<u8>>> {
    let mut pixels = Vec::new();
    let size = env.render_rgb(&mut pixels);
    PyArray1::from_vec(py, pixels).reshape([size.height, size.width, 3])
}

/// The policy `name` as the `rule` argument names it, with its name.
fn named_rule(options: &EnvOptions, name: &str) -> PyResult<(Box<dyn Policy>, String)> {
    Ok((options.policy("rule", name)?, name.to_string()))
}

impl Env {
    /// The Python object over `state`.
    fn of(state: State) -> Self {
        let env = &state.env;
        let space = env.observation_space();
        Self {
            scenario_name: env.scenario().name.clone(),
            observation_len: env.observation_len(),
            n_actions: env.action_space().n,
            n_workers: env.scenario().workers.count,
            low: space.low,
            high: space.high,
            state: Mutex::new(state),
        }
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
