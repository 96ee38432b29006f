//! The scenario: every parameter of the simulator, read from TOML and validated.
//!
//! A scenario file only needs the values it changes: every section and field has a documented
//! default (the plausible, pre-calibration values of `scenarios/taobao.toml`). Unknown fields are
//! rejected, and every value is checked against its allowed range with a message that names the
//! file, the field and the range.
//!
//! Numbers that the study (arXiv:2605.14830) reports are cited where they are used; everything
//! else is an assumption the paper does not give, exposed here so that calibration can fit it.

use serde::{Deserialize, Serialize};

use crate::error::ScenarioError;

/// Seconds in an hour.
pub const HOUR_S: f64 = 3600.0;
/// Seconds in a day.
pub const DAY_S: f64 = 24.0 * HOUR_S;

/// A complete simulator configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    /// Short name, shown in reports.
    pub name: String,
    /// One line on what situation this scenario models.
    pub description: String,
    /// Simulated days (the study ran 17).
    pub days: u32,
    /// Chat arrivals over the day.
    pub arrivals: Arrivals,
    /// What the customers' issues need.
    pub issues: Issues,
    /// Customer behaviour: writing, patience, frustration.
    pub customers: Customers,
    /// Human workers: capacity, speed, multitasking.
    pub workers: Workers,
    /// The agentic AI resolver and its escalation algorithm.
    pub ai: Ai,
    /// Worker effort on chats taken over from the AI.
    pub effort: Effort,
    /// Latent satisfaction and the observed star rating.
    pub satisfaction: Satisfaction,
    /// Retrial within 7 days.
    pub retrial: Retrial,
    /// Reward weights of the environment.
    pub reward: RewardWeights,
    /// What the learning agent controls in the environment.
    pub env: EnvConfig,
    /// Parameters of the study's own deployment policy.
    pub study_policy: StudyPolicy,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            name: "default".into(),
            description: "Default parameters (plausible, before calibration)".into(),
            days: 1,
            arrivals: Arrivals::default(),
            issues: Issues::default(),
            customers: Customers::default(),
            workers: Workers::default(),
            ai: Ai::default(),
            effort: Effort::default(),
            satisfaction: Satisfaction::default(),
            retrial: Retrial::default(),
            reward: RewardWeights::default(),
            env: EnvConfig::default(),
            study_policy: StudyPolicy::default(),
        }
    }
}

impl Scenario {
    /// Parses and validates scenario TOML; `source` names the file in error messages.
    ///
    /// A document with `base = "NAME"` starts from the built-in scenario NAME and changes only
    /// the values it gives (tables merge field by field; arrays and values replace).
    pub fn from_toml(source: &str, text: &str) -> Result<Self, ScenarioError> {
        let parse_error = |message: String| ScenarioError::Parse {
            source_name: source.to_string(),
            message: one_line(&message),
        };
        let mut table: toml::Table =
            toml::from_str(text).map_err(|e| parse_error(toml_error_line(text, &e)))?;
        if table.contains_key("base") {
            // the document's own fields, checked where the parser still knows their lines (a
            // typo under `base` names its line as one in a document without `base` does)
            let own = without_base_line(text);
            if let Err(e) = toml::from_str::<Scenario>(&own) {
                return Err(parse_error(toml_error_line(&own, &e)));
            }
        }
        let scenario: Scenario = match table.remove("base") {
            None => toml::from_str(text).map_err(|e| parse_error(toml_error_line(text, &e)))?,
            Some(base) => {
                let base = base.as_str().and_then(Self::builtin).ok_or_else(|| {
                    let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
                    ScenarioError::Invalid {
                        source_name: source.to_string(),
                        field: "base".to_string(),
                        message: format!(
                            "{base} is not a built-in scenario (allowed: {})",
                            names.join(", ")
                        ),
                    }
                })?;
                let mut merged = toml::Table::try_from(&base).expect("scenarios serialise");
                merge_tables(&mut merged, table);
                from_table(merged, source)?
            }
        };
        scenario.validate(source)?;
        Ok(scenario)
    }

    /// The scenario with the values at dotted paths (`"workers.count"`, `"reward.retrial"`)
    /// replaced, merged field by field as a file's values are merged into its `base`, then
    /// validated. An unknown path, a value of the wrong type or out of range is an error naming
    /// `source` and the field.
    pub fn with_overrides<'a>(
        &self,
        source: &str,
        overrides: impl IntoIterator<Item = (&'a str, toml::Value)>,
    ) -> Result<Scenario, ScenarioError> {
        let invalid = |field: &str, message: String| ScenarioError::Invalid {
            source_name: source.to_string(),
            field: field.to_string(),
            message,
        };
        let mut merged = toml::Table::try_from(self).expect("scenarios serialise");
        for (path, value) in overrides {
            let mut table = &mut merged;
            let mut keys = path.split('.').peekable();
            while let Some(key) = keys.next() {
                if keys.peek().is_none() {
                    // an unknown field is refused by the deserialiser, naming it
                    table.insert(key.to_string(), value.clone());
                } else {
                    table = table
                        .entry(key)
                        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                        .as_table_mut()
                        .ok_or_else(|| invalid(path, format!("{key} is not a section")))?;
                }
            }
        }
        let scenario = from_table(merged, source)?;
        scenario.validate(source)?;
        Ok(scenario)
    }

    /// The value at a dotted path (`"workers.count"`), as [`Scenario::with_overrides`] names
    /// fields; `None` for a path that names no value.
    pub fn value_at(&self, path: &str) -> Option<toml::Value> {
        let table = toml::Table::try_from(self).expect("scenarios serialise");
        let mut keys = path.split('.');
        let mut value = table.get(keys.next()?)?;
        for key in keys {
            value = value.as_table()?.get(key)?;
        }
        Some(value.clone())
    }

    /// A built-in scenario by name.
    pub fn builtin(name: &str) -> Option<Self> {
        BUILTIN.iter().find(|(n, _)| *n == name).map(|(n, text)| {
            Self::from_toml(&format!("builtin:{n}"), text)
                .expect("built-in scenarios are validated by the test suite")
        })
    }

    /// A built-in scenario by name, or a scenario file by path.
    pub fn load(name_or_path: &str) -> Result<Self, ScenarioError> {
        if let Some(s) = Self::builtin(name_or_path) {
            return Ok(s);
        }
        let path = std::path::Path::new(name_or_path);
        if !name_or_path.ends_with(".toml") && !path.exists() {
            let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
            return Err(ScenarioError::Unknown {
                name: name_or_path.to_string(),
                builtins: names.join(", "),
            });
        }
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError::Io {
            source_name: name_or_path.to_string(),
            message: e.to_string(),
        })?;
        Self::from_toml(name_or_path, &text)
    }

    /// The scenario with workers and arrivals scaled by `scale` (the same load per worker, at
    /// least one worker), for quick runs and for training on a smaller centre.
    pub fn scaled(&self, scale: f64) -> Scenario {
        let mut s = self.clone();
        s.workers.count = ((f64::from(s.workers.count) * scale).round() as u32).max(1);
        s.arrivals.chats_per_day *= scale;
        s
    }

    /// Whether the agent controls decisions of this kind.
    pub fn controls(&self, kind: DecisionKind) -> bool {
        self.env.control.contains(&kind)
    }

    /// The simulated horizon in seconds.
    pub fn horizon_s(&self) -> f64 {
        f64::from(self.days) * DAY_S
    }

    /// Checks every value against its allowed range.
    pub fn validate(&self, source: &str) -> Result<(), ScenarioError> {
        let mut v = Validator { source };
        v.range("days", f64::from(self.days), 1.0, 3650.0)?;
        self.arrivals.validate(&mut v)?;
        self.issues.validate(&mut v)?;
        self.customers.validate(&mut v)?;
        self.workers.validate(&mut v)?;
        self.ai.validate(&mut v)?;
        self.effort.validate(&mut v)?;
        self.satisfaction.validate(&mut v)?;
        self.retrial.validate(&mut v)?;
        self.reward.validate(&mut v)?;
        self.env.validate(&mut v, self.workers.cap)?;
        self.study_policy.validate(&mut v)
    }
}

/// A TOML parse error of `text` on one line: the line number, the line itself and the parser's
/// message (toml's own rendering spans several lines).
pub fn toml_error_line(text: &str, e: &toml::de::Error) -> String {
    let line = e.span().map(|span| text[..span.start].matches('\n').count() + 1);
    match line {
        Some(line) => format!(
            "line {line} (`{}`): {}",
            text.lines().nth(line - 1).unwrap_or("").trim(),
            e.message().trim_end()
        ),
        None => e.message().trim_end().to_string(),
    }
}

/// `text` with its top-level `base = ...` line blanked out (a comment of the same lines), so
/// that the rest parses as a scenario of its own with its line numbers unchanged.
fn without_base_line(text: &str) -> String {
    let mut in_table = false;
    text.lines()
        .map(|line| {
            let trimmed = line.trim_start();
            in_table |= trimmed.starts_with('[');
            let is_base =
                trimmed.strip_prefix("base").is_some_and(|rest| rest.trim_start().starts_with('='));
            if !in_table && is_base { "#" } else { line }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The scenario a merged table holds (a base with a file's values, or with overrides), not yet
/// validated; `source` names it in a parse error.
fn from_table(table: toml::Table, source: &str) -> Result<Scenario, ScenarioError> {
    Scenario::deserialize(toml::Value::Table(table)).map_err(|e| ScenarioError::Parse {
        source_name: source.to_string(),
        message: one_line(e.message().trim_end()),
    })
}

/// `message` on one line: the parser quotes the offending text, which may hold line breaks.
fn one_line(message: &str) -> String {
    message.replace('\r', "\\r").replace('\n', "\\n")
}

/// Writes every value of `changes` into `base`, merging tables field by field.
fn merge_tables(base: &mut toml::Table, changes: toml::Table) {
    for (key, value) in changes {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(change)) => {
                merge_tables(inner, change)
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// The scenarios shipped with handoff, embedded in the binary: (name, TOML text).
pub const BUILTIN: &[(&str, &str)] = &[
    ("taobao", include_str!("../../scenarios/taobao.toml")),
    ("small", include_str!("../../scenarios/small.toml")),
    ("surge", include_str!("../../scenarios/surge.toml")),
    ("angry", include_str!("../../scenarios/angry.toml")),
    ("understaffed", include_str!("../../scenarios/understaffed.toml")),
    ("ai-outage", include_str!("../../scenarios/ai-outage.toml")),
    ("taobao-levers", include_str!("../../scenarios/taobao-levers.toml")),
];

/// The largest factor [`Scenario::scaled`] takes (ten times the workers and arrivals).
pub const MAX_SCALE: f64 = 10.0;

/// Checks a factor for [`Scenario::scaled`]: above 0 and at most [`MAX_SCALE`]. The one place
/// of this rule: the command line, the training configuration and Python's `scale` call it.
pub fn check_scale(scale: f64) -> Result<(), String> {
    if scale > 0.0 && scale <= MAX_SCALE {
        Ok(())
    } else {
        Err(format!("{scale} is out of range (allowed above 0, at most {MAX_SCALE})"))
    }
}

/// The scenario used when none is named.
pub const DEFAULT_SCENARIO: &str = "taobao";

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
        }
    }
}

impl Arrivals {
    /// Checks every value of this section against its allowed range.
    fn validate(&self, v: &mut Validator<'_>) -> Result<(), ScenarioError> {
        v.range("arrivals.chats_per_day", self.chats_per_day, 0.0, 1e8)?;
        v.hourly("arrivals.hourly_profile", &self.hourly_profile, 1e6)?;
        if self.hourly_profile.iter().sum::<f64>() <= 0.0 {
            return v.fail("arrivals.hourly_profile", "must have a positive sum");
        }
        v.range("arrivals.eligible_share", self.eligible_share, 0.0, 1.0)?;
        v.windows("arrivals.surges", &self.surges, true)?;
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
    fn validate(&self, v: &mut Validator<'_>) -> Result<(), ScenarioError> {
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
    fn validate(&self, v: &mut Validator<'_>) -> Result<(), ScenarioError> {
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
    /// Chance that a full-effort reply moves the issue forward.
    pub productive_prob: f64,
    /// Mean messages in a full-effort reply.
    pub messages_per_reply: f64,
    /// Elasticity of reply speed in effort (reply time scales as effort^-elasticity).
    pub effort_speed_elasticity: f64,
    /// Elasticity of productivity in effort (productive chance scales as effort^elasticity).
    pub effort_productivity_elasticity: f64,
    /// Per-reply chance, at zero effort, that the worker closes the chat before it is resolved.
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
            effort_productivity_elasticity: 1.0,
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
    fn validate(&self, v: &mut Validator<'_>) -> Result<(), ScenarioError> {
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
        v.range(
            "workers.effort_productivity_elasticity",
            self.effort_productivity_elasticity,
            0.0,
            10.0,
        )?;
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
    fn validate(&self, v: &mut Validator<'_>) -> Result<(), ScenarioError> {
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
    fn validate(&self, v: &mut Validator<'_>) -> Result<(), ScenarioError> {
        v.range("effort.technical", self.technical, 0.01, 1.0)?;
        v.range("effort.emotional", self.emotional, 0.01, 1.0)?;
        v.range("effort.human_initiated", self.human_initiated, 0.01, 1.0)?;
        v.range("effort.grace_s", self.grace_s, 0.0, 86400.0)?;
        v.range("effort.decay_s", self.decay_s, 1.0, 86400.0)?;
        v.range("effort.floor", self.floor, 0.01, 1.0)?;
        Ok(())
    }
}

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
    /// Penalty per share of the issue's progress made by the AI rather than a human (customers'
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
    fn validate(&self, v: &mut Validator<'_>) -> Result<(), ScenarioError> {
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
    fn validate(&self, v: &mut Validator<'_>) -> Result<(), ScenarioError> {
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
    fn validate(&self, v: &mut Validator<'_>) -> Result<(), ScenarioError> {
        v.range("reward.satisfaction", self.satisfaction, -1e3, 1e3)?;
        v.range("reward.duration_per_min", self.duration_per_min, -1e3, 1e3)?;
        v.range("reward.retrial", self.retrial, -1e3, 1e3)?;
        v.range("reward.abandonment", self.abandonment, -1e3, 1e3)?;
        Ok(())
    }
}

/// The kinds of decision an agent can control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DecisionKind {
    /// A chat arrives or is escalated: to the AI, to the queue, or to which worker.
    Route,
    /// A worker is ready to write: which chat to answer, which AI chat to take over, or (with
    /// `env.hold_s`) to hold a moment.
    Attend,
    /// A worker has a free slot while chats are queued: which queued chat to take, or none.
    Assign,
}

impl DecisionKind {
    /// Every kind, in the order of the observation's kind flags.
    pub const ALL: [DecisionKind; 3] =
        [DecisionKind::Route, DecisionKind::Attend, DecisionKind::Assign];

    /// The name scenario files and the command line use.
    pub fn label(self) -> &'static str {
        match self {
            DecisionKind::Route => "route",
            DecisionKind::Attend => "attend",
            DecisionKind::Assign => "assign",
        }
    }
}

impl std::str::FromStr for DecisionKind {
    type Err = String;

    /// Reads `route`, `attend` or `assign`, as scenario files and the command line write them.
    fn from_str(name: &str) -> Result<Self, String> {
        DecisionKind::ALL
            .into_iter()
            .find(|k| k.label() == name)
            .ok_or_else(|| format!("\"{name}\" is not a decision kind (route, attend, assign)"))
    }
}

/// Environment settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnvConfig {
    /// Decision kinds the agent controls; the others are made by `fallback_policy`.
    pub control: Vec<DecisionKind>,
    /// Built-in policy for the decisions the agent does not control (checked where the
    /// environment is built, `handoff_agents::make_env`: the policies live there).
    pub fallback_policy: String,
    /// Size of the candidate set (the discrete action space).
    pub candidates: u32,
    /// Agent steps after which an episode is truncated (0: never).
    pub max_steps: u64,
    /// Seconds a worker may hold, writing nothing while customers await a reply, before being
    /// asked again (0: no holding; 'wait' is then offered only when nobody awaits a reply).
    pub hold_s: f64,
}

impl Default for EnvConfig {
    fn default() -> Self {
        Self {
            control: vec![DecisionKind::Route, DecisionKind::Attend],
            fallback_policy: "study-treatment".into(),
            candidates: 8,
            max_steps: 0,
            hold_s: 0.0,
        }
    }
}

impl EnvConfig {
    /// Checks the candidate count against the workers' `cap` (wait, every held chat and a
    /// takeover) and the hold time.
    fn validate(&self, v: &mut Validator<'_>, cap: u32) -> Result<(), ScenarioError> {
        let min_candidates = cap + 2;
        v.range("env.candidates", f64::from(self.candidates), f64::from(min_candidates), 256.0)?;
        v.range("env.hold_s", self.hold_s, 0.0, HOUR_S)?;
        Ok(())
    }
}

/// Parameters of the study's deployment policy (`study-treatment`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StudyPolicy {
    /// Frustration of an AI chat at which its supervising worker, when free, takes it over.
    pub takeover_frustration: f64,
    /// The treated workers' adapted workflow (arXiv:2605.14830: supervising the AI, they
    /// switched away from AI-ineligible chats less often): a worker stays with the AI-ineligible
    /// chat they answered last, answering it or holding until its customer writes, unless another
    /// customer has waited longer than this many seconds. 0 turns the adaptation off (needs
    /// `env.hold_s` > 0 to hold).
    pub focus_s: f64,
}

impl Default for StudyPolicy {
    fn default() -> Self {
        Self { takeover_frustration: 0.7, focus_s: 0.0 }
    }
}

impl StudyPolicy {
    /// Checks every value of this section against its allowed range.
    fn validate(&self, v: &mut Validator<'_>) -> Result<(), ScenarioError> {
        v.range("study_policy.takeover_frustration", self.takeover_frustration, 0.0, 100.0)?;
        v.range("study_policy.focus_s", self.focus_s, 0.0, HOUR_S)?;
        Ok(())
    }
}

/// Range checks that name the file and the field.
struct Validator<'a> {
    source: &'a str,
}

impl Validator<'_> {
    fn fail(&self, field: &str, message: &str) -> Result<(), ScenarioError> {
        Err(ScenarioError::Invalid {
            source_name: self.source.to_string(),
            field: field.to_string(),
            message: message.to_string(),
        })
    }

    fn range(&mut self, field: &str, value: f64, lo: f64, hi: f64) -> Result<(), ScenarioError> {
        if value.is_finite() && value >= lo && value <= hi {
            Ok(())
        } else {
            self.fail(field, &format!("{value} is out of range (allowed {lo} to {hi})"))
        }
    }

    fn hourly(&mut self, field: &str, values: &[f64], hi: f64) -> Result<(), ScenarioError> {
        if values.len() != 24 {
            return self.fail(
                field,
                &format!("has {} values (allowed: exactly 24, one per hour)", values.len()),
            );
        }
        for (h, &x) in values.iter().enumerate() {
            self.range(&format!("{field}[{h}]"), x, 0.0, hi)?;
        }
        Ok(())
    }

    fn windows(
        &mut self,
        field: &str,
        windows: &[Window],
        surge: bool,
    ) -> Result<(), ScenarioError> {
        for (k, win) in windows.iter().enumerate() {
            let f = format!("{field}[{k}]");
            self.range(&format!("{f}.start_hour"), win.start_hour, 0.0, 24.0)?;
            self.range(&format!("{f}.end_hour"), win.end_hour, win.start_hour, 24.0)?;
            if surge {
                self.range(&format!("{f}.multiplier"), win.multiplier, 0.0, 1000.0)?;
            } else if win.multiplier != 1.0 {
                return self.fail(&format!("{f}.multiplier"), "only surges take a multiplier");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_scenario_parses_and_validates() {
        for (name, _) in BUILTIN {
            let s = Scenario::builtin(name).expect("built-in scenario loads");
            assert_eq!(&s.name, name, "the file's name field matches its built-in name");
        }
        assert!(Scenario::builtin(DEFAULT_SCENARIO).is_some());
    }

    #[test]
    fn the_study_scenario_has_the_study_scale() {
        let s = Scenario::builtin("taobao").unwrap();
        assert_eq!(s.workers.count, 647);
        assert_eq!(s.days, 17);
        let chats = s.arrivals.chats_per_day * f64::from(s.days);
        assert!((chats - 680_676.0).abs() / 680_676.0 < 0.01, "{chats}");
        assert_eq!(s.arrivals.eligible_share, 0.058);
    }

    #[test]
    fn defaults_validate_and_errors_name_the_field() {
        Scenario::default().validate("x").unwrap();
        let mut s = Scenario::default();
        s.workers.staffing[3] = 1.5;
        let e = s.validate("f.toml").unwrap_err().to_string();
        assert_eq!(e, "f.toml: workers.staffing[3]: 1.5 is out of range (allowed 0 to 1)");
        let mut s = Scenario::default();
        s.env.candidates = 4; // cap 4 needs wait + 4 chats + at least one takeover slot
        assert!(s.validate("f").unwrap_err().to_string().contains("env.candidates"));
        let mut s = Scenario::default();
        s.ai.outages.push(Window { day: None, start_hour: 5.0, end_hour: 3.0, multiplier: 1.0 });
        assert!(s.validate("f").unwrap_err().to_string().contains("ai.outages[0].end_hour"));
    }

    #[test]
    fn a_scenario_with_a_base_changes_only_the_values_it_gives() {
        let text = "base = \"taobao\"\nname = \"t2\"\n[retrial]\nreturns = true\n\
                    [workers]\ncount = 100\n";
        let s = Scenario::from_toml("t2.toml", text).unwrap();
        let taobao = Scenario::builtin("taobao").unwrap();
        assert_eq!(s.name, "t2");
        assert!(s.retrial.returns && s.retrial.base == taobao.retrial.base);
        assert_eq!(s.workers.count, 100);
        assert_eq!(s.workers.staffing, taobao.workers.staffing, "tables merge field by field");
        assert_eq!(s.customers, taobao.customers);
        let e = Scenario::from_toml("b.toml", "base = \"nowhere\"").unwrap_err().to_string();
        assert!(e.starts_with("b.toml: base: \"nowhere\" is not a built-in"), "{e}");
        let e = Scenario::from_toml("b.toml", "base = \"small\"\n[workers]\nspeed = 2")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("b.toml: ") && e.contains("speed"), "{e}");
        // a typo under `base` names its line, as in a file without `base`
        assert!(e.contains("line 3 (`speed = 2`): unknown field `speed`"), "{e}");
        let e = Scenario::from_toml("b.toml", "# a comment\nbase = \"small\"\ndays = \"two\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3 (`days = \"two\"`)"), "{e}");
        let e = Scenario::from_toml("b.toml", "base = \"small\"\n[workers]\ncount = 0")
            .unwrap_err()
            .to_string();
        assert!(e.contains("workers.count"), "{e}");
        // a value quoted in the message keeps the message on one line (found by the property run)
        let bad_kind = "[env]\ncontrol = [\"\"\"assig\n\"\"\"]";
        for text in [bad_kind.to_string(), format!("base = \"small\"\n{bad_kind}")] {
            let e = Scenario::from_toml("c.toml", &text).unwrap_err().to_string();
            assert!(!e.contains('\n') && e.contains("assig\\n"), "{e}");
        }
    }

    #[test]
    fn overrides_change_the_values_at_their_paths_and_name_a_bad_one() {
        let taobao = Scenario::builtin("taobao").unwrap();
        let changes =
            [("workers.count", toml::Value::Integer(100)), ("reward.retrial", 0.25.into())];
        let s = taobao.with_overrides("test", changes).unwrap();
        assert_eq!((s.workers.count, s.reward.retrial), (100, 0.25));
        assert_eq!(s.workers.staffing, taobao.workers.staffing, "the rest is unchanged");
        assert_eq!(s.customers, taobao.customers);
        let error = |path: &str, value: toml::Value| {
            taobao.with_overrides("kw", [(path, value)]).unwrap_err().to_string()
        };
        let e = error("reward.joy", 1.0.into());
        assert!(e.starts_with("kw: ") && e.contains("joy"), "{e}");
        let e = error("workers.count", toml::Value::Integer(0));
        assert!(e.contains("workers.count") && e.contains("allowed"), "{e}");
        let e = error("days.hours", 1.0.into());
        assert!(e.contains("days"), "{e}");
        // the read side names fields the same way
        assert_eq!(s.value_at("workers.count"), Some(toml::Value::Integer(100)));
        assert_eq!(s.value_at("reward.retrial"), Some(toml::Value::Float(0.25)));
        assert_eq!(s.value_at("reward.joy"), None);
        assert_eq!(s.value_at("days.hours"), None);
    }

    #[test]
    fn windows_cover_their_hours_on_their_day() {
        let w = Window { day: Some(1), start_hour: 20.0, end_hour: 23.0, multiplier: 3.0 };
        assert!(!w.contains(20.5 * HOUR_S));
        assert!(w.contains(DAY_S + 20.5 * HOUR_S));
        assert!(!w.contains(DAY_S + 23.0 * HOUR_S));
        let every_day = Window { day: None, ..w };
        assert!(
            every_day.contains(20.0 * HOUR_S) && every_day.contains(5.0 * DAY_S + 22.0 * HOUR_S)
        );
    }
}
