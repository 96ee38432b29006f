//! One evaluation episode: a policy on a scenario from a seed, to the end, with its return and
//! its KPIs accumulated chat by chat (constant memory, whatever the horizon).

pub use handoff_env::EscalationMix;
use handoff_env::{ChatRecord, DecisionSplit, Policy, Scenario, SegmentStats, Simulator};
use rayon::prelude::*;
use serde::Serialize;

/// Key performance indicators of an episode, or their means over episodes. Shares are fractions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Kpis {
    /// Chats that arrived and ended.
    pub chats: f64,
    /// Return divided by chats.
    pub return_per_chat: f64,
    /// Mean chat duration, minutes.
    pub duration_min: f64,
    /// Mean time a customer spent waiting for replies, minutes.
    pub wait_min: f64,
    /// Mean star rating over the chats that were rated (NaN, `null` in JSON, when none were).
    pub rating: f64,
    /// Share of chats rated.
    pub rating_rate: f64,
    /// Mean latent satisfaction, 1 to 5.
    pub satisfaction: f64,
    /// Share of customers who came back within 7 days.
    pub retrial: f64,
    /// Share of chats the customer abandoned while waiting.
    pub abandonment: f64,
    /// Share of chats resolved.
    pub resolved: f64,
    /// Share of chats the AI handled at some point.
    pub ai_share: f64,
    /// Shares of AI-handled chats by how they left the AI.
    pub escalation: EscalationMix,
    /// Other chats a worker juggled per human reply, averaged over the chats workers answered
    /// (supervised AI chats weighted by `workers.supervision_load`): the concurrency the assign
    /// decision controls.
    pub concurrency: f64,
    /// Share of chats that were customers coming back (`retrial.returns`).
    pub returning: f64,
    /// Messages the workers wrote per chat: the effort the study compares across escalations.
    pub worker_messages: f64,
}

/// The outcome of one policy on one seed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpisodeResult {
    /// The episode's seed.
    pub seed: u64,
    /// Sum of the rewards of every chat.
    #[serde(rename = "return")]
    pub episode_return: f64,
    /// The episode's KPIs.
    pub kpis: Kpis,
}

impl Kpis {
    /// The KPIs of the chats `stats` accumulated.
    pub fn of(stats: &SegmentStats) -> Self {
        let s = stats.summary();
        Kpis {
            chats: s.chats as f64,
            return_per_chat: s.reward_mean,
            duration_min: s.duration_mean_s / 60.0,
            wait_min: stats.wait_mean_s() / 60.0,
            rating: s.rating_mean,
            rating_rate: s.rating_rate,
            satisfaction: s.satisfaction_mean,
            retrial: s.retrial_rate,
            abandonment: s.abandonment_rate,
            resolved: s.resolution_rate,
            ai_share: stats.ai_share(),
            escalation: stats.escalation_shares(),
            concurrency: s.concurrency_mean,
            returning: stats.returning_rate(),
            worker_messages: s.worker_messages_mean,
        }
    }
}

/// One KPI of [`Kpis`]: the one place its names are written and its field is read, so that
/// the means over episodes, `--assert`, the CSV, `handoff explain` and the training log all
/// follow this table ([`KPIS`]); the JSON is `Kpis`'s own fields.
#[derive(Debug, Clone, Copy)]
pub struct Kpi {
    /// Its column in the CSV of episodes.
    pub column: &'static str,
    /// Its name in `--assert` expressions (`POLICY.METRIC`) and in the training log (`kpi/...`).
    pub metric: &'static str,
    /// Its label in tables, with its unit.
    pub label: &'static str,
    /// Reads it.
    pub get: fn(&Kpis) -> f64,
    /// Writes it.
    pub set: fn(&mut Kpis, f64),
}

/// Every KPI, in the CSV's order. A mean over episodes averages each over the episodes where it
/// is finite (a rating where some chats were rated).
pub const KPIS: [Kpi; 18] = [
    kpi("chats", "chats", "chats", |k| k.chats, |k, x| k.chats = x),
    kpi(
        "return_per_chat",
        "return_per_chat",
        "return per chat",
        |k| k.return_per_chat,
        |k, x| k.return_per_chat = x,
    ),
    kpi(
        "duration_min",
        "duration",
        "duration (min)",
        |k| k.duration_min,
        |k, x| k.duration_min = x,
    ),
    kpi("wait_min", "wait", "wait (min)", |k| k.wait_min, |k, x| k.wait_min = x),
    kpi("rating", "rating", "rating", |k| k.rating, |k, x| k.rating = x),
    kpi("rating_rate", "rating_rate", "rated", |k| k.rating_rate, |k, x| k.rating_rate = x),
    kpi(
        "satisfaction",
        "satisfaction",
        "satisfaction",
        |k| k.satisfaction,
        |k, x| k.satisfaction = x,
    ),
    kpi("retrial", "retrial", "retrial", |k| k.retrial, |k, x| k.retrial = x),
    kpi("abandonment", "abandonment", "abandonment", |k| k.abandonment, |k, x| k.abandonment = x),
    kpi("resolved", "resolved", "resolved", |k| k.resolved, |k, x| k.resolved = x),
    kpi("ai_share", "ai_share", "AI share", |k| k.ai_share, |k, x| k.ai_share = x),
    kpi(
        "ai_alone",
        "ai_alone",
        "finished by the AI alone (of AI chats)",
        |k| k.escalation.none,
        |k, x| k.escalation.none = x,
    ),
    kpi(
        "technical",
        "technical",
        "escalated, technical (of AI chats)",
        |k| k.escalation.technical,
        |k, x| k.escalation.technical = x,
    ),
    kpi(
        "emotional",
        "emotional",
        "escalated, emotional (of AI chats)",
        |k| k.escalation.emotional,
        |k, x| k.escalation.emotional = x,
    ),
    kpi(
        "human",
        "human",
        "taken over (of AI chats)",
        |k| k.escalation.human,
        |k, x| k.escalation.human = x,
    ),
    kpi(
        "concurrency",
        "concurrency",
        "other chats per human reply",
        |k| k.concurrency,
        |k, x| k.concurrency = x,
    ),
    kpi("returning", "returning", "returning customers", |k| k.returning, |k, x| k.returning = x),
    kpi(
        "worker_messages",
        "worker_messages",
        "worker messages per chat",
        |k| k.worker_messages,
        |k, x| k.worker_messages = x,
    ),
];

/// A row of [`KPIS`]: its CSV column, its name in expressions, its label, and how to read and
/// write it.
const fn kpi(
    column: &'static str,
    metric: &'static str,
    label: &'static str,
    get: fn(&Kpis) -> f64,
    set: fn(&mut Kpis, f64),
) -> Kpi {
    Kpi { column, metric, label, get, set }
}

impl Kpi {
    /// The KPI called `metric` in expressions and the training log.
    pub fn by_metric(metric: &str) -> Option<&'static Kpi> {
        KPIS.iter().find(|k| k.metric == metric)
    }
}

/// Plays `policy` (with `fallback` for the decisions the scenario does not give the agent) on
/// `scenario` from `seed` to the end of the horizon, handing each completed chat to `on_chat` and
/// showing each decision to `on_decision` ([`handoff_env::run_observed`]): the episode every
/// evaluation, replay and explanation runs.
pub fn play(
    scenario: &Scenario,
    seed: u64,
    policy: Box<dyn Policy>,
    fallback: Box<dyn Policy>,
    on_chat: impl FnMut(&ChatRecord),
    on_decision: impl FnMut(&Simulator, usize),
) {
    let mut sim = Simulator::new(scenario.clone());
    let mut split = DecisionSplit::new(scenario, policy, fallback);
    handoff_env::run_observed(&mut sim, seed, &mut split, on_chat, on_decision);
}

/// Runs `policy` (with `fallback` for the decisions the scenario does not give the agent) on
/// `scenario` from `seed` to the end of the horizon.
pub fn run_episode(
    scenario: &Scenario,
    seed: u64,
    policy: Box<dyn Policy>,
    fallback: Box<dyn Policy>,
) -> EpisodeResult {
    let mut stats = SegmentStats::default();
    play(scenario, seed, policy, fallback, |chat| stats.add(chat), |_, _| {});
    EpisodeResult { seed, episode_return: stats.reward_sum(), kpis: Kpis::of(&stats) }
}

/// The thread counts the front ends accept for running episodes (or stepping a vector of
/// environments) in parallel: results never depend on the count.
pub const THREADS: std::ops::RangeInclusive<usize> = 1..=1024;

/// Whether `threads` is in [`THREADS`]; the message names the field.
pub fn check_threads(threads: usize) -> Result<(), String> {
    crate::compare::check_range("threads", threads, &THREADS)
}

/// Runs the policy `make` builds on `seeds` consecutive seeds from `first_seed`, in parallel, with
/// the scenario's fallback policy for the decisions it does not give the agent.
pub fn run_episodes(
    scenario: &Scenario,
    first_seed: u64,
    seeds: u64,
    make: &(dyn Fn() -> Box<dyn Policy> + Sync),
) -> Vec<EpisodeResult> {
    (0..seeds)
        .into_par_iter()
        .map(|i| {
            let fallback =
                handoff_agents::fallback(scenario, &scenario.name).expect("validated fallback");
            run_episode(scenario, first_seed + i, make(), fallback)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The numbers of a JSON value, depth first.
    fn numbers(v: &serde_json::Value, out: &mut Vec<f64>) {
        match v {
            serde_json::Value::Number(n) => out.push(n.as_f64().expect("finite")),
            serde_json::Value::Object(map) => map.values().for_each(|x| numbers(x, out)),
            _ => {}
        }
    }

    #[test]
    fn the_kpi_table_reads_and_writes_every_field_of_kpis_once() {
        let mut k = Kpis::default();
        for (i, kpi) in KPIS.iter().enumerate() {
            (kpi.set)(&mut k, (i + 1) as f64);
        }
        for (i, kpi) in KPIS.iter().enumerate() {
            assert_eq!((kpi.get)(&k), (i + 1) as f64, "{} reads what it wrote", kpi.column);
        }
        // a field the table leaves out would stay 0 in every mean over episodes
        let mut written = Vec::new();
        numbers(&serde_json::to_value(k).unwrap(), &mut written);
        written.sort_by(f64::total_cmp);
        let expected: Vec<f64> = (1..=KPIS.len()).map(|i| i as f64).collect();
        assert_eq!(written, expected, "every field once");
        for names in [|k: &Kpi| k.column, |k: &Kpi| k.metric, |k: &Kpi| k.label] {
            let mut seen: Vec<&str> = KPIS.iter().map(names).collect();
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(seen.len(), KPIS.len(), "names are unique");
        }
    }

    #[test]
    fn a_random_fallback_gives_the_same_episode_in_the_environment_and_the_evaluation() {
        let mut scenario = Scenario::builtin("small").expect("built-in");
        scenario.days = 1;
        scenario.env.control = vec![handoff_env::DecisionKind::Route];
        scenario.env.fallback_policy = "random".to_string();
        let agent = || handoff_agents::by_name("c-mu", &scenario).expect("built in");
        let fallback = || handoff_agents::fallback(&scenario, "small").expect("fallback");
        for seed in [3, 4] {
            let evaluated = run_episode(&scenario, seed, agent(), fallback());
            let mut env = handoff_agents::make_env(scenario.clone()).expect("env");
            let mut policy = agent();
            env.reset(seed);
            policy.reset(handoff_env::rng::policy_seed(seed));
            let mut total = 0.0;
            while !env.is_over() {
                let action = policy.act(env.observation());
                total += env.step(action).expect("valid").reward;
            }
            let differ = (total - evaluated.episode_return).abs();
            assert!(
                differ < 1e-9 * total.abs(),
                "seed {seed}: {total} {}",
                evaluated.episode_return
            );
        }
    }

    #[test]
    fn kpis_are_the_means_of_the_chats_and_nan_over_none() {
        let mut scenario = Scenario::builtin("small").expect("built-in");
        scenario.days = 1;
        let mut sim = Simulator::new(scenario.clone());
        let fallback = || handoff_agents::fallback(&scenario, "small").expect("fallback");
        let mut split = DecisionSplit::new(&scenario, fallback(), fallback());
        let (mut stats, mut records) = (SegmentStats::default(), Vec::new());
        handoff_env::run(&mut sim, 7, &mut split, |chat| {
            stats.add(chat);
            records.push(*chat);
        });
        let k = Kpis::of(&stats);
        let n = records.len() as f64;
        assert!(n > 100.0, "{n} chats");
        let wait: f64 = records.iter().map(|r| r.wait_s).sum::<f64>() / n / 60.0;
        assert!((k.wait_min - wait).abs() < 1e-12 * wait.max(1.0), "{} {wait}", k.wait_min);
        let ai: Vec<_> = records.iter().filter(|r| r.ai_involved).collect();
        assert!(!ai.is_empty());
        let alone = ai.iter().filter(|r| r.escalation.is_none()).count() as f64;
        assert_eq!(k.escalation.none, alone / ai.len() as f64, "counted, not one minus the rest");
        assert_eq!(k.ai_share, ai.len() as f64 / n);
        let rated: Vec<f64> = records.iter().filter_map(|r| r.rating.map(f64::from)).collect();
        assert_eq!(k.rating, rated.iter().sum::<f64>() / rated.len() as f64);

        let none = Kpis::of(&SegmentStats::default());
        assert_eq!(none.chats, 0.0);
        for mean in [none.duration_min, none.wait_min, none.rating, none.escalation.none] {
            assert!(mean.is_nan(), "a mean over no chats is NaN, not {mean}");
        }
        assert!(SegmentStats::default().summary().duration_median_s.is_nan());
    }
}
