//! A run of any learner: the options and progress every learner shares, how a run ended, its
//! directory and the files in it, the seeds it is validated and tested on, the best heuristic
//! it is judged against and the closing comparison on the test seeds.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use handoff_agents::{baseline_policies, spec};
use handoff_env::Scenario;
use handoff_eval::{EpisodeResult, EvalConfig, EvalReport, Kpis, evaluate, run_episodes, stats};

use crate::checkpoint::{self, CHECKPOINT_PREFIX, PolicyMaker};
use crate::config::{Algo, TrainConfig};
use crate::error::TrainError;
use crate::setup;

/// Validation seeds (periodic evaluations, choice of the best policy) start here, far from the
/// hashed seeds of training episodes.
pub const EVAL_FIRST_SEED: u64 = 1_000_000;

/// Test seeds (the closing comparison, the README's results) start here: never seen in
/// training or validation.
pub const TEST_FIRST_SEED: u64 = 2_000_000;

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    /// The run directory (configuration, event file, checkpoints).
    pub run_dir: PathBuf,
    /// Continue the run in `run_dir` from its newest checkpoint.
    pub resume: bool,
    /// Stop (with a checkpoint) after this many iterations in this process, as an interruption
    /// would; `None` runs to the end.
    pub stop_after: Option<u64>,
    /// Stop (with a checkpoint) at the end of the iteration during which this turns true: how an
    /// interruption (Ctrl-C) ends a run so that it can be resumed.
    pub stop: Option<Arc<AtomicBool>>,
    /// Start over in a run directory that holds a run, removing the run's files (its
    /// configuration, checkpoints, logs and results; nothing else).
    pub overwrite: bool,
}

/// What the progress callback sees after each iteration.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Environment steps so far.
    pub global_step: u64,
    /// Environment steps of the whole run.
    pub total_steps: u64,
    /// Steps per second in this process, updates included.
    pub sps: f64,
    /// Mean return of the recent training episodes, if any ended.
    pub recent_return: Option<f64>,
}

/// A greedy evaluation of the learned policy beside the best heuristic.
#[derive(Debug, Clone)]
pub struct EvalSnapshot {
    /// Mean return of the learned policy over the evaluation seeds.
    pub return_mean: f64,
    /// The best heuristic on these seeds.
    pub best_heuristic: String,
    /// Its mean return.
    pub best_heuristic_return: f64,
    /// KPI means of the learned policy.
    pub kpis: Kpis,
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    /// The newest checkpoint.
    pub checkpoint: PathBuf,
    /// Environment steps taken.
    pub global_step: u64,
    /// Whether the run reached its step budget (false when stopped early).
    pub finished: bool,
    /// Iterations run by this call (0 when resuming a run that was already complete).
    pub iterations_here: u64,
    /// The last evaluation in this call (none when it ran no validation).
    pub eval: Option<EvalSnapshot>,
    /// The heuristic with the best mean return on the validation seeds: the closing
    /// comparison's baseline, the same whether or not the run was interrupted and resumed.
    pub best_heuristic: String,
    /// The centre the run trained on.
    pub centre: setup::TrainingScenario,
}

/// The CSV of every logged scalar in a run directory.
pub const SCALARS_FILE: &str = "scalars.csv";

/// The policy file a rollout run writes into its directory: the corrected rule.
pub const CORRECTED_RULE_FILE: &str = "policy.toml";

/// The file listing every candidate the validation compared, what it earned over the rule
/// (paired over the validation seeds, with its standard error) and whether it was kept.
pub const VALIDATION_FILE: &str = "validation.csv";

/// The folder a rollout run writes its comparisons into, one CSV per decision kind compared,
/// when `rollout.save_comparisons` asks.
pub const ROLLOUTS_DIR: &str = "rollouts";

pub(crate) fn mean_return(episodes: &[EpisodeResult]) -> f64 {
    stats::mean(&episodes.iter().map(|e| e.episode_return).collect::<Vec<_>>())
}

/// The heuristic with the best mean return on the evaluation seeds among
/// [`baseline_policies`] (random excluded).
pub fn best_heuristic(scenario: &Scenario, seeds: u64) -> (String, f64) {
    baseline_policies(scenario)
        .into_iter()
        .filter(|name| name != "random")
        .map(|name| {
            // checked once by baseline_policies; built for each episode
            let file = spec::policy_file(&name).expect("built-in and shipped policies resolve");
            let episodes = run_episodes(scenario, EVAL_FIRST_SEED, seeds, &|| {
                file.build(scenario, &name).expect("their values fit the scenario")
            });
            let mean = mean_return(&episodes);
            (name, mean)
        })
        .fold((String::new(), f64::NEG_INFINITY), |best, c| if c.1 > best.1 { c } else { best })
}

/// The files and folders a run writes into its directory (besides TensorBoard's event files).
pub const RUN_FILES: &[&str] = &[
    "config.toml",
    "checkpoints",
    "best",
    ".tmp-best",
    ".old-best",
    SCALARS_FILE,
    "comparison.md",
    "curve.svg",
    CORRECTED_RULE_FILE,
    VALIDATION_FILE,
    ROLLOUTS_DIR,
    ".policy.toml.tmp",
    ".validation.csv.tmp",
];

/// Writes `text` to the run file `path` atomically, through `.NAME.tmp` beside it.
pub(crate) fn write_run_file(path: &Path, text: &str) -> Result<(), TrainError> {
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| TrainError::write(path, e))
}

/// Removes a run's files from `run` (and nothing else in it).
fn remove_run_files(run: &Path) -> Result<(), TrainError> {
    let Ok(entries) = std::fs::read_dir(run) else { return Ok(()) };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if RUN_FILES.contains(&name.as_str()) || name.starts_with("events.out.tfevents.") {
            let path = entry.path();
            let removed = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            removed.map_err(|e| TrainError::write(&path, e))?;
        }
    }
    Ok(())
}

/// Prepares a fresh run directory, refusing one that already holds a run unless `overwrite`.
/// A run interrupted before its first checkpoint has nothing to resume: its files are replaced.
pub(crate) fn create_run_dir(
    run: &Path,
    config: &TrainConfig,
    overwrite: bool,
) -> Result<(), TrainError> {
    let holds_a_run =
        run.join("checkpoints").join("latest").exists() || run.join(CORRECTED_RULE_FILE).exists();
    if holds_a_run && !overwrite {
        return Err(TrainError::Checkpoint(format!(
            "{} already holds a run: pass --resume to continue it, --force to start it over, or \
             another --run-dir",
            run.display()
        )));
    }
    remove_run_files(run)?;
    std::fs::create_dir_all(run).map_err(|e| TrainError::write(run, e))?;
    write_run_file(&checkpoint::config_path(run), &config.to_toml())
}

/// The name of a run's trained policy: its policy file for the rollout learner, else its
/// checkpoint (`ckpt:DIR`).
pub fn trained_policy(run_dir: &Path, algo: Algo) -> String {
    match algo {
        Algo::Rollout => run_dir.join(CORRECTED_RULE_FILE).display().to_string(),
        Algo::Ppo | Algo::Dqn => format!("{CHECKPOINT_PREFIX}{}", run_dir.display()),
    }
}

/// The policies of a run's closing comparison on `scenario`: [`baseline_policies`], then the
/// run's trained policy ([`trained_policy`]).
pub fn closing_policies(run_dir: &Path, scenario: &Scenario, algo: Algo) -> Vec<String> {
    let mut policies = baseline_policies(scenario);
    policies.push(trained_policy(run_dir, algo));
    policies
}

/// The closing comparison of a run: [`closing_policies`], the trained policy beside every
/// built-in heuristic on `seeds` test seeds from [`TEST_FIRST_SEED`] of the run's target scenario
/// (full size, its own days), paired with `baseline`. `on_episode` is called after each episode.
pub fn closing_comparison(
    config: &TrainConfig,
    run_dir: &Path,
    baseline: &str,
    seeds: u64,
    on_episode: &(dyn Fn() + Sync),
) -> Result<EvalReport, TrainError> {
    let scenario = setup::target_scenario(config)?;
    let policies = closing_policies(run_dir, &scenario, config.algo);
    let maker = PolicyMaker::new(&policies, &scenario, false)?;
    let eval = EvalConfig { seeds, first_seed: TEST_FIRST_SEED, ..EvalConfig::default() };
    let factory = |name: &str, s: &Scenario| maker.make(name, s);
    evaluate(&scenario, &policies, baseline, &eval, &factory, on_episode)
        .map_err(TrainError::Config)
}
