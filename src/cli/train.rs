//! `handoff train`: PPO or DQN on a scenario, with TensorBoard logs, checkpoints and a closing
//! comparison against the heuristics.

use std::path::PathBuf;

use handoff_training::config::{Algo, TrainConfig};
use handoff_training::train::{Progress, TrainOptions, closing_comparison, train};

use super::format::{progress_bar, steps_bar};
use super::{CliError, eval};

/// The learners of `handoff train`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum AlgoArg {
    /// Proximal policy optimisation.
    Ppo,
    /// Double DQN.
    Dqn,
}

/// The options of `handoff train`; `None` keeps the value of the configuration file (or the
/// default).
#[derive(Debug, Clone, clap::Args)]
pub struct TrainArgs {
    /// The learner.
    #[arg(long, value_enum)]
    pub algo: Option<AlgoArg>,
    /// A built-in scenario or the path of a scenario TOML file.
    #[arg(long)]
    pub scenario: Option<String>,
    /// Decision kinds the agent makes, comma-separated: route, attend.
    #[arg(long, value_name = "KINDS")]
    pub control: Option<String>,
    /// Environment steps to train for.
    #[arg(long)]
    pub steps: Option<u64>,
    /// Seed of networks, environments and sampling.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Environments stepped together.
    #[arg(long)]
    pub envs: Option<usize>,
    /// Simulated days per training episode.
    #[arg(long)]
    pub days: Option<u32>,
    /// Scale of workers and arrivals during training (same load per worker).
    #[arg(long)]
    pub scale: Option<f64>,
    /// Compute device: flex (CPU); wgpu or cuda when built with that cargo feature.
    #[arg(long)]
    pub device: Option<String>,
    /// A TOML file of hyperparameters.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The run directory.
    #[arg(long, value_name = "DIR", default_value = "runs/latest")]
    pub out: PathBuf,
    /// Continue the run in --out from its newest checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Held-out seeds of the closing comparison with the heuristics.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub eval_seeds: u64,
}

/// The configuration: the file (or defaults), then every flag given.
pub fn resolve_config(args: &TrainArgs) -> Result<TrainConfig, CliError> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::input(format!("{}: {e}", path.display())))?;
            TrainConfig::from_toml(&path.display().to_string(), &text).map_err(CliError::input)?
        }
        None => TrainConfig::default(),
    };
    if let Some(a) = args.algo {
        config.algo = match a {
            AlgoArg::Ppo => Algo::Ppo,
            AlgoArg::Dqn => Algo::Dqn,
        };
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
    config.validate().map_err(|e| CliError::input(format!("training configuration: {e}")))?;
    Ok(config)
}

/// Runs `handoff train`; returns the closing report.
pub fn run(args: &TrainArgs) -> Result<String, CliError> {
    let out = args.out.clone();
    let config = if args.resume {
        let path = handoff_training::checkpoint::config_path(&out);
        let given = args.config.is_some()
            || args.algo.is_some()
            || args.scenario.is_some()
            || args.control.is_some()
            || args.steps.is_some()
            || args.seed.is_some()
            || args.envs.is_some()
            || args.days.is_some()
            || args.scale.is_some()
            || args.device.is_some();
        if given {
            return Err(CliError::input(format!(
                "--resume continues the run in {} with its saved configuration ({}); \
                 give no other training flags",
                out.display(),
                path.display()
            )));
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| CliError::input(format!("{}: {e}", path.display())))?;
        TrainConfig::from_toml(&path.display().to_string(), &text).map_err(CliError::input)?
    } else {
        resolve_config(args)?
    };
    let bar = steps_bar(config.steps, format!("{} on {}", config.algo.name(), config.scenario));
    let options = TrainOptions { run_dir: out.clone(), resume: args.resume, stop_after: None };
    let outcome = train(&config, &options, &mut |p: &Progress| {
        bar.set_length(p.total_steps);
        bar.set_position(p.global_step);
        let recent = p.recent_return.map_or(String::from("-"), |r| format!("{r:.1}"));
        bar.set_message(format!("{:.0} SPS, recent return {recent}", p.sps));
    })?;
    bar.finish_and_clear();
    let mut report = format!(
        "trained {} for {} steps; checkpoint {}\nTensorBoard: tensorboard --logdir {}\n",
        config.algo.name(),
        outcome.global_step,
        outcome.checkpoint.display(),
        out.display()
    );
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
    if let Some(e) = &outcome.eval {
        report.push_str(&format!(
            "last validation ({} seeds): return {:.1}, best heuristic {} {:.1}; the best \
             validated policy is in {}/best\n\nTest on unseen seeds, at full size:\n",
            config.eval_seeds,
            e.return_mean,
            e.best_heuristic,
            e.best_heuristic_return,
            out.display()
        ));
    }
    let baseline = outcome.eval.as_ref().map_or("c-mu".into(), |e| e.best_heuristic.clone());
    let bar =
        progress_bar(args.eval_seeds * (handoff_agents::POLICIES.len() as u64 + 1), "episodes");
    let comparison = closing_comparison(&config, &out, &baseline, args.eval_seeds, &|| bar.inc(1))?;
    bar.finish_and_clear();
    report.push_str(&eval::render::markdown(&comparison, &[]));
    Ok(report)
}
