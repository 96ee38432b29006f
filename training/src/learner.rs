//! What the training loop asks of a learning algorithm, and helpers both learners share.

use std::path::Path;

use burn::grad_clipping::GradientClippingConfig;
use burn::module::Module;
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::tensor::Bytes;
use handoff_agents::net::CandidateScorer;
use handoff_env::rng::uniform;
use rand_pcg::Pcg64Mcg;

use crate::error::TrainError;

/// A learning algorithm driven by [`crate::network`]: it acts on a batch of environments, sees the
/// outcomes, and learns once per iteration of [`Learner::steps_per_iteration`] vector steps.
pub trait Learner {
    /// Vector steps per iteration (between updates, checkpoints and evaluations).
    fn steps_per_iteration(&self) -> usize;

    /// Chooses one action per environment, from the observations and masks of every environment
    /// (row-major, one row per environment). `live[i]` is false for an environment the vector
    /// will reset instead of stepping (its action is ignored and nothing is learned from it).
    /// With a teacher, the learner sees the teacher's choices; when `follow` is set it takes
    /// them instead of its own and learns from them (PPO imitates them, DQN learns their values
    /// off-policy); otherwise PPO may keep them for its imitation term.
    fn act(
        &mut self,
        obs: &[f32],
        masks: &[bool],
        live: &[bool],
        teacher: Option<Teacher<'_>>,
    ) -> Vec<usize>;

    /// The outcome of the step just taken, with the observations that follow it.
    fn observe(
        &mut self,
        rewards: &[f64],
        terminated: &[bool],
        truncated: &[bool],
        next_obs: &[f32],
        next_masks: &[bool],
    );

    /// Learns at the end of an iteration; `progress` is the share of the run done (for
    /// schedules). Returns named scalars to log (`losses/...`, `charts/...`).
    fn update(
        &mut self,
        next_obs: &[f32],
        next_masks: &[bool],
        progress: f64,
    ) -> Vec<(&'static str, f64)>;

    /// The network that scores candidates, for greedy evaluation.
    fn scorer(&self) -> CandidateScorer;

    /// Writes the learner's state (networks, optimiser, generator, buffers) into `dir`.
    fn save(&self, dir: &Path) -> Result<(), TrainError>;

    /// Reads the state [`Learner::save`] wrote.
    fn load(&mut self, dir: &Path) -> Result<(), TrainError>;
}

/// A heuristic's choices for every environment of a step.
#[derive(Debug, Clone, Copy)]
pub struct Teacher<'a> {
    /// One action per environment.
    pub actions: &'a [usize],
    /// Whether the learner takes these actions instead of its own.
    pub follow: bool,
}

/// Adam as CleanRL configures it (epsilon 1e-5), with the gradient norm clipped to `max_norm`.
pub fn adam(max_norm: f64) -> ModuleOptimizer {
    AdamConfig::new()
        .with_epsilon(1e-5)
        .with_grad_clipping(Some(GradientClippingConfig::Norm(max_norm as f32)))
        .init()
}

/// Samples an index from the softmax of `logits` over the `mask`ed slots; returns it with its log
/// probability.
pub fn sample_masked(logits: &[f32], mask: &[bool], rng: &mut Pcg64Mcg) -> (usize, f32) {
    let max = logits
        .iter()
        .zip(mask)
        .filter(|(_, m)| **m)
        .map(|(&l, _)| f64::from(l))
        .fold(f64::NEG_INFINITY, f64::max);
    let total: f64 = logits
        .iter()
        .zip(mask)
        .filter(|(_, m)| **m)
        .map(|(&l, _)| libm::exp(f64::from(l) - max))
        .sum();
    let mut u = uniform(rng) * total;
    let mut chosen = None;
    for (i, (&l, &m)) in logits.iter().zip(mask).enumerate() {
        if m {
            chosen = Some(i);
            let p = libm::exp(f64::from(l) - max);
            if u < p {
                break;
            }
            u -= p;
        }
    }
    let a = chosen.expect("a decision has a valid action");
    let logp = f64::from(logits[a]) - max - libm::log(total);
    (a, logp as f32)
}

/// Gathers rows `idx` of a row-major buffer with rows of `width`.
pub fn gather<T: Copy>(src: &[T], idx: &[usize], width: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(idx.len() * width);
    for &i in idx {
        out.extend_from_slice(&src[i * width..(i + 1) * width]);
    }
    out
}

/// Shuffles `items` in place (Fisher-Yates) from `rng`.
pub fn shuffle<T>(items: &mut [T], rng: &mut Pcg64Mcg) {
    for i in (1..items.len()).rev() {
        let j = ((uniform(rng) * (i + 1) as f64) as usize).min(i);
        items.swap(i, j);
    }
}

/// Writes `bytes` to `dir/name`.
pub fn write_bytes(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), TrainError> {
    std::fs::write(dir.join(name), bytes).map_err(|e| TrainError::write(&dir.join(name), e))
}

/// Reads `dir/name`.
pub fn read_bytes(dir: &Path, name: &str) -> Result<Vec<u8>, TrainError> {
    std::fs::read(dir.join(name)).map_err(|e| TrainError::unreadable(&dir.join(name), e))
}

/// Saves a module's parameters as burnpack bytes in `dir/name`.
pub fn save_module<M: Module>(module: M, dir: &Path, name: &str) -> Result<(), TrainError> {
    let bytes =
        module.into_record().into_bytes().map_err(|e| TrainError::write(&dir.join(name), e))?;
    write_bytes(dir, name, &bytes)
}

/// Loads parameters saved by [`save_module`] into `module`, refusing a record that does not fit.
pub fn load_module<M: Module>(module: M, dir: &Path, name: &str) -> Result<M, TrainError> {
    let bytes = read_bytes(dir, name)?;
    let path = dir.join(name);
    let record = burn::store::ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
        .map_err(|e| TrainError::unreadable(&path, format!("not a model record: {e}")))?;
    module
        .try_load_record(record)
        .map_err(|e| TrainError::unreadable(&path, format!("does not fit this network: {e}")))
}

/// Saves an optimiser's state as burnpack bytes in `dir/name`.
pub fn save_optimizer(optim: &ModuleOptimizer, dir: &Path, name: &str) -> Result<(), TrainError> {
    let bytes = optim.into_bytes().map_err(|e| TrainError::write(&dir.join(name), e))?;
    write_bytes(dir, name, &bytes)
}

/// Loads an optimiser's state saved by [`save_optimizer`].
pub fn load_optimizer(
    optim: ModuleOptimizer,
    dir: &Path,
    name: &str,
) -> Result<ModuleOptimizer, TrainError> {
    let bytes = read_bytes(dir, name)?;
    optim.from_bytes(Bytes::from_bytes_vec(bytes)).map_err(|e| {
        TrainError::unreadable(&dir.join(name), format!("not an optimiser state: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn masked_slots_are_never_sampled_and_frequencies_follow_the_softmax() {
        let mut rng = Pcg64Mcg::seed_from_u64(3);
        let logits = [5.0, 0.0, 1.0, 9.0];
        let mask = [false, true, true, false];
        let n = 20_000;
        let mut counts = [0usize; 4];
        for _ in 0..n {
            let (a, logp) = sample_masked(&logits, &mask, &mut rng);
            counts[a] += 1;
            assert!(logp <= 0.0);
        }
        assert_eq!(counts[0] + counts[3], 0);
        // P(slot 2) = e / (1 + e) = 0.731; binomial sd at n = 20,000 is 0.0031
        let p = counts[2] as f64 / n as f64;
        assert!((p - 0.7311).abs() < 4.0 * 0.0031, "{p}");
        let (_, logp) = sample_masked(&[0.0, 0.0], &[true, true], &mut rng);
        assert!((logp - libm::logf(0.5)).abs() < 1e-6);
    }

    #[test]
    fn shuffle_is_a_seeded_permutation() {
        let mut a: Vec<usize> = (0..50).collect();
        shuffle(&mut a, &mut Pcg64Mcg::seed_from_u64(1));
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_ne!(a, sorted);
    }
}
