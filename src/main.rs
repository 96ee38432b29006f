//! The `handoff` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use handoff::cli::{self, CliError, bench, scenarios, simulate};
use handoff_env::scenario::DEFAULT_SCENARIO;

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
    /// List the built-in scenarios.
    Scenarios {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Measure simulator and environment throughput on one core.
    ///
    /// Simulates the whole study (both arms, one after the other) and steps the environment with
    /// a random masked policy, encoding every observation. Build with --release to measure.
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
        Command::Scenarios { json } => Ok(scenarios::run(json)),
        Command::Bench { sim_scenario, env_scenario, steps, days, json } => {
            let sim_scenario = cli::load_scenario(&sim_scenario, days)?;
            let env_scenario = cli::load_scenario(&env_scenario, None)?;
            let report = bench::BenchReport {
                simulator: bench::bench_simulator(&sim_scenario, 1),
                env: bench::bench_env(&env_scenario, steps, 1),
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
