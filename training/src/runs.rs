//! Run directories: a fresh numbered one per run (`runs/run-001`, `runs/run-002`, ...), a
//! `latest` link to the newest, and a summary of each run for `handoff runs`.

use std::path::{Path, PathBuf};

use crate::checkpoint;
use crate::config::{Algo, TrainConfig};
use crate::error::TrainError;

/// Where runs go when no directory is named.
pub const RUNS_ROOT: &str = "runs";

/// The name of the link to the newest run in a runs folder.
pub const LATEST: &str = "latest";

/// The first `run-NNN` directory under `root` that does not exist yet.
pub fn next_run_dir(root: &Path) -> PathBuf {
    (1..)
        .map(|n| root.join(format!("run-{n:03}")))
        .find(|dir| !dir.exists())
        .expect("some run number is free")
}

/// Points `root/latest` at `run` (a relative symbolic link), replacing an older link; a real file
/// or directory of that name is left alone. Does nothing where symbolic links are unsupported.
pub fn link_latest(root: &Path, run: &Path) -> Result<(), TrainError> {
    let link = root.join(LATEST);
    match std::fs::symlink_metadata(&link) {
        Ok(meta) if !meta.file_type().is_symlink() => return Ok(()),
        Ok(_) => std::fs::remove_file(&link).map_err(|e| TrainError::write(&link, e))?,
        Err(_) => {}
    }
    let target = run.file_name().map_or_else(|| run.to_path_buf(), PathBuf::from);
    #[cfg(unix)]
    std::os::unix::fs::symlink(&target, &link).map_err(|e| TrainError::write(&link, e))?;
    #[cfg(not(unix))]
    let _ = target;
    Ok(())
}

/// What `handoff runs` shows of one run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunSummary {
    /// The run directory.
    pub dir: PathBuf,
    /// The learner.
    pub algo: String,
    /// The scenario trained on.
    pub scenario: String,
    /// What `steps` counts: environment steps (PPO, DQN) or training episodes (rollout).
    pub unit: &'static str,
    /// Steps of the whole run.
    pub steps: u64,
    /// Steps of the newest checkpoint, or of the finished rollout run (0 when there is none).
    pub checkpoint_step: u64,
    /// Whether the newest checkpoint ends the run (a rollout run: whether its policy file is
    /// written).
    pub complete: bool,
    /// The best validation return (its policy is in `best/`), if the run validated.
    pub best_return: Option<f64>,
    /// What is wrong with the run's newest checkpoint, if anything.
    pub problem: Option<String>,
    /// Whether the newest checkpoint was made on another model than today's, and on which.
    pub model_mismatch: Option<String>,
}

/// Every run directory directly under `root` (a folder with a `config.toml`), sorted by name;
/// the `latest` link is not listed twice.
pub fn list_runs(root: &Path) -> Vec<RunSummary> {
    let Ok(entries) = std::fs::read_dir(root) else { return Vec::new() };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name() != LATEST)
        .map(|e| e.path())
        .filter(|p| checkpoint::config_path(p).is_file())
        .collect();
    dirs.sort();
    dirs.into_iter().filter_map(|dir| summarise(&dir)).collect()
}

/// The summary of the run in `dir`, `None` when its configuration does not read.
pub fn summarise(dir: &Path) -> Option<RunSummary> {
    let path = checkpoint::config_path(dir);
    let text = std::fs::read_to_string(&path).ok()?;
    let config = TrainConfig::from_toml(&path.display().to_string(), &text).ok()?;
    let mut summary = RunSummary {
        dir: dir.to_path_buf(),
        algo: config.algo.name().to_string(),
        scenario: config.scenario.clone(),
        unit: "steps",
        steps: config.steps,
        checkpoint_step: 0,
        complete: false,
        best_return: None,
        problem: None,
        model_mismatch: None,
    };
    if config.algo == Algo::Rollout {
        return Some(rollout_summary(dir, &config, summary));
    }
    if !dir.join("checkpoints").join(LATEST).exists() {
        summary.problem = Some("no checkpoint yet".to_string());
        return Some(summary);
    }
    match checkpoint::resolve(dir).and_then(|c| checkpoint::open(&c).map(|opened| (c, opened))) {
        Ok((newest, (config, state))) => {
            let name = dir.display().to_string();
            summary.model_mismatch = checkpoint::model_mismatch(&newest, &config, &name);
            summary.checkpoint_step = state.global_step;
            summary.complete = state.global_step >= config.steps;
            summary.best_return = state.best_return;
        }
        Err(e) => summary.problem = Some(e.to_string()),
    }
    Some(summary)
}

/// The summary of a rollout run: complete once its policy file is written (a rollout run is
/// not checkpointed), its validation return the last one logged.
fn rollout_summary(dir: &Path, config: &TrainConfig, summary: RunSummary) -> RunSummary {
    let episodes = config.rollout.episodes();
    let complete = dir.join(crate::run::CORRECTED_RULE_FILE).is_file();
    RunSummary {
        unit: "episodes",
        steps: episodes,
        checkpoint_step: if complete { episodes } else { 0 },
        complete,
        best_return: crate::logger::read_scalars(dir, "eval/return").last().map(|&(_, v)| v),
        problem: (!complete).then(|| "no policy yet: start it again".to_string()),
        model_mismatch: if complete { rollout_model_mismatch(dir, config) } else { None },
        ..summary
    }
}

/// Whether the policy file of the finished rollout run in `dir` was fitted on another model
/// than today's, as `handoff eval --strict` would say.
fn rollout_model_mismatch(dir: &Path, config: &TrainConfig) -> Option<String> {
    let name = dir.display().to_string();
    let path = dir.join(crate::run::CORRECTED_RULE_FILE);
    let file = match handoff_agents::spec::PolicyFile::load(&path) {
        Ok(file) => file,
        Err(e) => return Some(e.to_string()),
    };
    let record = file.correction?;
    match handoff_env::Scenario::load(&config.scenario) {
        Ok(mut scenario) => {
            scenario.days = record.days;
            record.model.mismatch(&handoff_env::ModelStamp::of(&scenario), &name)
        }
        Err(e) => Some(format!(
            "{name} was trained on scenario {}, which does not load today: {e}",
            config.scenario
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_directories_are_numbered_and_latest_follows_the_newest() {
        let root = std::env::temp_dir().join(format!("handoff-runs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let first = next_run_dir(&root);
        assert_eq!(first, root.join("run-001"));
        std::fs::create_dir_all(&first).unwrap();
        link_latest(&root, &first).unwrap();
        let second = next_run_dir(&root);
        assert_eq!(second, root.join("run-002"));
        std::fs::create_dir_all(&second).unwrap();
        std::fs::write(second.join("marker"), "2").unwrap();
        link_latest(&root, &second).unwrap();
        assert_eq!(std::fs::read_to_string(root.join(LATEST).join("marker")).unwrap(), "2");
        // a real directory called latest is never replaced
        let other = root.join("other");
        std::fs::create_dir_all(other.join(LATEST)).unwrap();
        link_latest(&other, &second).unwrap();
        assert!(!std::fs::symlink_metadata(other.join(LATEST)).unwrap().file_type().is_symlink());
        let _ = std::fs::remove_dir_all(&root);
    }
}
