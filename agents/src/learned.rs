//! A trained network as a dispatch policy: the greedy action of a [`CandidateScorer`].

use burn::prelude::*;
use handoff_env::{Observation, Policy};

use crate::net::{CandidateScorer, tensor2};

/// Acts greedily on a candidate scorer (PPO's actor logits or DQN's Q-values): the valid slot
/// with the highest score.
#[derive(Debug, Clone)]
pub struct LearnedPolicy {
    name: String,
    scorer: CandidateScorer,
    device: Device,
    features: Vec<f32>,
}

impl LearnedPolicy {
    /// A policy called `name` (as shown in tables, e.g. `ckpt:runs/ppo`) scoring with `scorer`
    /// on `device` for observations of `observation_len` floats.
    pub fn new(
        name: &str,
        scorer: CandidateScorer,
        device: Device,
        observation_len: usize,
    ) -> Self {
        Self {
            name: name.to_string(),
            scorer: scorer.valid(),
            device,
            features: vec![0.0; observation_len],
        }
    }

    /// The scores of every slot for `obs`.
    pub fn scores(&mut self, obs: &Observation) -> Vec<f32> {
        obs.encode(&mut self.features);
        self.scores_of(&self.features)
    }

    /// The scores of every slot for an already encoded observation.
    pub fn scores_of(&self, features: &[f32]) -> Vec<f32> {
        let input = tensor2(features.to_vec(), 1, features.len(), &self.device);
        self.scorer.forward(input).into_data().try_into_vec::<f32>().expect("f32 scores")
    }
}

/// The index of the highest score among valid slots (ties: the lowest index).
pub fn masked_argmax(scores: &[f32], mask: &[bool]) -> Option<usize> {
    let mut best: Option<(usize, f32)> = None;
    for (i, (&s, &m)) in scores.iter().zip(mask).enumerate() {
        if m && best.is_none_or(|(_, b)| s > b) {
            best = Some((i, s));
        }
    }
    best.map(|(i, _)| i)
}

impl Policy for LearnedPolicy {
    fn name(&self) -> &str {
        &self.name
    }

    fn act(&mut self, obs: &Observation) -> usize {
        let scores = self.scores(obs);
        masked_argmax(&scores, &obs.mask).unwrap_or_else(|| crate::pick::any_valid(obs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_skips_masked_slots() {
        assert_eq!(masked_argmax(&[5.0, 1.0, 3.0], &[false, true, true]), Some(2));
        assert_eq!(masked_argmax(&[5.0, 1.0, 1.0], &[false, true, true]), Some(1));
        assert_eq!(masked_argmax(&[5.0], &[false]), None);
    }
}
