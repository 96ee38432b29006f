//! The `handoff` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use handoff::cli::{self, CliError, bench, calibrate, eval, policies, scenarios, simulate, train};
use handoff_env::scenario::DEFAULT_SCENARIO;

/// mimalloc rather than the system allocator: Burn allocates and frees tensor buffers of a few
/// hundred kilobytes at every step, which glibc maps and unmaps each time (page faults took 40 %
/// of training time); mimalloc keeps them. Training runs about 1.7 times as fast.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Customer-service dispatch shared by an agentic AI and human workers: a simulator calibrated to
/// Alibaba's Taobao field experiment (arXiv:2605.14830), a Gymnasium-style environment, and tools
/// to compare dispatch policies.
#[derive(Debug, Parser)]
#[command(name = "handoff", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Simulate the study's control and treatment arms on the same customers.
    ///
    /// Every chat has a counterfactual twin in the other arm (the same arrival time, issue and
    /// customer), so differences between the arms come from dispatch alone. Prints a table per arm
    /// and segment (all, AI-eligible, AI-ineligible chats) and the treatment effects read the way
    /// the study reads them.
    Simulate {
        /// A built-in scenario (see `handoff scenarios`) or the path of a scenario TOML file.
        #[arg(long, default_value = DEFAULT_SCENARIO)]
        scenario: String,
        /// Seed of all random streams; the same seed gives byte-identical output.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Simulated days, overriding the scenario's.
        #[arg(long)]
        days: Option<u32>,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
        /// Write one row per chat and arm to this CSV file.
        #[arg(long, value_name = "PATH")]
        chats_csv: Option<PathBuf>,
    },
    /// Check the simulator against the field experiment, and refit it.
    ///
    /// Runs both study arms on the same customers for N seeds and estimates every effect the way
    /// the study reports it (durations as the change of the geometric mean, ratings over rated
    /// chats, retrials in points, escalation types against their human-served twins), with 95 %
    /// confidence intervals over seeds. Exits 1 when a target fails. Targets and their citations:
    /// calibration/targets.toml.
    Calibrate {
        /// A built-in scenario or the path of a scenario TOML file.
        #[arg(long, default_value = DEFAULT_SCENARIO)]
        scenario: String,
        /// Seeds to simulate (1, 2, ..., N).
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=1000))]
        seeds: u64,
        /// Simulated days, overriding the scenario's.
        #[arg(long)]
        days: Option<u32>,
        /// Scale workers and arrivals by this factor (same load per worker), for quick checks.
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Widen every tolerance by this many standard errors of the estimate (for reduced
        /// scales, whose sampling error exceeds the study's).
        #[arg(long, default_value_t = 0.0)]
        widen: f64,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
        /// Write the mechanism curves (effort, messages, rating by intervention delay) as SVG.
        #[arg(long, value_name = "PATH")]
        out: Option<PathBuf>,
        /// Fit the free parameters by simulated method of moments, then write the fitted
        /// scenario to --fit-out and report on it.
        #[arg(long)]
        fit: bool,
        /// Where --fit writes the fitted scenario.
        #[arg(long, value_name = "PATH", default_value = "fitted.toml")]
        fit_out: PathBuf,
        /// Scale of the simulations inside the fit.
        #[arg(long, default_value_t = 0.25)]
        fit_scale: f64,
        /// Simulated days of the simulations inside the fit.
        #[arg(long, default_value_t = 6)]
        fit_days: u32,
        /// Seeds of the simulations inside the fit (the same at every evaluation).
        #[arg(long, default_value_t = 2)]
        fit_seeds: u64,
        /// Most objective evaluations of the fit.
        #[arg(long, default_value_t = 300)]
        fit_evaluations: u64,
    },
    /// Compare dispatch policies on common random numbers.
    ///
    /// Runs every policy on the same seeds (the same customers, issues and AI behaviour for
    /// every policy), in parallel across seeds, and prints a Markdown table: mean episode return
    /// with a 95 % bootstrap interval, the interquartile mean, the paired difference to the
    /// baseline with its interval and win rate, and the KPIs. Policies decide the decision kinds
    /// the scenario gives the agent (`env.control`); its fallback policy makes the rest.
    ///
    /// Exit codes: 0 when every --assert holds, 1 when one fails (or an output cannot be
    /// written), 2 for bad input (unknown policy, malformed assertion, bad scenario).
    #[command(after_help = "Examples:\n  \
        handoff eval --seeds 30\n  \
        handoff eval --scenario surge --policy c-mu --policy emotion-first --json\n  \
        handoff eval --policy c-mu --assert 'c-mu.diff_lo > 0' --junit eval.xml\n\n\
        Assertions: OPERAND OP OPERAND with OP one of > >= < <= and OPERAND a number or\n\
        POLICY.METRIC. Metrics: return, return_lo, return_hi, iqm, diff, diff_lo, diff_hi,\n\
        win_rate (against the baseline), return_per_chat, duration, wait (minutes), rating,\n\
        satisfaction, and the shares rating_rate, retrial, abandonment, resolved, ai_share,\n\
        ai_alone, technical, emotional, human (fractions, 0 to 1).")]
    Eval(eval::EvalOptions),
    /// Train a dispatch policy with PPO or DQN, then compare it with the heuristics.
    ///
    /// Hyperparameters come from --config (TOML; `training/src/config.rs` documents every key
    /// and its default), then from the flags. The run directory (--out) receives the resolved
    /// config.toml, TensorBoard event files (CleanRL's tags: charts/episodic_return,
    /// charts/SPS, losses/*, plus eval/* and kpi/*) and checkpoints; --resume continues from the
    /// newest checkpoint and ends exactly where an uninterrupted run would. Training episodes
    /// run on the scenario scaled by `scale` (default 0.05 of the workers and arrivals, the
    /// same load per worker) for `days` days (default 1), with workers added until customers
    /// wait as long as at full size (`match_waits`); pass --scale 1 for a scenario that is
    /// small already. The run ends with `handoff eval` of the trained policy (ckpt:DIR) and
    /// every heuristic on held-out seeds of the scenario itself (full size, its own days).
    #[command(after_help = "Examples:\n  \
        handoff train                                   # PPO on taobao, about 5 minutes\n  \
        handoff train --algo dqn --scenario surge --scale 1 --steps 500000 --out runs/dqn-surge\n  \
        handoff train --out runs/dqn-surge --resume\n  \
        handoff eval --policy ckpt:runs/dqn-surge --scenario surge --first-seed 2000000")]
    Train(train::TrainArgs),
    /// List the built-in dispatch policies.
    Policies {
        /// Print JSON instead of a list.
        #[arg(long)]
        json: bool,
    },
    /// List the built-in scenarios.
    Scenarios {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Measure simulator, environment and learner speed.
    ///
    /// Simulates the whole study (both arms, one after the other, one core), steps the
    /// environment with a random masked policy encoding every observation, trains PPO on a small
    /// scenario (steps per second including updates) and times the trained policy's decisions
    /// at batch size 1. Build with --release to measure.
    Bench {
        /// Scenario of the simulator benchmark.
        #[arg(long, default_value = DEFAULT_SCENARIO)]
        sim_scenario: String,
        /// Scenario of the environment benchmark.
        #[arg(long, default_value = "small")]
        env_scenario: String,
        /// Environment steps to take.
        #[arg(long, default_value_t = 2_000_000)]
        steps: u64,
        /// Simulated days of the simulator benchmark, overriding the scenario's.
        #[arg(long)]
        days: Option<u32>,
        /// Scenario of the PPO training benchmark.
        #[arg(long, default_value = "small")]
        train_scenario: String,
        /// Environment steps of the PPO training benchmark.
        #[arg(long, default_value_t = 204_800)]
        train_steps: u64,
        /// Leave out the training benchmark.
        #[arg(long)]
        skip_learner: bool,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("reports serialise") + "\n"
}

fn run(cli: Cli) -> Result<String, CliError> {
    match cli.command {
        Command::Simulate { scenario, seed, days, json, chats_csv } => {
            let scenario = cli::load_scenario(&scenario, days)?;
            let report = simulate::simulate(&scenario, seed, chats_csv.as_deref())?;
            Ok(if json { to_json(&report) } else { simulate::render_text(&report) })
        }
        Command::Calibrate {
            scenario,
            seeds,
            days,
            scale,
            widen,
            json,
            out,
            fit,
            fit_out,
            fit_scale,
            fit_days,
            fit_seeds,
            fit_evaluations,
        } => {
            if !(scale > 0.0 && scale <= 10.0 && fit_scale > 0.0 && fit_scale <= 10.0) {
                return Err(CliError::input("--scale and --fit-scale must be in (0, 10]"));
            }
            if !(0.0..=100.0).contains(&widen) {
                return Err(CliError::input("--widen must be in 0..100"));
            }
            let mut scenario = cli::load_scenario(&scenario, days)?;
            let mut prefix = String::new();
            if fit {
                let (fitted, result) =
                    calibrate::fit(&scenario, fit_scale, fit_days, fit_seeds, fit_evaluations)?;
                let text = toml::to_string_pretty(&fitted).map_err(CliError::runtime)?;
                cli::write_atomic(&fit_out, &text)?;
                prefix = format!(
                    "fit: distance {:.2} -> {:.2} in {} evaluations; wrote {}\n{}\n",
                    result.distance_before,
                    result.distance_after,
                    result.evaluations,
                    fit_out.display(),
                    result
                        .parameters
                        .iter()
                        .map(|(p, a, b)| format!("  {p}: {a:.4} -> {b:.4}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                );
                scenario = fitted;
            }
            let scenario = scenario.scaled(scale);
            let report = calibrate::calibrate(&scenario, seeds, widen);
            if let Some(path) = out {
                cli::write_atomic(&path, &calibrate::curves_svg(&report)?)?;
            }
            let text =
                if json { to_json(&report) } else { prefix + &calibrate::render_text(&report) };
            if report.pass {
                Ok(text)
            } else {
                print!("{text}");
                Err(CliError { message: "calibration targets failed".into(), code: 1 })
            }
        }
        Command::Eval(options) => eval::run(&options),
        Command::Train(args) => train::run(&args),
        Command::Policies { json } => Ok(policies::run(json)),
        Command::Scenarios { json } => Ok(scenarios::run(json)),
        Command::Bench {
            sim_scenario,
            env_scenario,
            steps,
            days,
            train_scenario,
            train_steps,
            skip_learner,
            json,
        } => {
            let sim_scenario = cli::load_scenario(&sim_scenario, days)?;
            let env_scenario = cli::load_scenario(&env_scenario, None)?;
            cli::load_scenario(&train_scenario, None)?;
            let learner = if skip_learner {
                None
            } else {
                Some(
                    bench::bench_learner(&train_scenario, train_steps)
                        .map_err(CliError::runtime)?,
                )
            };
            let report = bench::BenchReport {
                simulator: bench::bench_simulator(&sim_scenario, 1),
                env: bench::bench_env(&env_scenario, steps, 1),
                learner,
            };
            Ok(if json { to_json(&report) } else { bench::render_text(&report) })
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}
