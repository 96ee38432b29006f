//! The training loop of the network learners (PPO, DQN): steps the vector environment, logs to
//! TensorBoard with CleanRL's tags, checkpoints, resumes by replay, and evaluates against the
//! best heuristic on the validation seeds.

use std::sync::atomic::Ordering;
use std::time::Instant;

use handoff_agents::{LearnedPolicy, spec};
use handoff_env::{Policy, Scenario};
use handoff_eval::{Kpi, run_episodes, stats};

use crate::checkpoint::{self, LoopState};
use crate::config::{Algo, TeacherPolicy, TrainConfig};
use crate::dqn::Dqn;
use crate::error::TrainError;
use crate::learner::{Learner, Teacher};
use crate::logger::Logger;
use crate::ppo::Ppo;
use crate::run::{
    EVAL_FIRST_SEED, EvalSnapshot, Progress, TrainOptions, TrainOutcome, best_heuristic,
    create_run_dir, mean_return,
};
use crate::setup;

/// The KPIs each validation logs (as `kpi/NAME`), by their name in [`handoff_eval::KPIS`].
const LOGGED_KPIS: [&str; 4] = ["duration", "rating", "retrial", "abandonment"];

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

/// Trains the network learner of `config` (validated: [`crate::train::train`] is the entry)
/// into `options.run_dir`, calling `on_progress` after every iteration.
pub(crate) fn train(
    config: &TrainConfig,
    options: &TrainOptions,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<TrainOutcome, TrainError> {
    let centre = setup::training_scenario(config)?;
    let scenario = centre.scenario.clone();
    let device = setup::device(config.device)?;
    let run = options.run_dir.as_path();
    let mut vector = setup::vector_env(&scenario, config.envs, config.seed)?;
    let (obs_len, slots) = (vector.observations().ncols(), vector.masks().ncols());
    let mut learner = make_learner(config, &device, obs_len, slots)
        .expect("the entry hands rollout runs to the rollout learner");
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
            for name in LOGGED_KPIS {
                let kpi = Kpi::by_metric(name).expect("a KPI of the table");
                let tag = format!("kpi/{name}");
                logger.scalar(&tag, (kpi.get)(&snapshot.kpis), state.global_step);
            }
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
