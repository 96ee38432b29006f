//! What a chat leaves behind: satisfaction and rating, retrial, and the environment's reward.

use serde::{Deserialize, Serialize};

use super::DAY_S;
use super::validate::Validator;
use crate::error::ScenarioError;

/// Latent satisfaction and the observed rating.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Satisfaction {
    /// Satisfaction of a resolved chat with no frustration, waiting or bot replies.
    pub base: f64,
    /// Penalty of leaving the issue unresolved.
    pub unresolved: f64,
    /// Penalty per unit of final frustration.
    pub frustration: f64,
    /// Penalty per unit of ln(1 + total minutes spent waiting).
    pub waiting: f64,
    /// Penalty per share of the progress made by the AI rather than a human (customers'
    /// aversion to being served by a bot; a technical escalation, where the AI made no progress,
    /// carries none).
    pub ai_share: f64,
    /// Penalty per other chat the worker was juggling, on average, when answering this one
    /// (divided attention; Goes, Ilk, Lin, Zhao, ISR 2018).
    pub multitasking: f64,
    /// Spread of individual satisfaction around the model.
    pub noise_sd: f64,
    /// Spread of the star rating around the latent satisfaction.
    pub rating_noise_sd: f64,
}

impl Default for Satisfaction {
    fn default() -> Self {
        Self {
            base: 4.3,
            unresolved: 1.2,
            frustration: 1.0,
            waiting: 0.25,
            ai_share: 0.8,
            multitasking: 0.1,
            noise_sd: 0.6,
            rating_noise_sd: 0.5,
        }
    }
}

impl Satisfaction {
    /// Checks every value of this section against its allowed range.
    pub(super) fn validate(&self, v: &mut Validator<'_>) -> Result<(), ScenarioError> {
        v.range("satisfaction.base", self.base, 1.0, 5.0)?;
        v.range("satisfaction.unresolved", self.unresolved, 0.0, 4.0)?;
        v.range("satisfaction.frustration", self.frustration, 0.0, 10.0)?;
        v.range("satisfaction.waiting", self.waiting, 0.0, 10.0)?;
        v.range("satisfaction.ai_share", self.ai_share, 0.0, 4.0)?;
        v.range("satisfaction.multitasking", self.multitasking, 0.0, 4.0)?;
        v.range("satisfaction.noise_sd", self.noise_sd, 0.0, 4.0)?;
        v.range("satisfaction.rating_noise_sd", self.rating_noise_sd, 0.0, 4.0)?;
        Ok(())
    }
}

/// Retrial within 7 days (the study's base rate: about 43 %).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Retrial {
    /// Retrial probability of a resolved chat with no frustration.
    pub base: f64,
    /// Logit added when the issue was left unresolved.
    pub unresolved: f64,
    /// Logit added per unit of final frustration.
    pub frustration: f64,
    /// Whether a retrial comes back as a new chat of the same customer and issue. Off, a
    /// retrial is only recorded; on, the arrival rate counts first contacts only, so set
    /// `arrivals.chats_per_day` to the first contacts of the centre modelled.
    pub returns: bool,
    /// Mean of the delay before a retrial comes back, hours (an exponential truncated to the
    /// 7-day window).
    pub delay_mean_h: f64,
    /// Share of the first contact's final frustration the customer brings back.
    pub carry: f64,
}

impl Default for Retrial {
    fn default() -> Self {
        Self {
            base: 0.36,
            unresolved: 1.0,
            frustration: 0.4,
            returns: false,
            delay_mean_h: 24.0,
            carry: 0.5,
        }
    }
}

/// The window within which a customer's return counts as a retrial, seconds (the study's 7 days).
pub const RETRIAL_WINDOW_S: f64 = 7.0 * DAY_S;

impl Retrial {
    /// Checks every value of this section against its allowed range.
    pub(super) fn validate(&self, v: &mut Validator<'_>) -> Result<(), ScenarioError> {
        v.range("retrial.base", self.base, 0.0, 1.0)?;
        v.range("retrial.unresolved", self.unresolved, -10.0, 10.0)?;
        v.range("retrial.frustration", self.frustration, -10.0, 10.0)?;
        v.range("retrial.delay_mean_h", self.delay_mean_h, 0.01, 24.0 * 365.0)?;
        v.range("retrial.carry", self.carry, 0.0, 1.0)?;
        Ok(())
    }
}

/// Reward weights: each chat contributes once, when it completes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RewardWeights {
    /// Weight of (latent satisfaction - 3) / 2, in -1..1.
    pub satisfaction: f64,
    /// Cost per minute of chat duration.
    pub duration_per_min: f64,
    /// Cost of the chat's retrial probability.
    pub retrial: f64,
    /// Cost of an abandoned chat.
    pub abandonment: f64,
}

impl Default for RewardWeights {
    fn default() -> Self {
        Self { satisfaction: 1.0, duration_per_min: 0.02, retrial: 0.5, abandonment: 1.0 }
    }
}

impl RewardWeights {
    /// Checks every value of this section against its allowed range.
    pub(super) fn validate(&self, v: &mut Validator<'_>) -> Result<(), ScenarioError> {
        v.range("reward.satisfaction", self.satisfaction, -1e3, 1e3)?;
        v.range("reward.duration_per_min", self.duration_per_min, -1e3, 1e3)?;
        v.range("reward.retrial", self.retrial, -1e3, 1e3)?;
        v.range("reward.abandonment", self.abandonment, -1e3, 1e3)?;
        Ok(())
    }
}
