//! `handoff eval`: policies compared on common random numbers, as Markdown, JSON, CSV, SVG and
//! JUnit (the comparison itself is `handoff_eval::evaluate`).

pub mod render;

use std::path::PathBuf;

use handoff_env::Scenario;
use handoff_eval::{Assertion, AssertionOutcome, EvalConfig, EvalJson, evaluate, policy_list};
use handoff_training::checkpoint::PolicyMaker;

use super::format::progress_bar;
use super::{CliError, check_writable, to_json, write_all_atomic};

/// Parses the `--assert` expressions and checks they name evaluated policies and do not read the
/// baseline's difference from itself (exit 2 if they do).
pub fn parse_assertions(
    texts: &[String],
    policies: &[String],
    baseline: &str,
) -> Result<Vec<Assertion>, CliError> {
    texts
        .iter()
        .map(|text| {
            let assertion = Assertion::parse(text).map_err(CliError::input)?;
            if let Some(p) = assertion.policies().find(|p| !policies.iter().any(|q| q == p)) {
                return Err(CliError::input(format!(
                    "--assert \"{text}\" names policy \"{p}\", which is not evaluated \
                     (evaluated: {})",
                    policies.join(", ")
                )));
            }
            if let Some(p) = assertion.reads_baseline_against_itself(baseline) {
                return Err(CliError::input(format!(
                    "--assert \"{text}\" compares {p} with itself: {p} is the baseline (without \
                     --baseline, study-treatment when evaluated, else the first --policy); name \
                     another with --baseline"
                )));
            }
            Ok(assertion)
        })
        .collect()
}

/// The options of `handoff eval`.
#[derive(Debug, Clone, clap::Args)]
pub struct EvalArgs {
    /// The scenario, its days and its scale.
    #[command(flatten)]
    pub centre: crate::cli::CentreArgs,
    /// A policy to evaluate (repeat the flag): a built-in one (`handoff policies`), with
    /// parameters as in `c-mu@max_chats=3,takeover_frustration=0.9`, a shipped tuned one, a
    /// policy file (`FILE.toml`, as `handoff tune` writes) or a trained one (`ckpt:DIR`). All
    /// built-in and shipped tuned policies when none is given.
    #[arg(long = "policy", value_name = "NAME")]
    pub policies: Vec<String>,
    /// The policy the others are compared with, seed by seed (default: study-treatment when
    /// evaluated, else the first --policy). Added to the evaluated policies if missing.
    #[arg(long)]
    pub baseline: Option<String>,
    /// Seeds (episodes per policy).
    #[arg(long, default_value_t = 10, allow_hyphen_values = true, value_parser = super::whole_number::<u64>(*EvalConfig::SEEDS.start(), *EvalConfig::SEEDS.end()))]
    pub seeds: u64,
    /// The first seed; seeds are consecutive from it.
    #[arg(long, default_value_t = 1, allow_hyphen_values = true, value_parser = super::parse_seed)]
    pub first_seed: u64,
    /// How many threads.
    #[command(flatten)]
    pub threads: super::ThreadsArg,
    /// Bootstrap resamples per interval.
    #[arg(long, default_value_t = 10_000, allow_hyphen_values = true, value_parser = super::whole_number::<u64>(*EvalConfig::RESAMPLES.start() as u64, *EvalConfig::RESAMPLES.end() as u64))]
    pub resamples: u64,
    /// Print JSON instead of Markdown.
    #[arg(long)]
    pub json: bool,
    /// Write one row per policy and seed to this CSV file.
    #[arg(long, value_name = "PATH")]
    pub csv: Option<PathBuf>,
    /// Write a plot of returns and paired differences with their intervals (SVG).
    #[arg(long, value_name = "PATH")]
    pub svg: Option<PathBuf>,
    /// Write a JUnit XML report, one test case per --assert.
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// A condition on the results, e.g. 'c-mu.return > study-treatment.return' (repeat).
    #[arg(long = "assert", value_name = "EXPR")]
    pub assertions: Vec<String>,
    /// Refuse (exit 2) a checkpoint or tuned policy file made on another model version or
    /// scenario fingerprint than today's, instead of warning on standard error.
    #[arg(long)]
    pub strict: bool,
}

/// Runs `handoff eval`: returns the text for stdout, or an error whose code is 1 when an
/// assertion failed (the text is printed first) and 2 for bad input.
pub fn run(args: &EvalArgs) -> Result<String, CliError> {
    let scenario = args.centre.load()?;
    let outputs: Vec<(&str, &std::path::Path)> =
        [("--csv", &args.csv), ("--svg", &args.svg), ("--junit", &args.junit)]
            .into_iter()
            .filter_map(|(flag, path)| Some((flag, path.as_deref()?)))
            .collect();
    check_writable(&outputs)?;
    super::interrupt::on_interrupt(
        "the evaluation was not finished; no output was written and earlier files are as they were",
    );
    let (policies, baseline) = policy_list(&args.policies, args.baseline.as_deref(), &scenario)
        .map_err(CliError::input)?;
    let assertions = parse_assertions(&args.assertions, &policies, &baseline)?;
    // `evaluate` resolves every name before running an episode; its errors are bad input
    let maker = PolicyMaker::new(&policies, &scenario, args.strict)
        .map_err(|e| CliError::input(format!("--policy {e}")))?;
    for warning in maker.warnings() {
        eprintln!("warning: {warning}");
    }
    let config = EvalConfig {
        seeds: args.seeds,
        first_seed: args.first_seed,
        resamples: args.resamples as usize,
        ..EvalConfig::default()
    };
    let bar = progress_bar(args.seeds * policies.len() as u64, "episodes");
    let pool = args.threads.pool()?;
    let factory = |name: &str, s: &Scenario| maker.make(name, s);
    let report = pool
        .install(|| evaluate(&scenario, &policies, &baseline, &config, &factory, &|| bar.inc(1)))
        .map_err(CliError::input)?;
    bar.finish_and_clear();
    let outcomes: Vec<AssertionOutcome> = assertions
        .iter()
        .map(|a| a.check(&report).map_err(CliError::input))
        .collect::<Result<_, _>>()?;
    let mut files = Vec::new();
    if let Some(path) = &args.csv {
        files.push((path.as_path(), render::csv(&report)));
    }
    if let Some(path) = &args.svg {
        files.push((path.as_path(), render::svg(&report)?));
    }
    if let Some(path) = &args.junit {
        files.push((path.as_path(), render::junit(&report, &outcomes)));
    }
    write_all_atomic(&files)?;
    let text = if args.json {
        to_json(&EvalJson::new(&report, &outcomes))
    } else {
        handoff_eval::markdown(&report, &outcomes)
    };
    let failed: Vec<&AssertionOutcome> = outcomes.iter().filter(|o| !o.passed).collect();
    if failed.is_empty() {
        return Ok(text);
    }
    print!("{text}");
    let list: Vec<String> = failed.iter().map(|o| o.to_string()).collect();
    Err(CliError::runtime(format!(
        "{} of {} assertions failed:\n  {}",
        failed.len(),
        outcomes.len(),
        list.join("\n  ")
    )))
}
