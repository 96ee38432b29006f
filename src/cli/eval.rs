//! `handoff eval`: policies compared on common random numbers, as Markdown, JSON, CSV, SVG and
//! JUnit.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use handoff_agents::{LearnedPolicy, POLICIES, by_name};
use handoff_env::observation::observation_len;
use handoff_env::{Policy, Scenario};
use handoff_training::checkpoint::load_policy;
use handoff_training::eval::{
    Assertion, AssertionOutcome, EpisodeResult, EvalReport, Kpis, PolicySummary,
};
use serde::Serialize;

use super::CliError;
use std::path::PathBuf;

/// The baseline when none is named: the study's deployment, if evaluated.
pub const DEFAULT_BASELINE: &str = "study-treatment";

/// The prefix of a policy name that evaluates a checkpoint: `ckpt:DIR`.
pub const CHECKPOINT_PREFIX: &str = "ckpt:";

/// Makes policies by name: built-in ones (`handoff policies`) and trained ones (`ckpt:DIR`, a
/// run directory or one checkpoint), each checkpoint loaded and verified once.
pub struct PolicyMaker {
    trained: HashMap<String, LearnedPolicy>,
}

impl PolicyMaker {
    /// Loads every `ckpt:` policy among `names` for `scenario`.
    pub fn new(names: &[String], scenario: &Scenario) -> Result<Self, String> {
        let obs_len = observation_len(scenario.env.candidates as usize);
        let mut trained = HashMap::new();
        for name in names {
            if let Some(path) = name.strip_prefix(CHECKPOINT_PREFIX) {
                let policy = load_policy(Path::new(path), name, obs_len)?;
                trained.insert(name.clone(), policy);
            }
        }
        Ok(Self { trained })
    }

    /// The policy called `name`.
    pub fn make(&self, name: &str, scenario: &Scenario) -> Result<Box<dyn Policy>, String> {
        if let Some(p) = self.trained.get(name) {
            return Ok(Box::new(p.clone()));
        }
        by_name(name, scenario).ok_or_else(|| {
            let known: Vec<&str> = POLICIES.iter().map(|(n, _)| *n).collect();
            format!(
                "unknown policy \"{name}\" (built in: {}; or ckpt:DIR for a trained one)",
                known.join(", ")
            )
        })
    }
}

/// The policies to evaluate and the baseline, from the command line: every built-in policy
/// when none is named; the baseline defaults to `study-treatment` when it is evaluated, else the
/// first policy, and is added to the list when missing.
pub fn policy_list(
    policies: &[String],
    baseline: Option<&str>,
) -> Result<(Vec<String>, String), CliError> {
    let mut list: Vec<String> = if policies.is_empty() {
        POLICIES.iter().map(|(n, _)| (*n).to_string()).collect()
    } else {
        policies.to_vec()
    };
    for (i, name) in list.iter().enumerate() {
        if list[..i].contains(name) {
            return Err(CliError::input(format!("--policy {name} is given twice")));
        }
    }
    let baseline = match baseline {
        Some(b) => b.to_string(),
        None if list.iter().any(|p| p == DEFAULT_BASELINE) => DEFAULT_BASELINE.to_string(),
        None => list[0].clone(),
    };
    if !list.contains(&baseline) {
        list.insert(0, baseline.clone());
    }
    Ok((list, baseline))
}

/// Parses the `--assert` expressions and checks they name evaluated policies (exit 2 if not).
pub fn parse_assertions(texts: &[String], policies: &[String]) -> Result<Vec<Assertion>, CliError> {
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
            Ok(assertion)
        })
        .collect()
}

/// One checked assertion, as `--json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct AssertionJson {
    /// The expression.
    pub expression: String,
    /// Whether it held.
    pub passed: bool,
    /// Value of the left side.
    pub lhs: f64,
    /// Value of the right side.
    pub rhs: f64,
}

/// What `handoff eval --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct EvalJson<'a> {
    /// The evaluation.
    #[serde(flatten)]
    pub report: &'a EvalReport,
    /// The assertions, checked.
    pub assertions: Vec<AssertionJson>,
}

impl<'a> EvalJson<'a> {
    /// The report and its checked assertions.
    pub fn new(report: &'a EvalReport, outcomes: &[AssertionOutcome]) -> Self {
        let assertions = outcomes
            .iter()
            .map(|o| AssertionJson {
                expression: o.text.clone(),
                passed: o.passed,
                lhs: o.lhs,
                rhs: o.rhs,
            })
            .collect();
        Self { report, assertions }
    }
}

/// A number for a table: no decimals when large, else `decimals`.
fn num(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        "n/a".to_string()
    } else if x.abs() >= 1000.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.decimals$}")
    }
}

fn pct(x: f64) -> String {
    if x.is_finite() { format!("{:.1}", 100.0 * x) } else { "n/a".to_string() }
}

fn interval(ci: [f64; 2], decimals: usize) -> String {
    format!("[{}, {}]", num(ci[0], decimals), num(ci[1], decimals))
}

/// The report as a Markdown table (plus the assertions' verdicts).
pub fn render_markdown(report: &EvalReport, outcomes: &[AssertionOutcome]) -> String {
    let seeds = &report.seeds;
    let mut out = format!(
        "handoff eval: scenario {}, {} seeds ({}..={}), baseline {}, {:.0} % bootstrap intervals\n\n",
        report.scenario,
        seeds.len(),
        seeds.first().copied().unwrap_or(0),
        seeds.last().copied().unwrap_or(0),
        report.baseline,
        100.0 * report.confidence
    );
    out.push_str(
        "| policy | return | 95 % CI | IQM | vs baseline | 95 % CI | win rate | duration min \
         | wait min | rating | retrial % | abandoned % | AI share % | AI alone / tech / emo / human % |\n",
    );
    out.push_str("|---|---:|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for p in &report.policies {
        let k = &p.kpis;
        let e = &k.escalation;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {} | {} / {} / {} / {} |",
            p.name,
            num(p.return_mean, 2),
            interval(p.return_ci, 2),
            num(p.return_iqm, 2),
            num(p.vs_baseline.diff, 2),
            interval(p.vs_baseline.ci, 2),
            p.vs_baseline.win_rate,
            k.duration_min,
            k.wait_min,
            num(k.rating, 3),
            pct(k.retrial),
            pct(k.abandonment),
            pct(k.ai_share),
            pct(e.none),
            pct(e.technical),
            pct(e.emotional),
            pct(e.human),
        );
    }
    if !outcomes.is_empty() {
        out.push('\n');
        for o in outcomes {
            let _ = writeln!(out, "{o}");
        }
    }
    out
}

/// Quotes a CSV field when it needs it.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.into() }
}

/// The CSV header of [`render_csv`].
pub const CSV_HEADER: &str = "policy,seed,return,chats,return_per_chat,duration_min,wait_min,\
rating,rating_rate,satisfaction,retrial,abandonment,resolved,ai_share,ai_alone,technical,\
emotional,human";

fn csv_row(name: &str, e: &EpisodeResult) -> String {
    let k: &Kpis = &e.kpis;
    let f = |x: f64| if x.is_finite() { format!("{x}") } else { String::new() };
    let values = [
        k.chats,
        k.return_per_chat,
        k.duration_min,
        k.wait_min,
        k.rating,
        k.rating_rate,
        k.satisfaction,
        k.retrial,
        k.abandonment,
        k.resolved,
        k.ai_share,
        k.escalation.none,
        k.escalation.technical,
        k.escalation.emotional,
        k.escalation.human,
    ];
    let rest: Vec<String> = values.iter().map(|&x| f(x)).collect();
    format!("{},{},{},{}", csv_field(name), e.seed, f(e.episode_return), rest.join(","))
}

/// One row per policy and seed.
pub fn render_csv(report: &EvalReport) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push('\n');
    for p in &report.policies {
        for e in &p.episodes {
            out.push_str(&csv_row(&p.name, e));
            out.push('\n');
        }
    }
    out
}

/// Escapes text for XML attributes and content.
fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// A JUnit XML report with one test case per assertion.
pub fn render_junit(report: &EvalReport, outcomes: &[AssertionOutcome]) -> String {
    let failures = outcomes.iter().filter(|o| !o.passed).count();
    let suite = format!("handoff eval {}", report.scenario);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"handoff eval\" tests=\"{}\" failures=\"{failures}\">",
        outcomes.len()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">",
        xml(&suite),
        outcomes.len()
    );
    out.push_str("    <properties>\n");
    for (name, value) in [
        ("scenario", report.scenario.clone()),
        ("seeds", report.seeds.len().to_string()),
        ("first_seed", report.seeds.first().copied().unwrap_or(0).to_string()),
        ("baseline", report.baseline.clone()),
    ] {
        let _ = writeln!(out, "      <property name=\"{name}\" value=\"{}\"/>", xml(&value));
    }
    out.push_str("    </properties>\n");
    let classname = format!("handoff.eval.{}", report.scenario);
    for o in outcomes {
        let head =
            format!("    <testcase classname=\"{}\" name=\"{}\"", xml(&classname), xml(&o.text));
        if o.passed {
            let _ = writeln!(out, "{head}/>");
        } else {
            let _ = writeln!(out, "{head}>");
            let _ = writeln!(
                out,
                "      <failure type=\"AssertionFailed\" message=\"{}\">{}</failure>",
                xml(&format!("left {} vs right {}", o.lhs, o.rhs)),
                xml(&o.to_string())
            );
            out.push_str("    </testcase>\n");
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// Draws mean returns with their intervals, and paired differences to the baseline with theirs.
pub fn render_svg(report: &EvalReport) -> Result<String, CliError> {
    use plotters::prelude::*;
    let fail = |e: &dyn std::fmt::Display| CliError::runtime(format!("plotting: {e}"));
    let n = report.policies.len();
    let mut svg = String::new();
    {
        let height = 120 + 34 * n as u32;
        let root = SVGBackend::with_string(&mut svg, (1100, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        let panels = root.split_evenly((1, 2));
        type Value = fn(&PolicySummary) -> (f64, [f64; 2]);
        // (title, value, whether the axis must show zero)
        let views: [(String, Value, bool); 2] = [
            ("episode return (mean, 95 % CI)".to_string(), |p| (p.return_mean, p.return_ci), false),
            (
                format!("return minus {} (paired, 95 % CI)", report.baseline),
                |p| (p.vs_baseline.diff, p.vs_baseline.ci),
                true,
            ),
        ];
        for (panel, (title, value, with_zero)) in panels.iter().zip(views) {
            let points: Vec<(usize, f64, [f64; 2])> = report
                .policies
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let (m, ci) = value(p);
                    (i, m, ci)
                })
                .filter(|(_, m, ci)| m.is_finite() && ci.iter().all(|x| x.is_finite()))
                .collect();
            let mut lo = points.iter().map(|p| p.2[0]).fold(f64::INFINITY, f64::min);
            let mut hi = points.iter().map(|p| p.2[1]).fold(f64::NEG_INFINITY, f64::max);
            if with_zero || !lo.is_finite() {
                lo = lo.min(0.0);
                hi = hi.max(0.0);
            }
            let pad = 0.05 * (hi - lo).max(1e-9);
            let names: Vec<String> = report.policies.iter().map(|p| p.name.clone()).collect();
            let mut chart = ChartBuilder::on(panel)
                .caption(title, ("sans-serif", 16))
                .margin(12)
                .x_label_area_size(30)
                .y_label_area_size(if names.is_empty() { 10 } else { 130 })
                .build_cartesian_2d((lo - pad)..(hi + pad), -0.5f64..(n as f64 - 0.5))
                .map_err(|e| fail(&e))?;
            chart
                .configure_mesh()
                .y_labels(n.max(1))
                .y_label_formatter(&|y| {
                    let i = y.round();
                    if (y - i).abs() < 1e-6 && i >= 0.0 {
                        names.get(n - 1 - i as usize).cloned().unwrap_or_default()
                    } else {
                        String::new()
                    }
                })
                .disable_y_mesh()
                .x_labels(6)
                .x_label_formatter(&|x| format!("{x:.0}"))
                .light_line_style(WHITE)
                .draw()
                .map_err(|e| fail(&e))?;
            if with_zero {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(0.0, -0.5), (0.0, n as f64 - 0.5)],
                        BLACK.mix(0.3),
                    )))
                    .map_err(|e| fail(&e))?;
            }
            for &(i, m, ci) in &points {
                let y = (n - 1 - i) as f64;
                let colour = if report.policies[i].name == report.baseline { RED } else { BLUE };
                chart
                    .draw_series([
                        PathElement::new(vec![(ci[0], y), (ci[1], y)], colour.stroke_width(2)),
                        PathElement::new(vec![(ci[0], y - 0.15), (ci[0], y + 0.15)], colour),
                        PathElement::new(vec![(ci[1], y - 0.15), (ci[1], y + 0.15)], colour),
                    ])
                    .map_err(|e| fail(&e))?;
                chart
                    .draw_series(std::iter::once(Circle::new((m, y), 4, colour.filled())))
                    .map_err(|e| fail(&e))?;
            }
        }
        root.present().map_err(|e| fail(&e))?;
    }
    Ok(svg)
}

/// The options of `handoff eval`, as parsed from the command line.
#[derive(Debug, Clone, clap::Args)]
pub struct EvalOptions {
    /// A built-in scenario or the path of a scenario TOML file.
    #[arg(long, default_value = handoff_env::scenario::DEFAULT_SCENARIO)]
    pub scenario: String,
    /// A policy to evaluate (repeat the flag); all built-in policies when none is given.
    #[arg(long = "policy", value_name = "NAME")]
    pub policies: Vec<String>,
    /// The policy the others are compared with, seed by seed (default: study-treatment when
    /// evaluated, else the first --policy). Added to the evaluated policies if missing.
    #[arg(long)]
    pub baseline: Option<String>,
    /// Seeds (episodes per policy).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub seeds: u64,
    /// The first seed; seeds are consecutive from it.
    #[arg(long, default_value_t = 1)]
    pub first_seed: u64,
    /// Simulated days, overriding the scenario's.
    #[arg(long)]
    pub days: Option<u32>,
    /// Scale workers and arrivals by this factor (same load per worker), for quick runs.
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Threads to run episodes on (default: every core). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Bootstrap resamples per interval.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..=1_000_000))]
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
}

/// Runs `handoff eval`: returns the text for stdout, or an error whose code is 1 when an
/// assertion failed (the text is printed first) and 2 for bad input.
pub fn run(options: &EvalOptions) -> Result<String, CliError> {
    if !(options.scale > 0.0 && options.scale <= 10.0) {
        return Err(CliError::input("--scale must be in (0, 10]"));
    }
    let scenario = super::load_scenario(&options.scenario, options.days)?;
    let scenario = scenario.scaled(options.scale);
    evaluate_on(&scenario, &options.policies, options)
}

/// Evaluates `policies` (all built-in ones when empty) on `scenario` with the rest of
/// `options`, writes the requested files and checks the assertions.
pub fn evaluate_on(
    scenario: &Scenario,
    policies: &[String],
    options: &EvalOptions,
) -> Result<String, CliError> {
    use handoff_training::eval::{EvalConfig, evaluate};
    if options.threads == Some(0) {
        return Err(CliError::input("--threads must be at least 1"));
    }
    let (policies, baseline) = policy_list(policies, options.baseline.as_deref())?;
    let assertions = parse_assertions(&options.assertions, &policies)?;
    // `evaluate` resolves every name before running an episode; its errors are bad input
    let maker = PolicyMaker::new(&policies, scenario).map_err(CliError::input)?;
    let config = EvalConfig {
        seeds: options.seeds,
        first_seed: options.first_seed,
        resamples: options.resamples as usize,
        ..EvalConfig::default()
    };
    let bar = super::progress_bar(options.seeds * policies.len() as u64, "episodes");
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(n) = options.threads {
        pool = pool.num_threads(n);
    }
    let pool = pool.build().map_err(CliError::runtime)?;
    let factory = |name: &str, s: &Scenario| maker.make(name, s);
    let report = pool
        .install(|| evaluate(scenario, &policies, &baseline, &config, &factory, &|| bar.inc(1)))
        .map_err(CliError::input)?;
    bar.finish_and_clear();
    let outcomes: Vec<AssertionOutcome> = assertions
        .iter()
        .map(|a| a.check(&report).map_err(CliError::input))
        .collect::<Result<_, _>>()?;
    if let Some(path) = &options.csv {
        super::write_atomic(path, &render_csv(&report))?;
    }
    if let Some(path) = &options.svg {
        super::write_atomic(path, &render_svg(&report)?)?;
    }
    if let Some(path) = &options.junit {
        super::write_atomic(path, &render_junit(&report, &outcomes))?;
    }
    let text = if options.json {
        serde_json::to_string_pretty(&EvalJson::new(&report, &outcomes))
            .map_err(CliError::runtime)?
            + "\n"
    } else {
        render_markdown(&report, &outcomes)
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
