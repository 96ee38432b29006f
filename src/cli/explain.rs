//! `handoff explain A B`: where two policies' decisions differ and what it earned (the
//! measurement itself is `handoff_eval::explain`).

use handoff_eval::explain::{Difference, Estimate, Explanation, explain};
use handoff_training::checkpoint::PolicyMaker;

use super::format::{fixed, progress_bar, table_with_text};
use super::{CliError, to_json};

/// The options of `handoff explain`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExplainArgs {
    /// The first policy (the reference), named as `handoff eval --policy` takes it.
    pub first: String,
    /// The second policy, compared with the first.
    pub second: String,
    /// The scenario, its days and its scale.
    #[command(flatten)]
    pub centre: super::CentreArgs,
    /// Seeds, each a pair of episodes on the same customers.
    #[arg(long, default_value_t = 10, allow_hyphen_values = true, value_parser = super::whole_number::<u64>(2, 100000))]
    pub seeds: u64,
    /// The first seed; seeds are consecutive from it.
    #[arg(long, default_value_t = 1, allow_hyphen_values = true, value_parser = super::parse_seed)]
    pub first_seed: u64,
    /// How many threads.
    #[command(flatten)]
    pub threads: super::ThreadsArg,
    /// Refuse (exit 2) a checkpoint or tuned policy file made on another model version or
    /// scenario fingerprint than today's, instead of warning on standard error.
    #[arg(long)]
    pub strict: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `handoff explain`.
pub fn run(args: &ExplainArgs) -> Result<String, CliError> {
    let scenario = args.centre.load()?;
    let names = [args.first.clone(), args.second.clone()];
    let maker = PolicyMaker::new(&names, &scenario, args.strict).map_err(CliError::input)?;
    for warning in maker.warnings() {
        eprintln!("warning: {warning}");
    }
    let pool = args.threads.pool()?;
    let bar = progress_bar(args.seeds, "seeds");
    let make = |name: &str, s: &handoff_env::Scenario| maker.make(name, s);
    let explanation = pool
        .install(|| {
            explain(
                &scenario,
                [&args.first, &args.second],
                args.seeds,
                args.first_seed,
                &make,
                &|| bar.inc(1),
            )
        })
        .map_err(CliError::input)?;
    bar.finish_and_clear();
    if args.json {
        return Ok(to_json(&explanation));
    }
    Ok(render(&args.centre.scenario, &explanation))
}

/// A mean and its interval, with `digits` decimals.
fn estimate(e: &Estimate, digits: usize) -> String {
    if e.mean.is_nan() {
        return "-".to_string();
    }
    let s = |x: f64| format!("{x:+.digits$}");
    format!("{} [{}, {}]", s(e.mean), s(e.low), s(e.high))
}

/// A share and its interval, in percent.
fn share(e: &Estimate) -> String {
    let p = |x: f64| format!("{:.1}", 100.0 * x);
    format!("{} % [{}, {}]", p(e.mean), p(e.low), p(e.high))
}

/// Rows of paired differences.
fn differences(title: &str, rows: &[Difference], digits: usize) -> String {
    let mut table =
        vec![[title, "first", "second", "second - first [95 % CI]"].map(String::from).to_vec()];
    for d in rows {
        table.push(vec![
            d.name.to_string(),
            fixed(d.first, digits),
            fixed(d.second, digits),
            estimate(&d.difference, digits),
        ]);
    }
    table_with_text(&table, &[0])
}

/// The explanation as text: decisions, chats, reward and KPIs.
fn render(scenario: &str, e: &Explanation) -> String {
    let mut decisions =
        vec![["lever", "situation", "per episode", "differ [95 % CI]"].map(String::from).to_vec()];
    for r in &e.decisions {
        let situation = r.situation.map_or("all".to_string(), |s| {
            let (dimension, value) = s.label();
            format!("{dimension}: {value}")
        });
        decisions.push(vec![
            r.lever.label().to_string(),
            situation,
            fixed(r.per_episode, if r.per_episode < 10.0 { 1 } else { 0 }),
            share(&r.differ),
        ]);
    }
    format!(
        "{second} against {first} on {scenario} ({seeds} seeds from {from}, paired).\n\n\
         Decisions: on {first}'s episodes, how often {second} would choose otherwise (the \
         decision's chat: the routed chat, or the one {first} answered, took over or took from \
         the queue).\n\n{decisions}\n\
         Twins (the same customer under either policy) handled differently (the AI in one and \
         not the other, another escalation or another ending): {differently}; handled alike by \
         another worker: {other_worker} (one changed decision moves every later assignment).\n\n\
         Reward per episode, split by its terms (they add up to the return):\n\n{reward}\n\
         KPIs (shares are fractions; the last three in the study's terms):\n\n{kpis}",
        first = e.first,
        second = e.second,
        seeds = e.seeds,
        from = e.first_seed,
        decisions = table_with_text(&decisions, &[0, 1]),
        differently = share(&e.handled_differently),
        other_worker = share(&e.other_worker_only),
        reward = differences("reward", &e.reward, 1),
        kpis = differences("KPI", &e.kpis, 3),
    )
}
