//! Streaming summaries of completed chats per segment: constant memory whatever the horizon.
//! The one accumulator of chat outcomes: `handoff simulate`'s segments and the evaluation's KPIs
//! are both read from a [`SegmentStats`]. A mean over no chats is NaN (`null` in JSON), never 0.

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::chat::Escalation;
use crate::ending::Ending;
use crate::outcome::ChatRecord;

/// Shares of AI-involved chats by how they left the AI.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct EscalationMix {
    /// Escalated for a technical reason.
    pub technical: f64,
    /// Escalated for an emotional reason.
    pub emotional: f64,
    /// Taken over by the supervising worker.
    pub human: f64,
    /// Resolved (or ended) by the AI alone.
    pub none: f64,
}

/// The summary of one segment, as printed by `handoff simulate --json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentSummary {
    /// Completed chats.
    pub chats: u64,
    /// Mean duration, seconds.
    pub duration_mean_s: f64,
    /// Median duration, seconds (to 0.1 %).
    pub duration_median_s: f64,
    /// Geometric mean duration, seconds (the study's reading of duration effects).
    pub duration_geomean_s: f64,
    /// Mean star rating over the chats that were rated.
    pub rating_mean: f64,
    /// Share of chats rated.
    pub rating_rate: f64,
    /// Mean latent satisfaction over all chats.
    pub satisfaction_mean: f64,
    /// Share of chats with a retrial within 7 days.
    pub retrial_rate: f64,
    /// Share of chats abandoned while waiting.
    pub abandonment_rate: f64,
    /// Share of chats resolved.
    pub resolution_rate: f64,
    /// Mean messages written by workers.
    pub worker_messages_mean: f64,
    /// Other chats the worker juggled per reply, averaged over the chats a worker answered.
    pub concurrency_mean: f64,
    /// Times the worker switched away and came back, per chat a worker answered.
    pub switch_aways_mean: f64,
    /// Mean reward per chat.
    pub reward_mean: f64,
    /// How AI-involved chats left the AI (absent when the AI handled none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalation_mix: Option<EscalationMix>,
}

/// Longest duration the median histogram resolves (30 days); longer ones count as this.
const MAX_DURATION_MS: u64 = 30 * 24 * 3600 * 1000;

/// Accumulates a segment's chats.
#[derive(Debug, Clone)]
pub struct SegmentStats {
    chats: u64,
    duration_sum: f64,
    log_duration_sum: f64,
    durations_ms: Histogram<u64>,
    rated: u64,
    rating_sum: f64,
    satisfaction_sum: f64,
    retrials: u64,
    abandoned: u64,
    resolved: u64,
    worker_messages: u64,
    human_served: u64,
    concurrency_sum: f64,
    switch_aways: u64,
    reward_sum: f64,
    wait_sum: f64,
    returning: u64,
    ai_involved: u64,
    /// AI-involved chats by how they left the AI: technical, emotional, human, none.
    escalations: [u64; 4],
}

impl Default for SegmentStats {
    fn default() -> Self {
        Self {
            chats: 0,
            duration_sum: 0.0,
            log_duration_sum: 0.0,
            durations_ms: Histogram::new_with_bounds(1, MAX_DURATION_MS, 3)
                .expect("bounds and precision are valid"),
            rated: 0,
            rating_sum: 0.0,
            satisfaction_sum: 0.0,
            retrials: 0,
            abandoned: 0,
            resolved: 0,
            worker_messages: 0,
            human_served: 0,
            concurrency_sum: 0.0,
            switch_aways: 0,
            reward_sum: 0.0,
            wait_sum: 0.0,
            returning: 0,
            ai_involved: 0,
            escalations: [0; 4],
        }
    }
}

/// `a / b`: NaN when `b` is 0 (a sum over no chats is 0).
fn ratio(a: f64, b: u64) -> f64 {
    a / b as f64
}

impl SegmentStats {
    /// Adds one completed chat.
    pub fn add(&mut self, r: &ChatRecord) {
        self.add_logged(r, r.log_duration());
    }

    /// Adds one completed chat whose [`ChatRecord::log_duration`] was taken already (a chat
    /// counted in two segments takes its logarithm once).
    fn add_logged(&mut self, r: &ChatRecord, log_duration: f64) {
        self.chats += 1;
        self.duration_sum += r.duration_s;
        self.log_duration_sum += log_duration;
        self.durations_ms.saturating_record((r.duration_s * 1000.0).max(1.0) as u64);
        if let Some(stars) = r.rating {
            self.rated += 1;
            self.rating_sum += f64::from(stars);
        }
        self.satisfaction_sum += r.satisfaction;
        self.retrials += u64::from(r.retrial);
        self.abandoned += u64::from(r.ending == Ending::Abandoned);
        self.resolved += u64::from(r.resolved());
        self.worker_messages += u64::from(r.worker_messages);
        if r.human_replies > 0 {
            self.human_served += 1;
            self.concurrency_sum += r.concurrency;
            self.switch_aways += u64::from(r.switch_aways);
        }
        self.reward_sum += r.reward;
        self.wait_sum += r.wait_s;
        self.returning += u64::from(r.retrial_of.is_some());
        if r.ai_involved {
            self.ai_involved += 1;
            let way = match r.escalation {
                Some(Escalation::Technical) => 0,
                Some(Escalation::Emotional) => 1,
                Some(Escalation::Human) => 2,
                None => 3,
            };
            self.escalations[way] += 1;
        }
    }

    /// Completed chats so far.
    pub fn chats(&self) -> u64 {
        self.chats
    }

    /// Sum of the chats' rewards.
    pub fn reward_sum(&self) -> f64 {
        self.reward_sum
    }

    /// Mean time a customer spent waiting for replies, seconds.
    pub fn wait_mean_s(&self) -> f64 {
        ratio(self.wait_sum, self.chats)
    }

    /// Share of chats that were customers coming back.
    pub fn returning_rate(&self) -> f64 {
        ratio(self.returning as f64, self.chats)
    }

    /// Share of chats the AI handled at some point.
    pub fn ai_share(&self) -> f64 {
        ratio(self.ai_involved as f64, self.chats)
    }

    /// Shares of the AI-involved chats by how they left the AI (NaN when there were none).
    pub fn escalation_shares(&self) -> EscalationMix {
        let [technical, emotional, human, none] =
            self.escalations.map(|c| ratio(c as f64, self.ai_involved));
        EscalationMix { technical, emotional, human, none }
    }

    /// The summary of the chats added so far.
    pub fn summary(&self) -> SegmentSummary {
        let n = self.chats;
        let escalation_mix = (self.ai_involved > 0).then(|| self.escalation_shares());
        SegmentSummary {
            chats: n,
            duration_mean_s: ratio(self.duration_sum, n),
            duration_median_s: if n == 0 {
                f64::NAN
            } else {
                self.durations_ms.value_at_quantile(0.5) as f64 / 1000.0
            },
            duration_geomean_s: libm::exp(ratio(self.log_duration_sum, n)),
            rating_mean: ratio(self.rating_sum, self.rated),
            rating_rate: ratio(self.rated as f64, n),
            satisfaction_mean: ratio(self.satisfaction_sum, n),
            retrial_rate: ratio(self.retrials as f64, n),
            abandonment_rate: ratio(self.abandoned as f64, n),
            resolution_rate: ratio(self.resolved as f64, n),
            worker_messages_mean: ratio(self.worker_messages as f64, n),
            concurrency_mean: ratio(self.concurrency_sum, self.human_served),
            switch_aways_mean: ratio(self.switch_aways as f64, self.human_served),
            reward_mean: ratio(self.reward_sum, n),
            escalation_mix,
        }
    }
}

/// The three segments of the study: all chats, AI-eligible and AI-ineligible.
#[derive(Debug, Clone, Default)]
pub struct ArmStats {
    /// Every chat.
    pub all: SegmentStats,
    /// AI-eligible chats.
    pub eligible: SegmentStats,
    /// AI-ineligible chats.
    pub ineligible: SegmentStats,
}

/// Summaries of the three segments, as in `handoff simulate --json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmSummary {
    /// Every chat.
    pub all: SegmentSummary,
    /// AI-eligible chats.
    pub eligible: SegmentSummary,
    /// AI-ineligible chats.
    pub ineligible: SegmentSummary,
}

impl ArmStats {
    /// Adds one completed chat to its segments.
    pub fn add(&mut self, r: &ChatRecord) {
        let log_duration = r.log_duration();
        self.all.add_logged(r, log_duration);
        let segment = if r.ai_eligible { &mut self.eligible } else { &mut self.ineligible };
        segment.add_logged(r, log_duration);
    }

    /// The summaries of the three segments.
    pub fn summary(&self) -> ArmSummary {
        ArmSummary {
            all: self.all.summary(),
            eligible: self.eligible.summary(),
            ineligible: self.ineligible.summary(),
        }
    }
}
