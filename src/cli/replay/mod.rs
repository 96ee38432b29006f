//! `handoff replay`: one simulated day of one or two policies as a self-contained HTML page
//! (the recording is `handoff_eval::day`, the page [`page`]).

mod page;

use std::path::PathBuf;

use handoff_env::scenario::DAY_S;
use handoff_eval::day::{Day, record_day};
use handoff_training::checkpoint::PolicyMaker;

use super::{CliError, check_writable, write_atomic};

/// Seconds between two samples of the centre's state (queue, waiting customers, workers).
const SAMPLE_EVERY_S: f64 = 60.0;

/// The options of `handoff replay`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReplayArgs {
    /// A built-in scenario (`handoff scenarios`) or the path of a scenario TOML file.
    #[arg(long, default_value = handoff_env::scenario::DEFAULT_SCENARIO)]
    pub scenario: String,
    /// The episode's seed.
    #[arg(long, default_value_t = 1, value_parser = super::parse_seed)]
    pub seed: u64,
    /// The policy to show, named as `handoff eval --policy` takes it; twice to show two
    /// policies on the same customers, one above the other.
    #[arg(long = "policy", value_name = "NAME", required = true)]
    pub policies: Vec<String>,
    /// Simulated days of the episode [default: the day shown].
    #[arg(long, allow_hyphen_values = true, value_parser = super::days())]
    pub days: Option<u32>,
    /// The day of the episode to show, from 1.
    #[arg(long, default_value_t = 1, allow_hyphen_values = true, value_parser = super::days())]
    pub day: u32,
    /// Scale workers and arrivals by this factor (same load per worker).
    #[arg(long, default_value_t = 1.0, allow_hyphen_values = true, value_parser = super::scale)]
    pub scale: f64,
    /// The HTML file to write.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Refuse (exit 2) a checkpoint or tuned policy file made on another model version or
    /// scenario fingerprint than today's, instead of warning on standard error.
    #[arg(long)]
    pub strict: bool,
}

/// One policy's day, ready to draw.
pub struct Shown {
    /// The policy's name.
    pub name: String,
    /// Its episode.
    pub day: Day,
}

/// Runs `handoff replay`: writes the page and returns a line saying what it holds.
pub fn run(args: &ReplayArgs) -> Result<String, CliError> {
    if args.policies.len() > 2 {
        return Err(CliError::input(format!(
            "--policy is given {} times; a replay shows one policy or two",
            args.policies.len()
        )));
    }
    if args.policies.len() == 2 && args.policies[0] == args.policies[1] {
        return Err(CliError::input(format!("--policy {} is given twice", args.policies[0])));
    }
    let days = args.days.unwrap_or(args.day);
    if args.day > days {
        return Err(CliError::input(format!(
            "--day {} is past the episode's {} (--days)",
            args.day,
            super::format::days(days)
        )));
    }
    let scenario = super::load_centre(&args.scenario, Some(days), args.scale)?;
    if args.out.parent().is_some_and(|p| !p.as_os_str().is_empty() && !p.is_dir()) {
        return Err(CliError::input(format!(
            "--out {}: the folder {} does not exist",
            args.out.display(),
            args.out.parent().map(|p| p.display().to_string()).unwrap_or_default()
        )));
    }
    check_writable(&[("--out", &args.out)]).map_err(|e| CliError::input(e.message))?;
    let maker = PolicyMaker::new(&args.policies, &scenario, args.strict)
        .map_err(|e| CliError::input(format!("--policy {e}")))?;
    for warning in maker.warnings() {
        eprintln!("warning: {warning}");
    }
    let fallback = || handoff_agents::fallback(&scenario, &scenario.name).map_err(CliError::input);
    let mut shown = Vec::new();
    for name in &args.policies {
        let policy = maker.make(name, &scenario).map_err(CliError::input)?;
        let day = record_day(&scenario, args.seed, policy, fallback()?, SAMPLE_EVERY_S);
        shown.push(Shown { name: name.clone(), day });
    }
    let start_s = f64::from(args.day - 1) * DAY_S;
    let view = page::View {
        scenario: &args.scenario,
        seed: args.seed,
        day: args.day,
        days,
        start_s,
        cap: scenario.workers.cap,
        workers: scenario.workers.count,
        sample_every_s: SAMPLE_EVERY_S,
    };
    let (html, chats) = page::render(&view, &shown);
    write_atomic(&args.out, &html)?;
    Ok(format!(
        "{}: day {} of {} on {} (seed {}), {} chats{}, {:.1} MB\n",
        args.out.display(),
        args.day,
        days,
        args.scenario,
        args.seed,
        chats,
        if shown.len() == 2 { " per policy" } else { "" },
        html.len() as f64 / 1e6
    ))
}
