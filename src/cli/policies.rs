//! `handoff policies`: the built-in dispatch policies with their parameters, and the shipped tuned
//! ones.

use handoff_agents::{POLICIES, Param, SHIPPED, spec};
use handoff_env::scenario::DEFAULT_SCENARIO;
use serde::Serialize;

use super::{CliError, load_scenario};

#[derive(Serialize)]
struct ParamEntry {
    name: &'static str,
    description: &'static str,
    min: f64,
    max: f64,
    default: f64,
    integer: bool,
}

impl From<&Param> for ParamEntry {
    fn from(p: &Param) -> Self {
        Self {
            name: p.name,
            description: p.description,
            min: p.min,
            max: p.max,
            default: p.default,
            integer: p.integer,
        }
    }
}

#[derive(Serialize)]
struct Entry {
    name: &'static str,
    description: &'static str,
    parameters: Vec<ParamEntry>,
}

#[derive(Serialize)]
struct TunedEntry {
    name: &'static str,
    policy: String,
    parameters: std::collections::BTreeMap<String, f64>,
    tuning: Option<spec::TuningRecord>,
}

#[derive(Serialize)]
struct Listing {
    scenario: String,
    builtin: Vec<Entry>,
    tuned: Vec<TunedEntry>,
}

/// The options of `handoff policies`.
#[derive(Debug, Clone, clap::Args)]
pub struct PoliciesArgs {
    /// The scenario whose values the parameters' defaults and ranges show (the takeover
    /// threshold and the concurrency cap come from it).
    #[arg(long, default_value = DEFAULT_SCENARIO)]
    pub scenario: String,
    /// Print JSON instead of a list.
    #[arg(long)]
    pub json: bool,
}

/// The built-in policies with their parameters, then the shipped tuned ones, as text or JSON.
pub fn run(args: &PoliciesArgs) -> Result<String, CliError> {
    let scenario = load_scenario(&args.scenario, None)?;
    let builtin = POLICIES
        .iter()
        .map(|h| Entry {
            name: h.name,
            description: h.description,
            parameters: h.params(&scenario).params().iter().map(ParamEntry::from).collect(),
        })
        .collect();
    let tuned = SHIPPED
        .iter()
        .map(|(name, _)| {
            let file = spec::shipped(name).expect("shipped policies parse");
            TunedEntry {
                name,
                policy: file.policy,
                parameters: file.parameters,
                tuning: file.tuning,
            }
        })
        .collect();
    let listing = Listing { scenario: args.scenario.clone(), builtin, tuned };
    if args.json {
        return Ok(super::to_json(&listing));
    }
    Ok(render(&listing))
}

fn render(listing: &Listing) -> String {
    let width = listing.builtin.iter().map(|e| e.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for e in &listing.builtin {
        out += &format!("{:<width$}  {}\n", e.name, e.description);
        for p in &e.parameters {
            let whole = if p.integer { ", whole" } else { "" };
            out += &format!(
                "{:<width$}    {} ({} to {}{whole}; default {}): {}\n",
                "",
                p.name,
                super::format::short(p.min),
                super::format::short(p.max),
                super::format::short(p.default),
                p.description
            );
        }
    }
    out += &format!(
        "\nParameters: `--policy NAME@key=value,...`; defaults and ranges as on {}.\n",
        listing.scenario
    );
    if listing.tuned.is_empty() {
        out += "No tuned policies are shipped.\n";
        return out;
    }
    // the tuned values in full, so that the line copied as a --policy is the file's policy
    out += "\nTuned (policies/, made by `handoff tune`; `--policy NAME`):\n";
    for t in &listing.tuned {
        let values: Vec<String> = t.parameters.iter().map(|(k, v)| format!("{k}={v}")).collect();
        out += &format!("{}  {}@{}\n", t.name, t.policy, values.join(","));
        if let Some(r) = &t.tuning {
            out += &format!(
                "    tuned on {} (scale {}, {}), {} validation seeds from {}: mean return \
                 {:.1} against {:.1} with the defaults\n",
                r.scenario,
                r.scale,
                super::format::days(r.days),
                r.seeds,
                r.first_seed,
                r.score,
                r.default_score
            );
        }
    }
    out
}
