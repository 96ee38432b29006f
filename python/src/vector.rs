//! `handoff_rl._native.VectorEnv`: N environments stepped in Rust by one call, the interpreter
//! released while they run.

use std::sync::Mutex;

use handoff_env::VectorEnv as RustVectorEnv;
use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyType};

use crate::env::{InvalidAction, Reduced, lock, reduced, rgb_frame};
use crate::options::{EnvOptions, ScenarioArgs, value_error};
use crate::state::{Saved, VectorJournal, journal_action};

/// The vector, the buffer actions are copied into, and the journal pickling saves.
struct State {
    envs: RustVectorEnv,
    actions: Vec<usize>,
    /// Each environment's actions in its current episode (empty before the first reset).
    journal: Vec<Vec<u8>>,
    /// Whether the vector has been reset.
    started: bool,
}

impl State {
    /// Journals a step taken with `actions`: an environment the step reset starts an empty
    /// episode, the others add their action.
    fn journal_step(&mut self, was_reset: &[bool]) {
        for ((episode, &reset), &action) in
            self.journal.iter_mut().zip(was_reset).zip(&self.actions)
        {
            if reset {
                episode.clear();
            } else {
                episode.push(journal_action(action));
            }
        }
    }
}

/// A batch of environments with Gymnasium 1.x next-step autoreset: the step after an episode
/// ends resets that environment (its action is ignored) and returns the new episode's first
/// observation with reward 0. Every call returns fresh arrays. Not for use from two threads at
/// once.
#[pyclass(module = "handoff_rl._native")]
pub struct VectorEnv {
    state: Mutex<State>,
    /// Number of environments.
    #[pyo3(get)]
    num_envs: usize,
    /// Length of the observation vector.
    #[pyo3(get)]
    observation_len: usize,
    /// Number of actions (candidate slots).
    #[pyo3(get)]
    n_actions: usize,
    /// Threads stepping the environments (results do not depend on it).
    #[pyo3(get)]
    threads: usize,
    low: Vec<f32>,
    high: Vec<f32>,
}

/// What `reset` and `step` return: observations, rewards, terminated, truncated, masks, and the
/// info arrays.
type Batch<'py> = (
    Bound<'py, PyArray2<f32>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<bool>>,
    Bound<'py, PyArray1<bool>>,
    Bound<'py, PyArray2<i8>>,
    Bound<'py, PyDict>,
);

#[pymethods]
impl VectorEnv {
    /// `num_envs` environments on `scenario`, stepped on `threads` threads (the keyword
    /// arguments of [`ScenarioArgs`], as `Env` takes them).
    #[new]
    #[pyo3(signature = (scenario = handoff_env::scenario::DEFAULT_SCENARIO, num_envs = 1, *,
        threads = 1, **options))]
    fn new(
        py: Python<'_>,
        scenario: &str,
        num_envs: usize,
        threads: usize,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        handoff_eval::check_range("num_envs", num_envs, &(1..=MAX_ENVS)).map_err(value_error)?;
        handoff_eval::check_threads(threads).map_err(value_error)?;
        let options = EnvOptions::new(py, scenario, ScenarioArgs::from_py(options)?)?;
        Self::build(&options, num_envs, threads)
    }

    /// The vector pickled as `state` (what `pickle` calls): built again on the saved scenario,
    /// each environment's episode replayed. Bytes that are truncated, altered, of another class
    /// or of another model version raise `ValueError` saying which.
    #[classmethod]
    fn _from_state(_cls: &Bound<'_, PyType>, py: Python<'_>, state: &[u8]) -> PyResult<Self> {
        let saved = Saved::from_bytes("VectorEnv", state)?;
        let damaged = |what: String| value_error(format!("VectorEnv state: damaged ({what})"));
        let Some(journal) = &saved.vector else {
            return Err(damaged("no environments".to_string()));
        };
        let n = journal.episodes.len();
        if !(1..=MAX_ENVS).contains(&n)
            || journal.needs_reset.len() != n
            || journal.actions.len() != n
        {
            return Err(damaged(format!("{n} environments, or lists of unequal length")));
        }
        let vector = Self::build(&saved.options()?, n, saved.threads.max(1))?;
        {
            let mut guard = lock(&vector.state)?;
            let state = &mut *guard;
            if journal.episodes.iter().any(|&e| e > 0) {
                let VectorJournal { seed, episodes, needs_reset, actions } = journal;
                let envs = &mut state.envs;
                py.detach(|| envs.restore(*seed, episodes, needs_reset, actions))
                    .map_err(|e| damaged(format!("its episodes do not replay: {e}")))?;
                state.journal.clone_from(actions);
                state.started = true;
            }
        }
        Ok(vector)
    }

    /// The vector's state as bytes: the scenario, every value in force, the base seed, and each
    /// environment's episode count and actions (what `pickle` saves).
    fn state_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let state = lock(&self.state)?;
        let mut saved = Saved::new("VectorEnv", state.envs.envs()[0].scenario())?;
        saved.threads = self.threads;
        saved.vector = Some(VectorJournal {
            seed: state.envs.base_seed(),
            episodes: if state.started {
                state.envs.episodes().to_vec()
            } else {
                vec![0; self.num_envs]
            },
            needs_reset: state.envs.needs_reset().to_vec(),
            actions: state.journal.clone(),
        });
        Ok(PyBytes::new(py, &saved.to_bytes()))
    }

    /// `pickle`: the vector is rebuilt from [`VectorEnv::state_bytes`] by `_from_state`.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        reduced(slf, slf.borrow().state_bytes(slf.py())?)
    }

    /// Each environment's centre now as text (Gymnasium's `"ansi"` render mode).
    fn render_text(&self) -> PyResult<Vec<String>> {
        Ok(lock(&self.state)?.envs.envs().iter().map(|e| e.render_text()).collect())
    }

    /// Each environment's centre now as a picture, uint8 `[height, width, 3]`
    /// (`"rgb_array"`).
    fn render_rgb<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, numpy::PyArray3<u8>>>> {
        lock(&self.state)?.envs.envs().iter().map(|env| rgb_frame(py, env)).collect()
    }

    /// Lower bounds of one environment's observation, float32.
    #[getter]
    fn observation_low<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        PyArray1::from_slice(py, &self.low)
    }

    /// Upper bounds of one environment's observation, float32.
    #[getter]
    fn observation_high<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        PyArray1::from_slice(py, &self.high)
    }

    /// Resets every environment from one base seed (environment `i`'s `k`-th episode runs on
    /// `episode_seed(seed, i, k)`).
    fn reset<'py>(&self, py: Python<'py>, seed: u64) -> PyResult<Batch<'py>> {
        let mut guard = lock(&self.state)?;
        let state = &mut *guard;
        py.detach(|| state.envs.reset(seed));
        state.journal.iter_mut().for_each(Vec::clear);
        state.started = true;
        batch(py, &state.envs)
    }

    /// Steps every environment with its action (int64, one per environment). An invalid action
    /// raises `InvalidAction`, naming the environment, before anything is stepped.
    fn step<'py>(
        &self,
        py: Python<'py>,
        actions: PyReadonlyArray1<'py, i64>,
    ) -> PyResult<Batch<'py>> {
        let mut guard = lock(&self.state)?;
        let state = &mut *guard;
        let actions = actions.as_slice()?;
        if actions.len() != self.num_envs {
            return Err(InvalidAction::new_err(format!(
                "{} actions for {} environments",
                actions.len(),
                self.num_envs
            )));
        }
        for (i, (&a, slot)) in actions.iter().zip(&mut state.actions).enumerate() {
            *slot = usize::try_from(a).map_err(|_| {
                InvalidAction::new_err(format!("environment {i}: action {a} is negative"))
            })?;
        }
        let was_reset = state.envs.needs_reset().to_vec();
        let State { envs, actions, .. } = state;
        // every action is checked before any environment steps, so the error is the caller's
        py.detach(|| envs.step(actions)).map_err(|e| InvalidAction::new_err(e.to_string()))?;
        state.journal_step(&was_reset);
        batch(py, &state.envs)
    }

    /// Resets now the environments whose last step ended an episode and leaves the others
    /// (Stable-Baselines3's same-step autoreset); returns the batch with their new episodes'
    /// first observations and masks.
    fn reset_ended<'py>(&self, py: Python<'py>) -> PyResult<Batch<'py>> {
        let mut guard = lock(&self.state)?;
        let state = &mut *guard;
        let was_reset = state.envs.needs_reset().to_vec();
        py.detach(|| state.envs.reset_ended());
        for (episode, reset) in state.journal.iter_mut().zip(was_reset) {
            if reset {
                episode.clear();
            }
        }
        batch(py, &state.envs)
    }

    /// The seed of episode `episode` of environment `index` in a vector reset with `seed`.
    #[staticmethod]
    fn episode_seed(seed: u64, index: usize, episode: u64) -> u64 {
        RustVectorEnv::episode_seed(seed, index, episode)
    }

    fn __repr__(&self) -> String {
        format!(
            "VectorEnv(num_envs={}, threads={}, observation_len={}, n_actions={})",
            self.num_envs, self.threads, self.observation_len, self.n_actions
        )
    }
}

/// The most environments one vector holds.
const MAX_ENVS: usize = 4096;

impl VectorEnv {
    /// `num_envs` fresh environments on `options`' scenario, stepped on `threads` threads.
    fn build(options: &EnvOptions, num_envs: usize, threads: usize) -> PyResult<Self> {
        let envs: Vec<_> = (0..num_envs).map(|_| options.env()).collect();
        let envs = RustVectorEnv::new(envs).with_threads(threads);
        let first = &envs.envs()[0];
        let space = first.observation_space();
        Ok(Self {
            low: space.low,
            high: space.high,
            observation_len: first.observation_len(),
            n_actions: first.action_space().n,
            num_envs,
            threads: threads.min(num_envs),
            state: Mutex::new(State {
                envs,
                actions: vec![0; num_envs],
                journal: vec![Vec::new(); num_envs],
                started: false,
            }),
        })
    }
}

/// The vector's outputs as fresh arrays. The info dict holds, per environment, the simulated
/// time, chats completed, the episode's return so far and the steps taken, with `has_info`
/// false (and zeros) for environments that were autoreset this step.
fn batch<'py>(py: Python<'py>, envs: &RustVectorEnv) -> PyResult<Batch<'py>> {
    let n = envs.len();
    let obs = envs.observations();
    let obs = PyArray1::from_slice(py, obs.as_slice().expect("observations are contiguous"))
        .reshape([n, obs.ncols()])?;
    let masks = envs.masks();
    let mask_cols = masks.ncols();
    let masks =
        PyArray1::from_iter(py, masks.iter().map(|&m| i8::from(m))).reshape([n, mask_cols])?;
    let infos = envs.infos();
    let field = |f: fn(&handoff_env::Info) -> f64| {
        PyArray1::from_iter(py, infos.iter().map(|i| i.as_ref().map_or(0.0, f)))
    };
    let d = PyDict::new(py);
    d.set_item("has_info", PyArray1::from_iter(py, infos.iter().map(Option::is_some)))?;
    d.set_item("time_s", field(|i| i.time_s))?;
    d.set_item("chats_completed", field(|i| i.chats_completed as f64))?;
    d.set_item("episode_return", field(|i| i.episode_return))?;
    d.set_item("steps", field(|i| i.steps as f64))?;
    Ok((
        obs,
        PyArray1::from_slice(py, envs.rewards()),
        PyArray1::from_slice(py, envs.terminated()),
        PyArray1::from_slice(py, envs.truncated()),
        masks,
        d,
    ))
}
