//! What a completed chat produced: duration, satisfaction, rating, retrial and reward.

use serde::Serialize;

use crate::chat::{Chat, ChatConstants, Escalation, Handler};
use crate::ending::Ending;
use crate::log::LogRow;
use crate::rng::sigmoid;
use crate::scenario::Scenario;

/// When a chat changed hands: what a replay of the day draws (the per-chat CSV leaves it out).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Timeline {
    /// When the AI took the chat, if it did.
    pub ai_from_s: Option<f64>,
    /// When it left the AI (an escalation or a takeover), if it did.
    pub escalated_s: Option<f64>,
    /// When a worker took it to hold, if one did.
    pub held_from_s: Option<f64>,
    /// The worker who held it, if one did.
    pub holder: Option<u32>,
}

impl Timeline {
    /// When the chat joined the queue of chats waiting for a worker, if it waited there: at
    /// its arrival or its escalation, unless a worker took it at that moment.
    pub fn queued_from_s(&self, arrival_s: f64) -> Option<f64> {
        let from = match (self.ai_from_s, self.escalated_s) {
            (Some(_), None) => return None,
            (Some(_), Some(e)) => e,
            (None, _) => arrival_s,
        };
        match self.held_from_s {
            Some(h) if h <= from => None,
            _ => Some(from),
        }
    }
}

/// One completed chat, as written to the per-chat CSV.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ChatRecord {
    /// Global id, shared by twins.
    pub chat_id: u64,
    /// Arrival time, seconds from the start.
    pub arrival_s: f64,
    /// Whether the issue was AI-eligible.
    pub ai_eligible: bool,
    /// Whether the AI handled the chat at some point.
    pub ai_involved: bool,
    /// Why it left the AI, if it did.
    pub escalation: Option<Escalation>,
    /// How it ended.
    pub ending: Ending,
    /// From arrival to end, seconds.
    pub duration_s: f64,
    /// Time the customer spent waiting, seconds (every wait of the chat).
    pub wait_s: f64,
    /// The first wait: from arrival until a worker or the AI took up the first reply, or until
    /// the customer left before one, seconds. A log's first response time.
    pub first_wait_s: f64,
    /// Time from escalation to the first human reply, seconds.
    pub intervention_delay_s: Option<f64>,
    /// Messages written by workers.
    pub worker_messages: u32,
    /// Replies written by the AI.
    pub ai_replies: u32,
    /// Replies written by workers.
    pub human_replies: u32,
    /// Worker effort on the chat.
    pub effort: f64,
    /// Other chats the worker juggled per human reply, on average (supervised AI chats weighted
    /// by `workers.supervision_load`): the divided attention the customer felt.
    pub concurrency: f64,
    /// Times the worker turned to other chats between two of its replies to this one.
    pub switch_aways: u32,
    /// Final frustration.
    pub frustration: f64,
    /// Latent satisfaction, 1 to 5.
    pub satisfaction: f64,
    /// Observed star rating, if the customer rated.
    pub rating: Option<u8>,
    /// Probability of a retrial within 7 days.
    pub retrial_prob: f64,
    /// Whether the customer came back within 7 days.
    pub retrial: bool,
    /// The chat's contribution to the environment's reward.
    pub reward: f64,
    /// The chat this one is a retrial of (`retrial.returns`), if it is one.
    pub retrial_of: Option<u64>,
    /// The worker who wrote the chat's last human reply (none for chats no human answered).
    pub worker: Option<u32>,
    /// When it changed hands.
    pub timeline: Timeline,
}

impl ChatRecord {
    /// Whether the issue was resolved.
    pub fn resolved(&self) -> bool {
        self.ending == Ending::Resolved
    }

    /// The natural logarithm of the duration in seconds, floored at a millisecond: what the
    /// statistics and the calibration average on the log scale.
    pub fn log_duration(&self) -> f64 {
        libm::log(self.duration_s.max(1e-3))
    }

    /// The CSV label of the AI's part: `none` for AI alone, the escalation reason, or empty when
    /// the AI was not involved.
    pub fn escalation_label(&self) -> &'static str {
        match (self.ai_involved, self.escalation) {
            (false, _) => "",
            (true, None) => "none",
            (true, Some(e)) => e.label(),
        }
    }

    /// Computes the outcome of `chat`, ending at `now` in the given way.
    pub fn complete(
        chat: &Chat,
        now: f64,
        ending: Ending,
        scenario: &Scenario,
        constants: &ChatConstants,
    ) -> Self {
        let s = &scenario.satisfaction;
        let c = &chat.customer;
        let resolved = ending == Ending::Resolved;
        // customers judge the bot by the progress it made: the AI's share of the productive rounds
        let ai_share = if chat.rounds_done == 0 {
            0.0
        } else {
            f64::from(chat.ai_productive_rounds) / f64::from(chat.rounds_done)
        };
        let wait_min = chat.total_wait_s / 60.0;
        // the divided attention the customer felt: other chats the worker juggled per reply
        let concurrency = if chat.human_replies == 0 {
            0.0
        } else {
            chat.concurrency_sum / f64::from(chat.human_replies)
        };
        // what the handling earned, before the customer's idiosyncratic noise
        let earned = s.base
            - if resolved { 0.0 } else { s.unresolved }
            - s.frustration * chat.frustration
            - s.waiting * libm::log1p(wait_min)
            - s.ai_share * ai_share
            - s.multitasking * concurrency;
        let satisfaction = (earned + s.noise_sd * c.satisfaction_noise).clamp(1.0, 5.0);
        let rate_p = sigmoid(
            c.rating_logit + scenario.customers.rating_extremity * (satisfaction - 3.0).abs(),
        );
        // the rating invitation closes a served conversation: a customer who left while
        // waiting never sees it
        let abandoned = ending == Ending::Abandoned;
        let rating = (!abandoned && c.rate_u < rate_p).then(|| {
            libm::round(satisfaction + s.rating_noise_sd * c.rating_noise).clamp(1.0, 5.0) as u8
        });
        let r = &scenario.retrial;
        let retrial_prob = sigmoid(
            constants.retrial_logit
                + if resolved { 0.0 } else { r.unresolved }
                + r.frustration * chat.frustration,
        );
        let duration_s = now - chat.arrival_s;
        let w = &scenario.reward;
        // the reward scores the satisfaction the handling earned, leaving out the customer's
        // noise (no policy can act on it; it only hides the signal), as it scores the retrial
        // probability rather than the realised retrial
        let reward = w.satisfaction * (earned.clamp(1.0, 5.0) - 3.0) / 2.0
            - w.duration_per_min * duration_s / 60.0
            - w.retrial * retrial_prob
            - if abandoned { w.abandonment } else { 0.0 };
        Self {
            chat_id: chat.id,
            arrival_s: chat.arrival_s,
            ai_eligible: chat.eligible,
            ai_involved: chat.ai_involved,
            escalation: chat.escalation,
            ending,
            duration_s,
            wait_s: chat.total_wait_s,
            first_wait_s: chat.first_wait_s.unwrap_or(duration_s),
            intervention_delay_s: chat.intervention_delay_s,
            worker_messages: chat.worker_messages,
            ai_replies: chat.ai_replies,
            human_replies: chat.human_replies,
            effort: chat.effort,
            concurrency,
            switch_aways: chat.switch_aways,
            frustration: chat.frustration,
            satisfaction,
            rating,
            retrial_prob,
            retrial: c.retrial_u < retrial_prob,
            reward,
            retrial_of: chat.retrial_of,
            worker: chat.answered_by,
            timeline: Timeline {
                ai_from_s: chat.ai_from_s,
                escalated_s: chat.escalation.map(|_| chat.escalated_at),
                held_from_s: chat.held_from_s,
                holder: match chat.handler {
                    Handler::Worker(w) => Some(w),
                    _ => None,
                },
            },
        }
    }

    /// This simulated chat as a log row, so that a log and the simulator are summarised by the
    /// same code.
    pub fn log_row(&self) -> LogRow {
        LogRow {
            arrival_s: self.arrival_s,
            first_wait_s: self.first_wait_s,
            duration_s: self.duration_s,
            ending: self.ending,
            ai_eligible: Some(self.ai_eligible),
            ai_involved: Some(self.ai_involved),
            rating: self.rating,
            retrial: Some(self.retrial),
            worker: self.worker,
            worker_messages: Some(self.worker_messages),
        }
    }
}
