//! Checkpoints: a directory per checkpoint, written whole and then renamed into place, with a
//! manifest of checksums so that a damaged checkpoint is reported instead of loaded half-way.
//!
//! ```text
//! RUN/config.toml                     the resolved configuration
//! RUN/checkpoints/latest              the name of the newest checkpoint
//! RUN/checkpoints/ckpt-00000040/      model.bpk, optimizer.bpk, policy.bpk, learner.json
//!                                     (generator, buffers), state.json (counters,
//!                                     environments), model.json (the model version and
//!                                     scenario fingerprint it was trained on), manifest.json
//! RUN/best/                           the same, for the best policy by validation return
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use handoff_agents::net::NetConfig;
use handoff_agents::{LearnedPolicy, PolicyResolver};
use handoff_env::{MODEL_VERSION, ModelStamp, Policy, Scenario, observation_len};
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::config::{DeviceKind, TrainConfig};
use crate::error::TrainError;
use crate::learner::load_module;

/// The file of a checkpoint holding the acting network (a [`CandidateScorer`]).
pub const NETWORK_FILE: &str = "policy.bpk";

/// The file of a checkpoint holding its [`ModelStamp`]: the model version and the fingerprint of
/// the run's target scenario ([`crate::setup::target_scenario`]) when it was written.
pub const MODEL_FILE: &str = "model.json";

/// Checkpoints kept in a run directory (older ones are removed).
pub const KEEP: usize = 2;

/// The training loop's own state: counters and where each environment stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoopState {
    /// Iterations completed.
    pub iteration: u64,
    /// Environment steps taken (all environments).
    pub global_step: u64,
    /// Base seed of the vector environment.
    pub vector_seed: u64,
    /// Episodes each environment has started.
    pub episodes: Vec<u64>,
    /// Which environments the next step resets.
    pub needs_reset: Vec<bool>,
    /// The actions of each environment's current episode, to replay on resume.
    pub actions: Vec<Vec<u8>>,
    /// Returns of the most recent episodes (for the progress bar).
    pub recent_returns: Vec<f64>,
    /// The best validation return so far (its policy is in `RUN/best`).
    pub best_return: Option<f64>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    files: Vec<(String, u32)>,
}

/// The configuration file of a run directory.
pub fn config_path(run: &Path) -> PathBuf {
    run.join("config.toml")
}

fn checkpoints_dir(run: &Path) -> PathBuf {
    run.join("checkpoints")
}

fn fail(p: &Path, e: std::io::Error) -> TrainError {
    TrainError::write(p, e)
}

/// Writes a checkpoint named after `iteration`: `write` fills a fresh directory, the manifest is
/// added, then the directory is renamed into place and `latest` updated (both atomically).
pub fn save(
    run: &Path,
    iteration: u64,
    config: &TrainConfig,
    state: &LoopState,
    write: impl FnOnce(&Path) -> Result<(), TrainError>,
) -> Result<PathBuf, TrainError> {
    let root = checkpoints_dir(run);
    let name = format!("ckpt-{iteration:08}");
    let tmp = root.join(format!(".tmp-{name}"));
    fill(&tmp, config, state, write)?;
    let dest = root.join(&name);
    if dest.exists() {
        std::fs::remove_dir_all(&dest).map_err(|e| fail(&dest, e))?;
    }
    std::fs::rename(&tmp, &dest).map_err(|e| fail(&dest, e))?;
    let latest_tmp = root.join(".latest.tmp");
    std::fs::write(&latest_tmp, &name).map_err(|e| fail(&latest_tmp, e))?;
    std::fs::rename(&latest_tmp, root.join("latest")).map_err(|e| fail(&root, e))?;
    prune(&root)?;
    Ok(dest)
}

/// Writes the run's best policy so far (by validation return) to `RUN/best`, replacing the
/// previous one only once the new one is complete.
pub fn save_best(
    run: &Path,
    config: &TrainConfig,
    state: &LoopState,
    write: impl FnOnce(&Path) -> Result<(), TrainError>,
) -> Result<PathBuf, TrainError> {
    let tmp = run.join(".tmp-best");
    fill(&tmp, config, state, write)?;
    let dest = run.join("best");
    let old = run.join(".old-best");
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| fail(&old, e))?;
    }
    if dest.exists() {
        std::fs::rename(&dest, &old).map_err(|e| fail(&dest, e))?;
    }
    std::fs::rename(&tmp, &dest).map_err(|e| fail(&dest, e))?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(dest)
}

/// Fills a fresh directory `tmp` with a checkpoint: the learner's files, the configuration, the
/// loop state and a manifest of checksums.
fn fill(
    tmp: &Path,
    config: &TrainConfig,
    state: &LoopState,
    write: impl FnOnce(&Path) -> Result<(), TrainError>,
) -> Result<(), TrainError> {
    let tmp = tmp.to_path_buf();
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| fail(&tmp, e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| fail(&tmp, e))?;
    write(&tmp)?;
    std::fs::write(tmp.join("config.toml"), config.to_toml()).map_err(|e| fail(&tmp, e))?;
    let stamp = ModelStamp::of(&crate::setup::target_scenario(config)?);
    let stamp_json = serde_json::to_vec_pretty(&stamp).expect("stamps serialise");
    std::fs::write(tmp.join(MODEL_FILE), stamp_json).map_err(|e| fail(&tmp, e))?;
    let state_json = serde_json::to_vec(state).expect("loop state serialises");
    std::fs::write(tmp.join("state.json"), state_json).map_err(|e| fail(&tmp, e))?;
    let mut files = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&tmp)
        .map_err(|e| fail(&tmp, e))?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    for file in entries {
        let bytes = std::fs::read(tmp.join(&file)).map_err(|e| fail(&tmp, e))?;
        files.push((file, crc32fast::hash(&bytes)));
    }
    let manifest = serde_json::to_vec_pretty(&Manifest { files }).expect("manifest serialises");
    std::fs::write(tmp.join("manifest.json"), manifest).map_err(|e| fail(&tmp, e))
}

/// Removes all but the newest [`KEEP`] checkpoints.
fn prune(root: &Path) -> Result<(), TrainError> {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .map_err(|e| fail(root, e))?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("ckpt-"))
        .collect();
    names.sort();
    for old in names.iter().rev().skip(KEEP) {
        let _ = std::fs::remove_dir_all(root.join(old));
    }
    Ok(())
}

/// The policy a path names: the directory itself if it is a checkpoint, else the run's best
/// validated policy (`RUN/best`), else its newest checkpoint.
pub fn resolve_policy(path: &Path) -> Result<PathBuf, TrainError> {
    let best = path.join("best");
    if !path.join("manifest.json").exists() && best.join("manifest.json").exists() {
        return Ok(best);
    }
    resolve(path)
}

/// The newest checkpoint of a run directory, or the directory itself if it is a checkpoint.
pub fn resolve(path: &Path) -> Result<PathBuf, TrainError> {
    if path.join("manifest.json").exists() {
        return Ok(path.to_path_buf());
    }
    let latest = checkpoints_dir(path).join("latest");
    let name = std::fs::read_to_string(&latest).map_err(|_| {
        TrainError::Checkpoint(format!(
            "{}: no checkpoint here (neither a run directory nor a checkpoint)",
            path.display()
        ))
    })?;
    let dir = checkpoints_dir(path).join(name.trim());
    if !dir.is_dir() {
        return Err(TrainError::Checkpoint(format!(
            "{}: names a missing checkpoint {}",
            latest.display(),
            dir.display()
        )));
    }
    Ok(dir)
}

/// Checks every file of a checkpoint against its manifest and reads its configuration and loop
/// state.
pub fn open(dir: &Path) -> Result<(TrainConfig, LoopState), TrainError> {
    let corrupt = |what: String| {
        TrainError::Checkpoint(format!("checkpoint {} is corrupt: {what}", dir.display()))
    };
    let manifest: Manifest = serde_json::from_slice(
        &std::fs::read(dir.join("manifest.json")).map_err(|e| corrupt(format!("manifest: {e}")))?,
    )
    .map_err(|e| corrupt(format!("manifest: {e}")))?;
    for (file, crc) in &manifest.files {
        let bytes = std::fs::read(dir.join(file)).map_err(|e| corrupt(format!("{file}: {e}")))?;
        if crc32fast::hash(&bytes) != *crc {
            return Err(corrupt(format!("{file} does not match its checksum")));
        }
    }
    let text = std::fs::read_to_string(dir.join("config.toml"))
        .map_err(|e| corrupt(format!("config.toml: {e}")))?;
    let config = TrainConfig::from_toml(&dir.join("config.toml").display().to_string(), &text)?;
    let state: LoopState = serde_json::from_slice(
        &std::fs::read(dir.join("state.json")).map_err(|e| corrupt(format!("state.json: {e}")))?,
    )
    .map_err(|e| corrupt(format!("state.json: {e}")))?;
    Ok((config, state))
}

/// `None` when the checkpoint at `dir` (opened, with its configuration `config`) was trained on
/// today's model and its scenario as it resolves today, else one line naming both, the
/// checkpoint called `name`.
pub fn model_mismatch(dir: &Path, config: &TrainConfig, name: &str) -> Option<String> {
    let Ok(bytes) = std::fs::read(dir.join(MODEL_FILE)) else {
        return Some(format!(
            "{name} records no model version (trained before handoff 0.2.0): its numbers may \
             not hold on today's model (version {MODEL_VERSION}); train it again"
        ));
    };
    let recorded: ModelStamp = match serde_json::from_slice(&bytes) {
        Ok(stamp) => stamp,
        Err(e) => return Some(format!("{name}: {}: {e}", dir.join(MODEL_FILE).display())),
    };
    match crate::setup::target_scenario(config) {
        Ok(scenario) => recorded.mismatch(&ModelStamp::of(&scenario), name),
        Err(e) => Some(format!(
            "{name} was trained on scenario {}, which does not load today: {e}",
            config.scenario
        )),
    }
}

/// The greedy policy of a checkpoint (or of a run directory's best, else newest), called `name`, acting on
/// observations of `obs_len` floats. The scorer reads any number of candidate slots.
pub fn load_policy(path: &Path, name: &str, obs_len: usize) -> Result<LearnedPolicy, TrainError> {
    let dir = resolve_policy(path)?;
    let (config, _) = open(&dir)?;
    load_opened(&dir, &config, name, obs_len)
}

/// [`load_policy`] of the checkpoint `dir`, already checked by [`open`] (which read `config`).
fn load_opened(
    dir: &Path,
    config: &TrainConfig,
    name: &str,
    obs_len: usize,
) -> Result<LearnedPolicy, TrainError> {
    let device =
        crate::setup::device(config.device).or_else(|_| crate::setup::device(DeviceKind::Flex))?;
    // the initial weights are overwritten by the checkpoint's
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(0);
    let scorer = NetConfig::new(0).with_hidden(config.hidden).scorer(&mut rng, &device);
    let scorer = load_module(scorer, dir, NETWORK_FILE)?;
    Ok(LearnedPolicy::new(name, scorer, device, obs_len))
}

/// The prefix of a policy name that evaluates a checkpoint: `ckpt:DIR`.
pub const CHECKPOINT_PREFIX: &str = "ckpt:";

/// Makes policies by name: built-in heuristics with optional parameters, policy files and shipped
/// tuned policies ([`PolicyResolver`]), and trained ones (`ckpt:DIR`, a run directory or one
/// checkpoint); each checkpoint and policy file is loaded and checked once.
pub struct PolicyMaker {
    trained: HashMap<String, LearnedPolicy>,
    resolver: PolicyResolver,
}

impl PolicyMaker {
    /// Loads every policy among `names` that needs loading and checks the rest on `scenario`.
    ///
    /// A checkpoint or tuned policy file made on another model version or scenario fingerprint
    /// than today's ([`model_mismatch`], [`handoff_agents::PolicyFile::model_mismatch`]) is
    /// refused when `strict`, else noted in [`PolicyMaker::warnings`].
    pub fn new(names: &[String], scenario: &Scenario, strict: bool) -> Result<Self, TrainError> {
        let obs_len = observation_len(scenario.env.candidates as usize);
        let (mut trained, mut resolver) = (HashMap::new(), PolicyResolver::default());
        for name in names {
            let Some(path) = name.strip_prefix(CHECKPOINT_PREFIX) else {
                resolver.add(name, scenario, strict).map_err(TrainError::Config)?;
                continue;
            };
            let dir = resolve_policy(Path::new(path))?;
            let (config, _) = open(&dir)?;
            resolver
                .note_mismatch(model_mismatch(&dir, &config, name), strict)
                .map_err(TrainError::Config)?;
            let policy = load_opened(&dir, &config, name, obs_len)?;
            trained.insert(name.clone(), policy);
        }
        Ok(Self { trained, resolver })
    }

    /// One line for each checkpoint or policy file made on another model than today's.
    pub fn warnings(&self) -> &[String] {
        self.resolver.warnings()
    }

    /// The policy called `name`.
    pub fn make(&self, name: &str, scenario: &Scenario) -> Result<Box<dyn Policy>, String> {
        match self.trained.get(name) {
            Some(p) => Ok(Box::new(p.clone())),
            None => self.resolver.make(name, scenario),
        }
    }
}
