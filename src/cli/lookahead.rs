//! `handoff lookahead`: where a policy leaves room, per decision kind (the measurement itself is
//! `handoff_eval::lookahead`).

use handoff_env::DecisionKind;
use handoff_eval::lookahead::{Future, LookaheadReport, LookaheadSettings, lookahead};
use serde::Serialize;

use super::format::{fixed, progress_bar, table_with_text};
use super::{CliError, to_json};

/// The options of `handoff lookahead`.
#[derive(Debug, Clone, clap::Args)]
pub struct LookaheadArgs {
    /// The scenario, its days and its scale.
    #[command(flatten)]
    pub centre: super::CentreArgs,
    /// The base policy, named as `handoff eval --policy` takes it [default: the scenario's
    /// fallback policy].
    #[arg(long)]
    pub policy: Option<String>,
    /// Decision kinds to compare, comma-separated: route, attend, assign.
    #[arg(long, value_name = "KINDS", default_value = "route,attend,assign")]
    pub kinds: String,
    /// Seeds, each episode compared paired with the base policy's on the same seed.
    #[arg(long, default_value_t = 3, allow_hyphen_values = true, value_parser = super::whole_number::<u64>(1, 1000))]
    pub seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 1, value_parser = super::parse_seed)]
    pub first_seed: u64,
    /// Simulated seconds each option is played out for under the base policy.
    #[arg(long, default_value_t = 3600.0, allow_hyphen_values = true, value_parser = horizon)]
    pub horizon_s: f64,
    /// Forks per option for the fair lookahead (0: only the exact copies' ceiling).
    #[arg(long, default_value_t = 4, allow_hyphen_values = true, value_parser = super::whole_number::<u32>(0, 64))]
    pub forks: u32,
    /// Compare at most this many decisions of each episode, its first (0: every one).
    #[arg(long, default_value_t = 0, allow_hyphen_values = true, value_parser = super::whole_number::<u64>(0, u64::MAX))]
    pub decisions: u64,
    /// How many threads.
    #[command(flatten)]
    pub threads: super::ThreadsArg,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// A horizon: a positive number of seconds, at most a year.
fn horizon(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(h) if h > 0.0 && h <= 365.0 * 86_400.0 => Ok(h),
        _ => Err(format!("\"{text}\" is not a horizon (seconds, above 0 and at most 31536000)")),
    }
}

#[derive(Serialize)]
struct LookaheadJson<'a> {
    scenario: &'a str,
    policy: &'a str,
    seeds: u64,
    first_seed: u64,
    horizon_s: f64,
    rows: &'a [LookaheadReport],
}

/// Runs `handoff lookahead`: for each kind, the exact copies' ceiling and the forks' fair gain.
pub fn run(args: &LookaheadArgs) -> Result<String, CliError> {
    let kinds: Vec<DecisionKind> = args
        .kinds
        .split(',')
        .map(|k| k.trim().parse())
        .collect::<Result<_, String>>()
        .map_err(|e| CliError::input(format!("--kinds: {e}")))?;
    let scenario = args.centre.load()?;
    let base = args.policy.clone().unwrap_or_else(|| scenario.env.fallback_policy.clone());
    handoff_agents::spec::resolve(&base, &scenario)
        .map_err(|e| CliError::input(format!("--policy: {e}")))?;
    let make = |s: &handoff_env::Scenario| {
        handoff_agents::spec::resolve(&base, s).expect("the policy was resolved above")
    };
    let mut futures = vec![Future::Exact];
    if args.forks > 0 {
        futures.push(Future::Forks(args.forks));
    }
    let pool = args.threads.pool()?;
    let bar = progress_bar(args.seeds * (kinds.len() * futures.len()) as u64, "episodes");
    let mut rows = Vec::new();
    for &kind in &kinds {
        for &future in &futures {
            let settings = LookaheadSettings {
                kind,
                horizon_s: args.horizon_s,
                max_decisions: args.decisions,
                future,
            };
            rows.push(pool.install(|| {
                lookahead(&scenario, &base, &make, &settings, args.first_seed, args.seeds, &|| {
                    bar.inc(1)
                })
            }));
        }
    }
    bar.finish_and_clear();
    if args.json {
        return Ok(to_json(&LookaheadJson {
            scenario: &args.centre.scenario,
            policy: &base,
            seeds: args.seeds,
            first_seed: args.first_seed,
            horizon_s: args.horizon_s,
            rows: &rows,
        }));
    }
    Ok(render(args, &base, &rows))
}

/// The report as text: a table, then what each kind of row means.
fn render(args: &LookaheadArgs, base: &str, rows: &[LookaheadReport]) -> String {
    let mut table = vec![
        ["kind", "copies", "compared", "changed", "base", "lookahead", "gain [95 % CI]", "gain"]
            .map(String::from)
            .to_vec(),
    ];
    for r in rows {
        table.push(vec![
            r.kind.to_string(),
            match r.future {
                Future::Exact => "exact (ceiling)".to_string(),
                Future::Forks(k) => format!("{k} forks (fair)"),
            },
            fixed(r.compared_mean, 0),
            fixed(r.changed_mean, 0),
            fixed(r.base_mean, 1),
            fixed(r.lookahead_mean, 1),
            format!("{} [{}, {}]", signed(r.gain[0]), signed(r.gain[1]), signed(r.gain[2])),
            format!("{:+.2} %", 100.0 * r.gain_share),
        ]);
    }
    format!(
        "One-step lookahead over {base} on {} ({} seeds from {}, horizon {} s): at each decision \
         of the kind with more than one option, every option is played out under {base} and the \
         best is taken; compared and changed are decisions per episode.\n\n{}\n\
         exact (ceiling): the copies know the episode's future, so the gain is an optimistic \
         ceiling, never a result.\nforks (fair): each fork keeps what a dispatcher sees and draws \
         the future afresh, so the gain is what a lookahead policy could earn.\n",
        args.centre.scenario,
        args.seeds,
        args.first_seed,
        args.horizon_s,
        table_with_text(&table, &[1])
    )
}

/// A number with its sign and one decimal.
fn signed(x: f64) -> String {
    format!("{x:+.1}")
}
