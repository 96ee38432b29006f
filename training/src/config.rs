//! The hyperparameters of a training run, read from TOML with a default for every value.
//!
//! `handoff train --config FILE` reads one; every command-line flag overrides it; the resolved
//! configuration is saved as `config.toml` in the run directory, and a resumed run must match it.

use handoff_env::DecisionKind;
use serde::{Deserialize, Serialize};

use crate::error::TrainError;

/// The most environment steps a run may train for.
pub const MAX_STEPS: u64 = 1_000_000_000_000;
/// The most environments a run may step together.
pub const MAX_ENVS: u64 = 1024;

/// Which learner (a clap `ValueEnum`: `--algo` and the configuration's `algo` name the same
/// variants).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Algo {
    /// The best rule with its decisions (routing, attention, assignment) corrected by rollout
    /// comparisons on common random numbers
    Rollout,
    /// Proximal policy optimisation with a masked categorical policy, kickstarted from the best
    /// rule
    Ppo,
    /// Double DQN with a target network and a replay buffer, kickstarted from the best rule
    Dqn,
}

impl Algo {
    /// The name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Algo::Rollout => "rollout",
            Algo::Ppo => "ppo",
            Algo::Dqn => "dqn",
        }
    }
}

/// Where the networks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// Burn's pure-Rust CPU backend, always built (`cpu` is accepted too).
    #[serde(alias = "cpu")]
    Flex,
    /// A GPU through wgpu, with the cargo feature `wgpu`.
    Wgpu,
    /// An NVIDIA GPU through CUDA, with the cargo feature `cuda`.
    Cuda,
}

impl DeviceKind {
    /// The name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            DeviceKind::Flex => "flex",
            DeviceKind::Wgpu => "wgpu",
            DeviceKind::Cuda => "cuda",
        }
    }

    /// Whether this build has the device's backend.
    pub fn is_built(self) -> bool {
        match self {
            DeviceKind::Flex => true,
            DeviceKind::Wgpu => cfg!(feature = "wgpu"),
            DeviceKind::Cuda => cfg!(feature = "cuda"),
        }
    }

    /// An error unless this build has the device's backend, saying how to get it.
    pub fn check_built(self) -> Result<(), String> {
        if self.is_built() {
            return Ok(());
        }
        Err(format!(
            "device \"{}\" is not available in this build (rebuild with --features {})",
            self.name(),
            self.name()
        ))
    }
}

impl std::str::FromStr for DeviceKind {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "flex" | "cpu" => Ok(DeviceKind::Flex),
            "wgpu" => Ok(DeviceKind::Wgpu),
            "cuda" => Ok(DeviceKind::Cuda),
            other => Err(format!(
                "device \"{other}\" is not available (devices: flex; wgpu or cuda when built with \
                 --features wgpu or --features cuda)"
            )),
        }
    }
}

/// The heuristic PPO imitates at the start of a run, or none; written as its name (`""` for
/// none, `"best"` for the best rule) in configuration files: a built-in heuristic, optionally
/// with parameters (`c-mu@max_chats=3`), a shipped tuned policy or a policy file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum TeacherPolicy {
    /// PPO from scratch.
    None,
    /// The best built-in or shipped tuned rule on the run's validation seeds of the scenario at
    /// full size over its own days, the rule the default learner starts from.
    Best,
    /// A heuristic as `handoff eval --policy` names it (see `handoff policies`).
    Builtin(String),
}

/// How a configuration file names [`TeacherPolicy::Best`].
const BEST_TEACHER: &str = "best";

impl TeacherPolicy {
    /// Whether PPO or DQN has a teacher.
    pub fn has_teacher(&self) -> bool {
        *self != TeacherPolicy::None
    }
}

impl TryFrom<String> for TeacherPolicy {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        if name.is_empty() {
            Ok(TeacherPolicy::None)
        } else if name == BEST_TEACHER {
            Ok(TeacherPolicy::Best)
        } else {
            handoff_agents::spec::policy_file(&name).map_err(|e| e.to_string())?;
            Ok(TeacherPolicy::Builtin(name))
        }
    }
}

impl From<TeacherPolicy> for String {
    fn from(teacher: TeacherPolicy) -> String {
        match teacher {
            TeacherPolicy::None => String::new(),
            TeacherPolicy::Best => BEST_TEACHER.to_string(),
            TeacherPolicy::Builtin(name) => name,
        }
    }
}

/// A whole training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// The learner.
    pub algo: Algo,
    /// Scenario name or path.
    pub scenario: String,
    /// Decision kinds the agent makes (`route`, `attend`); empty keeps the scenario's.
    pub control: Vec<DecisionKind>,
    /// Simulated days per training episode (0 keeps the scenario's).
    pub days: u32,
    /// Scale of workers and arrivals for training (same load per worker).
    pub scale: f64,
    /// Add workers to the scaled-down training centre until its customers wait as long as in
    /// the full-size scenario (see [`crate::setup::training_scenario`]).
    pub match_waits: bool,
    /// Seed of everything: networks, environments, sampling.
    pub seed: u64,
    /// Environment steps to train for.
    pub steps: u64,
    /// Environments stepped together.
    pub envs: usize,
    /// Hidden units per layer.
    pub hidden: usize,
    /// Compute device: `flex` (CPU, default) or a GPU backend compiled in by a cargo feature.
    pub device: DeviceKind,
    /// Write a checkpoint every this many updates (and always at the end).
    pub checkpoint_every: u64,
    /// Evaluate against the best heuristic every this many updates (0: only at the end).
    pub eval_every: u64,
    /// Held-out seeds of each periodic evaluation.
    pub eval_seeds: u64,
    /// PPO's hyperparameters.
    pub ppo: PpoConfig,
    /// DQN's hyperparameters.
    pub dqn: DqnConfig,
    /// The rollout learner's settings.
    pub rollout: RolloutConfig,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            algo: Algo::Rollout,
            scenario: "taobao".to_string(),
            control: Vec::new(),
            days: 1,
            scale: 0.05,
            match_waits: true,
            seed: 1,
            steps: 4_000_000,
            envs: 16,
            hidden: 32,
            device: DeviceKind::Flex,
            checkpoint_every: 20,
            eval_every: 50,
            eval_seeds: 4,
            ppo: PpoConfig::default(),
            dqn: DqnConfig::default(),
            rollout: RolloutConfig::default(),
        }
    }
}

/// The keys of a configuration the rollout learner does not read.
const ROLLOUT_UNUSED: &[&str] = &[
    "scale",
    "match_waits",
    "steps",
    "envs",
    "hidden",
    "device",
    "checkpoint_every",
    "eval_every",
    "ppo",
    "dqn",
];

/// The rollout learner's settings (`crate::rollout`). It trains on the scenario at full size
/// over `days` (`scale` and `match_waits` are PPO's and DQN's), and is judged there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RolloutConfig {
    /// The rule to improve: a built-in or shipped tuned policy, with parameters or from a file,
    /// as `handoff eval --policy` takes it; "" for the best of the built-in and shipped tuned
    /// rules on `eval_seeds` validation episodes of the scenario's own length.
    pub rule: String,
    /// Training episodes per iteration (seeds hashed from `seed`, never validation or test
    /// seeds).
    pub seeds: u64,
    /// The decision kinds to correct, each one the scenario gives the agent (`env.control`);
    /// empty for all of them. Route covers the AI-or-worker routing and the pace correction.
    pub kinds: Vec<DecisionKind>,
    /// Share of the AI-or-worker decisions compared by rollout.
    pub share: f64,
    /// Share of the decisions that give a chat to a worker, with a quicker equally loaded
    /// worker on offer, compared by rollout with that worker (0: no pace correction).
    pub pace_share: f64,
    /// Share of the attend decisions (which chat a ready worker answers or takes over, or
    /// none) compared by rollout, the rule's choice against another valid option.
    pub attend_share: f64,
    /// Share of the assign decisions (which queued chat a worker with a free slot takes, or
    /// none) compared by rollout, the rule's choice against another valid option.
    pub assign_share: f64,
    /// What an attend or assign comparison credits the option with.
    pub credit: Credit,
    /// Simulated seconds over which `credit = "horizon"` adds up the centre's reward.
    pub horizon_s: f64,
    /// Rounds of policy iteration: each collects under the policy the last one made.
    pub iterations: u64,
    /// Candidate values of a human reply saved for the other customers, in reward; the one
    /// with the best mean return on `validation_seeds` is kept.
    pub reply_values: Vec<f64>,
    /// Candidate values of a human reply for the attend and the assign corrections (one chosen
    /// for each, as for `reply_values`): a worker's reply given to one of the chats a choice
    /// touches is taken from the customers it does not count, and on a loaded centre it is
    /// worth more than the AI's saved reply.
    pub option_reply_values: Vec<f64>,
    /// Validation seeds (from 1000000) on which the reply value is chosen.
    pub validation_seeds: u64,
    /// How far, in paired standard errors of the validation seeds, the best candidate must beat
    /// every candidate with fewer corrections for its corrections to stay: a dozen noisy
    /// candidates' best beats the rule by about two standard errors by luck alone.
    pub keep_se: f64,
    /// Simulated days of those validation episodes (0: the scenario's own). One day is enough
    /// where a chat's consequences end with the day; with returning retrials they do not.
    pub validation_days: u32,
    /// Ridge penalty of the regressions, per sample.
    pub ridge: f64,
    /// Whether to write every rollout comparison into the run (`RUN/rollouts/KIND.csv`: the
    /// iteration, the training seed, what the other option changed and the decision's
    /// features by name), a data set for fitting other scorers than the learner's ridge
    /// regressions.
    pub save_comparisons: bool,
}

impl RolloutConfig {
    /// Training episodes of the whole run: `seeds` in each of `iterations`.
    pub fn episodes(&self) -> u64 {
        self.seeds * self.iterations
    }
}

impl Default for RolloutConfig {
    fn default() -> Self {
        Self {
            rule: String::new(),
            seeds: 16,
            kinds: Vec::new(),
            share: 1.0,
            pace_share: 0.05,
            attend_share: 0.25,
            assign_share: 0.25,
            credit: Credit::Chats,
            horizon_s: 1_800.0,
            iterations: 1,
            reply_values: vec![0.0, 0.04, 0.08, 0.12, 0.14, 0.16, 0.18, 0.2, 0.24, 0.32],
            option_reply_values: vec![0.0, 0.2, 0.4, 0.8, 1.6],
            validation_seeds: 16,
            keep_se: 2.0,
            validation_days: 1,
            ridge: 1e-4,
            save_comparisons: false,
        }
    }
}

/// What the rollout learner credits an attend or assign option with. A worker's choice of
/// chat delays their other chats; both credits compare the options on common random numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Credit {
    /// The summed reward of the chats the decision touches (the worker's held chats and every
    /// option's chat), each to its end (`HandoffEnv::rollout_touched`). The default: its
    /// comparisons are the least noisy, and no chat is cut off half-way (docs/rollout.md).
    Chats,
    /// The whole centre's reward over `horizon_s` (`HandoffEnv::rollout_return`): every
    /// customer the choice affects, but chats that end after the horizon are left out.
    Horizon,
}

/// PPO's hyperparameters, named as in CleanRL's `ppo.py`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PpoConfig {
    /// Adam's learning rate at the start.
    pub learning_rate: f64,
    /// Anneal the learning rate linearly to zero.
    pub anneal_lr: bool,
    /// Steps per environment per rollout.
    pub num_steps: usize,
    /// Discount per decision.
    pub gamma: f64,
    /// GAE's lambda.
    pub gae_lambda: f64,
    /// Minibatches per epoch.
    pub num_minibatches: usize,
    /// Epochs over each rollout.
    pub update_epochs: usize,
    /// Normalise advantages per minibatch.
    pub norm_adv: bool,
    /// The surrogate's clipping coefficient.
    pub clip_coef: f64,
    /// Clip the value loss too.
    pub clip_vloss: bool,
    /// Entropy bonus coefficient.
    pub ent_coef: f64,
    /// Value loss coefficient.
    pub vf_coef: f64,
    /// Gradient norm clip.
    pub max_grad_norm: f64,
    /// Rewards are multiplied by this before learning (returns are logged unscaled).
    pub reward_scale: f64,
    /// The rule to imitate at the start: "best" (the default: the best built-in or shipped
    /// tuned rule on the validation seeds), a heuristic as `handoff eval --policy` names it, or
    /// "" for none (PPO from scratch).
    pub teacher: TeacherPolicy,
    /// Environment steps spent imitating the teacher.
    pub teacher_steps: u64,
    /// Weight of the teacher's cross-entropy in PPO's loss after imitation, fading linearly to
    /// zero by the end of the run (0: none). Enough to keep PPO from drifting away from the
    /// teacher's level, little enough to let it improve on the teacher (0.3 against 1.0 on
    /// taobao: see the README's results).
    pub teacher_coef: f64,
}

impl Default for PpoConfig {
    fn default() -> Self {
        Self {
            learning_rate: 3e-4,
            anneal_lr: true,
            num_steps: 128,
            gamma: 0.995,
            gae_lambda: 0.95,
            num_minibatches: 4,
            update_epochs: 4,
            norm_adv: true,
            clip_coef: 0.2,
            clip_vloss: true,
            ent_coef: 0.01,
            vf_coef: 0.5,
            max_grad_norm: 0.5,
            reward_scale: 1.0,
            teacher: TeacherPolicy::Best,
            teacher_steps: 300_000,
            teacher_coef: 0.3,
        }
    }
}

/// DQN's hyperparameters, named as in CleanRL's `dqn.py`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DqnConfig {
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Transitions kept in the replay buffer.
    pub buffer_size: usize,
    /// Discount per decision.
    pub gamma: f64,
    /// Environment steps between copies of the online network into the target network.
    pub target_network_frequency: u64,
    /// Transitions per gradient step.
    pub batch_size: usize,
    /// Exploration rate when exploration starts (after the teacher's steps). Lower than
    /// CleanRL's 1.0, which would throw away a kickstarted start; set 1.0 with `teacher = ""`.
    pub start_e: f64,
    /// Exploration rate at the end of the schedule.
    pub end_e: f64,
    /// Share of the run over which exploration falls linearly.
    pub exploration_fraction: f64,
    /// Steps before learning starts.
    pub learning_starts: u64,
    /// Environment steps between gradient steps.
    pub train_frequency: u64,
    /// Gradient norm clip.
    pub max_grad_norm: f64,
    /// Rewards are multiplied by this before learning.
    pub reward_scale: f64,
    /// The rule to start from, as `ppo.teacher` names it ("best" by default, "" for none): it
    /// acts for `teacher_steps` steps, and its choice in every transition's state feeds the
    /// large-margin loss.
    pub teacher: TeacherPolicy,
    /// Environment steps in which the teacher acts (exploration starts after them).
    pub teacher_steps: u64,
    /// How far above every other valid action the large-margin loss lifts the teacher's, in
    /// the Q-values' units (DQfD's 0.8).
    pub margin: f64,
    /// Weight of the large-margin loss beside the TD loss, the whole run (0: none).
    pub margin_coef: f64,
}

impl Default for DqnConfig {
    fn default() -> Self {
        Self {
            learning_rate: 2.5e-4,
            buffer_size: 100_000,
            gamma: 0.99,
            target_network_frequency: 1_000,
            batch_size: 128,
            start_e: 0.2,
            end_e: 0.05,
            exploration_fraction: 0.5,
            learning_starts: 10_000,
            train_frequency: 10,
            max_grad_norm: 10.0,
            reward_scale: 1.0,
            teacher: TeacherPolicy::Best,
            teacher_steps: 100_000,
            margin: 0.8,
            margin_coef: 1.0,
        }
    }
}

impl TrainConfig {
    /// Reads a configuration from TOML; missing values take their defaults.
    pub fn from_toml(source: &str, text: &str) -> Result<Self, TrainError> {
        toml::from_str(text).map_err(|e| {
            TrainError::Config(format!(
                "{source}: {}",
                handoff_env::scenario::toml_error_line(text, &e)
            ))
        })
    }

    /// The configuration as TOML. A rollout run's file leaves out the keys only PPO and DQN read
    /// (`scale`, `steps`, `envs`, the networks, `[ppo]`, `[dqn]`), which would otherwise
    /// describe a training it never did; PPO's and DQN's files keep every section.
    pub fn to_toml(&self) -> String {
        let mut value = toml::Value::try_from(self).expect("a training configuration serialises");
        if self.algo == Algo::Rollout
            && let Some(table) = value.as_table_mut()
        {
            for key in ROLLOUT_UNUSED {
                table.remove(*key);
            }
        }
        toml::to_string_pretty(&value).expect("a training configuration serialises")
    }

    /// Checks every value's range; the error names the field and the allowed range.
    pub fn validate(&self) -> Result<(), TrainError> {
        self.check_ranges().map_err(TrainError::Config)
    }

    fn check_ranges(&self) -> Result<(), String> {
        fn range(field: &str, x: f64, lo: f64, hi: f64) -> Result<(), String> {
            if x.is_finite() && (lo..=hi).contains(&x) {
                Ok(())
            } else {
                Err(format!("{field} = {x} is out of range (allowed {lo} to {hi})"))
            }
        }
        handoff_env::scenario::check_scale(self.scale).map_err(|e| format!("scale = {e}"))?;
        range("steps", self.steps as f64, 1.0, MAX_STEPS as f64)?;
        range("envs", self.envs as f64, 1.0, MAX_ENVS as f64)?;
        range("hidden", self.hidden as f64, 1.0, 4096.0)?;
        range("eval_seeds", self.eval_seeds as f64, 1.0, 10_000.0)?;
        range("checkpoint_every", self.checkpoint_every as f64, 1.0, 1e9)?;
        self.device.check_built()?;
        let p = &self.ppo;
        range("ppo.learning_rate", p.learning_rate, 0.0, 1.0)?;
        range("ppo.num_steps", p.num_steps as f64, 1.0, 1e6)?;
        range("ppo.gamma", p.gamma, 0.0, 1.0)?;
        range("ppo.gae_lambda", p.gae_lambda, 0.0, 1.0)?;
        range(
            "ppo.num_minibatches",
            p.num_minibatches as f64,
            1.0,
            (p.num_steps * self.envs) as f64,
        )?;
        range("ppo.update_epochs", p.update_epochs as f64, 1.0, 1000.0)?;
        range("ppo.clip_coef", p.clip_coef, 0.0, 10.0)?;
        range("ppo.ent_coef", p.ent_coef, 0.0, 10.0)?;
        range("ppo.vf_coef", p.vf_coef, 0.0, 100.0)?;
        range("ppo.max_grad_norm", p.max_grad_norm, 1e-6, 1e6)?;
        range("ppo.reward_scale", p.reward_scale, 1e-9, 1e9)?;
        range("ppo.teacher_coef", p.teacher_coef, 0.0, 1e6)?;
        let d = &self.dqn;
        range("dqn.learning_rate", d.learning_rate, 0.0, 1.0)?;
        range("dqn.buffer_size", d.buffer_size as f64, 1.0, 1e8)?;
        range("dqn.gamma", d.gamma, 0.0, 1.0)?;
        range("dqn.target_network_frequency", d.target_network_frequency as f64, 1.0, 1e12)?;
        range("dqn.batch_size", d.batch_size as f64, 1.0, 1e6)?;
        range("dqn.start_e", d.start_e, 0.0, 1.0)?;
        range("dqn.end_e", d.end_e, 0.0, 1.0)?;
        range("dqn.exploration_fraction", d.exploration_fraction, 0.0, 1.0)?;
        range("dqn.train_frequency", d.train_frequency as f64, 1.0, 1e9)?;
        range("dqn.max_grad_norm", d.max_grad_norm, 1e-6, 1e6)?;
        range("dqn.reward_scale", d.reward_scale, 1e-9, 1e9)?;
        range("dqn.margin", d.margin, 0.0, 1e6)?;
        range("dqn.margin_coef", d.margin_coef, 0.0, 1e6)?;
        let r = &self.rollout;
        range("rollout.seeds", r.seeds as f64, 1.0, 100_000.0)?;
        range("rollout.share", r.share, 1e-6, 1.0)?;
        range("rollout.pace_share", r.pace_share, 0.0, 1.0)?;
        range("rollout.attend_share", r.attend_share, 0.0, 1.0)?;
        range("rollout.assign_share", r.assign_share, 0.0, 1.0)?;
        range("rollout.horizon_s", r.horizon_s, 1.0, 86_400.0)?;
        range("rollout.iterations", r.iterations as f64, 1.0, 100.0)?;
        range("rollout.validation_seeds", r.validation_seeds as f64, 2.0, 10_000.0)?;
        range("rollout.keep_se", r.keep_se, 0.0, 10.0)?;
        range("rollout.validation_days", f64::from(r.validation_days), 0.0, 3650.0)?;
        range("rollout.ridge", r.ridge, 0.0, 1e6)?;
        if r.reply_values.is_empty() {
            return Err("rollout.reply_values: give at least one value".to_string());
        }
        for &v in &r.reply_values {
            range("rollout.reply_values", v, 0.0, 1e3)?;
        }
        if r.option_reply_values.is_empty() {
            return Err("rollout.option_reply_values: give at least one value".to_string());
        }
        for &v in &r.option_reply_values {
            range("rollout.option_reply_values", v, 0.0, 1e3)?;
        }
        if !r.rule.is_empty() {
            handoff_agents::spec::policy_file(&r.rule).map_err(|e| format!("rollout.rule: {e}"))?;
        }
        Ok(())
    }
}
