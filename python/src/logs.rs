//! `handoff_rl.fit_logs`: a centre's chat log turned into a scenario, as `handoff fit-logs`.

use std::path::PathBuf;

use handoff_eval::logs::{FitLogsSettings, default_name, fit_logs as fit};
use pyo3::prelude::*;

use crate::options::value_error;

/// Fits the chat log at `chats` onto the built-in scenario `base` and runs the fitted simulator
/// on `seeds` seeds beside it (after a service fit of at most `fit_service` candidates, when
/// above 0);
/// returns the report as JSON (`handoff fit-logs --json`), with
/// the fitted scenario's TOML in `scenario_toml`. A log it cannot read raises `ValueError`
/// naming the file, line and column.
#[pyfunction]
#[pyo3(signature = (chats, *, base = handoff_env::scenario::DEFAULT_SCENARIO, arm = None,
    seeds = 4, policy = None, name = None, fit_service = 200))]
#[allow(clippy::too_many_arguments)]
pub fn fit_logs(
    py: Python<'_>,
    chats: PathBuf,
    base: &str,
    arm: Option<String>,
    seeds: u64,
    policy: Option<String>,
    name: Option<String>,
    fit_service: usize,
) -> PyResult<String> {
    if !(1..=1000).contains(&seeds) {
        return Err(value_error(format!("seeds: {seeds} is outside 1..=1000")));
    }
    let name = name.unwrap_or_else(|| default_name(&chats));
    let settings = FitLogsSettings {
        base: base.to_string(),
        name,
        seeds,
        arm,
        policy,
        service_budget: fit_service,
    };
    let report = py.detach(|| fit(&chats, &settings, &|| {})).map_err(value_error)?;
    serde_json::to_string(&report).map_err(value_error)
}
