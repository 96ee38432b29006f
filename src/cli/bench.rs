//! `handoff bench`: its arguments and its table; the measurements are the library's
//! ([`crate::bench`]).

use handoff_env::scenario::DEFAULT_SCENARIO;

use super::format::table;
use super::{CliError, load_scenario, to_json};
use crate::bench::{
    BenchReport, bench_comparisons, bench_decisions, bench_draws, bench_encoding, bench_env,
    bench_event_queue, bench_learner, bench_reference, bench_simulator, bench_vector,
    with_every_lever,
};

/// The options of `handoff bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Scenario of the simulator benchmark.
    #[arg(long, default_value = DEFAULT_SCENARIO)]
    pub sim_scenario: String,
    /// Scenario of the environment benchmark.
    #[arg(long, default_value = "small")]
    pub env_scenario: String,
    /// Environment steps to take.
    #[arg(long, default_value_t = 2_000_000, allow_hyphen_values = true, value_parser = super::whole_number::<u64>(1, u64::MAX))]
    pub steps: u64,
    /// Simulated days of the simulator benchmark, overriding the scenario's (1 to 3650).
    #[arg(long, allow_hyphen_values = true, value_parser = super::days())]
    pub days: Option<u32>,
    /// Scenario of the PPO training benchmark.
    #[arg(long, default_value = "small")]
    pub train_scenario: String,
    /// Environment steps of the PPO training benchmark.
    #[arg(long, default_value_t = 204_800, allow_hyphen_values = true, value_parser = super::whole_number::<u64>(1, u64::MAX))]
    pub train_steps: u64,
    /// Environments of the vector benchmark: with few, a step's work is too short to split
    /// between threads (at 16, about 10 µs a thread against several µs of hand-over).
    #[arg(long, default_value_t = 64, allow_hyphen_values = true, value_parser = super::whole_number::<u64>(2, 4096))]
    pub vector_envs: u64,
    /// Leave out the training benchmark.
    #[arg(long)]
    pub skip_learner: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `handoff bench`.
pub fn run(args: &BenchArgs) -> Result<String, CliError> {
    let sim_scenario = load_scenario(&args.sim_scenario, args.days)?;
    let env_scenario = load_scenario(&args.env_scenario, None)?;
    load_scenario(&args.train_scenario, None)?;
    let learner = if args.skip_learner {
        None
    } else {
        Some(bench_learner(&args.train_scenario, args.train_steps)?)
    };
    let reference = bench_reference();
    let report = BenchReport {
        model_version: handoff_env::MODEL_VERSION,
        reference,
        draws: bench_draws(),
        event_queue: bench_event_queue(args.steps),
        encoding: bench_encoding(&env_scenario, args.steps / 4),
        simulator: bench_simulator(&sim_scenario, 1),
        env: bench_env(&env_scenario, args.steps, 1),
        env_every_kind: bench_env(&with_every_lever(&env_scenario), args.steps, 1),
        vector: bench_vector(&env_scenario, args.vector_envs as usize, args.steps / 4),
        corrected: bench_decisions(&env_scenario, args.steps / 4),
        comparisons: bench_comparisons(&sim_scenario),
        learner,
    };
    Ok(if args.json { to_json(&report) } else { render_text(&report) })
}

/// Renders the report as a table.
pub fn render_text(report: &BenchReport) -> String {
    let s = &report.simulator;
    let e = &report.env;
    let r = &report.reference;
    // each throughput per thousand reference operations: a ratio that carries over to another
    // machine better than the seconds do
    let relative = |per_s: f64| format!("{:.1}", 1000.0 * per_s / r.ops_per_s);
    let mut rows = vec![
        ["benchmark", "work", "seconds", "throughput", "per 1,000 reference ops"]
            .map(String::from)
            .to_vec(),
        vec![
            "reference (heap + exp, one core, fastest of 7)".into(),
            format!("{} ops", r.ops),
            format!("{:.2}", r.seconds),
            format!("{:.1} M ops/s", r.ops_per_s / 1e6),
            "1,000 ops".into(),
        ],
        vec![
            format!("simulate {} (both arms, one core)", s.scenario),
            format!("{} chats, {} events", s.chats, s.events),
            format!("{:.2}", s.seconds),
            format!("{:.0} chats/s, {:.2} M events/s", s.chats_per_s, s.events_per_s / 1e6),
            format!("{} events", relative(s.events_per_s)),
        ],
    ];
    // a row of `ops` operations of one kind, timed at `ns` each (`digits` after the point)
    let per_op = |what: String, ops: u64, unit: &str, ns: f64, digits: usize| {
        vec![
            what,
            format!("{ops} {unit}s"),
            format!("{:.3}", ns * ops as f64 * 1e-9),
            format!("{ns:.digits$} ns/{unit}"),
            format!("{} {unit}s", relative(1e9 / ns)),
        ]
    };
    let d = &report.draws;
    for (what, ns) in [
        ("uniform", d.uniform_ns),
        ("exponential (ziggurat)", d.exponential_ns),
        ("normal (ziggurat)", d.normal_ns),
        ("log-normal", d.lognormal_ns),
        ("1 + Poisson(0.6)", d.poisson_ns),
    ] {
        rows.push(per_op(format!("draw: {what} (one core, fastest of 7)"), d.draws, "draw", ns, 1));
    }
    let q = &report.event_queue;
    for (structure, ns) in [("4-ary heap", q.ns), ("calendar", q.calendar_ns)] {
        let what = format!(
            "event queue, {structure}: {} pending, pop + push (one core, fastest of 7)",
            q.pending
        );
        rows.push(per_op(what, q.holds, "hold", ns, 1));
    }
    let n = &report.encoding;
    let what = format!("encode an observation ({}, {} floats)", n.scenario, n.floats);
    rows.push(per_op(what, n.encodings, "encoding", n.ns, 0));
    for (e, what) in
        [(e, "random masked policy"), (&report.env_every_kind, "every decision kind, holds")]
    {
        rows.push(vec![
            format!("env {} ({what})", e.scenario),
            format!("{} steps, {} episodes", e.steps, e.episodes),
            format!("{:.2}", e.seconds),
            format!("{:.2} M steps/s", e.steps_per_s / 1e6),
            format!("{} steps", relative(e.steps_per_s)),
        ]);
    }
    let v = &report.vector;
    for (threads, per_s) in [(1, v.threads_1), (2, v.threads_2)] {
        rows.push(vec![
            format!("vector env {} x {}, {threads} thread(s)", v.envs, v.scenario),
            format!("{} steps", v.steps),
            format!("{:.2}", v.steps as f64 / per_s),
            format!("{:.2} M steps/s", per_s / 1e6),
            format!("{} steps", relative(per_s)),
        ]);
    }
    let c = &report.corrected;
    let what = format!("{} on {}, every decision", c.rule, c.scenario);
    rows.push(per_op(what, c.decisions, "decision", c.rule_ns, 0));
    rows.push(vec![
        format!("learned: {} + correction (rollout)", c.rule),
        format!("{} decisions, {} AI-or-worker", c.decisions, c.corrected_routings),
        format!("{:.3}", c.corrected_ns * c.decisions as f64 / 1e9),
        format!("{:.0} ns/decision, no lookahead", c.corrected_ns),
        format!("{} decisions", relative(1e9 / c.corrected_ns)),
    ]);
    let m = &report.comparisons;
    for (kind, n, per_s) in
        [("route", m.route, m.route_per_s), ("attend", m.attend, m.attend_per_s)]
    {
        rows.push(vec![
            format!("rollout comparisons: {kind}, {} on {} (one core)", m.rule, m.scenario),
            format!("{n} comparisons"),
            format!("{:.2}", if per_s > 0.0 { n as f64 / per_s } else { 0.0 }),
            format!("{per_s:.0} comparisons/s"),
            // a comparison is long: three decimals of its small share
            format!("{:.3} comparisons", 1000.0 * per_s / r.ops_per_s),
        ]);
    }
    if let Some(l) = &report.learner {
        rows.push(vec![
            format!("train PPO on {} (updates included)", l.scenario),
            format!("{} steps", l.steps),
            format!("{:.2}", l.steps as f64 / l.train_steps_per_s),
            format!("{:.0} steps/s", l.train_steps_per_s),
            format!("{} steps", relative(l.train_steps_per_s)),
        ]);
        rows.push(vec![
            "trained policy, batch 1".into(),
            format!("{} decisions", l.decisions),
            format!("{:.3}", l.inference_us * l.decisions as f64 / 1e6),
            format!("{:.1} µs/decision", l.inference_us),
            format!("{} decisions", relative(1e6 / l.inference_us)),
        ]);
    }
    let mut out = table(&rows);
    if cfg!(debug_assertions) {
        out.push_str("note: this is a debug build; measure with `cargo run --release -- bench`\n");
    }
    out
}
