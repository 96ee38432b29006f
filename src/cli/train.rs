//! `handoff train`: the best rule improved by rollouts (the default), PPO or DQN on a scenario,
//! with TensorBoard logs, checkpoints and a closing comparison against the heuristics.

use std::path::{Path, PathBuf};

use handoff_training::config::{Algo, MAX_ENVS, MAX_STEPS, TrainConfig};
use handoff_training::run::{
    TEST_FIRST_SEED, closing_comparison, closing_policies, trained_policy,
};
use handoff_training::runs::{LATEST, RUNS_ROOT, link_latest, next_run_dir};
use handoff_training::train::{Progress, TrainOptions, train_validated};

use super::format::{progress_bar, steps_bar};
use super::{CliError, interrupt, write_atomic};

/// The options of `handoff train`; `None` keeps the value of the configuration file (or the
/// default, given in each flag's help and checked by a test against `TrainConfig::default()`).
#[derive(Debug, Clone, clap::Args)]
pub struct TrainArgs {
    /// The learner [default: rollout].
    #[arg(long, value_enum)]
    pub algo: Option<Algo>,
    /// A built-in scenario or the path of a scenario TOML file [default: taobao].
    #[arg(long)]
    pub scenario: Option<String>,
    /// Decision kinds the agent makes, comma-separated: route, attend, assign [default: the
    /// scenario's `env.control`].
    #[arg(long, value_name = "KINDS")]
    pub control: Option<String>,
    /// Environment steps to train for [default: 4000000].
    #[arg(long, allow_hyphen_values = true, value_parser = super::whole_number::<u64>(1, MAX_STEPS))]
    pub steps: Option<u64>,
    /// Seed of networks, environments and sampling [default: 1].
    #[arg(long, allow_hyphen_values = true, value_parser = super::parse_seed)]
    pub seed: Option<u64>,
    /// Environments stepped together [default: 16].
    #[arg(long, allow_hyphen_values = true, value_parser = super::whole_number::<usize>(1, MAX_ENVS))]
    pub envs: Option<usize>,
    /// Simulated days per training episode [default: 1].
    #[arg(long, allow_hyphen_values = true, value_parser = super::days())]
    pub days: Option<u32>,
    /// Scale of workers and arrivals during training, the same load per worker [default:
    /// 0.05]; pass 1 for a scenario that is small already.
    #[arg(long, allow_hyphen_values = true, value_parser = super::scale)]
    pub scale: Option<f64>,
    /// Compute device: flex (CPU); wgpu or cuda when built with that cargo feature [default:
    /// flex].
    #[arg(long)]
    pub device: Option<String>,
    /// A TOML file of hyperparameters.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The run directory [default: a new runs/run-NNN, with runs/latest pointing at it; with
    /// --resume, runs/latest].
    #[arg(long, value_name = "DIR", alias = "out")]
    pub run_dir: Option<PathBuf>,
    /// Continue the run in --run-dir from its newest checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Start over in a --run-dir that holds a run (its files are removed first).
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,
    /// Unseen test seeds of the closing comparison with the heuristics (the configuration's
    /// `eval_seeds` are the validation seeds during training).
    #[arg(long, default_value_t = 20, allow_hyphen_values = true, value_parser = super::whole_number::<u64>(1, 10000))]
    pub test_seeds: u64,
}

impl TrainArgs {
    /// Whether any flag that sets the configuration was given.
    fn sets_configuration(&self) -> bool {
        self.config.is_some()
            || self.algo.is_some()
            || self.scenario.is_some()
            || self.control.is_some()
            || self.steps.is_some()
            || self.seed.is_some()
            || self.envs.is_some()
            || self.days.is_some()
            || self.scale.is_some()
            || self.device.is_some()
    }
}

/// The configuration: the file (or defaults), then every flag given.
pub fn resolve_config(args: &TrainArgs) -> Result<TrainConfig, CliError> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::input(format!("{}: {e}", path.display())))?;
            TrainConfig::from_toml(&path.display().to_string(), &text)?
        }
        None => TrainConfig::default(),
    };
    if let Some(a) = args.algo {
        config.algo = a;
    }
    if let Some(s) = &args.scenario {
        config.scenario = s.clone();
    }
    if let Some(c) = &args.control {
        config.control = c
            .split(',')
            .map(|k| k.trim().parse())
            .collect::<Result<_, String>>()
            .map_err(|e| CliError::input(format!("training configuration: control: {e}")))?;
    }
    if let Some(s) = args.steps {
        config.steps = s;
    }
    if let Some(s) = args.seed {
        config.seed = s;
    }
    if let Some(e) = args.envs {
        config.envs = e;
    }
    if let Some(d) = args.days {
        config.days = d;
    }
    if let Some(s) = args.scale {
        config.scale = s;
    }
    if let Some(d) = &args.device {
        config.device = d.parse().map_err(CliError::input)?;
    }
    if config.algo == Algo::Rollout {
        refuse_network_flags(args)?;
    }
    config.validate().map_err(|e| CliError::input(format!("training configuration: {e}")))?;
    Ok(config)
}

/// Refuses the flags only the network learners read (PPO and DQN train a network for `steps` on
/// `envs` environments of a replica at `scale`, on `device`), which the rollout learner would
/// otherwise ignore: it compares options on the full-size centre, sized by `[rollout]`.
fn refuse_network_flags(args: &TrainArgs) -> Result<(), CliError> {
    let given: Vec<&str> = [
        ("--steps", args.steps.is_some()),
        ("--envs", args.envs.is_some()),
        ("--scale", args.scale.is_some()),
        ("--device", args.device.is_some()),
    ]
    .into_iter()
    .filter_map(|(flag, set)| set.then_some(flag))
    .collect();
    if given.is_empty() {
        return Ok(());
    }
    Err(CliError::input(format!(
        "{} set{} what PPO and DQN train on (--algo ppo or dqn); the rollout learner, the \
         default, works on the full-size centre and takes its sizes from the [rollout] keys of \
         --config (training/src/config.rs)",
        given.join(", "),
        if given.len() == 1 { "s" } else { "" }
    )))
}

/// Fewest workers a scaled training centre should have before `train` warns that the scale
/// shrinks a scenario that is small already.
const FEW_WORKERS: u32 = 10;

/// Warns (one line on stderr) when the learners that train on a scaled replica (PPO, DQN)
/// would train on fewer than [`FEW_WORKERS`] workers: `--scale 0.05` is for the study's centre.
fn warn_if_tiny(config: &TrainConfig) -> Result<(), CliError> {
    if config.algo == Algo::Rollout {
        return Ok(()); // trains at full size
    }
    let target = handoff_training::setup::target_scenario(config)?;
    let workers = target.scaled(config.scale).workers.count;
    if workers < FEW_WORKERS {
        eprintln!(
            "warning: {} has {} workers, so scale {} trains on a centre of {workers}; pass \
             --scale 1 for a scenario that is small already",
            config.scenario, target.workers.count, config.scale
        );
    }
    Ok(())
}

/// The run directory: `--run-dir`, else (resuming) where `runs/latest` points, else a new
/// numbered directory under `runs/`.
fn run_directory(args: &TrainArgs) -> PathBuf {
    let root = Path::new(RUNS_ROOT);
    match (&args.run_dir, args.resume) {
        (Some(dir), _) => dir.clone(),
        (None, true) => {
            let latest = root.join(LATEST);
            std::fs::read_link(&latest).map_or(latest, |target| root.join(target))
        }
        (None, false) => next_run_dir(root),
    }
}

/// The configuration saved in the run directory `out`, for `--resume` (which takes no other
/// training flags).
fn saved_config(args: &TrainArgs, out: &Path) -> Result<TrainConfig, CliError> {
    let path = handoff_training::checkpoint::config_path(out);
    if args.sets_configuration() {
        return Err(CliError::input(format!(
            "--resume continues the run in {} with its saved configuration ({}); give no other \
             training flags",
            out.display(),
            path.display()
        )));
    }
    let text = std::fs::read_to_string(&path).map_err(|e| {
        CliError::input(format!(
            "{}: {e} ({} holds no run to resume)",
            path.display(),
            out.display()
        ))
    })?;
    Ok(TrainConfig::from_toml(&path.display().to_string(), &text)?)
}

/// Runs `handoff train`; returns the closing report.
pub fn run(args: &TrainArgs) -> Result<String, CliError> {
    let out = run_directory(args);
    let config = if args.resume { saved_config(args, &out)? } else { resolve_config(args)? };
    warn_if_tiny(&config)?;
    let rollout = config.algo == Algo::Rollout;
    let (length, unit) = if rollout {
        (config.rollout.episodes(), "training episodes")
    } else {
        (config.steps, "steps")
    };
    let bar = steps_bar(length, format!("{} on {}", config.algo.name(), config.scenario), unit);
    let options = TrainOptions {
        run_dir: out.clone(),
        resume: args.resume,
        overwrite: args.force,
        stop: Some(interrupt::cooperative()),
        ..TrainOptions::default()
    };
    // validated once, by resolve_config
    let trained = train_validated(&config, &options, &mut |p: &Progress| {
        bar.set_length(p.total_steps);
        bar.set_position(p.global_step);
        if rollout {
            bar.set_message(format!("{:.0} comparisons a second", p.sps));
        } else {
            let recent = p.recent_return.map_or(String::from("-"), |r| format!("{r:.1}"));
            bar.set_message(format!("{:.0} SPS, recent return {recent}", p.sps));
        }
    });
    interrupt::end_cooperative();
    bar.finish_and_clear();
    let outcome = trained?;
    if out.parent() == Some(Path::new(RUNS_ROOT)) {
        link_latest(Path::new(RUNS_ROOT), &out)?;
    }
    if config.algo != Algo::Rollout {
        write_atomic(&out.join("curve.svg"), &super::runs::curve_svg(&out)?)?;
    }
    if !outcome.finished {
        return Err(CliError {
            message: format!(
                "interrupted at step {} of {}; the last checkpoint is {}; continue with: \
                 handoff train --run-dir {} --resume",
                outcome.global_step,
                config.steps,
                outcome.checkpoint.display(),
                out.display()
            ),
            code: interrupt::EXIT_INTERRUPTED,
        });
    }
    let saved = out.join("comparison.md");
    if args.resume && outcome.iterations_here == 0 {
        let mut report = format!(
            "the run in {} is already complete ({} steps); checkpoint {}\n",
            out.display(),
            outcome.global_step,
            outcome.checkpoint.display()
        );
        if let Ok(comparison) = std::fs::read_to_string(&saved) {
            report.push_str("\nIts closing comparison:\n");
            report.push_str(&comparison);
            return Ok(report);
        }
    }
    let mut report = if config.algo == Algo::Rollout {
        format!(
            "trained rollout on {} episodes; the corrected rule is {}\n",
            outcome.global_step,
            outcome.checkpoint.display()
        )
    } else {
        format!(
            "trained {} for {} steps; checkpoint {}\ntraining curve: {}/curve.svg; \
             TensorBoard: tensorboard --logdir {}\n",
            config.algo.name(),
            outcome.global_step,
            outcome.checkpoint.display(),
            out.display(),
            out.display()
        )
    };
    let centre = &outcome.centre;
    if let (Some(full), Some(trained)) = (centre.full_wait_min, centre.training_wait_min) {
        report.push_str(&format!(
            "training centre: {} workers instead of {} at scale {} so that customers wait as \
             long as at full size ({trained:.2} vs {full:.2} min under {})\n",
            centre.scenario.workers.count,
            centre.scaled_workers,
            config.scale,
            centre.scenario.env.fallback_policy,
        ));
    }
    match (&outcome.eval, config.algo) {
        (Some(e), Algo::Rollout) => report.push_str(&format!(
            "validation ({} seeds of {} day(s) at full size): return {:.1}, the rule {} {:.1}\n",
            config.rollout.validation_seeds,
            match config.rollout.validation_days {
                0 => handoff_training::setup::target_scenario(&config)?.days,
                days => days,
            },
            e.return_mean,
            e.best_heuristic,
            e.best_heuristic_return,
        )),
        (Some(e), _) => report.push_str(&format!(
            "last validation ({} seeds): return {:.1}, best heuristic {} {:.1}; the best \
             validated policy is in {}/best\n",
            config.eval_seeds,
            e.return_mean,
            e.best_heuristic,
            e.best_heuristic_return,
            out.display()
        )),
        (None, _) => {}
    }
    let baseline = outcome.best_heuristic.clone();
    interrupt::on_interrupt(format!(
        "the closing comparison was not finished; the trained policy is in {}; compare it with: \
         handoff eval --scenario {} --policy {} --first-seed {TEST_FIRST_SEED} --seeds {}",
        out.display(),
        config.scenario,
        trained_policy(&out, config.algo),
        args.test_seeds
    ));
    let target = handoff_training::setup::target_scenario(&config)?;
    let policies = closing_policies(&out, &target, config.algo).len() as u64;
    let bar = progress_bar(args.test_seeds * policies, "episodes");
    let comparison = closing_comparison(&config, &out, &baseline, args.test_seeds, &|| bar.inc(1))?;
    bar.finish_and_clear();
    let table = format!(
        "Test on {} unseen seeds, at full size:\n{}",
        args.test_seeds,
        handoff_eval::markdown(&comparison, &[])
    );
    write_atomic(&saved, &table)?;
    report.push('\n');
    report.push_str(&table);
    Ok(report)
}
