//! Policies named on the command line or in a file: a built-in heuristic (`c-mu`), one with some
//! parameters set (`c-mu@takeover_frustration=0.9,max_chats=3`), a policy file written by
//! `handoff tune` or by hand (`FILE.toml`), or a shipped tuned policy by name (`taobao-c-mu`,
//! from `policies/`).
//!
//! A policy file:
//!
//! ```toml
//! policy = "c-mu"            # the built-in heuristic
//!
//! [parameters]               # values for some of its parameters; the rest keep their defaults
//! takeover_frustration = 0.9
//!
//! [tuning]                   # how `handoff tune` found them (optional)
//! scenario = "taobao"
//! # ...
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use handoff_env::{MODEL_VERSION, ModelStamp, Policy, Scenario};
use serde::{Deserialize, Serialize};

use crate::corrected::{OPTION_FEATURES, PACE_FEATURES};
use crate::params::{ParamError, ParamSet};
use crate::{Advantage, Corrected, Corrections, Heuristic, heuristic, policy_names};

/// The tuned policies shipped in `policies/`: (name, file text). Each was written by `handoff
/// tune` (its `[tuning]` record says how) and is checked to reproduce its record.
pub const SHIPPED: &[(&str, &str)] = &[
    ("taobao-c-mu", include_str!("../../policies/taobao-c-mu.toml")),
    ("taobao-c-mu-theta", include_str!("../../policies/taobao-c-mu-theta.toml")),
    ("surge-c-mu", include_str!("../../policies/surge-c-mu.toml")),
    ("surge-c-mu-theta", include_str!("../../policies/surge-c-mu-theta.toml")),
];

/// Why a policy could not be made.
#[derive(Debug, Clone, PartialEq)]
pub enum SpecError {
    /// No built-in heuristic or shipped policy has this name.
    Unknown(String),
    /// `name@...` overrides that are not `key=number` pairs.
    Syntax {
        /// The text given.
        text: String,
        /// What is wrong.
        message: String,
    },
    /// A parameter name or value was refused.
    Param {
        /// Where: the policy text or the file and field.
        source_name: String,
        /// Why.
        error: ParamError,
    },
    /// A policy file could not be read or parsed.
    File {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecError::Unknown(name) => {
                let shipped: Vec<&str> = SHIPPED.iter().map(|(n, _)| *n).collect();
                write!(
                    f,
                    "unknown policy \"{name}\" (built in: {}; tuned: {}; or name@key=value,..., \
                     FILE.toml, ckpt:DIR)",
                    policy_names().collect::<Vec<_>>().join(", "),
                    if shipped.is_empty() { "none".to_string() } else { shipped.join(", ") }
                )
            }
            SpecError::Syntax { text, message } => write!(f, "policy \"{text}\": {message}"),
            SpecError::Param { source_name, error } => write!(f, "{source_name}: {error}"),
            SpecError::File { path, message } => write!(f, "{path}: {message}"),
        }
    }
}

impl std::error::Error for SpecError {}

/// How `handoff tune` found a policy file's values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TuningRecord {
    /// The scenario tuned on (built-in name or path).
    pub scenario: String,
    /// Its scale (workers and arrivals).
    pub scale: f64,
    /// Simulated days per episode.
    pub days: u32,
    /// The first validation seed; seeds are consecutive from it.
    pub first_seed: u64,
    /// Validation seeds.
    pub seeds: u64,
    /// The optimiser and its settings.
    pub optimiser: String,
    /// Candidate parameter sets evaluated.
    pub evaluations: u64,
    /// Mean return of the tuned values on the validation seeds.
    pub score: f64,
    /// Mean return of the defaults on the same seeds.
    pub default_score: f64,
    /// The tuned values' return on each validation seed, in seed order.
    pub seed_returns: Vec<f64>,
    /// The model tuned on (absent in files written before handoff 0.2.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelStamp>,
}

impl TuningRecord {
    /// The scenario tuned on, as it resolves today: the record's scenario with its days and
    /// scale.
    pub fn scenario_today(&self) -> Result<Scenario, String> {
        let mut scenario = Scenario::load(&self.scenario).map_err(|e| e.to_string())?;
        scenario.days = self.days;
        Ok(scenario.scaled(self.scale))
    }
}

/// A learned correction of the file's rule ([`crate::Corrected`]), as `handoff train --algo
/// rollout` writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrectionRecord {
    /// The rule corrected, as it was named (its values are the file's policy and parameters).
    pub rule: String,
    /// The scenario the correction was fitted on (built-in name or path), over `days` days.
    pub scenario: String,
    /// Simulated days of its training episodes.
    pub days: u32,
    /// The model it was fitted on.
    pub model: ModelStamp,
    /// The value of a saved human reply chosen on the validation seeds.
    pub reply_value: f64,
    /// Rollout comparisons the estimate was fitted on.
    pub samples: u64,
    /// The estimate of the AI's advantage ([`crate::Advantage`]), one weight per route
    /// feature.
    pub weights: Vec<f64>,
    /// The estimate of the quicker equally loaded worker's advantage, one weight per pace
    /// feature; left out (no pace correction) in files written before it existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pace_weights: Vec<f64>,
    /// The estimate of an attend option's advantage over the rule's, one weight per option
    /// feature; left out without an attend correction.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attend_weights: Vec<f64>,
    /// The estimate of an assign option's advantage over the rule's, one weight per option
    /// feature; left out without an assign correction.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assign_weights: Vec<f64>,
}

impl CorrectionRecord {
    /// The estimates the record holds, those left out zero.
    pub fn corrections(&self) -> Corrections {
        let or_zero = |weights: &[f64], features: usize| match weights {
            [] => Advantage::zero(features),
            weights => Advantage { weights: weights.to_vec() },
        };
        Corrections {
            route: Advantage { weights: self.weights.clone() },
            pace: or_zero(&self.pace_weights, PACE_FEATURES),
            attend: or_zero(&self.attend_weights, OPTION_FEATURES),
            assign: or_zero(&self.assign_weights, OPTION_FEATURES),
        }
    }
}

/// A policy file: a built-in heuristic and values for its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// The built-in heuristic.
    pub policy: String,
    /// Values of some of its parameters; the others keep their defaults.
    #[serde(default)]
    pub parameters: BTreeMap<String, f64>,
    /// How the values were found, when `handoff tune` wrote the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuning: Option<TuningRecord>,
    /// A learned correction of the rule's routing, when `handoff train` wrote the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correction: Option<CorrectionRecord>,
}

impl PolicyFile {
    /// Parses a policy file's text; `source_name` names it in errors.
    pub fn parse(text: &str, source_name: &str) -> Result<Self, SpecError> {
        toml::from_str(text).map_err(|e| SpecError::File {
            path: source_name.to_string(),
            message: handoff_env::scenario::toml_error_line(text, &e),
        })
    }

    /// Reads the policy file at `path`.
    pub fn load(path: &Path) -> Result<Self, SpecError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| SpecError::File { path: name.clone(), message: e.to_string() })?;
        Self::parse(&text, &name)
    }

    /// `None` when the file's values were tuned (and its correction fitted) on today's model
    /// (or were set by hand: a file without `[tuning]` or `[correction]` belongs to no model),
    /// else one line saying on what model they were made and what today's is. `source_name`
    /// names the file.
    pub fn model_mismatch(&self, source_name: &str) -> Option<String> {
        if let Some(correction) = &self.correction {
            let mut scenario = match Scenario::load(&correction.scenario) {
                Ok(scenario) => scenario,
                Err(e) => {
                    return Some(format!(
                        "{source_name} was fitted on scenario {}, which does not load today: {e}",
                        correction.scenario
                    ));
                }
            };
            scenario.days = correction.days;
            let mismatch = correction.model.mismatch(&ModelStamp::of(&scenario), source_name);
            if mismatch.is_some() {
                return mismatch;
            }
        }
        let tuning = self.tuning.as_ref()?;
        let Some(recorded) = &tuning.model else {
            return Some(format!(
                "{source_name} records no model version (tuned before handoff 0.2.0): its \
                 numbers may not hold on today's model (version {MODEL_VERSION}); tune it again"
            ));
        };
        match tuning.scenario_today() {
            Ok(scenario) => recorded.mismatch(&ModelStamp::of(&scenario), source_name),
            Err(e) => Some(format!(
                "{source_name} was tuned on scenario {}, which does not load today: {e}",
                tuning.scenario
            )),
        }
    }

    /// The file's text: a comment saying how to use it, then TOML.
    pub fn to_toml(&self, name: &str) -> String {
        let body = toml::to_string(self).expect("a policy file serialises");
        format!("# a tuned policy: `handoff eval --policy {name}`\n{body}")
    }

    /// The parameter set on `scenario`: the heuristic's defaults with the file's values;
    /// `source_name` names the file in errors.
    pub fn param_set(&self, scenario: &Scenario, source_name: &str) -> Result<ParamSet, SpecError> {
        self.heuristic_and_params(scenario, source_name).map(|(_, set)| set)
    }

    /// The policy on `scenario`.
    pub fn build(
        &self,
        scenario: &Scenario,
        source_name: &str,
    ) -> Result<Box<dyn Policy>, SpecError> {
        let (h, set) = self.heuristic_and_params(scenario, source_name)?;
        let rule = h.build(scenario, &set);
        let Some(correction) = &self.correction else { return Ok(rule) };
        let corrections = correction.corrections();
        corrections.check().map_err(|message| SpecError::File {
            path: source_name.to_string(),
            message: format!("[correction]: {message}"),
        })?;
        Ok(Box::new(Corrected::new(source_name, rule, corrections)))
    }

    /// The file's heuristic and its parameter set on `scenario` (see [`PolicyFile::param_set`]).
    fn heuristic_and_params(
        &self,
        scenario: &Scenario,
        source_name: &str,
    ) -> Result<(&'static Heuristic, ParamSet), SpecError> {
        let h = heuristic(&self.policy).ok_or_else(|| SpecError::File {
            path: source_name.to_string(),
            message: format!(
                "policy = \"{}\" is not a built-in heuristic (allowed: {})",
                self.policy,
                policy_names().collect::<Vec<_>>().join(", ")
            ),
        })?;
        let mut set = h.params(scenario);
        // a file's parameters are in its [parameters] table; a name's after its `@`
        let source_name = if names_a_file(source_name) {
            format!("{source_name}: [parameters]")
        } else {
            source_name.to_string()
        };
        for (name, &value) in &self.parameters {
            set.set(name, value)
                .map_err(|error| SpecError::Param { source_name: source_name.clone(), error })?;
        }
        Ok((h, set))
    }
}

/// A built-in heuristic with parameter overrides, as in `c-mu@takeover_frustration=0.9`.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicySpec {
    /// The built-in heuristic.
    pub base: String,
    /// (name, value) overrides in the order given.
    pub overrides: Vec<(String, f64)>,
}

impl PolicySpec {
    /// Parses `name` or `name@key=value,key=value`.
    pub fn parse(text: &str) -> Result<Self, SpecError> {
        let syntax = |message: String| SpecError::Syntax { text: text.to_string(), message };
        let Some((base, rest)) = text.split_once('@') else {
            return Ok(Self { base: text.to_string(), overrides: Vec::new() });
        };
        let overrides = rest
            .split(',')
            .map(|pair| {
                let (key, value) = pair
                    .split_once('=')
                    .ok_or_else(|| syntax(format!("\"{pair}\" is not key=value")))?;
                let value: f64 = value
                    .trim()
                    .parse()
                    .map_err(|_| syntax(format!("\"{value}\" (for {key}) is not a number")))?;
                Ok((key.trim().to_string(), value))
            })
            .collect::<Result<Vec<_>, SpecError>>()?;
        Ok(Self { base: base.to_string(), overrides })
    }

    /// The policy file this spec amounts to.
    pub fn to_file(&self) -> PolicyFile {
        PolicyFile {
            policy: self.base.clone(),
            parameters: self.overrides.iter().cloned().collect(),
            tuning: None,
            correction: None,
        }
    }
}

/// The shipped tuned policy called `name`.
pub fn shipped(name: &str) -> Option<PolicyFile> {
    let (_, text) = SHIPPED.iter().find(|(n, _)| *n == name)?;
    Some(PolicyFile::parse(text, name).expect("shipped policies parse (tested)"))
}

/// Whether a policy's name is the path of a policy file (it ends in `.toml`), not a built-in or
/// shipped name.
pub fn names_a_file(name: &str) -> bool {
    name.ends_with(".toml")
}

/// The policy file `text` names: a path ending in `.toml`, or a shipped tuned policy or a
/// built-in heuristic, either with optional overrides (`surge-c-mu-theta@max_chats=3`: the
/// tuned values with one changed, no longer a tuning's record).
pub fn policy_file(text: &str) -> Result<PolicyFile, SpecError> {
    if names_a_file(text) {
        return PolicyFile::load(Path::new(text));
    }
    if let Some(file) = shipped(text) {
        return Ok(file);
    }
    let spec = PolicySpec::parse(text)?;
    if let Some(mut file) = shipped(&spec.base) {
        file.parameters.extend(spec.overrides);
        file.tuning = None;
        return Ok(file);
    }
    if heuristic(&spec.base).is_none() {
        return Err(SpecError::Unknown(spec.base));
    }
    Ok(spec.to_file())
}

/// The policy `text` names on `scenario` (see [`policy_file`]).
pub fn resolve(text: &str, scenario: &Scenario) -> Result<Box<dyn Policy>, SpecError> {
    policy_file(text)?.build(scenario, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_parse_and_bad_ones_are_named() {
        let spec = PolicySpec::parse("c-mu@takeover_frustration=0.9, max_chats=3").unwrap();
        assert_eq!(spec.base, "c-mu");
        assert_eq!(
            spec.overrides,
            vec![("takeover_frustration".into(), 0.9), ("max_chats".into(), 3.0)]
        );
        assert_eq!(PolicySpec::parse("c-mu").unwrap().overrides, vec![]);
        let e = PolicySpec::parse("c-mu@max_chats").unwrap_err().to_string();
        assert!(e.contains("not key=value"), "{e}");
        let e = PolicySpec::parse("c-mu@max_chats=three").unwrap_err().to_string();
        assert!(e.contains("three") && e.contains("max_chats"), "{e}");
    }

    #[test]
    fn resolve_refuses_unknown_policies_parameters_and_ranges() {
        let scenario = Scenario::default();
        assert!(resolve("c-mu@abandonment_weight=0,max_chats=2", &scenario).is_ok());
        let error = |text: &str| resolve(text, &scenario).err().expect("refused").to_string();
        let e = error("oracle");
        assert!(e.contains("oracle") && e.contains("c-mu-theta"), "{e}");
        let e = error("c-mu@speed=1");
        assert!(e.contains("speed") && e.contains("abandonment_weight"), "{e}");
        let e = error("random@max_chats=1");
        assert!(e.contains("no parameters"), "{e}");
        let e = error("c-mu@max_chats=99");
        assert!(e.contains("max_chats") && e.contains("whole numbers from 1 to"), "{e}");
    }

    #[test]
    fn a_policy_file_round_trips_and_names_its_errors() {
        let scenario = Scenario::default();
        let file = PolicySpec::parse("early-takeover@trigger_share=0.25").unwrap().to_file();
        let text = file.to_toml("x.toml");
        assert_eq!(PolicyFile::parse(&text, "x.toml").unwrap(), file);
        let set = file.param_set(&scenario, "x.toml").unwrap();
        assert_eq!(set.get("trigger_share"), Some(0.25));
        let bad = PolicyFile::parse("policy = \"c-mu\"\nspeed = 1\n", "bad.toml").unwrap_err();
        assert!(bad.to_string().starts_with("bad.toml: ") && bad.to_string().contains("speed"));
        let range =
            PolicyFile::parse("policy = \"c-mu\"\n[parameters]\nswitch_weight = -1\n", "r.toml")
                .unwrap()
                .build(&scenario, "r.toml")
                .err()
                .unwrap()
                .to_string();
        assert!(range.contains("r.toml: [parameters]: switch_weight = -1"), "{range}");
    }

    #[test]
    fn shipped_policies_parse_and_build() {
        let scenario = Scenario::default();
        for (name, _) in SHIPPED {
            let file = shipped(name).unwrap();
            assert!(file.tuning.is_some(), "{name} records its tuning");
            file.build(&scenario, name).unwrap();
            assert_eq!(file.model_mismatch(name), None, "re-tune or re-stamp {name}");
        }
    }

    #[test]
    fn a_shipped_tuning_takes_overrides_on_top_of_its_values() {
        let tuned = shipped("surge-c-mu-theta").unwrap();
        let file = policy_file("surge-c-mu-theta@ai_frustration_limit=0.3").unwrap();
        assert_eq!(file.policy, tuned.policy);
        assert_eq!(file.parameters["ai_frustration_limit"], 0.3);
        assert_eq!(file.parameters["switch_weight"], tuned.parameters["switch_weight"]);
        assert!(file.tuning.is_none(), "no longer the tuned values");
        let e = policy_file("surge-c-mu-theta@speed=1")
            .unwrap()
            .build(&Scenario::default(), "x")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("speed"), "{e}");
    }
}
