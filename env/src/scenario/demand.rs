//! The demand: arrivals over the day, the customers' issues, and the customers themselves.

use serde::{Deserialize, Serialize};

use super::validate::Validator;
use super::{DAY_S, HOUR_S};
use crate::error::ScenarioError;

/// Poisson arrivals with an hourly rate profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Arrivals {
    /// Expected chats per day before surges (the study: 680,676 chats in 17 days, about 40,000).
    pub chats_per_day: f64,
    /// Relative arrival weight of each hour of the day (24 values, normalised internally).
    pub hourly_profile: Vec<f64>,
    /// Share of chats that are AI-eligible (the study: about 5.8 %).
    pub eligible_share: f64,
    /// Periods with a multiplied arrival rate (sale-day peaks).
    pub surges: Vec<Window>,
    /// A chat log (the schema of `handoff fit-logs`, docs/logs.md) whose arrivals replace the
    /// Poisson process: the path, relative to the scenario file. `chats_per_day`,
    /// `hourly_profile` and `surges` do not apply then; each chat's AI-eligibility is the log's
    /// where it marks it, else drawn with `eligible_share`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    /// The arm to replay from a trace that holds several (`simulate --csv` writes two).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_arm: Option<String>,
    /// How many times each arrival of the trace counts, on average: below 1 a chat is kept
    /// with this chance, above 1 it comes that many times (its whole part, and once more with
    /// the chance of its fraction). `--scale` multiplies it.
    #[serde(skip_serializing_if = "is_one")]
    pub trace_share: f64,
    /// The trace's arrivals, read when the scenario is loaded.
    #[serde(skip)]
    pub replay: Option<super::Trace>,
}

fn is_one(x: &f64) -> bool {
    *x == 1.0
}

/// Relative arrivals per hour: quiet at night, peaks late morning and evening (assumption).
const DEFAULT_PROFILE: [f64; 24] = [
    0.5, 0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1.0, 1.5, 1.8, 1.8, 1.6, 1.6, 1.7, 1.7, 1.6, 1.5, 1.5,
    1.7, 2.0, 2.1, 1.8, 1.0,
];

impl Default for Arrivals {
    fn default() -> Self {
        Self {
            chats_per_day: 2000.0,
            hourly_profile: DEFAULT_PROFILE.to_vec(),
            eligible_share: 0.058,
            surges: Vec::new(),
            trace: None,
            trace_arm: None,
            trace_share: 1.0,
            replay: None,
        }
    }
}

impl Arrivals {
    /// Checks every value of this section against its allowed range.
    pub(super) fn validate(&self, v: &mut Validator<'_>) -> Result<(), ScenarioError> {
        v.range("arrivals.chats_per_day", self.chats_per_day, 0.0, 1e8)?;
        v.hourly("arrivals.hourly_profile", &self.hourly_profile, 1e6)?;
        if self.hourly_profile.iter().sum::<f64>() <= 0.0 {
            return v.fail("arrivals.hourly_profile", "must have a positive sum");
        }
        v.range("arrivals.eligible_share", self.eligible_share, 0.0, 1.0)?;
        v.windows("arrivals.surges", &self.surges, true)?;
        v.range("arrivals.trace_share", self.trace_share, 1e-6, super::MAX_SCALE)?;
        if let (Some(path), None) = (&self.trace, &self.replay) {
            return v.fail(
                "arrivals.trace",
                &format!("{path} was not read (a scenario with a trace is loaded from its file)"),
            );
        }
        Ok(())
    }
}

/// A stretch of simulated time: `day` (0-based; omit for every day) from `start_hour` to
/// `end_hour` (hours of that day, end exclusive), with a `multiplier` where the window scales a
/// rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// The day the window applies to; every day when omitted.
    #[serde(default)]
    pub day: Option<u32>,
    /// First hour of the window, 0 to 24.
    pub start_hour: f64,
    /// End of the window (exclusive), after `start_hour`, at most 24.
    pub end_hour: f64,
    /// Rate multiplier inside the window (surges only).
    #[serde(default = "one")]
    pub multiplier: f64,
}

fn one() -> f64 {
    1.0
}

impl Window {
    /// Whether simulated time `t` (seconds from the start) lies inside the window.
    pub fn contains(&self, t: f64) -> bool {
        let day = (t / DAY_S).floor();
        if let Some(d) = self.day
            && f64::from(d) != day
        {
            return false;
        }
        let hour = (t - day * DAY_S) / HOUR_S;
        hour >= self.start_hour && hour < self.end_hour
    }
}

/// What an issue needs to be resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Issues {
    /// Mean productive rounds an AI-eligible issue needs (order tracking, simple refunds).
    pub rounds_eligible_mean: f64,
    /// Mean productive rounds an AI-ineligible issue needs (complex disputes).
    pub rounds_ineligible_mean: f64,
    /// Share of eligible issues the AI can actually resolve; the rest stall it (technical
    /// escalations).
    pub ai_solvable_share: f64,
}

impl Default for Issues {
    fn default() -> Self {
        Self { rounds_eligible_mean: 3.0, rounds_ineligible_mean: 5.0, ai_solvable_share: 0.55 }
    }
}

impl Issues {
    /// Checks every value of this section against its allowed range.
    pub(super) fn validate(&self, v: &mut Validator<'_>) -> Result<(), ScenarioError> {
        v.range("issues.rounds_eligible_mean", self.rounds_eligible_mean, 1.0, 100.0)?;
        v.range("issues.rounds_ineligible_mean", self.rounds_ineligible_mean, 1.0, 100.0)?;
        v.range("issues.ai_solvable_share", self.ai_solvable_share, 0.0, 1.0)?;
        Ok(())
    }
}

/// Customer behaviour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Customers {
    /// Mean initial frustration (0 = calm; the AI's emotional threshold is on the same scale).
    pub frustration_mean: f64,
    /// Median time a customer waits for a reply before abandoning, seconds.
    pub patience_median_s: f64,
    /// Log-scale spread of patience across customers.
    pub patience_sigma: f64,
    /// Median time a customer takes to write a message, seconds.
    pub write_median_s: f64,
    /// Log-scale spread of writing times.
    pub write_sigma: f64,
    /// Frustration added per minute spent waiting for a reply.
    pub frustration_per_wait_min: f64,
    /// Frustration added by an unproductive reply.
    pub frustration_unproductive: f64,
    /// Fraction of the frustration a productive reply removes (progress calms the customer, so
    /// a long stretch of good service restores a chat that started badly).
    pub frustration_relief: f64,
    /// Frustration added by each reply written by the AI (customers' aversion to bots).
    pub frustration_ai_reply: f64,
    /// Consecutive unproductive replies after which the customer gives up.
    pub give_up_after_unproductive: u32,
    /// Mean propensity to rate a chat (the study: about 16.9 % of chats were rated).
    pub rating_propensity: f64,
    /// How much more likely customers are to rate after an extreme experience (logit per star of
    /// distance from 3).
    pub rating_extremity: f64,
}

impl Default for Customers {
    fn default() -> Self {
        Self {
            frustration_mean: 0.25,
            patience_median_s: 420.0,
            patience_sigma: 0.6,
            write_median_s: 30.0,
            write_sigma: 0.6,
            frustration_per_wait_min: 0.04,
            frustration_unproductive: 0.12,
            frustration_relief: 0.3,
            frustration_ai_reply: 0.05,
            give_up_after_unproductive: 6,
            rating_propensity: 0.15,
            rating_extremity: 0.4,
        }
    }
}

impl Customers {
    /// Checks every value of this section against its allowed range.
    pub(super) fn validate(&self, v: &mut Validator<'_>) -> Result<(), ScenarioError> {
        v.range("customers.frustration_mean", self.frustration_mean, 0.0, 10.0)?;
        v.range("customers.patience_median_s", self.patience_median_s, 1.0, 86400.0)?;
        v.range("customers.patience_sigma", self.patience_sigma, 0.0, 3.0)?;
        v.range("customers.write_median_s", self.write_median_s, 0.1, 3600.0)?;
        v.range("customers.write_sigma", self.write_sigma, 0.0, 3.0)?;
        v.range("customers.frustration_per_wait_min", self.frustration_per_wait_min, 0.0, 10.0)?;
        v.range("customers.frustration_unproductive", self.frustration_unproductive, 0.0, 10.0)?;
        v.range("customers.frustration_relief", self.frustration_relief, 0.0, 1.0)?;
        v.range("customers.frustration_ai_reply", self.frustration_ai_reply, 0.0, 10.0)?;
        v.range(
            "customers.give_up_after_unproductive",
            f64::from(self.give_up_after_unproductive),
            1.0,
            1000.0,
        )?;
        v.range("customers.rating_propensity", self.rating_propensity, 0.0, 1.0)?;
        v.range("customers.rating_extremity", self.rating_extremity, 0.0, 10.0)?;
        Ok(())
    }
}
