//! # handoff-python
//!
//! The native half of the Python package `handoff_rl`, built by maturin as `handoff_rl._native`:
//! the environment ([`env::Env`]), the batched environment ([`vector::VectorEnv`]) and the
//! evaluation on common random numbers ([`evaluate::evaluate`]), on the Rust simulator and
//! heuristics. The Gymnasium, Stable-Baselines3 and RLlib classes are Python, in `handoff_rl/`.
//!
//! The extension builds without Burn: learned policies are trained in Python.

mod env;
mod evaluate;
mod logs;
mod options;
mod state;
mod vector;

use pyo3::prelude::*;

/// The native module `handoff_rl._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<env::Env>()?;
    m.add_class::<vector::VectorEnv>()?;
    m.add_function(wrap_pyfunction!(evaluate::evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(logs::fit_logs, m)?)?;
    m.add_function(wrap_pyfunction!(options::scenario_names, m)?)?;
    m.add_function(wrap_pyfunction!(options::policy_names, m)?)?;
    m.add("DEFAULT_SCENARIO", handoff_env::scenario::DEFAULT_SCENARIO)?;
    m.add("MODEL_VERSION", handoff_env::MODEL_VERSION)?;
    m.add("InvalidAction", m.py().get_type::<env::InvalidAction>())?;
    Ok(())
}
