//! The service: the workers and their roster, the AI resolver, and the effort on taken-over
//! chats.

use serde::{Deserialize, Serialize};

use super::Window;
use super::validate::Validator;
use crate::error::ScenarioError;

/// Human workers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Workers {
    /// Number of workers (the study: 647).
    pub count: u32,
    /// Most chats a worker holds at once (assumption: 3 to 5).
    pub cap: u32,
    /// Fraction of workers on duty in each hour of the day (24 values in 0..1).
    pub staffing: Vec<f64>,
    /// How workers come on duty: `"roster"` (shifts with breaks, rest and days off; the
    /// default) or `"none"` (the staffing on duty every hour). Left out of the serialised
    /// scenario at its default, so the fingerprints of scenarios written before the field existed
    /// stay as they were.
    #[serde(skip_serializing_if = "Shifts::is_roster")]
    pub shifts: Shifts,
    /// Median time to write one reply with full attention, seconds.
    pub reply_median_s: f64,
    /// Log-scale spread of reply times.
    pub reply_sigma: f64,
    /// Log-scale spread of speed across workers.
    pub speed_sigma: f64,
    /// Relative slowdown of a reply per additional chat held (Goes et al., ISR 2018).
    pub multitask_cost: f64,
    /// Load of supervising one AI chat, as a fraction of a held chat.
    pub supervision_load: f64,
    /// Time lost when switching to a different chat than the last one answered, seconds.
    pub switch_cost_s: f64,
    /// Relative loss of a reply's chance to move the issue forward when the worker has just
    /// switched to the chat from another one (divided attention lowers a reply's quality, the
    /// satisfaction half of Goes et al., ISR 2018).
    pub switch_slip: f64,
    /// Chance that an engaged reply moves the issue forward.
    pub productive_prob: f64,
    /// Mean messages in an engaged reply.
    pub messages_per_reply: f64,
    /// Elasticity of reply speed in effort (reply time scales as effort^-elasticity).
    pub effort_speed_elasticity: f64,
    /// Chance that a perfunctory reply closes the chat unresolved. A worker at effort `e`
    /// engages in a reply with probability `e`; a reply they do not engage in is perfunctory:
    /// one message that does not move the issue forward.
    pub perfunctory_close_rate: f64,
}

/// How workers come on duty ([`Workers::shifts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shifts {
    /// Shifts of at most nine hours with a one-hour break, eleven hours of rest and a weekly
    /// day off, started and ended to follow the staffing profile (see the `roster` module). A
    /// profile these rules cannot cover is delivered short and reported
    /// ([`Scenario::staffing_coverage`]).
    #[default]
    Roster,
    /// No shift rules: the staffing fraction of the workers is on duty every hour (workers
    /// `0..k` of the hour's `k`). The textbook pool of queueing theory, or a team that is always
    /// on.
    None,
}

impl Shifts {
    /// Whether this is the default, [`Shifts::Roster`].
    pub fn is_roster(&self) -> bool {
        *self == Shifts::Roster
    }
}

/// Fraction of workers on duty per hour, following demand (assumption).
const DEFAULT_STAFFING: [f64; 24] = [
    0.25, 0.15, 0.1, 0.05, 0.05, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.9, 0.8, 0.8, 0.85, 0.85, 0.8,
    0.75, 0.75, 0.85, 1.0, 1.0, 0.9, 0.5,
];

impl Default for Workers {
    fn default() -> Self {
        Self {
            count: 30,
            cap: 4,
            staffing: DEFAULT_STAFFING.to_vec(),
            shifts: Shifts::Roster,
            reply_median_s: 35.0,
            reply_sigma: 0.5,
            speed_sigma: 0.2,
            multitask_cost: 0.15,
            supervision_load: 0.1,
            switch_cost_s: 6.0,
            switch_slip: 0.0,
            productive_prob: 0.75,
            messages_per_reply: 1.6,
            effort_speed_elasticity: 1.0,
            perfunctory_close_rate: 0.3,
        }
    }
}

impl Workers {
    /// Workers the staffing profile asks to have on duty in `hour` (hours since the start of
    /// the run).
    pub fn asked_on_duty(&self, hour: u32) -> usize {
        (self.staffing[hour as usize % 24] * f64::from(self.count)).round() as usize
    }

    /// Checks every value of this section against its allowed range.
    pub(super) fn validate(&self, v: &mut Validator<'_>) -> Result<(), ScenarioError> {
        v.range("workers.count", f64::from(self.count), 1.0, 100_000.0)?;
        v.range("workers.cap", f64::from(self.cap), 1.0, 32.0)?;
        v.hourly("workers.staffing", &self.staffing, 1.0)?;
        v.range("workers.reply_median_s", self.reply_median_s, 0.1, 3600.0)?;
        v.range("workers.reply_sigma", self.reply_sigma, 0.0, 3.0)?;
        v.range("workers.speed_sigma", self.speed_sigma, 0.0, 3.0)?;
        v.range("workers.multitask_cost", self.multitask_cost, 0.0, 10.0)?;
        v.range("workers.supervision_load", self.supervision_load, 0.0, 10.0)?;
        v.range("workers.switch_cost_s", self.switch_cost_s, 0.0, 3600.0)?;
        v.range("workers.switch_slip", self.switch_slip, 0.0, 1.0)?;
        v.range("workers.productive_prob", self.productive_prob, 0.01, 1.0)?;
        v.range("workers.messages_per_reply", self.messages_per_reply, 1.0, 100.0)?;
        v.range("workers.effort_speed_elasticity", self.effort_speed_elasticity, 0.0, 10.0)?;
        v.range("workers.perfunctory_close_rate", self.perfunctory_close_rate, 0.0, 1.0)?;
        Ok(())
    }
}

/// The agentic AI resolver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ai {
    /// Median AI reply time, seconds.
    pub reply_median_s: f64,
    /// Log-scale spread of AI reply times.
    pub reply_sigma: f64,
    /// Chance that an AI reply on an issue it can solve moves it forward.
    pub productive_prob: f64,
    /// Consecutive unproductive AI replies that trigger a technical escalation.
    pub technical_after_unproductive: u32,
    /// Customer frustration at which the algorithm escalates for an emotional reason.
    pub emotional_threshold: f64,
    /// Periods in which the AI is unavailable (no new chats go to it).
    pub outages: Vec<Window>,
}

impl Default for Ai {
    fn default() -> Self {
        Self {
            reply_median_s: 4.0,
            reply_sigma: 0.4,
            productive_prob: 0.8,
            technical_after_unproductive: 2,
            emotional_threshold: 1.0,
            outages: Vec::new(),
        }
    }
}

impl Ai {
    /// Checks every value of this section against its allowed range.
    pub(super) fn validate(&self, v: &mut Validator<'_>) -> Result<(), ScenarioError> {
        v.range("ai.reply_median_s", self.reply_median_s, 0.01, 3600.0)?;
        v.range("ai.reply_sigma", self.reply_sigma, 0.0, 3.0)?;
        v.range("ai.productive_prob", self.productive_prob, 0.0, 1.0)?;
        v.range(
            "ai.technical_after_unproductive",
            f64::from(self.technical_after_unproductive),
            1.0,
            1000.0,
        )?;
        v.range("ai.emotional_threshold", self.emotional_threshold, 0.0, 100.0)?;
        v.windows("ai.outages", &self.outages, false)?;
        Ok(())
    }
}

/// Worker effort on chats taken over from the AI (mechanisms 2 and 3 of the study).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Effort {
    /// Effort after a technical escalation (quality restored: near 1).
    pub technical: f64,
    /// Effort after an emotional escalation (lower: the study's effort gap).
    pub emotional: f64,
    /// Effort when the worker steps in on their own.
    pub human_initiated: f64,
    /// Intervention delay within which effort is undiminished, seconds.
    pub grace_s: f64,
    /// Scale of the decay of effort with delay beyond the grace period, seconds.
    pub decay_s: f64,
    /// Fraction of effort left after a very long delay.
    pub floor: f64,
}

impl Default for Effort {
    fn default() -> Self {
        Self {
            technical: 1.0,
            emotional: 0.6,
            human_initiated: 0.8,
            grace_s: 120.0,
            decay_s: 600.0,
            floor: 0.5,
        }
    }
}

impl Effort {
    /// Checks every value of this section against its allowed range.
    pub(super) fn validate(&self, v: &mut Validator<'_>) -> Result<(), ScenarioError> {
        v.range("effort.technical", self.technical, 0.01, 1.0)?;
        v.range("effort.emotional", self.emotional, 0.01, 1.0)?;
        v.range("effort.human_initiated", self.human_initiated, 0.01, 1.0)?;
        v.range("effort.grace_s", self.grace_s, 0.0, 86400.0)?;
        v.range("effort.decay_s", self.decay_s, 1.0, 86400.0)?;
        v.range("effort.floor", self.floor, 0.01, 1.0)?;
        Ok(())
    }
}
