//! `handoff tune`: a heuristic's parameters tuned for mean return on validation seeds, written
//! as a policy file (the search itself is `handoff_eval::tune`).

use std::path::PathBuf;

use handoff_agents::{PolicyFile, TuningRecord, heuristic, policy_names};
use handoff_env::ModelStamp;
use handoff_eval::{TUNE_FIRST_SEED, TuneSettings, tune};
use serde::Serialize;

use super::format::progress_bar;
use super::{CliError, check_writable, to_json, write_atomic};

/// The options of `handoff tune`.
#[derive(Debug, Clone, clap::Args)]
pub struct TuneArgs {
    /// The built-in heuristic to tune (`handoff policies` lists them with their parameters).
    #[arg(long)]
    pub policy: String,
    /// The scenario, its days and its scale.
    #[command(flatten)]
    pub centre: super::CentreArgs,
    /// Validation seeds each candidate is scored on (the same seeds for every candidate).
    #[arg(long, default_value_t = 8, allow_hyphen_values = true, value_parser = super::whole_number::<u64>(1, 10000))]
    pub seeds: u64,
    /// Candidate parameter sets to evaluate at most, the defaults included.
    #[arg(long, default_value_t = 60, allow_hyphen_values = true, value_parser = super::whole_number::<u64>(1, 100000))]
    pub budget: u64,
    /// Seed of the search's own randomness (the validation seeds do not depend on it).
    #[arg(long, default_value_t = 0, value_parser = super::parse_seed)]
    pub search_seed: u64,
    /// Where to write the policy file (default: SCENARIO-POLICY.toml in this folder).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// How many threads.
    #[command(flatten)]
    pub threads: super::ThreadsArg,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct TuneJson<'a> {
    out: String,
    policy: &'a str,
    parameters: std::collections::BTreeMap<String, f64>,
    defaults: std::collections::BTreeMap<String, f64>,
    tuning: &'a TuningRecord,
}

/// The default output file: `SCENARIO-POLICY.toml`, the scenario's file stem when it is a path.
fn default_out(scenario: &str, policy: &str) -> PathBuf {
    let stem = std::path::Path::new(scenario)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| scenario.to_string());
    PathBuf::from(format!("{stem}-{policy}.toml"))
}

/// Runs `handoff tune`: tunes, writes the policy file atomically and reports.
pub fn run(args: &TuneArgs) -> Result<String, CliError> {
    let h = heuristic(&args.policy).ok_or_else(|| {
        CliError::input(format!(
            "--policy \"{}\" is not a built-in heuristic (allowed: {})",
            args.policy,
            policy_names().collect::<Vec<_>>().join(", ")
        ))
    })?;
    let scenario = args.centre.load()?;
    let defaults = h.params(&scenario);
    if defaults.params().iter().all(|p| p.min == p.max) {
        return Err(CliError::input(format!(
            "\"{}\" has no parameters to tune on {}",
            h.name, args.centre.scenario
        )));
    }
    let out = args.out.clone().unwrap_or_else(|| default_out(&args.centre.scenario, h.name));
    check_writable(&[("--out", &out)])?;
    super::interrupt::on_interrupt("tuning was not finished; no policy file was written");
    let settings = TuneSettings {
        seeds: args.seeds,
        first_seed: TUNE_FIRST_SEED,
        budget: args.budget as usize,
        search_seed: args.search_seed,
    };
    let pool = args.threads.pool()?;
    let bar = progress_bar(args.budget, "candidates");
    let tuned = pool.install(|| tune(&scenario, h, &settings, &|| bar.inc(1)));
    bar.finish_and_clear();
    let record = TuningRecord {
        scenario: args.centre.scenario.clone(),
        scale: args.centre.scale,
        days: scenario.days,
        first_seed: settings.first_seed,
        seeds: settings.seeds,
        optimiser: settings.search().describe(args.budget),
        evaluations: tuned.evaluations as u64,
        score: tuned.score,
        default_score: tuned.default_score,
        seed_returns: tuned.seed_returns.clone(),
        model: Some(ModelStamp::of(&scenario)),
    };
    let file = PolicyFile {
        policy: h.name.to_string(),
        parameters: tuned.set.iter().map(|(k, v)| (k.to_string(), v)).collect(),
        tuning: Some(record),
        correction: None,
    };
    let out_text = out.display().to_string();
    write_atomic(&out, &file.to_toml(&out_text))?;
    let tuning = file.tuning.as_ref().expect("set above");
    if args.json {
        return Ok(to_json(&TuneJson {
            out: out_text,
            policy: h.name,
            parameters: file.parameters.clone(),
            defaults: defaults.iter().map(|(k, v)| (k.to_string(), v)).collect(),
            tuning,
        }));
    }
    let mut text = format!(
        "Tuned {} on {} (scale {}, {}): {} candidates, each on validation seeds {}-{} \
         (disjoint from eval's default seeds from 1, training's validation seeds from 1000000 \
         and test seeds from 2000000).\n\n",
        h.name,
        args.centre.scenario,
        args.centre.scale,
        super::format::days(scenario.days),
        tuned.evaluations,
        settings.first_seed,
        settings.first_seed + settings.seeds - 1
    );
    text += &format!(
        "mean return {:.1} (defaults {:.1}, {:+.1}); this is the score the search chose on, so \
         judge it on other seeds with `handoff eval`.\n\n",
        tuned.score,
        tuned.default_score,
        tuned.score - tuned.default_score
    );
    for ((name, value), (_, default)) in tuned.set.iter().zip(defaults.iter()) {
        text += &format!("  {name} = {value} (default {default})\n");
    }
    text += &format!("\nwrote {out_text}; run it with `handoff eval --policy {out_text}`\n");
    Ok(text)
}
