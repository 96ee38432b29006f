//! `handoff_rl._native.evaluate`: a Python policy against the heuristics on common random
//! numbers, the comparison `handoff eval` makes (same seeds, same statistics, same JSON).

use std::sync::{Arc, Mutex};

use handoff_agents::PolicyResolver;
use handoff_env::{Observation, Policy, Scenario};
use handoff_eval::{
    DEFAULT_BASELINE, EvalConfig, EvalJson, evaluate as evaluate_policies, markdown, policy_list,
};
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::options::{EnvOptions, ScenarioArgs, user_warning, value_error};

/// The first error a Python policy raised (or its first invalid action), shared by the
/// episodes that call it.
type FirstError = Arc<Mutex<Option<PyErr>>>;

/// A Python callable `(observation float32, action_mask int8) -> action` as a dispatch policy.
/// After its first error or invalid action it is no longer called (the episode goes on with the
/// first valid action) and the evaluation raises that error. Clones share the callable and the
/// first error.
#[derive(Clone)]
struct PythonPolicy {
    name: String,
    callable: Arc<Py<PyAny>>,
    features: Vec<f32>,
    error: FirstError,
}

impl Policy for PythonPolicy {
    fn name(&self) -> &str {
        &self.name
    }

    fn act(&mut self, obs: &Observation) -> usize {
        let first_valid = obs.valid_actions().next().expect("a decision has a valid action");
        let mut error = self.error.lock().expect("no thread panics holding it");
        if error.is_some() {
            return first_valid;
        }
        obs.encode(&mut self.features);
        Python::attach(|py| {
            let features = PyArray1::from_slice(py, &self.features);
            let mask = PyArray1::from_iter(py, obs.mask.iter().map(|&m| i8::from(m)));
            let action =
                self.callable.call1(py, (features, mask)).and_then(|a| a.extract::<i64>(py));
            match action {
                Ok(a) if usize::try_from(a).is_ok_and(|a| obs.mask.get(a) == Some(&true)) => {
                    a as usize
                }
                Ok(a) => {
                    let valid: Vec<usize> = obs.valid_actions().collect();
                    *error = Some(crate::env::InvalidAction::new_err(format!(
                        "policy {} chose action {a}, which is not valid at this decision \
                         (valid: {valid:?})",
                        self.name
                    )));
                    first_valid
                }
                Err(e) => {
                    *error = Some(e);
                    first_valid
                }
            }
        })
    }
}

/// Compares `policy` (a callable from observation and mask to action, or the name of a policy
/// as `handoff eval --policy` takes it) with `baselines` (default: every built-in heuristic and
/// the shipped tuned ones that fit the scenario) on `seeds` seeds from `first_seed`. Returns
/// `(json, markdown)`: the document `handoff eval --json` prints and its table.
#[pyfunction]
#[pyo3(signature = (policy, scenario = handoff_env::scenario::DEFAULT_SCENARIO, *,
    baselines = None, baseline = None, seeds = 10, first_seed = 1, name = "python",
    threads = None, resamples = 10_000, **options))]
#[allow(clippy::too_many_arguments)]
pub fn evaluate(
    py: Python<'_>,
    policy: Bound<'_, PyAny>,
    scenario: &str,
    baselines: Option<Vec<String>>,
    baseline: Option<String>,
    seeds: u64,
    first_seed: u64,
    name: &str,
    threads: Option<usize>,
    resamples: usize,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<(String, String)> {
    let args = ScenarioArgs::from_py(options)?.without_max_steps("evaluate")?;
    let options = EnvOptions::new(py, scenario, args)?;
    let scenario = options.scenario();
    let (python_name, callable) = match policy.extract::<String>() {
        Ok(text) => (text, None),
        Err(_) if policy.is_callable() => (name.to_string(), Some(Arc::new(policy.unbind()))),
        Err(_) => {
            return Err(value_error(
                "policy: a callable (observation, action_mask) -> action, or a policy name",
            ));
        }
    };
    let mut names = vec![python_name.clone()];
    names.extend(baselines.unwrap_or_else(|| handoff_agents::baseline_policies(scenario)));
    // compared with study-treatment when evaluated, else with the first baseline
    let baseline = baseline.or_else(|| {
        (!names.iter().any(|n| n == DEFAULT_BASELINE)).then(|| names.get(1).cloned()).flatten()
    });
    let (names, baseline) =
        policy_list(&names, baseline.as_deref(), scenario).map_err(value_error)?;
    // every name read once, as `handoff eval` reads them; a policy file made on another model
    // is a UserWarning naming both
    let named = names.iter().filter(|n| callable.is_none() || **n != python_name);
    let fallback = &scenario.env.fallback_policy;
    let resolver =
        PolicyResolver::new(named.chain([fallback]).map(String::as_str), scenario, false)
            .map_err(value_error)?;
    for line in resolver.warnings() {
        user_warning(py, line)?;
    }
    let config = EvalConfig { seeds, first_seed, resamples, ..EvalConfig::default() };
    config.check().map_err(value_error)?;
    let error: FirstError = Arc::default();
    let observation_len = handoff_env::observation_len(scenario.env.candidates as usize);
    let factory = |policy: &str, s: &Scenario| -> Result<Box<dyn Policy>, String> {
        match &callable {
            Some(callable) if policy == python_name => Ok(Box::new(PythonPolicy {
                name: python_name.clone(),
                callable: Arc::clone(callable),
                features: vec![0.0; observation_len],
                error: Arc::clone(&error),
            })),
            _ => resolver.make(policy, s),
        }
    };
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        handoff_eval::check_threads(n).map_err(value_error)?;
        pool = pool.num_threads(n);
    }
    let pool = pool.build().map_err(value_error)?;
    let report = py
        .detach(|| {
            pool.install(|| {
                evaluate_policies(scenario, &names, &baseline, &config, &factory, &|| {})
            })
        })
        .map_err(value_error)?;
    if let Some(e) = error.lock().expect("no thread panics holding it").take() {
        return Err(e);
    }
    let json = serde_json::to_string_pretty(&EvalJson::new(&report, &[])).map_err(value_error)?;
    Ok((json + "\n", markdown(&report, &[])))
}
