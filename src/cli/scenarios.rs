//! `handoff scenarios`: the built-in scenarios.

use handoff_env::scenario::{BUILTIN, DEFAULT_SCENARIO};
use handoff_env::{MODEL_VERSION, Scenario};
use serde::Serialize;

use super::CliError;

#[derive(Serialize)]
struct Entry {
    name: String,
    default: bool,
    scenario_fingerprint: String,
    description: String,
    days: u32,
    workers: u32,
    chats_per_day: f64,
    model_version: u32,
}

/// The options of `handoff scenarios`.
#[derive(Debug, Clone, clap::Args)]
pub struct ScenariosArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The built-in scenarios as a table or JSON.
pub fn run(args: &ScenariosArgs) -> Result<String, CliError> {
    Ok(render(args.json))
}

fn render(json: bool) -> String {
    let entries: Vec<Entry> = BUILTIN
        .iter()
        .filter_map(|(name, _)| Scenario::builtin(name).map(|s| (name, s)))
        .map(|(name, s)| Entry {
            name: (*name).to_string(),
            default: *name == DEFAULT_SCENARIO,
            scenario_fingerprint: s.fingerprint(),
            description: s.description,
            days: s.days,
            workers: s.workers.count,
            chats_per_day: s.arrivals.chats_per_day,
            model_version: MODEL_VERSION,
        })
        .collect();
    if json {
        return serde_json::to_string_pretty(&entries).expect("scenario list serialises") + "\n";
    }
    let mut rows = vec![vec![
        "scenario".into(),
        "days".into(),
        "workers".into(),
        "chats/day".into(),
        "fingerprint".into(),
        "description".into(),
    ]];
    for e in &entries {
        let name = if e.default { format!("{} (default)", e.name) } else { e.name.clone() };
        rows.push(vec![
            name,
            e.days.to_string(),
            e.workers.to_string(),
            format!("{:.0}", e.chats_per_day),
            e.scenario_fingerprint.clone(),
            e.description.clone(),
        ]);
    }
    let mut out = super::format::table_with_text(&rows, &[4, 5]);
    out += &format!(
        "\nModel version {MODEL_VERSION}; a fingerprint hashes every value of the scenario \
         (docs/versions.md).\n"
    );
    out
}
