//! `handoff policies`: the built-in dispatch policies.

use handoff_agents::POLICIES;
use serde::Serialize;

#[derive(Serialize)]
struct Entry {
    name: &'static str,
    description: &'static str,
}

/// The built-in policies as a two-column list or JSON.
pub fn run(json: bool) -> String {
    if json {
        let entries: Vec<Entry> =
            POLICIES.iter().map(|&(name, description)| Entry { name, description }).collect();
        return serde_json::to_string_pretty(&entries).expect("policy list serialises") + "\n";
    }
    let width = POLICIES.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    POLICIES.iter().map(|(name, description)| format!("{name:<width$}  {description}\n")).collect()
}
