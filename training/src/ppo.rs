//! Proximal policy optimisation (Schulman et al. 2017) in the style of CleanRL's `ppo.py`: a
//! masked categorical policy (invalid actions get probability zero), generalised advantage
//! estimation, the clipped surrogate objective, a clipped value loss, an entropy bonus,
//! per-minibatch advantage normalisation, linear learning-rate annealing and gradient-norm
//! clipping, collecting from the vector environment.
//!
//! Optionally the run starts by imitating a heuristic (`teacher`, for `teacher_steps` steps):
//! the teacher acts, the actor learns its choices by cross-entropy and the critic its returns,
//! so that PPO starts from the heuristic's behaviour with a critic that already values it
//! ("kickstarting", Schmitt et al. 2018).
//!
//! The environment's next-step autoreset means the step after an episode ends only resets that
//! environment: such steps are left out of the loss, and the observation they start from (the
//! episode's last) bootstraps the value of a truncated episode.

use std::path::Path;

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use handoff_agents::net::{ActorCritic, CandidateScorer, NetConfig, mask_scores, mask2, tensor2};
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};

use crate::checkpoint::NETWORK_FILE;
use crate::config::{PpoConfig, TrainConfig};
use crate::error::TrainError;
use crate::learner::{
    Learner, Teacher, adam, gather, load_module, load_optimizer, read_bytes, sample_masked,
    save_module, save_optimizer, shuffle, write_bytes,
};

/// The PPO learner: network, optimiser, sampling generator and the batch being collected.
pub struct Ppo {
    config: PpoConfig,
    envs: usize,
    obs_len: usize,
    slots: usize,
    device: Device,
    plain: Device,
    model: ActorCritic,
    inference: ActorCritic,
    optim: ModuleOptimizer,
    rng: Pcg64Mcg,
    batch: Batch,
}

/// One batch of experience (CleanRL's rollout: `num_steps` steps of every environment),
/// step-major (`t * envs + i`).
#[derive(Default)]
struct Batch {
    t: usize,
    /// Whether a teacher chose the actions (the update imitates them instead of PPO's loss).
    imitation: bool,
    /// The teacher's choices (for the imitation term of PPO's loss).
    teacher_actions: Vec<i64>,
    obs: Vec<f32>,
    masks: Vec<bool>,
    actions: Vec<i64>,
    logprobs: Vec<f32>,
    values: Vec<f32>,
    rewards: Vec<f32>,
    terminated: Vec<bool>,
    dones: Vec<bool>,
    live: Vec<bool>,
}

/// What `learner.json` holds besides the tensors.
#[derive(Serialize, Deserialize)]
struct PpoState {
    rng: Pcg64Mcg,
}

impl Ppo {
    /// A fresh learner for `config` on `device` (gradients are taken on its autodiff version),
    /// for observations of `obs_len` floats over `slots` candidate slots.
    pub fn new(config: &TrainConfig, device: &Device, obs_len: usize, slots: usize) -> Self {
        let mut rng = Pcg64Mcg::seed_from_u64(config.seed);
        let autodiff = device.clone().autodiff();
        let model =
            NetConfig::new(slots).with_hidden(config.hidden).actor_critic(&mut rng, &autodiff);
        let p = config.ppo.clone();
        let optim = adam(p.max_grad_norm);
        let n = p.num_steps * config.envs;
        let batch = Batch {
            t: 0,
            imitation: false,
            teacher_actions: vec![0; n],
            obs: vec![0.0; n * obs_len],
            masks: vec![false; n * slots],
            actions: vec![0; n],
            logprobs: vec![0.0; n],
            values: vec![0.0; n],
            rewards: vec![0.0; n],
            terminated: vec![false; n],
            dones: vec![false; n],
            live: vec![false; n],
        };
        Self {
            envs: config.envs,
            obs_len,
            slots,
            plain: device.clone(),
            device: autodiff,
            inference: model.valid(),
            model,
            optim,
            rng,
            config: p,
            batch,
        }
    }

    /// Actor logits and critic values of a batch, from the inference copy of the network.
    fn forward(&self, obs: &[f32], rows: usize) -> (Vec<f32>, Vec<f32>) {
        let x = tensor2(obs.to_vec(), rows, self.obs_len, &self.plain);
        let logits = self.inference.actor.forward(x.clone()).into_data();
        let values = self.inference.critic.forward(x).into_data();
        (
            logits.try_into_vec::<f32>().expect("f32 logits"),
            values.try_into_vec::<f32>().expect("f32 values"),
        )
    }

    /// Generalised advantage estimates and returns of the batch.
    fn advantages(&self, next_values: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let (n, r) = (self.envs, &self.batch);
        let steps = self.config.num_steps;
        let (gamma, lambda) = (self.config.gamma as f32, self.config.gae_lambda as f32);
        let mut adv = vec![0.0f32; steps * n];
        for (i, &bootstrap) in next_values.iter().enumerate().take(n) {
            let mut last = 0.0f32;
            for t in (0..steps).rev() {
                let k = t * n + i;
                let next_value = if t + 1 == steps { bootstrap } else { r.values[k + n] };
                let nonterminal = if r.terminated[k] { 0.0 } else { 1.0 };
                let carry = if r.dones[k] { 0.0 } else { 1.0 };
                let delta = r.rewards[k] + gamma * next_value * nonterminal - r.values[k];
                last = delta + gamma * lambda * carry * last;
                adv[k] = last;
            }
        }
        let returns = adv.iter().zip(&r.values).map(|(a, v)| a + v).collect();
        (adv, returns)
    }
}

fn tensor1(values: Vec<f32>, device: &Device) -> Tensor<1> {
    let n = values.len();
    Tensor::from_data(TensorData::new(values, [n]), device)
}

impl Learner for Ppo {
    fn steps_per_iteration(&self) -> usize {
        self.config.num_steps
    }

    fn act(
        &mut self,
        obs: &[f32],
        masks: &[bool],
        live: &[bool],
        teacher: Option<Teacher<'_>>,
    ) -> Vec<usize> {
        let (logits, values) = self.forward(obs, self.envs);
        let base = self.batch.t * self.envs;
        if self.batch.t == 0 {
            self.batch.imitation = teacher.is_some_and(|t| t.follow);
        }
        let (obs_len, slots) = (self.obs_len, self.slots);
        self.batch.obs[base * obs_len..(base + self.envs) * obs_len].copy_from_slice(obs);
        self.batch.masks[base * slots..(base + self.envs) * slots].copy_from_slice(masks);
        let mut actions = Vec::with_capacity(self.envs);
        for i in 0..self.envs {
            let row = i * slots..(i + 1) * slots;
            let (a, logp) = match (live[i], teacher) {
                (false, _) => (0, 0.0),
                (true, Some(t)) if t.follow => (t.actions[i], 0.0),
                (true, _) => sample_masked(&logits[row.clone()], &masks[row], &mut self.rng),
            };
            self.batch.teacher_actions[base + i] = teacher.map_or(a, |t| t.actions[i]) as i64;
            actions.push(a);
            self.batch.actions[base + i] = a as i64;
            self.batch.logprobs[base + i] = logp;
            self.batch.values[base + i] = values[i];
            self.batch.live[base + i] = live[i];
        }
        actions
    }

    fn observe(
        &mut self,
        rewards: &[f64],
        terminated: &[bool],
        truncated: &[bool],
        _next_obs: &[f32],
        _next_masks: &[bool],
    ) {
        let base = self.batch.t * self.envs;
        for i in 0..self.envs {
            self.batch.rewards[base + i] = (rewards[i] * self.config.reward_scale) as f32;
            self.batch.terminated[base + i] = terminated[i];
            self.batch.dones[base + i] = terminated[i] || truncated[i];
        }
        self.batch.t += 1;
    }

    fn update(
        &mut self,
        next_obs: &[f32],
        _next_masks: &[bool],
        progress: f64,
    ) -> Vec<(&'static str, f64)> {
        assert_eq!(self.batch.t, self.config.num_steps, "update after a full batch");
        self.batch.t = 0;
        let (_, next_values) = self.forward(next_obs, self.envs);
        let (advantages, returns) = self.advantages(&next_values);
        let c = self.config.clone();
        let lr = if c.anneal_lr { c.learning_rate * (1.0 - progress) } else { c.learning_rate };
        // the imitation term fades out linearly over the run
        let teacher_coef =
            if !c.teacher.has_teacher() { 0.0 } else { c.teacher_coef * (1.0 - progress) };
        let mut indices: Vec<usize> =
            (0..self.batch.live.len()).filter(|&k| self.batch.live[k]).collect();
        let minibatch = indices.len().div_ceil(c.num_minibatches).max(1);
        let (mut pg_sum, mut v_sum, mut ent_sum, mut kl_sum, mut clip_sum, mut bc_sum) =
            (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        let mut batches = 0usize;
        for _ in 0..c.update_epochs {
            shuffle(&mut indices, &mut self.rng);
            for mb in indices.chunks(minibatch) {
                let m = mb.len();
                let r = &self.batch;
                let obs = tensor2(gather(&r.obs, mb, self.obs_len), m, self.obs_len, &self.device);
                let mask = mask2(gather(&r.masks, mb, self.slots), m, self.slots, &self.device);
                let actions: Vec<i64> = mb.iter().map(|&k| r.actions[k]).collect();
                let actions =
                    Tensor::<2, Int>::from_data(TensorData::new(actions, [m, 1]), &self.device);
                let old_logp = tensor1(mb.iter().map(|&k| r.logprobs[k]).collect(), &self.device);
                let old_values = tensor1(mb.iter().map(|&k| r.values[k]).collect(), &self.device);
                let ret = tensor1(mb.iter().map(|&k| returns[k]).collect(), &self.device);
                let mut adv: Vec<f32> = mb.iter().map(|&k| advantages[k]).collect();
                if c.norm_adv && m > 1 {
                    let mean = adv.iter().sum::<f32>() / m as f32;
                    let var = adv.iter().map(|a| (a - mean).powi(2)).sum::<f32>() / (m - 1) as f32;
                    let sd = var.sqrt() + 1e-8;
                    adv.iter_mut().for_each(|a| *a = (*a - mean) / sd);
                }
                let adv = tensor1(adv, &self.device);

                let logp_all =
                    log_softmax(mask_scores(self.model.actor.forward(obs.clone()), mask), 1);
                let new_logp: Tensor<1> = logp_all.clone().gather(1, actions).reshape([m]);
                if self.batch.imitation {
                    // kickstarting: cross-entropy to the teacher's actions, and the critic
                    // learns the teacher's returns
                    let bc_loss = new_logp.neg().mean();
                    let new_values = self.model.critic.forward(obs);
                    let v_loss = (new_values - ret).powi_scalar(2).mean() * 0.5;
                    let loss = bc_loss.clone() + v_loss.clone() * c.vf_coef as f32;
                    bc_sum += f64::from(bc_loss.into_scalar::<f32>());
                    v_sum += f64::from(v_loss.into_scalar::<f32>());
                    batches += 1;
                    let grads = GradientsParams::from_grads(loss.backward(), &self.model);
                    self.model = self.optim.step(lr, self.model.clone(), grads);
                    continue;
                }
                let entropy = (logp_all.clone().exp() * logp_all.clone()).sum_dim(1).neg().mean();
                let logratio = new_logp - old_logp;
                let ratio = logratio.clone().exp();
                let clip = c.clip_coef as f32;
                let pg1 = adv.clone().neg() * ratio.clone();
                let pg2 = adv.neg() * ratio.clone().clamp(1.0 - clip, 1.0 + clip);
                let pg_loss = pg1.max_pair(pg2).mean();
                let new_values = self.model.critic.forward(obs);
                let v_loss = if c.clip_vloss {
                    let unclipped = (new_values.clone() - ret.clone()).powi_scalar(2);
                    let clipped = old_values.clone() + (new_values - old_values).clamp(-clip, clip);
                    let clipped = (clipped - ret).powi_scalar(2);
                    unclipped.max_pair(clipped).mean() * 0.5
                } else {
                    (new_values - ret).powi_scalar(2).mean() * 0.5
                };
                let mut loss = pg_loss.clone() - entropy.clone() * c.ent_coef as f32
                    + v_loss.clone() * c.vf_coef as f32;
                if teacher_coef > 0.0 {
                    let taught: Vec<i64> = mb.iter().map(|&k| r.teacher_actions[k]).collect();
                    let taught =
                        Tensor::<2, Int>::from_data(TensorData::new(taught, [m, 1]), &self.device);
                    let imitation: Tensor<1> =
                        logp_all.clone().gather(1, taught).reshape([m]).neg().mean();
                    bc_sum += f64::from(imitation.clone().into_scalar::<f32>());
                    loss = loss + imitation * teacher_coef as f32;
                }
                let approx_kl = ((ratio.clone() - 1.0) - logratio).mean();
                let clipfrac = (ratio - 1.0).abs().greater_elem(clip).float().mean();
                pg_sum += f64::from(pg_loss.clone().into_scalar::<f32>());
                v_sum += f64::from(v_loss.clone().into_scalar::<f32>());
                ent_sum += f64::from(entropy.clone().into_scalar::<f32>());
                kl_sum += f64::from(approx_kl.into_scalar::<f32>());
                clip_sum += f64::from(clipfrac.into_scalar::<f32>());
                batches += 1;
                let grads = GradientsParams::from_grads(loss.backward(), &self.model);
                self.model = self.optim.step(lr, self.model.clone(), grads);
            }
        }
        self.inference = self.model.valid();
        let b = batches.max(1) as f64;
        if self.batch.imitation {
            return vec![
                ("charts/learning_rate", lr),
                ("losses/imitation_loss", bc_sum / b),
                ("losses/value_loss", v_sum / b),
            ];
        }
        vec![
            ("charts/learning_rate", lr),
            ("charts/teacher_coef", teacher_coef),
            ("losses/imitation_loss", bc_sum / b),
            ("losses/policy_loss", pg_sum / b),
            ("losses/value_loss", v_sum / b),
            ("losses/entropy", ent_sum / b),
            ("losses/approx_kl", kl_sum / b),
            ("losses/clipfrac", clip_sum / b),
        ]
    }

    fn scorer(&self) -> CandidateScorer {
        self.inference.actor.clone()
    }

    fn save(&self, dir: &Path) -> Result<(), TrainError> {
        save_module(self.model.clone(), dir, "model.bpk")?;
        save_module(self.model.actor.clone(), dir, NETWORK_FILE)?;
        save_optimizer(&self.optim, dir, "optimizer.bpk")?;
        let state = serde_json::to_vec(&PpoState { rng: self.rng.clone() }).expect("serialises");
        write_bytes(dir, "learner.json", &state)
    }

    fn load(&mut self, dir: &Path) -> Result<(), TrainError> {
        let model = load_module(self.model.clone(), dir, "model.bpk")?;
        let optim = load_optimizer(adam(self.config.max_grad_norm), dir, "optimizer.bpk")?;
        let state: PpoState = serde_json::from_slice(&read_bytes(dir, "learner.json")?)
            .map_err(|e| TrainError::unreadable(&dir.join("learner.json"), e))?;
        self.model = model;
        self.inference = self.model.valid();
        self.optim = optim;
        self.rng = state.rng;
        self.batch.t = 0;
        Ok(())
    }
}
