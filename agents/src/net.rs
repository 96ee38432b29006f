//! The networks of learned policies, in Burn.
//!
//! Both learners score candidates with one small network shared by every candidate slot: the
//! slot's features next to the decision's global features go in, one number comes out (a logit
//! for PPO's policy, a Q-value for DQN). The same weights rank a worker, a chat or a takeover
//! wherever it sits in the candidate set, so a policy trained with 8 slots reads any workforce,
//! and it learns one rule instead of one per slot. PPO's critic reads the whole flat observation.
//!
//! Weights are initialised from our own seeded generator (not the device's), so a seed gives
//! the same network on every backend and in every thread.

use burn::config::Config;
use burn::module::{Module, Param, ParamId};
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::activation::relu;
use handoff_env::rng::uniform;
use handoff_env::{CANDIDATE_FEATURES, GLOBAL_FEATURES, observation_len};
use rand::Rng;
use rand_pcg::Pcg64Mcg;

/// A dense layer with weights drawn uniformly from ±sqrt(`gain` / fan-in), a scaled version of
/// PyTorch's default (CleanRL uses orthogonal initialisation; a uniform draw of the same scale
/// serves small MLPs as well and is simpler to reproduce exactly).
pub fn dense(d_in: usize, d_out: usize, gain: f64, rng: &mut Pcg64Mcg, device: &Device) -> Linear {
    let bound = (gain / d_in as f64).sqrt();
    let mut draw = |n: usize| -> Vec<f32> {
        (0..n).map(|_| ((2.0 * uniform(rng) - 1.0) * bound) as f32).collect()
    };
    let weight = Tensor::<2>::from_data(TensorData::new(draw(d_in * d_out), [d_in, d_out]), device);
    let bias = Tensor::<1>::from_data(TensorData::new(vec![0.0f32; d_out], [d_out]), device);
    // parameter ids from the seeded generator too, so that checkpoints of equal runs are
    // byte-identical (the optimiser's state is keyed by them)
    let mut weight = Param::from_tensor(weight);
    weight.id = ParamId::from(rng.next_u64());
    let mut bias = Param::from_tensor(bias);
    bias.id = ParamId::from(rng.next_u64());
    Linear { weight, bias: Some(bias) }
}

/// Scores every candidate slot with one MLP shared by the slots: `[batch, obs] -> [batch, slots]`.
///
/// The first layer reads the decision's global features and the slot's own; it is split in two
/// (`W [g; c] = W_g g + W_c c`) so that the global part is computed once per decision and added
/// to every slot by broadcasting, instead of copying the global features into each slot.
#[derive(Module, Debug)]
pub struct CandidateScorer {
    global_in: Linear,
    candidate_in: Linear,
    hidden: Linear,
    output: Linear,
}

impl CandidateScorer {
    /// A scorer with `hidden` units per layer; the output layer starts small (`output_gain`), as
    /// CleanRL starts a policy head near uniform.
    pub fn new(hidden: usize, output_gain: f64, rng: &mut Pcg64Mcg, device: &Device) -> Self {
        // the two halves of the first layer share its fan-in
        let gain = 2.0 / (GLOBAL_FEATURES + CANDIDATE_FEATURES) as f64;
        Self {
            global_in: dense(GLOBAL_FEATURES, hidden, gain * GLOBAL_FEATURES as f64, rng, device),
            candidate_in: dense(
                CANDIDATE_FEATURES,
                hidden,
                gain * CANDIDATE_FEATURES as f64,
                rng,
                device,
            ),
            hidden: dense(hidden, hidden, 2.0, rng, device),
            output: dense(hidden, 1, output_gain, rng, device),
        }
    }

    /// One score per candidate slot.
    pub fn forward(&self, obs: Tensor<2>) -> Tensor<2> {
        let [batch, len] = obs.dims();
        let slots = (len - GLOBAL_FEATURES) / CANDIDATE_FEATURES;
        let global = self.global_in.forward(obs.clone().narrow(1, 0, GLOBAL_FEATURES));
        let candidates = obs.narrow(1, GLOBAL_FEATURES, slots * CANDIDATE_FEATURES).reshape([
            batch,
            slots,
            CANDIDATE_FEATURES,
        ]);
        let h = relu(self.candidate_in.forward(candidates) + global.unsqueeze_dim::<3>(1));
        let h = relu(self.hidden.forward(h));
        self.output.forward(h).reshape([batch, slots])
    }
}

/// A state-value MLP over the flat observation: `[batch, obs] -> [batch]`.
#[derive(Module, Debug)]
pub struct ValueNet {
    hidden1: Linear,
    hidden2: Linear,
    output: Linear,
}

impl ValueNet {
    /// A critic with `hidden` units per layer for `candidates` slots.
    pub fn new(candidates: usize, hidden: usize, rng: &mut Pcg64Mcg, device: &Device) -> Self {
        Self {
            hidden1: dense(observation_len(candidates), hidden, 2.0, rng, device),
            hidden2: dense(hidden, hidden, 2.0, rng, device),
            output: dense(hidden, 1, 1.0, rng, device),
        }
    }

    /// The value of each observation.
    pub fn forward(&self, obs: Tensor<2>) -> Tensor<1> {
        let [batch, _] = obs.dims();
        let h = relu(self.hidden1.forward(obs));
        let h = relu(self.hidden2.forward(h));
        self.output.forward(h).reshape([batch])
    }
}

/// The shape of the learned networks, as Burn's examples configure a model.
#[derive(Config, Debug)]
pub struct NetConfig {
    /// Candidate slots of the observations (the critic's input size depends on it).
    pub candidates: usize,
    /// Hidden units per layer.
    #[config(default = 32)]
    pub hidden: usize,
}

impl NetConfig {
    /// PPO's actor-critic, drawn from `rng`.
    pub fn actor_critic(&self, rng: &mut Pcg64Mcg, device: &Device) -> ActorCritic {
        ActorCritic::new(self.candidates, self.hidden, rng, device)
    }

    /// A candidate scorer (DQN's Q-network, or the actor of a checkpoint), drawn from `rng`.
    pub fn scorer(&self, rng: &mut Pcg64Mcg, device: &Device) -> CandidateScorer {
        CandidateScorer::new(self.hidden, 1.0, rng, device)
    }
}

/// PPO's network: a candidate-scoring actor and a critic.
#[derive(Module, Debug)]
pub struct ActorCritic {
    /// Logits of the candidate slots.
    pub actor: CandidateScorer,
    /// State value.
    pub critic: ValueNet,
}

impl ActorCritic {
    /// A fresh network for `candidates` slots, drawn from `seed`.
    pub fn new(candidates: usize, hidden: usize, rng: &mut Pcg64Mcg, device: &Device) -> Self {
        Self {
            actor: CandidateScorer::new(hidden, 0.01, rng, device),
            critic: ValueNet::new(candidates, hidden, rng, device),
        }
    }
}

/// Sets the scores of masked-out slots to a large negative number, so a softmax gives them
/// probability zero (exactly, in `f32`) and an argmax never picks them.
pub fn mask_scores(scores: Tensor<2>, valid: Tensor<2, Bool>) -> Tensor<2> {
    scores.mask_fill(valid.bool_not(), -1.0e9)
}

/// A `[rows, cols]` float tensor from row-major values.
pub fn tensor2(values: Vec<f32>, rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values, [rows, cols]), device)
}

/// A `[rows, cols]` mask tensor from row-major values.
pub fn mask2(values: Vec<bool>, rows: usize, cols: usize, device: &Device) -> Tensor<2, Bool> {
    Tensor::from_data(TensorData::new(values, [rows, cols]), device)
}
