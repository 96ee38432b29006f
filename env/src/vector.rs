//! N environments stepped as a batch, with Gymnasium 1.x next-step autoreset.
//!
//! Environment `i` of a vector reset with seed `s` runs its `k`-th episode on
//! [`VectorEnv::episode_seed`]`(s, i, k)`. When a sub-environment terminates or is truncated at a
//! step, that step returns its final observation, reward and flags; on the *next* step its action
//! is ignored, it resets, and it returns the first observation of the new episode with reward 0
//! and both flags false (Gymnasium's `AutoresetMode.NEXT_STEP`, the 1.x default). An episode that
//! offers the agent no decision at all is reported terminated as it starts. Sub-environments are
//! independent, so results do not depend on the number of threads.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use ndarray::{Array2, Axis};

use crate::env::{HandoffEnv, Info};
use crate::error::StepError;
use crate::rng::splitmix64;

/// An invalid action for one sub-environment: nothing was stepped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment {index}: {error}")]
pub struct VectorStepError {
    /// Which sub-environment.
    pub index: usize,
    /// What was wrong.
    pub error: StepError,
}

/// A batch of environments.
#[derive(Debug)]
pub struct VectorEnv {
    envs: Vec<HandoffEnv>,
    base_seed: u64,
    episodes: Vec<u64>,
    needs_reset: Vec<bool>,
    observations: Array2<f32>,
    masks: Array2<bool>,
    rewards: Vec<f64>,
    terminated: Vec<bool>,
    truncated: Vec<bool>,
    infos: Vec<Option<Info>>,
    /// The threads that step all parts but one, which the caller's thread steps, kept for the
    /// vector's life; `None` steps everything on the caller's thread.
    helpers: Option<Helpers>,
}

/// The vector's helper threads: a `micropool` pool, whose threads spin a while for the next
/// step before they sleep and whose caller steps a part itself. A step of 64 environments of
/// `small` is about 55 µs of work; handing half of it to a sleeping thread and waiting for it
/// cost 15-18 µs with a rayon pool on this project's 2-core host (the thread's wake-up and the
/// caller's), so two threads were no faster than one; with this pool two threads step 1.6-1.7
/// times as many (docs/speed.md).
struct Helpers(micropool::ThreadPool);

impl std::fmt::Debug for Helpers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Helpers({} threads)", self.0.num_threads())
    }
}

impl VectorEnv {
    /// A vector of `envs` (at least one, all on scenarios with the same candidate count).
    pub fn new(envs: Vec<HandoffEnv>) -> Self {
        assert!(!envs.is_empty(), "a vector environment needs at least one environment");
        let n = envs.len();
        let obs_len = envs[0].observation_len();
        let actions = envs[0].action_space().n;
        assert!(
            envs.iter().all(|e| e.observation_len() == obs_len),
            "all environments of a vector need the same candidate count"
        );
        Self {
            envs,
            base_seed: 0,
            episodes: vec![0; n],
            needs_reset: vec![false; n],
            observations: Array2::zeros((n, obs_len)),
            masks: Array2::from_elem((n, actions), false),
            rewards: vec![0.0; n],
            terminated: vec![false; n],
            truncated: vec![false; n],
            infos: vec![None; n],
            helpers: None,
        }
    }

    /// Steps the environments on up to `threads` threads: the caller's and helpers the vector
    /// keeps for its life. Results are the same for any number. More threads than cores only
    /// wait for each other.
    pub fn with_threads(mut self, threads: usize) -> Self {
        let threads = threads.clamp(1, self.envs.len());
        self.helpers = (threads > 1).then(|| {
            Helpers(micropool::ThreadPoolBuilder::default().num_threads(threads - 1).build())
        });
        self
    }

    /// Number of environments.
    pub fn len(&self) -> usize {
        self.envs.len()
    }

    /// Whether the vector is empty (never: construction needs one environment).
    pub fn is_empty(&self) -> bool {
        self.envs.is_empty()
    }

    /// The sub-environments.
    pub fn envs(&self) -> &[HandoffEnv] {
        &self.envs
    }

    /// The seed of episode `episode` of environment `index` in a vector reset with `seed`.
    pub fn episode_seed(seed: u64, index: usize, episode: u64) -> u64 {
        splitmix64(splitmix64(seed ^ splitmix64(index as u64)).wrapping_add(episode))
    }

    /// Encoded observations, one row per environment.
    pub fn observations(&self) -> &Array2<f32> {
        &self.observations
    }

    /// Action masks, one row per environment.
    pub fn masks(&self) -> &Array2<bool> {
        &self.masks
    }

    /// Rewards of the last step.
    pub fn rewards(&self) -> &[f64] {
        &self.rewards
    }

    /// Termination flags of the last step.
    pub fn terminated(&self) -> &[bool] {
        &self.terminated
    }

    /// Truncation flags of the last step.
    pub fn truncated(&self) -> &[bool] {
        &self.truncated
    }

    /// Infos of the last step (`None` for an environment that was autoreset).
    pub fn infos(&self) -> &[Option<Info>] {
        &self.infos
    }

    /// The base seed of the last [`reset`](Self::reset).
    pub fn base_seed(&self) -> u64 {
        self.base_seed
    }

    /// Episodes each environment has started since the last reset.
    pub fn episodes(&self) -> &[u64] {
        &self.episodes
    }

    /// Which environments the next step resets (their last step ended an episode).
    pub fn needs_reset(&self) -> &[bool] {
        &self.needs_reset
    }

    /// Puts the vector back where a run left it, by replay: environment `i` restarts episode
    /// `episodes[i]` of base seed `seed` and takes `actions[i]`, the actions of that episode so
    /// far. The environments are deterministic, so this restores their state exactly; a
    /// replay that fails, or ends elsewhere than `needs_reset` says, is reported.
    pub fn restore(
        &mut self,
        seed: u64,
        episodes: &[u64],
        needs_reset: &[bool],
        actions: &[Vec<u8>],
    ) -> Result<(), VectorStepError> {
        let n = self.envs.len();
        assert!(
            episodes.len() == n && needs_reset.len() == n && actions.len() == n,
            "one entry per environment"
        );
        self.base_seed = seed;
        for (i, env) in self.envs.iter_mut().enumerate() {
            let episode = episodes[i].saturating_sub(1);
            env.reset(Self::episode_seed(seed, i, episode));
            for &a in &actions[i] {
                env.step(usize::from(a)).map_err(|error| VectorStepError { index: i, error })?;
            }
            if env.is_over() != needs_reset[i] {
                return Err(VectorStepError { index: i, error: StepError::EpisodeOver });
            }
            env.observation()
                .encode(self.observations.row_mut(i).as_slice_mut().expect("rows are contiguous"));
            for (m, &v) in self.masks.row_mut(i).iter_mut().zip(env.action_mask()) {
                *m = v;
            }
        }
        self.episodes.copy_from_slice(episodes);
        self.needs_reset.copy_from_slice(needs_reset);
        self.rewards.iter_mut().for_each(|r| *r = 0.0);
        self.terminated.copy_from_slice(needs_reset);
        self.truncated.iter_mut().for_each(|t| *t = false);
        self.infos.iter_mut().for_each(|i| *i = None);
        Ok(())
    }

    /// Resets every environment from one base seed.
    pub fn reset(&mut self, seed: u64) {
        self.base_seed = seed;
        self.episodes.iter_mut().for_each(|e| *e = 0);
        self.needs_reset.iter_mut().for_each(|r| *r = true);
        self.run(Mode::Reset);
    }

    /// Resets now the environments whose last step ended an episode, as the next step would,
    /// and leaves the others as they are (Stable-Baselines3's same-step autoreset: the caller
    /// keeps the final observations, rewards and flags before calling this). The reset ones get
    /// their new first observation and mask, reward 0, both flags false and info `None`.
    pub fn reset_ended(&mut self) {
        self.run(Mode::ResetEnded);
    }

    /// Steps every environment with its action. Any invalid action is reported before anything
    /// is stepped.
    pub fn step(&mut self, actions: &[usize]) -> Result<(), VectorStepError> {
        assert_eq!(actions.len(), self.envs.len(), "one action per environment");
        for (index, (env, &a)) in self.envs.iter().zip(actions).enumerate() {
            if self.needs_reset[index] {
                continue;
            }
            let error = if env.is_over() {
                Some(StepError::EpisodeOver)
            } else if a >= env.action_space().n {
                Some(StepError::OutOfRange { action: a, n: env.action_space().n })
            } else if !env.action_mask()[a] {
                Some(StepError::Masked {
                    action: a,
                    valid: env.observation().valid_actions().collect(),
                })
            } else {
                None
            };
            if let Some(error) = error {
                return Err(VectorStepError { index, error });
            }
        }
        self.run(Mode::Step(actions));
        Ok(())
    }

    fn run(&mut self, mode: Mode<'_>) {
        let all = Part {
            first: 0,
            envs: &mut self.envs,
            obs: self.observations.view_mut(),
            masks: self.masks.view_mut(),
            rewards: &mut self.rewards,
            terminated: &mut self.terminated,
            truncated: &mut self.truncated,
            infos: &mut self.infos,
            episodes: &mut self.episodes,
            needs_reset: &mut self.needs_reset,
        };
        let seed = self.base_seed;
        match &self.helpers {
            None => all.run(seed, mode),
            Some(Helpers(pool)) => all.run_on(pool, pool.num_threads() + 1, seed, mode),
        }
    }
}

/// What a run of the vector does.
#[derive(Debug, Clone, Copy)]
enum Mode<'a> {
    /// Reset every environment (all flagged `needs_reset`), reporting their infos.
    Reset,
    /// Step each environment with its action, or reset it if its last step ended an episode.
    Step(&'a [usize]),
    /// Reset the environments whose last step ended an episode; leave the others untouched.
    ResetEnded,
}

/// The environments a thread steps, with their rows of the vector's arrays.
struct Part<'a> {
    first: usize,
    envs: &'a mut [HandoffEnv],
    obs: ndarray::ArrayViewMut2<'a, f32>,
    masks: ndarray::ArrayViewMut2<'a, bool>,
    rewards: &'a mut [f64],
    terminated: &'a mut [bool],
    truncated: &'a mut [bool],
    infos: &'a mut [Option<Info>],
    episodes: &'a mut [u64],
    needs_reset: &'a mut [bool],
}

impl Part<'_> {
    /// Splits the part before its environment `mid`.
    fn split_at(self, mid: usize) -> (Self, Self) {
        let (envs, envs_right) = self.envs.split_at_mut(mid);
        let (obs, obs_right) = self.obs.split_at(Axis(0), mid);
        let (masks, masks_right) = self.masks.split_at(Axis(0), mid);
        let (rewards, rewards_right) = self.rewards.split_at_mut(mid);
        let (terminated, terminated_right) = self.terminated.split_at_mut(mid);
        let (truncated, truncated_right) = self.truncated.split_at_mut(mid);
        let (infos, infos_right) = self.infos.split_at_mut(mid);
        let (episodes, episodes_right) = self.episodes.split_at_mut(mid);
        let (needs_reset, needs_reset_right) = self.needs_reset.split_at_mut(mid);
        let left = Part {
            first: self.first,
            envs,
            obs,
            masks,
            rewards,
            terminated,
            truncated,
            infos,
            episodes,
            needs_reset,
        };
        let right = Part {
            first: self.first + mid,
            envs: envs_right,
            obs: obs_right,
            masks: masks_right,
            rewards: rewards_right,
            terminated: terminated_right,
            truncated: truncated_right,
            infos: infos_right,
            episodes: episodes_right,
            needs_reset: needs_reset_right,
        };
        (left, right)
    }

    /// Runs the part on `threads` threads of `pool` and the caller's, in halves. A panic in
    /// either half reaches the caller (the pool would abort the process instead).
    fn run_on(self, pool: &micropool::ThreadPool, threads: usize, seed: u64, mode: Mode<'_>) {
        if threads <= 1 {
            return self.run(seed, mode);
        }
        let left_threads = threads / 2;
        let mid = self.envs.len() * left_threads / threads;
        let (left, right) = self.split_at(mid);
        let (left, right) = pool.join(
            || catch_unwind(AssertUnwindSafe(|| left.run_on(pool, left_threads, seed, mode))),
            || {
                catch_unwind(AssertUnwindSafe(|| {
                    right.run_on(pool, threads - left_threads, seed, mode)
                }))
            },
        );
        if let Err(panic) = left.and(right) {
            resume_unwind(panic);
        }
    }

    fn run(mut self, seed: u64, mode: Mode<'_>) {
        for (j, env) in self.envs.iter_mut().enumerate() {
            let i = self.first + j;
            if self.needs_reset[j] {
                let (_, info) = env.reset(VectorEnv::episode_seed(seed, i, self.episodes[j]));
                self.episodes[j] += 1;
                // an episode with no decision for the agent ends as it starts
                self.needs_reset[j] = env.is_over();
                self.rewards[j] = 0.0;
                self.terminated[j] = env.is_over();
                self.truncated[j] = false;
                self.infos[j] = if let Mode::Reset = mode { Some(info) } else { None };
            } else if let Mode::Step(actions) = mode {
                let a = actions[i];
                let step = env.step(a).expect("actions were validated");
                self.rewards[j] = step.reward;
                self.terminated[j] = step.terminated;
                self.truncated[j] = step.truncated;
                self.infos[j] = Some(step.info);
                self.needs_reset[j] = step.terminated || step.truncated;
            } else {
                continue;
            }
            let mut row = self.obs.row_mut(j);
            env.observation().encode(row.as_slice_mut().expect("rows are contiguous"));
            for (m, &v) in self.masks.row_mut(j).iter_mut().zip(env.action_mask()) {
                *m = v;
            }
        }
    }
}
