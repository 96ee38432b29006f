//! What a pickled environment is: the scenario it was built on, every value in force, and its
//! episodes so far as seeds and actions. Unpickling builds the environment again and replays
//! the actions: the simulator is deterministic, so the replay restores every random stream,
//! the fallback policy's state and the episode exactly, and bytes from another model version are
//! refused rather than replayed into another episode.
//!
//! The bytes are read as untrusted: [`MAGIC`], then the state as JSON, then the digest of both
//! (`handoff_env::digest`). Truncated, altered or foreign bytes are a `ValueError`
//! saying which, never a panic.

use handoff_env::{MODEL_VERSION, Scenario};
use pyo3::PyResult;
use serde::{Deserialize, Serialize};

use crate::options::{EnvOptions, value_error};

/// The first bytes of every state.
const MAGIC: &[u8] = b"handoff_rl environment state\n";
/// Length of the digest at the end (hex digits of `handoff_env::digest`).
const DIGEST_LEN: usize = 16;

/// The episode a single environment is in: its seed and the agent's actions since the reset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Journal {
    /// The seed of the last reset.
    pub seed: u64,
    /// Every action the episode took, in order (candidate slots, below 256).
    pub actions: Vec<u8>,
    /// The forks the episode went through, in order: after `.0` actions, a fork on seed `.1`
    /// (`HandoffEnv::fork`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forks: Vec<(u64, u64)>,
}

impl Journal {
    /// A new episode on `seed`.
    pub fn new(seed: u64) -> Self {
        Self { seed, actions: Vec::new(), forks: Vec::new() }
    }
}

/// Where a vector environment stands: the base seed of its last reset and, per environment,
/// its episode count, whether its next step resets it, and the actions of its episode so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorJournal {
    /// The base seed of the last reset.
    pub seed: u64,
    /// Episodes each environment has started.
    pub episodes: Vec<u64>,
    /// Which environments the next step resets.
    pub needs_reset: Vec<bool>,
    /// Each environment's actions in its current episode.
    pub actions: Vec<Vec<u8>>,
}

/// What the bytes hold.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Saved {
    /// `Env` or `VectorEnv`.
    pub class: String,
    /// The model version the state was made on.
    pub model_version: u32,
    /// The scenario's fingerprint, checked after the scenario is read back.
    pub fingerprint: String,
    /// The scenario, every value in force, as TOML.
    pub scenario: String,
    /// The policy whose choice `info["rule_action"]` reports (`Env`).
    pub rule: Option<String>,
    /// Threads stepping the environments (`VectorEnv`).
    pub threads: usize,
    /// The single environment's episode (`Env`; none before the first reset).
    pub episode: Option<Journal>,
    /// The vector's episodes (`VectorEnv`; none before the first reset).
    pub vector: Option<VectorJournal>,
}

impl Saved {
    /// The state of an environment of `class` on `scenario`.
    pub fn new(class: &str, scenario: &Scenario) -> PyResult<Self> {
        Ok(Self {
            class: class.to_string(),
            model_version: MODEL_VERSION,
            fingerprint: scenario.fingerprint(),
            scenario: toml::to_string(scenario).map_err(value_error)?,
            rule: None,
            threads: 1,
            episode: None,
            vector: None,
        })
    }

    /// The bytes of this state.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        serde_json::to_writer(&mut bytes, self).expect("a state serialises");
        let digest = handoff_env::digest(&bytes);
        bytes.extend_from_slice(digest.as_bytes());
        bytes
    }

    /// Reads the state of a `class` from `bytes`, checking that they are whole, of this class
    /// and of this model version.
    pub fn from_bytes(class: &str, bytes: &[u8]) -> PyResult<Self> {
        let what = format!("{class} state");
        if !bytes.starts_with(MAGIC) {
            return Err(value_error(format!(
                "{what}: these bytes are not a pickled handoff_rl environment (they do not start \
                 with its header)"
            )));
        }
        if bytes.len() < MAGIC.len() + DIGEST_LEN {
            return Err(value_error(format!("{what}: truncated ({} bytes)", bytes.len())));
        }
        let (body, digest) = bytes.split_at(bytes.len() - DIGEST_LEN);
        if handoff_env::digest(body).as_bytes() != digest {
            return Err(value_error(format!(
                "{what}: damaged or truncated (its checksum does not match its {} bytes)",
                bytes.len()
            )));
        }
        let saved: Self = serde_json::from_slice(&body[MAGIC.len()..])
            .map_err(|e| value_error(format!("{what}: unreadable ({e})")))?;
        if saved.class != class {
            return Err(value_error(format!(
                "{what}: these bytes are the state of a {}, not of a {class}",
                saved.class
            )));
        }
        if saved.model_version != MODEL_VERSION {
            return Err(value_error(format!(
                "{what}: made on model version {}, and this handoff_rl simulates model version \
                 {MODEL_VERSION}; its episode would not continue as it began (docs/versions.md)",
                saved.model_version
            )));
        }
        Ok(saved)
    }

    /// The scenario read back, checked against the fingerprint it was saved with (a replayed
    /// trace whose file changed since is refused).
    pub fn options(&self) -> PyResult<EnvOptions> {
        let source = format!("the pickled {}'s scenario", self.class);
        let scenario = Scenario::from_toml(&source, &self.scenario).map_err(value_error)?;
        let fingerprint = scenario.fingerprint();
        if fingerprint != self.fingerprint {
            return Err(value_error(format!(
                "{source}: it resolves to other values here (fingerprint {fingerprint}, saved \
                 {}); a trace file it reads may have changed",
                self.fingerprint
            )));
        }
        EnvOptions::from_scenario(scenario)
    }
}

/// An action as a journal keeps it (candidate slots are fewer than 256, `env.candidates`).
pub fn journal_action(action: usize) -> u8 {
    u8::try_from(action).expect("candidate slots are fewer than 256")
}
