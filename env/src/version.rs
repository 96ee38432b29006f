//! Which model made a result: the simulator's behaviour version and a fingerprint of the
//! resolved scenario.
//!
//! A return, a tuned policy or a checkpoint means one thing only on the model it was made on.
//! [`MODEL_VERSION`] goes up by hand whenever the simulator's outputs change for the same
//! scenario and seed (dynamics, observations, rewards): a test pins a digest of a short run per
//! version, so a change cannot slip through unbumped. [`Scenario::fingerprint`] hashes the
//! scenario's values, so a changed parameter shows even when the version did not move.
//! [`ModelStamp`] carries both in every report, tuned policy file and checkpoint.
//!
//! The versions and what changed in each: `docs/versions.md`.

use serde::{Deserialize, Serialize};

use crate::digest::digest;
use crate::scenario::Scenario;

/// The simulator's behaviour version: bumped whenever the outputs of the same scenario and seed
/// change. Gymnasium ids carry it (`handoff_rl/Taobao-v4`).
pub const MODEL_VERSION: u32 = 4;

/// Fields added after fingerprints began, left out of the fingerprint at the value that
/// changes nothing, so that every earlier fingerprint, and the stamps made with it, holds:
/// (section, field, neutral value).
const NEUTRAL_SINCE_STAMPS: [(&str, &str, f64); 2] = [
    ("study_policy", "takeover_per_unproductive", 0.0),
    ("study_policy", "takeover_per_minute", 0.0),
];

impl Scenario {
    /// A stable hash of every value of the scenario except its `name` and `description` (labels
    /// that do not change what is simulated): two files that resolve to the same values share a
    /// fingerprint, and changing any value changes it. A replayed trace counts by its arrivals
    /// ([`crate::scenario::Trace::digest`]), not by where its file lies.
    ///
    /// The values are hashed as canonical JSON (fields in declaration order, floats in their
    /// shortest round-trip form), so the fingerprint is the same on every machine.
    pub fn fingerprint(&self) -> String {
        let mut values = serde_json::to_value(self).expect("scenarios serialise");
        if let Some(fields) = values.as_object_mut() {
            fields.remove("name");
            fields.remove("description");
        }
        for (section, key, neutral) in NEUTRAL_SINCE_STAMPS {
            let fields = values.get_mut(section).and_then(|s| s.as_object_mut());
            if let Some(fields) =
                fields.filter(|f| f.get(key).and_then(|v| v.as_f64()) == Some(neutral))
            {
                fields.remove(key);
            }
        }
        if let (Some(trace), Some(arrivals)) =
            (&self.arrivals.replay, values.get_mut("arrivals").and_then(|a| a.as_object_mut()))
        {
            arrivals.insert("trace".to_string(), serde_json::Value::from(trace.digest()));
        }
        digest(values.to_string().as_bytes())
    }
}

/// The model a result was made on: the behaviour version and the scenario's fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelStamp {
    /// [`MODEL_VERSION`] when the result was made.
    pub model_version: u32,
    /// [`Scenario::fingerprint`] of the scenario it was made on.
    pub scenario_fingerprint: String,
}

impl ModelStamp {
    /// The stamp of `scenario` on today's model.
    pub fn of(scenario: &Scenario) -> Self {
        Self { model_version: MODEL_VERSION, scenario_fingerprint: scenario.fingerprint() }
    }

    /// `None` when `self` (what an artefact records) matches `current`, else one line naming
    /// both: `what` was made on model version 0 (scenario fingerprint …), today's is … .
    pub fn mismatch(&self, current: &ModelStamp, what: &str) -> Option<String> {
        if self == current {
            return None;
        }
        let mut differences = Vec::new();
        if self.model_version != current.model_version {
            differences.push(format!(
                "model version {} (today's is {})",
                self.model_version, current.model_version
            ));
        }
        if self.scenario_fingerprint != current.scenario_fingerprint {
            differences.push(format!(
                "scenario fingerprint {} (today's is {})",
                self.scenario_fingerprint, current.scenario_fingerprint
            ));
        }
        Some(format!(
            "{what} was made on {}: its numbers may not hold on today's model",
            differences.join(" and ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::DIGEST_HEX;

    #[test]
    fn changing_one_value_changes_the_fingerprint_and_labels_do_not() {
        let taobao = Scenario::builtin("taobao").unwrap();
        let fingerprint = taobao.fingerprint();
        assert_eq!(fingerprint.len(), DIGEST_HEX);
        assert_eq!(fingerprint, taobao.clone().fingerprint(), "stable");

        let mut renamed = taobao.clone();
        renamed.name = "my-centre".into();
        renamed.description = "another label".into();
        assert_eq!(renamed.fingerprint(), fingerprint, "labels are not values");

        let mut changed = taobao.clone();
        changed.customers.frustration_mean += 0.01;
        assert_ne!(changed.fingerprint(), fingerprint);
        let mut changed = taobao.clone();
        changed.days += 1;
        assert_ne!(changed.fingerprint(), fingerprint);
        let mut changed = taobao;
        changed.reward.abandonment *= 2.0;
        assert_ne!(changed.fingerprint(), fingerprint);
    }

    #[test]
    fn every_builtin_scenario_has_its_own_fingerprint() {
        let mut seen = std::collections::BTreeSet::new();
        for (name, _) in crate::scenario::BUILTIN {
            let s = Scenario::builtin(name).unwrap();
            assert!(seen.insert(s.fingerprint()), "{name} shares a fingerprint");
        }
    }

    #[test]
    fn a_mismatch_names_both_stamps() {
        let current = ModelStamp::of(&Scenario::builtin("small").unwrap());
        assert_eq!(current.mismatch(&current, "x"), None);
        let old = ModelStamp { model_version: MODEL_VERSION + 7, ..current.clone() };
        let line = old.mismatch(&current, "policies/x.toml").unwrap();
        assert!(line.starts_with("policies/x.toml was made on model version"), "{line}");
        assert!(line.contains(&format!("today's is {MODEL_VERSION}")), "{line}");
        assert!(!line.contains("fingerprint"), "{line}");
        let other =
            ModelStamp { scenario_fingerprint: "0123456789abcdef".into(), ..current.clone() };
        let line = other.mismatch(&current, "ckpt:run").unwrap();
        assert!(line.contains("0123456789abcdef") && line.contains(&current.scenario_fingerprint));
        assert!(!line.contains('\n'));
    }
}
