//! The scenario: every parameter of the simulator, read from TOML and validated.
//!
//! A scenario file only needs the values it changes: every section and field has a documented
//! default (the plausible, pre-calibration values of `scenarios/taobao.toml`). Unknown fields are
//! rejected, and every value is checked against its allowed range with a message that names the
//! file, the field and the range.
//!
//! Numbers that the study (arXiv:2605.14830) reports are cited where they are used; everything
//! else is an assumption the paper does not give, exposed here so that calibration can fit it.
//!
//! This module holds the scenario itself, loading, overrides and the built-in files; the sections
//! live in `demand` (arrivals, issues, customers), `service` (workers, AI, effort), `outcomes`
//! (satisfaction, retrial, reward) and `control` (the agent's decisions, the study's policy),
//! re-exported here; `parse` reads TOML and `validate` checks ranges.

use serde::{Deserialize, Serialize};

use crate::error::ScenarioError;

mod control;
mod demand;
mod outcomes;
mod parse;
mod service;
mod trace;
mod validate;

pub use control::{DecisionKind, EnvConfig, StudyPolicy};
pub use demand::{Arrivals, Customers, Issues, Window};
pub use outcomes::{RETRIAL_WINDOW_S, Retrial, RewardWeights, Satisfaction};
pub use parse::toml_error_line;
pub use service::{Ai, Effort, Shifts, Workers};
pub use trace::{Trace, whole_days};

use parse::{from_table, merge_tables, one_line, without_base_line};
use validate::Validator;

/// Seconds in an hour.
pub const HOUR_S: f64 = 3600.0;
/// Seconds in a day.
pub const DAY_S: f64 = 24.0 * HOUR_S;

/// The hour of the day, 0 to 23, at a time `t` of at least 0 seconds: exactly
/// `((t % DAY_S) / HOUR_S) as usize % 24` (tested), with the remainder of the day taken by a
/// division and an exact correction instead of `fmod`, a software loop of some 35 instructions
/// that the arrival process called for every candidate arrival.
#[inline]
pub fn hour_of_day(t: f64) -> usize {
    // whole days, exact below 2^53; at most one day off when the division rounds up or down
    let days = (t / DAY_S) as u64 as f64;
    // each step is exact: the operands are within a factor two of each other (Sterbenz), and the
    // corrected value is the true remainder, which is representable
    let mut into_day = t - days * DAY_S;
    if into_day < 0.0 {
        into_day += DAY_S;
    } else if into_day >= DAY_S {
        into_day -= DAY_S;
    }
    (into_day / HOUR_S) as usize % 24
}

/// A complete simulator configuration.
///
/// `Scenario::default()` is the calibrated study centre ([`DEFAULT_SCENARIO`]), and a file
/// without `base =` starts from it too, so that a value a file leaves out means the same thing
/// everywhere. The sections' own `Default`s are the schema's fallbacks, used only for a value
/// the root file `scenarios/taobao.toml` leaves out, which a test forbids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default = "Scenario::schema_defaults")]
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
    /// The calibrated study centre, [`DEFAULT_SCENARIO`].
    fn default() -> Self {
        Self::builtin(DEFAULT_SCENARIO).expect("the default scenario is built in")
    }
}

impl Scenario {
    /// Every section's own defaults: what a field of the root file takes when it is missing.
    fn schema_defaults() -> Self {
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

    /// Parses and validates scenario TOML; `source` names the file in error messages.
    ///
    /// A document with `base = "NAME"` starts from the built-in scenario NAME and changes only
    /// the values it gives (tables merge field by field; arrays and values replace); a document
    /// without `base` starts from [`DEFAULT_SCENARIO`], as if it named it.
    pub fn from_toml(source: &str, text: &str) -> Result<Self, ScenarioError> {
        Self::parse(source, text, false)
    }

    /// [`Scenario::from_toml`]; `root` reads the default scenario's own file, which has no base
    /// to start from.
    fn parse(source: &str, text: &str, root: bool) -> Result<Self, ScenarioError> {
        let parse_error = |message: String| ScenarioError::Parse {
            source_name: source.to_string(),
            message: one_line(&message),
        };
        let mut table: toml::Table =
            toml::from_str(text).map_err(|e| parse_error(toml_error_line(text, &e)))?;
        // the document's own fields, read where the parser still knows their lines (a typo
        // names its line whether or not the document has a base); the root file is these values
        let own = without_base_line(text);
        let own_values: Scenario =
            toml::from_str(&own).map_err(|e| parse_error(toml_error_line(&own, &e)))?;
        let base = match table.remove("base") {
            None if !root => Some(toml::Value::from(DEFAULT_SCENARIO)),
            base => base,
        };
        let mut scenario = match base {
            None => own_values,
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
        scenario.read_trace(source)?;
        scenario.validate(source)?;
        Ok(scenario)
    }

    /// Reads the arrivals of `arrivals.trace`, a path relative to the file `source` names (or
    /// to the working directory), and keeps the path as resolved so that copies and overrides
    /// find the same file.
    fn read_trace(&mut self, source: &str) -> Result<(), ScenarioError> {
        let Some(path) = &self.arrivals.trace else { return Ok(()) };
        let source_file = std::path::Path::new(source);
        let resolved = match source_file.parent() {
            Some(dir) if source_file.is_file() => dir.join(path),
            _ => std::path::PathBuf::from(path),
        };
        let trace = Trace::read(&resolved, self.arrivals.trace_arm.as_deref()).map_err(|e| {
            ScenarioError::Invalid {
                source_name: source.to_string(),
                field: "arrivals.trace".to_string(),
                message: e.to_string(),
            }
        })?;
        self.arrivals.trace = Some(resolved.display().to_string());
        self.arrivals.replay = Some(trace);
        Ok(())
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
        let mut scenario = from_table(merged, source)?;
        let same_trace = (&scenario.arrivals.trace, &scenario.arrivals.trace_arm)
            == (&self.arrivals.trace, &self.arrivals.trace_arm);
        if same_trace {
            scenario.arrivals.replay = self.arrivals.replay.clone();
        } else {
            scenario.read_trace(source)?;
        }
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
            Self::parse(&format!("builtin:{n}"), text, *n == DEFAULT_SCENARIO)
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
        if s.arrivals.trace.is_some() {
            s.arrivals.trace_share *= scale;
        }
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
        if let Some(trace) = &self.arrivals.replay
            && trace.days() < self.days
        {
            return v.fail(
                "arrivals.trace",
                &format!(
                    "the log covers {} of the {} days the scenario runs (days)",
                    trace.days(),
                    self.days
                ),
            );
        }
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

/// The scenarios shipped with handoff, embedded in the binary: (name, TOML text).
pub const BUILTIN: &[(&str, &str)] = &[
    ("taobao", include_str!("../../../scenarios/taobao.toml")),
    ("small", include_str!("../../../scenarios/small.toml")),
    ("surge", include_str!("../../../scenarios/surge.toml")),
    ("angry", include_str!("../../../scenarios/angry.toml")),
    ("understaffed", include_str!("../../../scenarios/understaffed.toml")),
    ("ai-outage", include_str!("../../../scenarios/ai-outage.toml")),
    ("taobao-levers", include_str!("../../../scenarios/taobao-levers.toml")),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hour_of_day_is_the_remainders_hour_at_every_time_tried() {
        let by_fmod = |t: f64| ((t % DAY_S) / HOUR_S) as usize % 24;
        let mut times = vec![0.0, 1e-300, f64::MIN_POSITIVE];
        // the edges of every hour of ten years, and the floats next to them
        for hour in 0..(3650 * 24) {
            let edge = f64::from(hour) * HOUR_S;
            let mut below = edge;
            let mut above = edge;
            for _ in 0..3 {
                below = below.next_down();
                above = above.next_up();
                times.extend([below.max(0.0), above]);
            }
            times.push(edge);
        }
        // and a million times spread over ten years (a fixed sequence)
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..1_000_000 {
            x = crate::rng::splitmix64(x);
            times.push((x >> 11) as f64 / (1u64 << 53) as f64 * 3650.0 * DAY_S);
        }
        for t in times {
            assert_eq!(hour_of_day(t), by_fmod(t), "t = {t:e}");
        }
    }

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
        let mut s = Scenario::default();
        s.study_policy.takeover_per_minute = -0.5;
        let e = s.validate("f").unwrap_err().to_string();
        assert_eq!(
            e,
            "f: study_policy.takeover_per_minute: -0.5 is out of range (allowed 0 to 10)"
        );
    }

    #[test]
    fn a_takeover_term_at_zero_leaves_the_fingerprint_as_it_was() {
        let mut s = Scenario::default();
        s.study_policy.takeover_per_unproductive = 0.0;
        s.study_policy.takeover_per_minute = 0.0;
        let mut weighed = s.clone();
        weighed.study_policy.takeover_per_unproductive = 0.25;
        assert_ne!(weighed.fingerprint(), s.fingerprint());
        weighed.study_policy.takeover_per_unproductive = 0.0;
        assert_eq!(weighed.fingerprint(), s.fingerprint());
        let taobao = Scenario::default();
        let value = taobao.value_at("study_policy.takeover_per_minute").and_then(|v| v.as_float());
        assert_eq!(value, Some(taobao.study_policy.takeover_per_minute), "the fit reads it");
    }

    /// The keys of `table` missing from `file`, as dotted paths.
    fn missing_keys(table: &toml::Table, file: &toml::Table, at: &str, out: &mut Vec<String>) {
        for (key, value) in table {
            let path = if at.is_empty() { key.clone() } else { format!("{at}.{key}") };
            match (value.as_table(), file.get(key)) {
                (_, None) => out.push(path),
                (Some(inner), Some(toml::Value::Table(given))) => {
                    missing_keys(inner, given, &path, out)
                }
                _ => {}
            }
        }
    }

    #[test]
    fn the_default_is_the_calibrated_centre_and_its_file_gives_every_value() {
        let taobao = Scenario::builtin(DEFAULT_SCENARIO).unwrap();
        assert_eq!(Scenario::default(), taobao);
        // no value of the calibrated model comes from a section's fallback
        let values = toml::Table::try_from(&taobao).unwrap();
        let file: toml::Table = toml::from_str(BUILTIN[0].1).unwrap();
        assert_eq!(BUILTIN[0].0, DEFAULT_SCENARIO);
        let mut missing = Vec::new();
        missing_keys(&values, &file, "", &mut missing);
        assert!(missing.is_empty(), "scenarios/taobao.toml leaves out {missing:?}");
        // a file without `base` starts from it, as one that names it
        let text = "name = \"mine\"\n[workers]\ncount = 100\n";
        let without = Scenario::from_toml("a.toml", text).unwrap();
        let with = Scenario::from_toml("b.toml", &format!("base = \"taobao\"\n{text}")).unwrap();
        assert_eq!(without, with);
        assert_eq!(without.customers, taobao.customers);
        assert_ne!(Scenario::schema_defaults().customers, taobao.customers, "the test can fail");
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
