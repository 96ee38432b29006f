//! Where two policies' decisions differ and what the difference earned, over seeds on common
//! random numbers: what `handoff explain A B` prints.
//!
//! On each seed the first policy's episode is run with the second asked, at every decision the
//! agent makes, what it would choose in the same situation (a shadow: its choice is counted, not
//! applied), and the second policy's own episode is run on the same customers. Decisions are
//! counted by kind and situation; the twins (the same customer under either policy) tell which
//! chats were handled differently; the paired differences of the reward's parts and of the KPIs
//! have 95 % Student-t intervals over the seeds.

use std::collections::HashMap;

use handoff_env::SegmentStats;
use handoff_env::rng::policy_seed;
use handoff_env::scenario::DecisionKind;
use handoff_env::{CandidateKind, ChatRecord, Ending, Escalation, Observation, Scenario};
use rayon::prelude::*;
use serde::Serialize;

use crate::compare::PolicyFactory;
use crate::episode::{KPIS, Kpis, play};
use crate::stats::mean_ci;

/// A mean over seeds with its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// The mean.
    pub mean: f64,
    /// The 95 % interval's lower end.
    pub low: f64,
    /// The 95 % interval's upper end.
    pub high: f64,
}

impl Estimate {
    /// The mean of `xs` with its Student-t interval.
    pub fn of(xs: &[f64]) -> Self {
        let (mean, low, high) = mean_ci(xs);
        Self { mean, low, high }
    }

    /// The mean of the shares `xs` with its Student-t interval, clipped to 0..1.
    pub fn share(xs: &[f64]) -> Self {
        let e = Self::of(xs);
        Self { low: e.low.max(0.0), high: e.high.min(1.0), ..e }
    }
}

/// The decisions of the agent's kinds, as the first policy met them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lever {
    /// Where a new or escalated chat goes.
    Route,
    /// What a worker free to write does next, with no AI chat to take over.
    Attend,
    /// An attend decision where taking over a supervised AI chat was possible.
    Takeover,
    /// Which queued chat a worker with a free slot takes.
    Assign,
}

impl Lever {
    /// The lever of the decision `obs` shows.
    fn of(obs: &Observation) -> Self {
        match obs.kind {
            DecisionKind::Route => Lever::Route,
            DecisionKind::Assign => Lever::Assign,
            DecisionKind::Attend => {
                let takeover = obs
                    .candidates
                    .iter()
                    .zip(&obs.mask)
                    .any(|(c, &valid)| valid && c.kind == CandidateKind::Takeover);
                if takeover { Lever::Takeover } else { Lever::Attend }
            }
        }
    }

    /// The label in tables and JSON.
    pub fn label(self) -> &'static str {
        match self {
            Lever::Route => "route",
            Lever::Attend => "attend",
            Lever::Takeover => "takeover",
            Lever::Assign => "assign",
        }
    }
}

/// A situation a decision was made in, along three dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Situation {
    /// Load: chats in flight fill under half of the on-duty workers' slots.
    Light,
    /// Load: they fill half to three quarters.
    Busy,
    /// Load: they fill three quarters or more (the queue counts).
    Heavy,
    /// The decision's chat: frustration under 0.25.
    Calm,
    /// Frustration from 0.25 to 0.5.
    Upset,
    /// Frustration 0.5 or more (about the AI's emotional threshold).
    Angry,
    /// The decision's chat never was with the AI.
    NotFromAi,
    /// It is with the AI, or left it without escalating.
    WithAi,
    /// It left the AI for a technical reason.
    Technical,
    /// It left the AI for an emotional reason.
    Emotional,
    /// Its supervising worker took it over.
    TakenOver,
}

impl Situation {
    /// The dimension and the value, as tables print them.
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            Situation::Light => ("load", "< 50 % of slots"),
            Situation::Busy => ("load", "50-75 % of slots"),
            Situation::Heavy => ("load", ">= 75 % of slots"),
            Situation::Calm => ("frustration", "< 0.25"),
            Situation::Upset => ("frustration", "0.25-0.5"),
            Situation::Angry => ("frustration", ">= 0.5"),
            Situation::NotFromAi => ("escalation", "not from the AI"),
            Situation::WithAi => ("escalation", "with the AI"),
            Situation::Technical => ("escalation", "technical"),
            Situation::Emotional => ("escalation", "emotional"),
            Situation::TakenOver => ("escalation", "taken over"),
        }
    }

    /// The situations of the decision `obs` shows in a centre of concurrency cap `cap`, where
    /// the first policy chose `action`: the load (chats in flight per on-duty worker slot), and
    /// the frustration and escalation of the decision's chat (the routed chat, or the chat the
    /// first policy answered, took over or took from the queue; none when it chose to wait or
    /// pass).
    fn of(obs: &Observation, cap: u32, action: usize) -> Vec<Situation> {
        let slots = f64::from(obs.on_duty.max(1)) * f64::from(cap.max(1));
        let mut out = vec![match f64::from(obs.in_flight) / slots {
            x if x < 0.5 => Situation::Light,
            x if x < 0.75 => Situation::Busy,
            _ => Situation::Heavy,
        }];
        let chat = match obs.kind {
            DecisionKind::Route => Some(obs.chat),
            _ => obs.candidates.get(action).copied().filter(|c| {
                matches!(
                    c.kind,
                    CandidateKind::Chat | CandidateKind::Takeover | CandidateKind::Queued
                )
            }),
        };
        if let Some(c) = chat {
            out.push(match c.frustration {
                f if f < 0.25 => Situation::Calm,
                f if f < 0.5 => Situation::Upset,
                _ => Situation::Angry,
            });
            out.push(match (c.kind, c.escalation) {
                (CandidateKind::Takeover, _) => Situation::WithAi,
                (_, None) => Situation::NotFromAi,
                (_, Some(Escalation::Technical)) => Situation::Technical,
                (_, Some(Escalation::Emotional)) => Situation::Emotional,
                (_, Some(Escalation::Human)) => Situation::TakenOver,
            });
        }
        out
    }
}

/// How often the second policy would decide otherwise, for one lever, overall or in one
/// situation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionRow {
    /// The lever.
    pub lever: Lever,
    /// The situation; `None` for every decision of the lever.
    pub situation: Option<Situation>,
    /// Decisions per episode (mean over seeds).
    pub per_episode: f64,
    /// Share of them where the second policy chose another action.
    pub differ: Estimate,
}

/// The reward split into what each of its terms contributed (`reward.*` weights), summed over an
/// episode's chats.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct RewardParts {
    /// The satisfaction the handling earned.
    pub satisfaction: f64,
    /// The duration's cost.
    pub duration: f64,
    /// The retrial probability's cost.
    pub retrial: f64,
    /// The abandonments' cost.
    pub abandonment: f64,
}

impl RewardParts {
    /// Adds one chat's reward, split by the weights of `scenario`.
    fn add(&mut self, r: &ChatRecord, scenario: &Scenario) {
        let w = &scenario.reward;
        let duration = -w.duration_per_min * r.duration_s / 60.0;
        let retrial = -w.retrial * r.retrial_prob;
        let abandonment = if r.ending == Ending::Abandoned { -w.abandonment } else { 0.0 };
        self.duration += duration;
        self.retrial += retrial;
        self.abandonment += abandonment;
        // what is left is the satisfaction term: the parts add up to the reward exactly
        self.satisfaction += r.reward - duration - retrial - abandonment;
    }

    fn values(&self) -> [f64; 4] {
        [self.satisfaction, self.duration, self.retrial, self.abandonment]
    }
}

/// One paired difference (second policy minus first) over the seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// What is compared.
    pub name: &'static str,
    /// The first policy's mean.
    pub first: f64,
    /// The second policy's mean.
    pub second: f64,
    /// The paired difference.
    pub difference: Estimate,
}

/// Where two policies differ and what it earned.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The first policy.
    pub first: String,
    /// The second policy.
    pub second: String,
    /// Seeds compared.
    pub seeds: u64,
    /// The first seed.
    pub first_seed: u64,
    /// Decisions by lever, overall and by situation, on the first policy's episodes.
    pub decisions: Vec<DecisionRow>,
    /// Share of the twins (the same customer under either policy) handled differently: the AI
    /// in one and not the other, another escalation or another ending.
    pub handled_differently: Estimate,
    /// Share of the twins handled alike but by another worker (one changed decision moves
    /// every later assignment, so this share is large whenever any decision differs).
    pub other_worker_only: Estimate,
    /// The paired difference of the return and of its parts.
    pub reward: Vec<Difference>,
    /// The paired differences of the KPIs, in the study's terms.
    pub kpis: Vec<Difference>,
}

/// What one seed gives.
struct SeedResult {
    /// Decisions and disagreements by lever and situation.
    decisions: HashMap<(Lever, Option<Situation>), (u64, u64)>,
    /// Twins handled differently, and alike by another worker, as shares of the twins.
    differently: f64,
    other_worker: f64,
    parts: [RewardParts; 2],
    kpis: [Vec<f64>; 2],
}

/// The rows of the KPI table after every KPI of [`KPIS`]: the study's terms, measured from the
/// chats' timelines.
const STUDY_TERMS: [&str; 3] = [
    "takeovers per day",
    "minutes with the AI before a takeover",
    "intervention delay, emotional (min)",
];

/// The names of the KPI table's rows: every KPI's label, then [`STUDY_TERMS`].
fn kpi_names() -> impl Iterator<Item = &'static str> {
    KPIS.iter().map(|k| k.label).chain(STUDY_TERMS)
}

/// The KPIs of one episode in [`kpi_names`] order.
fn kpi_values(records: &[ChatRecord], scenario: &Scenario) -> Vec<f64> {
    let mut stats = SegmentStats::default();
    records.iter().for_each(|r| stats.add(r));
    let k = Kpis::of(&stats);
    let taken: Vec<&ChatRecord> =
        records.iter().filter(|r| r.escalation == Some(Escalation::Human)).collect();
    let before = taken
        .iter()
        .filter_map(|r| Some(r.timeline.escalated_s? - r.timeline.ai_from_s?))
        .map(|s| s / 60.0);
    let delay = records
        .iter()
        .filter(|r| r.escalation == Some(Escalation::Emotional))
        .filter_map(|r| r.intervention_delay_s)
        .map(|s| s / 60.0);
    let days = f64::from(scenario.days.max(1));
    let study = [
        taken.len() as f64 / days,
        crate::stats::mean_finite(before),
        crate::stats::mean_finite(delay),
    ];
    KPIS.iter().map(|kpi| (kpi.get)(&k)).chain(study).collect()
}

/// Whether two twins were handled differently (the worker aside).
fn handled_differently(a: &ChatRecord, b: &ChatRecord) -> bool {
    a.ai_involved != b.ai_involved || a.escalation != b.escalation || a.ending != b.ending
}

/// One seed: the first policy's episode with the second as its shadow, then the second's.
fn explain_seed(
    scenario: &Scenario,
    seed: u64,
    names: [&str; 2],
    make: &PolicyFactory,
) -> Result<SeedResult, String> {
    let fallback = || handoff_agents::fallback(scenario, &scenario.name).map_err(|e| e.to_string());
    let mut shadow = make(names[1], scenario)?;
    shadow.reset(policy_seed(seed));
    let mut decisions: HashMap<(Lever, Option<Situation>), (u64, u64)> = HashMap::new();
    let mut first = Vec::new();
    play(
        scenario,
        seed,
        make(names[0], scenario)?,
        fallback()?,
        |chat| first.push(*chat),
        |sim, action| {
            let obs = sim.observation();
            if !scenario.controls(obs.kind) {
                return;
            }
            let lever = Lever::of(obs);
            let differ = u64::from(shadow.act(obs) != action);
            let situations = Situation::of(obs, scenario.workers.cap, action).into_iter().map(Some);
            for key in std::iter::once(None).chain(situations) {
                let entry = decisions.entry((lever, key)).or_default();
                entry.0 += 1;
                entry.1 += differ;
            }
        },
    );
    let mut second = Vec::new();
    play(
        scenario,
        seed,
        make(names[1], scenario)?,
        fallback()?,
        |chat| second.push(*chat),
        |_, _| {},
    );
    let twins: HashMap<u64, &ChatRecord> = second.iter().map(|r| (r.chat_id, r)).collect();
    let (mut differently, mut other_worker, mut paired) = (0.0, 0.0, 0.0);
    for a in &first {
        if let Some(b) = twins.get(&a.chat_id) {
            paired += 1.0;
            if handled_differently(a, b) {
                differently += 1.0;
            } else if a.timeline.holder != b.timeline.holder {
                other_worker += 1.0;
            }
        }
    }
    let paired = f64::max(paired, 1.0);
    let mut parts = [RewardParts::default(); 2];
    for (p, records) in parts.iter_mut().zip([&first, &second]) {
        records.iter().for_each(|r| p.add(r, scenario));
    }
    Ok(SeedResult {
        decisions,
        differently: differently / paired,
        other_worker: other_worker / paired,
        parts,
        kpis: [kpi_values(&first, scenario), kpi_values(&second, scenario)],
    })
}

/// The paired difference of `pair` over the seeds.
fn difference(name: &'static str, pairs: &[[f64; 2]]) -> Difference {
    let column = |i: usize| -> Vec<f64> { pairs.iter().map(|p| p[i]).collect() };
    let diffs: Vec<f64> = pairs.iter().map(|p| p[1] - p[0]).collect();
    Difference {
        name,
        first: crate::stats::mean_finite(column(0).into_iter()),
        second: crate::stats::mean_finite(column(1).into_iter()),
        difference: Estimate::of(&diffs),
    }
}

/// Explains how policy `second` differs from policy `first` on `scenario` over `seeds` seeds
/// from `first_seed`, both made by `make` (with the scenario's fallback for the decisions it does
/// not give the agent); `on_seed` is called as each seed finishes. Seeds run in parallel; the
/// result does not depend on the thread count.
pub fn explain(
    scenario: &Scenario,
    names: [&str; 2],
    seeds: u64,
    first_seed: u64,
    make: &PolicyFactory,
    on_seed: &(dyn Fn() + Sync),
) -> Result<Explanation, String> {
    let results: Vec<SeedResult> = (0..seeds)
        .into_par_iter()
        .map(|i| {
            let result = explain_seed(scenario, first_seed + i, names, make);
            on_seed();
            result
        })
        .collect::<Result<_, _>>()?;
    let mut keys: Vec<(Lever, Option<Situation>)> =
        results.iter().flat_map(|r| r.decisions.keys().copied()).collect();
    keys.sort();
    keys.dedup();
    let decisions = keys
        .into_iter()
        .map(|key| {
            let counts: Vec<(u64, u64)> =
                results.iter().map(|r| r.decisions.get(&key).copied().unwrap_or((0, 0))).collect();
            let shares: Vec<f64> =
                counts.iter().filter(|(n, _)| *n > 0).map(|&(n, d)| d as f64 / n as f64).collect();
            let total: u64 = counts.iter().map(|c| c.0).sum();
            DecisionRow {
                lever: key.0,
                situation: key.1,
                per_episode: total as f64 / seeds as f64,
                differ: Estimate::share(&shares),
            }
        })
        .collect();
    let per_seed = |f: &dyn Fn(&SeedResult) -> f64| -> Vec<f64> { results.iter().map(f).collect() };
    let parts = |i: usize| -> Vec<[f64; 2]> {
        results.iter().map(|r| [r.parts[0].values()[i], r.parts[1].values()[i]]).collect()
    };
    let totals: Vec<[f64; 2]> =
        results.iter().map(|r| r.parts.map(|p| p.values().iter().sum::<f64>())).collect();
    let reward = vec![
        difference("return", &totals),
        difference("satisfaction", &parts(0)),
        difference("duration", &parts(1)),
        difference("retrial", &parts(2)),
        difference("abandonment", &parts(3)),
    ];
    let kpis = kpi_names()
        .enumerate()
        .map(|(i, name)| {
            let pairs: Vec<[f64; 2]> =
                results.iter().map(|r| [r.kpis[0][i], r.kpis[1][i]]).collect();
            difference(name, &pairs)
        })
        .collect();
    Ok(Explanation {
        first: names[0].to_string(),
        second: names[1].to_string(),
        seeds,
        first_seed,
        decisions,
        handled_differently: Estimate::share(&per_seed(&|r| r.differently)),
        other_worker_only: Estimate::share(&per_seed(&|r| r.other_worker)),
        reward,
        kpis,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explain_small(first: &str, second: &str) -> Explanation {
        let mut scenario = Scenario::builtin("small").expect("built-in");
        scenario.days = 1;
        let make = |name: &str, s: &Scenario| {
            handoff_agents::spec::resolve(name, s).map_err(|e| e.to_string())
        };
        explain(&scenario, [first, second], 3, 5, &make, &|| {}).expect("explained")
    }

    fn differ(e: &Explanation, lever: Lever) -> f64 {
        e.decisions
            .iter()
            .find(|r| r.lever == lever && r.situation.is_none())
            .map_or(0.0, |r| r.differ.mean)
    }

    #[test]
    fn a_policy_against_itself_differs_nowhere() {
        let e = explain_small("c-mu", "c-mu");
        assert!(e.decisions.iter().all(|r| r.differ.mean == 0.0 && r.differ.high == 0.0));
        assert!(e.decisions.iter().any(|r| r.per_episode > 100.0));
        assert_eq!(e.handled_differently.mean, 0.0);
        assert_eq!(e.other_worker_only.mean, 0.0);
        for d in e.reward.iter().chain(&e.kpis) {
            assert!(
                d.difference.mean == 0.0 || d.difference.mean.is_nan(),
                "{}: {:?}",
                d.name,
                d.difference
            );
        }
    }

    #[test]
    fn a_parameter_changes_only_the_decisions_it_governs() {
        // the quickest-first tie-break picks among workers: route decisions only
        let e = explain_small("c-mu", "c-mu@quickest_first=1");
        assert!(differ(&e, Lever::Route) > 0.01, "{:?}", e.decisions);
        for lever in [Lever::Attend, Lever::Takeover, Lever::Assign] {
            assert_eq!(differ(&e, lever), 0.0, "{lever:?}");
        }
        // the takeover threshold governs the attend decisions that offer a takeover
        let e = explain_small("c-mu", "c-mu@takeover_frustration=0.3");
        assert!(differ(&e, Lever::Takeover) > 0.01, "{:?}", e.decisions);
        for lever in [Lever::Route, Lever::Attend, Lever::Assign] {
            assert_eq!(differ(&e, lever), 0.0, "{lever:?}");
        }
        let takeovers = e.kpis.iter().find(|d| d.name == "takeovers per day").expect("row");
        assert!(
            takeovers.difference.low > 0.0,
            "an earlier trigger takes over more: {takeovers:?}"
        );
        assert!(e.handled_differently.mean > 0.0);
        assert!(e.decisions.iter().all(|r| r.differ.low >= 0.0 && r.differ.high <= 1.0));
        let total = &e.reward[0];
        let parts: f64 = e.reward[1..].iter().map(|d| d.difference.mean).sum();
        assert!((total.difference.mean - parts).abs() < 1e-6, "the parts add up: {:?}", e.reward);
    }
}
