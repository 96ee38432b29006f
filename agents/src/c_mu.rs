//! `c-mu`: the cμ rule of queueing (Cox and Smith 1961; van Mieghem 1995, "Dynamic scheduling
//! with convex delay costs: the generalized cμ rule"): serve the job with the highest product of
//! its cost rate of waiting, c, and its service rate, μ.
//!
//! Here c is the reward a chat loses per minute its customer keeps waiting, read off the
//! scenario's reward weights and customer model: the duration charge, the satisfaction and retrial
//! lost to frustration growing with the wait, and the abandonment hazard of the customers'
//! log-normal patience at the current wait times what an abandonment costs. μ is the rate at which
//! answering finishes the chat: one over the expected remaining rounds (given the rounds done and
//! the issue's round distribution) times the time a reply takes (plus the switching cost unless
//! the worker answered this chat last). A worker with a free slot takes the queued chat with the
//! highest index. Takeovers and AI routing are as deployed; human chats go to the least-loaded
//! worker, whose replies are fastest.
//!
//! A model-based heuristic: it reads the scenario's true parameters (the customers' patience
//! distribution, frustration dynamics, the issues' round distribution, reply times and reward
//! weights) rather than learning or estimating them, which no real dispatcher knows exactly.
//! Comparisons with learned policies, which see only observations, should say so.
//!
//! Parameters ([`CMu::params`]): the takeover threshold, weights on the abandonment cost and on
//! the switching time, and a frustration above which AI-eligible chats go to a worker instead of
//! the AI; the defaults are the rule as derived (every eligible chat to the AI).

use handoff_env::rng::{logit, sigmoid};
use handoff_env::{Candidate, CandidateKind, DecisionKind, Observation, Policy, Scenario};

use crate::least_loaded::route_least_loaded_calm_to_ai;
use crate::params::{Param, ParamSet};
use crate::pick::{TakeoverRule, any_valid, best_of_kind, first_valid};

/// The largest `ai_frustration_limit`: every AI-eligible chat goes to the AI.
const AI_LIMIT_MAX: f64 = 5.0;

/// Rounds done beyond which the expected remaining rounds are read from the last entry.
const ROUNDS_TABLE: usize = 64;

/// The cμ priority index for a worker's attention.
#[derive(Debug, Clone)]
pub struct CMu {
    /// Reward lost per minute of duration.
    duration_per_min: f64,
    /// Reward lost per minute through satisfaction falling with frustration.
    satisfaction_per_min: f64,
    /// Reward weight of the satisfaction term on log1p(wait minutes).
    satisfaction_waiting: f64,
    /// Reward weight of the retrial probability.
    retrial_weight: f64,
    /// Retrial log-odds of a resolved chat at zero frustration.
    retrial_logit: f64,
    /// Retrial log-odds per unit of frustration.
    retrial_frustration: f64,
    /// Frustration gained per minute of waiting.
    frustration_per_min: f64,
    /// Reward lost when a customer abandons: the penalty plus the unresolved satisfaction.
    abandonment_cost: f64,
    /// Log of the median patience, seconds.
    patience_ln_median: f64,
    /// Log-normal sigma of patience.
    patience_sigma: f64,
    /// Median seconds a worker takes to reply.
    reply_s: f64,
    /// Seconds lost switching to another chat.
    switch_s: f64,
    /// Expected remaining rounds by rounds done: [ineligible, eligible].
    remaining_rounds: [[f64; ROUNDS_TABLE]; 2],
    takeover: TakeoverRule,
    /// AI-eligible chats go to the AI only up to this frustration (infinite: always).
    ai_limit: f32,
}

/// E[N - d | N > d] for N = 1 + Poisson(mean - 1), for d = 0, 1, ...
fn expected_remaining_rounds(mean: f64) -> [f64; ROUNDS_TABLE] {
    let lambda = (mean - 1.0).max(0.0);
    // P(N = n) for n = 1..=MAX_N
    const MAX_N: usize = 400;
    let mut pmf = vec![0.0f64; MAX_N + 1];
    let mut p = libm::exp(-lambda);
    for (k, slot) in pmf.iter_mut().skip(1).enumerate() {
        *slot = p;
        p *= lambda / (k + 1) as f64;
    }
    std::array::from_fn(|d| {
        let (mut tail, mut excess) = (0.0, 0.0);
        for (n, &q) in pmf.iter().enumerate().skip(d + 1) {
            tail += q;
            excess += (n - d) as f64 * q;
        }
        if tail > 1e-12 { excess / tail } else { 1.0 }
    })
}

impl CMu {
    /// The parameters of the rule on `scenario`, shared by `c-mu-theta`.
    pub fn params(scenario: &Scenario) -> Vec<Param> {
        let mut params = TakeoverRule::params(scenario);
        params.extend([
            Param::real(
                "abandonment_weight",
                "multiplies the cost of an abandonment in the index (0: ignore abandonment)",
                [0.0, 5.0],
                1.0,
            ),
            Param::real(
                "switch_weight",
                "multiplies the switching time in the service rate (0: switching is free)",
                [0.0, 5.0],
                1.0,
            ),
            Param::real(
                "ai_frustration_limit",
                "an AI-eligible chat goes to the AI only while its customer's frustration is at \
                 most this, else to a worker (the maximum, 5, means always to the AI)",
                [0.0, AI_LIMIT_MAX],
                AI_LIMIT_MAX,
            ),
        ]);
        params
    }

    /// The index for `scenario`'s rewards, customers, issues and workers, as derived.
    pub fn new(scenario: &Scenario) -> Self {
        Self::with(scenario, &ParamSet::defaults("c-mu", Self::params(scenario)))
    }

    /// The index with the parameters in `set` (the concurrency limit is applied by the caller).
    pub fn with(scenario: &Scenario, set: &ParamSet) -> Self {
        let w = &scenario.reward;
        let s = &scenario.satisfaction;
        let c = &scenario.customers;
        let satisfaction_weight = w.satisfaction / 2.0;
        Self {
            duration_per_min: w.duration_per_min,
            satisfaction_per_min: satisfaction_weight * s.frustration * c.frustration_per_wait_min,
            satisfaction_waiting: satisfaction_weight * s.waiting,
            retrial_weight: w.retrial,
            retrial_logit: logit(scenario.retrial.base),
            retrial_frustration: scenario.retrial.frustration,
            frustration_per_min: c.frustration_per_wait_min,
            abandonment_cost: set.value("abandonment_weight")
                * (w.abandonment + satisfaction_weight * s.unresolved),
            patience_ln_median: libm::log(c.patience_median_s),
            patience_sigma: c.patience_sigma,
            reply_s: scenario.workers.reply_median_s,
            switch_s: set.value("switch_weight") * scenario.workers.switch_cost_s,
            remaining_rounds: [
                expected_remaining_rounds(scenario.issues.rounds_ineligible_mean),
                expected_remaining_rounds(scenario.issues.rounds_eligible_mean),
            ],
            takeover: TakeoverRule::with(set),
            ai_limit: match set.value("ai_frustration_limit") {
                limit if limit >= AI_LIMIT_MAX => f32::INFINITY,
                limit => limit as f32,
            },
        }
    }

    /// Hazard of abandoning per minute after waiting `wait_s` seconds (log-normal patience).
    fn abandonment_hazard_per_min(&self, wait_s: f64) -> f64 {
        if wait_s <= 0.0 {
            return 0.0;
        }
        let z = (libm::log(wait_s) - self.patience_ln_median) / self.patience_sigma;
        let density = libm::exp(-0.5 * z * z)
            / (wait_s * self.patience_sigma * (2.0 * std::f64::consts::PI).sqrt());
        let survival = 0.5 * libm::erfc(z / std::f64::consts::SQRT_2);
        if survival < 1e-12 { 0.0 } else { 60.0 * density / survival }
    }

    /// Reward lost per further minute this customer waits, abandonment aside: the duration
    /// charge and the satisfaction and retrial lost to frustration growing with the wait.
    pub fn holding_cost_rate(&self, chat: &Candidate) -> f64 {
        let wait_min = f64::from(chat.wait_s) / 60.0;
        let p =
            sigmoid(self.retrial_logit + self.retrial_frustration * f64::from(chat.frustration));
        self.duration_per_min
            + self.satisfaction_per_min
            + self.satisfaction_waiting / (1.0 + wait_min)
            + self.retrial_weight
                * self.retrial_frustration
                * self.frustration_per_min
                * p
                * (1.0 - p)
    }

    /// Reward lost when a customer abandons (weighted by `abandonment_weight`).
    pub fn abandonment_cost(&self) -> f64 {
        self.abandonment_cost
    }

    /// c: reward lost per further minute this customer waits.
    pub fn cost_rate(&self, chat: &Candidate) -> f64 {
        self.holding_cost_rate(chat)
            + self.abandonment_cost * self.abandonment_hazard_per_min(f64::from(chat.wait_s))
    }

    /// μ: chats finished per second of this worker's writing if they answer `chat` now.
    pub fn service_rate(&self, chat: &Candidate) -> f64 {
        let done = (chat.rounds_done as usize).min(ROUNDS_TABLE - 1);
        let remaining = self.remaining_rounds[usize::from(chat.eligible)][done];
        let reply = self.reply_s + if chat.last_answered { 0.0 } else { self.switch_s };
        1.0 / (remaining * reply)
    }

    /// The priority index cμ.
    pub fn index(&self, chat: &Candidate) -> f64 {
        self.cost_rate(chat) * self.service_rate(chat)
    }

    /// The rule's decisions with priority `index`: calm eligible chats to the AI and the rest to
    /// the least-loaded worker, takeovers at the threshold, then the held or queued chat of
    /// highest index (shared with `c-mu-theta`, which differs only in its index).
    pub fn act_by(&self, obs: &Observation, index: impl Fn(&Candidate) -> f64) -> usize {
        match obs.kind {
            DecisionKind::Route => route_least_loaded_calm_to_ai(obs, self.ai_limit),
            DecisionKind::Attend => self
                .takeover
                .pick(obs)
                .or_else(|| best_of_kind(obs, CandidateKind::Chat, &index))
                .or_else(|| first_valid(obs, CandidateKind::Wait))
                .unwrap_or_else(|| any_valid(obs)),
            DecisionKind::Assign => {
                best_of_kind(obs, CandidateKind::Queued, &index).unwrap_or_else(|| any_valid(obs))
            }
        }
    }
}

impl Policy for CMu {
    fn name(&self) -> &str {
        "c-mu"
    }

    fn act(&mut self, obs: &Observation) -> usize {
        self.act_by(obs, |c| self.index(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_rounds_start_at_the_mean_and_fall_towards_one() {
        let r = expected_remaining_rounds(5.0);
        assert!((r[0] - 5.0).abs() < 1e-9, "{}", r[0]);
        assert!(r[1] < r[0] && r[8] < r[4], "{r:?}");
        assert!(r[ROUNDS_TABLE - 1] >= 1.0);
        assert_eq!(expected_remaining_rounds(1.0)[0], 1.0);
    }

    #[test]
    fn index_prefers_nearly_done_long_waiting_chats_and_the_last_answered() {
        let policy = CMu::new(&Scenario::default());
        let base = Candidate { kind: CandidateKind::Chat, wait_s: 30.0, ..Candidate::default() };
        let nearly_done = Candidate { rounds_done: 6.0, ..base };
        let waited = Candidate { wait_s: 300.0, frustration: 1.0, ..base };
        let warm = Candidate { last_answered: true, ..base };
        assert!(policy.index(&nearly_done) > policy.index(&base));
        assert!(policy.index(&waited) > policy.index(&base));
        assert!(policy.index(&warm) > policy.index(&base));
    }
}
