//! The training loop shared by the learners: steps the vector environment, logs to
//! TensorBoard, checkpoints, resumes by replay, and evaluates against the best heuristic on
//! held-out seeds.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use handoff_agents::{LearnedPolicy, baseline_policies, spec};
use handoff_env::{Policy, Scenario};
use handoff_eval::{EvalConfig, EvalReport, evaluate};

use crate::checkpoint::{self, CHECKPOINT_PREFIX, LoopState, PolicyMaker};
use crate::config::{Algo, TeacherPolicy, TrainConfig};
use crate::dqn::Dqn;
use crate::error::TrainError;
use crate::learner::{Learner, Teacher};
use crate::logger::Logger;
use crate::ppo::Ppo;
use crate::setup;
use handoff_eval::{EpisodeResult, Kpis, run_episodes, stats};

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

/// The network learner for `config` (`None` for the rollout learner, which has no network:
/// [`crate::rollout`]).
pub fn make_learner(
    config: &TrainConfig,
    device: &burn::prelude::Device,
    obs_len: usize,
    slots: usize,
) -> Option<Box<dyn Learner>> {
    match config.algo {
        Algo::Rollout => None,
        Algo::Ppo => Some(Box::new(Ppo::new(config, device, obs_len, slots))),
        Algo::Dqn => Some(Box::new(Dqn::new(config, device, obs_len, slots))),
    }
}

/// The rows of a vector environment's buffer, one environment after the other.
fn rows<T>(buffer: &ndarray::Array2<T>) -> &[T] {
    buffer.as_slice().expect("the vector environment's buffers are contiguous")
}

fn mean_return(episodes: &[EpisodeResult]) -> f64 {
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
    crate::logger::SCALARS_FILE,
    "comparison.md",
    "curve.svg",
    crate::rollout::CORRECTED_RULE_FILE,
    crate::rollout::VALIDATION_FILE,
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
    let holds_a_run = run.join("checkpoints").join("latest").exists()
        || run.join(crate::rollout::CORRECTED_RULE_FILE).exists();
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

/// Trains with `config` into `options.run_dir`, calling `on_progress` after every iteration:
/// validates `config`, then [`train_validated`].
pub fn train(
    config: &TrainConfig,
    options: &TrainOptions,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<TrainOutcome, TrainError> {
    config.validate()?;
    train_validated(config, options, on_progress)
}

/// [`train`] for a configuration [`TrainConfig::validate`] accepted already (the command line
/// validates once, where it reads the file and the flags): the one dispatch to every learner.
pub fn train_validated(
    config: &TrainConfig,
    options: &TrainOptions,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<TrainOutcome, TrainError> {
    if config.algo == Algo::Rollout {
        return crate::rollout::train(config, options, on_progress);
    }
    let centre = setup::training_scenario(config)?;
    let scenario = centre.scenario.clone();
    let device = setup::device(config.device)?;
    let run = options.run_dir.as_path();
    let mut vector = setup::vector_env(&scenario, config.envs, config.seed)?;
    let (obs_len, slots) = (vector.observations().ncols(), vector.masks().ncols());
    let mut learner =
        make_learner(config, &device, obs_len, slots).expect("rollout runs are handed on above");
    let mut state = LoopState {
        iteration: 0,
        global_step: 0,
        vector_seed: config.seed,
        episodes: vector.episodes().to_vec(),
        needs_reset: vector.needs_reset().to_vec(),
        actions: vec![Vec::new(); config.envs],
        recent_returns: Vec::new(),
        best_return: None,
    };
    if options.resume {
        if checkpoint::config_path(run).exists() && !run.join("checkpoints").join("latest").exists()
        {
            return Err(TrainError::Checkpoint(format!(
                "{} holds a run interrupted before its first checkpoint: there is nothing to \
                 resume; start it again without --resume",
                run.display()
            )));
        }
        let dir = checkpoint::resolve(run)?;
        let (saved, saved_state) = checkpoint::open(&dir)?;
        if saved != *config {
            return Err(TrainError::Checkpoint(format!(
                "checkpoint {} was made with a different configuration than {}; resume with the \
                 run's own configuration",
                dir.display(),
                checkpoint::config_path(run).display()
            )));
        }
        learner.load(&dir)?;
        vector
            .restore(
                saved_state.vector_seed,
                &saved_state.episodes,
                &saved_state.needs_reset,
                &saved_state.actions,
            )
            .map_err(|e| {
                TrainError::Checkpoint(format!(
                    "checkpoint {} does not replay on this scenario: {e}",
                    dir.display()
                ))
            })?;
        state = saved_state;
    } else {
        create_run_dir(run, config, options.overwrite)?;
    }
    let mut logger =
        if options.resume { Logger::resume(run, state.global_step)? } else { Logger::new(run)? };
    let per_iteration = (config.envs * learner.steps_per_iteration()) as u64;
    let total_iterations = config.steps.div_ceil(per_iteration);
    let heuristic = best_heuristic(&scenario, config.eval_seeds);
    let started = Instant::now();
    let start_step = state.global_step;
    let mut last_checkpoint = None;
    let mut eval = None;
    let mut done_here = 0u64;
    let (teacher, teacher_steps, teacher_key) = match config.algo {
        Algo::Dqn => (&config.dqn.teacher, config.dqn.teacher_steps, "dqn.teacher"),
        _ => (&config.ppo.teacher, config.ppo.teacher_steps, "ppo.teacher"),
    };
    let teacher = match teacher {
        TeacherPolicy::None => None,
        // chosen where the rollout learner chooses its rule: at full size, over the scenario's
        // own days
        TeacherPolicy::Best => {
            Some(best_heuristic(&setup::target_scenario(config)?, config.eval_seeds).0)
        }
        TeacherPolicy::Builtin(name) => Some(name.clone()),
    };
    let mut teachers: Vec<Box<dyn Policy>> = match &teacher {
        Some(teacher) => (0..config.envs)
            .map(|_| spec::resolve(teacher, &scenario))
            .collect::<Result<_, _>>()
            .map_err(|e| TrainError::Config(format!("{teacher_key}: {e}")))?,
        None => Vec::new(),
    };
    while state.iteration < total_iterations {
        let follow = state.global_step < teacher_steps;
        for _ in 0..learner.steps_per_iteration() {
            let live: Vec<bool> = vector.needs_reset().iter().map(|r| !r).collect();
            let taught: Vec<usize> = teachers
                .iter_mut()
                .zip(vector.envs())
                .zip(&live)
                .map(|((t, env), &l)| if l { t.act(env.observation()) } else { 0 })
                .collect();
            let teacher = (!teachers.is_empty()).then_some(Teacher { actions: &taught, follow });
            let actions =
                learner.act(rows(vector.observations()), rows(vector.masks()), &live, teacher);
            vector.step(&actions).map_err(|e| TrainError::InvalidAction(e.to_string()))?;
            learner.observe(
                vector.rewards(),
                vector.terminated(),
                vector.truncated(),
                rows(vector.observations()),
                rows(vector.masks()),
            );
            state.global_step += config.envs as u64;
            for i in 0..config.envs {
                if !live[i] {
                    state.actions[i].clear();
                    continue;
                }
                state.actions[i].push(actions[i] as u8);
                if let (true, Some(info)) = (vector.needs_reset()[i], vector.infos()[i]) {
                    logger.scalar("charts/episodic_return", info.episode_return, state.global_step);
                    logger.scalar("charts/episodic_length", info.steps as f64, state.global_step);
                    state.recent_returns.push(info.episode_return);
                    if state.recent_returns.len() > 20 {
                        state.recent_returns.remove(0);
                    }
                }
            }
        }
        state.iteration += 1;
        done_here += 1;
        let progress = (state.iteration - 1) as f64 / total_iterations as f64;
        let scalars = learner.update(rows(vector.observations()), rows(vector.masks()), progress);
        for (tag, value) in scalars {
            logger.scalar(tag, value, state.global_step);
        }
        state.episodes = vector.episodes().to_vec();
        state.needs_reset = vector.needs_reset().to_vec();
        let sps = (state.global_step - start_step) as f64 / started.elapsed().as_secs_f64();
        logger.scalar("charts/SPS", sps, state.global_step);
        let last = state.iteration == total_iterations;
        let stopping = options.stop_after.is_some_and(|n| done_here >= n)
            || options.stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed));
        if last || (config.eval_every > 0 && state.iteration.is_multiple_of(config.eval_every)) {
            let snapshot =
                evaluate_scorer(learner.as_ref(), &scenario, config, &device, &heuristic);
            logger.scalar("eval/return", snapshot.return_mean, state.global_step);
            logger.scalar("eval/best_heuristic_return", heuristic.1, state.global_step);
            logger.scalar("kpi/duration", snapshot.kpis.duration_min, state.global_step);
            logger.scalar("kpi/rating", snapshot.kpis.rating, state.global_step);
            logger.scalar("kpi/retrial", snapshot.kpis.retrial, state.global_step);
            logger.scalar("kpi/abandonment", snapshot.kpis.abandonment, state.global_step);
            if state.best_return.is_none_or(|best| snapshot.return_mean > best) {
                state.best_return = Some(snapshot.return_mean);
                checkpoint::save_best(run, config, &state, |dir| learner.save(dir))?;
            }
            if let Some(best) = state.best_return {
                logger.scalar("eval/best_return", best, state.global_step);
            }
            eval = Some(snapshot);
        }
        if last || stopping || state.iteration.is_multiple_of(config.checkpoint_every) {
            last_checkpoint =
                Some(checkpoint::save(run, state.iteration, config, &state, |dir| {
                    learner.save(dir)
                })?);
        }
        logger.flush()?;
        let recent = (!state.recent_returns.is_empty()).then(|| stats::mean(&state.recent_returns));
        on_progress(&Progress {
            global_step: state.global_step,
            total_steps: total_iterations * per_iteration,
            sps,
            recent_return: recent,
        });
        if stopping && !last {
            break;
        }
    }
    let checkpoint = match last_checkpoint {
        Some(c) => c,
        None => checkpoint::resolve(run)?,
    };
    Ok(TrainOutcome {
        checkpoint,
        global_step: state.global_step,
        finished: state.iteration == total_iterations,
        iterations_here: done_here,
        eval,
        best_heuristic: heuristic.0,
        centre,
    })
}

/// Greedy evaluation of the learner's scorer on the evaluation seeds.
fn evaluate_scorer(
    learner: &dyn Learner,
    scenario: &Scenario,
    config: &TrainConfig,
    device: &burn::prelude::Device,
    heuristic: &(String, f64),
) -> EvalSnapshot {
    let scorer = learner.scorer();
    let obs_len = handoff_env::observation_len(scenario.env.candidates as usize);
    let episodes = run_episodes(scenario, EVAL_FIRST_SEED, config.eval_seeds, &|| {
        Box::new(LearnedPolicy::new(config.algo.name(), scorer.clone(), device.clone(), obs_len))
    });
    let kpis = handoff_eval::mean_kpis(&episodes);
    EvalSnapshot {
        return_mean: mean_return(&episodes),
        best_heuristic: heuristic.0.clone(),
        best_heuristic_return: heuristic.1,
        kpis,
    }
}

/// The name of a run's trained policy: its policy file for the rollout learner, else its
/// checkpoint (`ckpt:DIR`).
pub fn trained_policy(run_dir: &Path, algo: Algo) -> String {
    match algo {
        Algo::Rollout => run_dir.join(crate::rollout::CORRECTED_RULE_FILE).display().to_string(),
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
