//! `handoff policies`: the built-in dispatch policies.

use handoff_agents::POLICIES;
use serde::Serialize;

use super::CliError;

#[derive(Serialize)]
struct Entry {
    name: &'static str,
    description: &'static str,
}

/// The options of `handoff policies`.
#[derive(Debug, Clone, clap::Args)]
pub struct PoliciesArgs {
    /// Print JSON instead of a list.
    #[arg(long)]
    pub json: bool,
}

/// The built-in policies as a two-column list or JSON.
pub fn run(args: &PoliciesArgs) -> Result<String, CliError> {
    Ok(render(args.json))
}

fn render(json: bool) -> String {
    if json {
        let entries: Vec<Entry> =
            POLICIES.iter().map(|&(name, description)| Entry { name, description }).collect();
        return serde_json::to_string_pretty(&entries).expect("policy list serialises") + "\n";
    }
    let width = POLICIES.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    POLICIES.iter().map(|(name, description)| format!("{name:<width$}  {description}\n")).collect()
}
