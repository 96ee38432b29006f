//! Double DQN (van Hasselt et al. 2016) in the style of CleanRL's `dqn.py`: a replay buffer, a
//! linear epsilon schedule, a target network copied from the online one at a fixed interval, and
//! masked arg-maxes: exploration draws only valid actions, and the online network picks the next
//! action among valid ones for the target network to evaluate.
//!
//! Kickstarted from a rule as DQfD does (Hester et al. 2018): for `teacher_steps` steps the
//! teacher acts, and every transition keeps the teacher's choice, so that a large-margin loss,
//! `max_a [Q(s, a) + margin·(a ≠ a_teacher)] − Q(s, a_teacher)` over the valid actions, pulls the
//! teacher's action above every other by `margin` beside the TD loss. Without it the network
//! learns the values of the teacher's actions only, and its arg-max over the others is noise. As
//! in DQfD the margin term's weight (`margin_coef`) stays for the whole run: faded to zero by
//! the end, the network drifted away from the teacher late in the run (docs/training.md).

use std::path::Path;

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use handoff_agents::learned::masked_argmax;
use handoff_agents::net::{CandidateScorer, NetConfig, tensor2};
use handoff_env::rng::uniform;
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};

use crate::checkpoint::NETWORK_FILE;
use crate::config::{DqnConfig, TrainConfig};
use crate::error::TrainError;
use crate::learner::{
    Learner, Teacher, adam, gather, load_module, load_optimizer, read_bytes, save_module,
    save_optimizer, write_bytes,
};

/// Vector steps per DQN iteration (between logs, checkpoints and evaluations).
pub const ITERATION_STEPS: usize = 128;

/// A ring buffer of transitions.
#[derive(Debug, Clone, Default, PartialEq)]
struct Replay {
    capacity: usize,
    len: usize,
    next: usize,
    obs: Vec<f32>,
    masks: Vec<bool>,
    actions: Vec<i64>,
    rewards: Vec<f32>,
    next_obs: Vec<f32>,
    next_masks: Vec<bool>,
    terminated: Vec<bool>,
    /// The teacher's choice in each transition's state (-1: no teacher).
    teacher: Vec<i64>,
}

impl Replay {
    fn new(capacity: usize, obs_len: usize, slots: usize) -> Self {
        Self {
            capacity,
            len: 0,
            next: 0,
            obs: vec![0.0; capacity * obs_len],
            masks: vec![false; capacity * slots],
            actions: vec![0; capacity],
            rewards: vec![0.0; capacity],
            next_obs: vec![0.0; capacity * obs_len],
            next_masks: vec![false; capacity * slots],
            terminated: vec![false; capacity],
            teacher: vec![-1; capacity],
        }
    }

    /// The buffer as little-endian bytes: counters, then each array in turn.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for n in [self.capacity, self.len, self.next] {
            out.extend_from_slice(&(n as u64).to_le_bytes());
        }
        for floats in [&self.obs, &self.rewards, &self.next_obs] {
            floats.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
        }
        for ints in [&self.actions, &self.teacher] {
            ints.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
        }
        for flags in [&self.masks, &self.next_masks, &self.terminated] {
            out.extend(flags.iter().map(|&b| u8::from(b)));
        }
        out
    }

    /// Reads [`Replay::to_bytes`] into a buffer of this one's shape.
    fn read_bytes(&mut self, bytes: &[u8]) -> Result<(), String> {
        let expected = 3 * 8
            + 4 * (self.obs.len() + self.rewards.len() + self.next_obs.len())
            + 8 * (self.actions.len() + self.teacher.len())
            + self.masks.len()
            + self.next_masks.len()
            + self.terminated.len();
        if bytes.len() != expected {
            return Err(format!("{} bytes where {expected} were expected", bytes.len()));
        }
        let mut at = 0;
        let mut take = |n: usize| {
            let s = &bytes[at..at + n];
            at += n;
            s
        };
        let mut counters = [0usize; 3];
        for c in &mut counters {
            *c = u64::from_le_bytes(take(8).try_into().expect("8 bytes")) as usize;
        }
        if counters[0] != self.capacity || counters[1] > self.capacity {
            return Err("a replay buffer of another capacity".to_string());
        }
        self.len = counters[1];
        self.next = counters[2];
        for floats in [&mut self.obs, &mut self.rewards, &mut self.next_obs] {
            for x in floats.iter_mut() {
                *x = f32::from_le_bytes(take(4).try_into().expect("4 bytes"));
            }
        }
        for ints in [&mut self.actions, &mut self.teacher] {
            for x in ints.iter_mut() {
                *x = i64::from_le_bytes(take(8).try_into().expect("8 bytes"));
            }
        }
        for flags in [&mut self.masks, &mut self.next_masks, &mut self.terminated] {
            for b in flags.iter_mut() {
                *b = take(1)[0] != 0;
            }
        }
        Ok(())
    }
}

/// What `learner.json` holds besides the networks, the optimiser and the replay buffer
/// (`replay.bin`).
#[derive(Serialize, Deserialize)]
struct DqnState {
    rng: Pcg64Mcg,
    steps: u64,
}

/// The DQN learner.
pub struct Dqn {
    config: DqnConfig,
    envs: usize,
    obs_len: usize,
    slots: usize,
    total_steps: u64,
    device: Device,
    plain: Device,
    q: CandidateScorer,
    q_inference: CandidateScorer,
    target: CandidateScorer,
    optim: ModuleOptimizer,
    rng: Pcg64Mcg,
    steps: u64,
    replay: Replay,
    current_obs: Vec<f32>,
    current_masks: Vec<bool>,
    current_actions: Vec<usize>,
    current_teacher: Vec<i64>,
    current_live: Vec<bool>,
    td_loss_sum: f64,
    margin_loss_sum: f64,
    q_sum: f64,
    gradient_steps: u64,
}

impl Dqn {
    /// A fresh learner for `config` on `device`.
    pub fn new(config: &TrainConfig, device: &Device, obs_len: usize, slots: usize) -> Self {
        let mut rng = Pcg64Mcg::seed_from_u64(config.seed);
        let autodiff = device.clone().autodiff();
        let q = NetConfig::new(slots).with_hidden(config.hidden).scorer(&mut rng, &autodiff);
        let d = config.dqn.clone();
        Self {
            envs: config.envs,
            obs_len,
            slots,
            total_steps: config.steps,
            plain: device.clone(),
            device: autodiff,
            q_inference: q.valid(),
            target: q.valid(),
            q,
            optim: adam(d.max_grad_norm),
            rng,
            steps: 0,
            replay: Replay::new(d.buffer_size, obs_len, slots),
            current_obs: vec![0.0; config.envs * obs_len],
            current_masks: vec![false; config.envs * slots],
            current_actions: vec![0; config.envs],
            current_teacher: vec![-1; config.envs],
            current_live: vec![false; config.envs],
            td_loss_sum: 0.0,
            margin_loss_sum: 0.0,
            q_sum: 0.0,
            gradient_steps: 0,
            config: d,
        }
    }

    /// The exploration rate after `steps` environment steps: from `start_e` once the teacher's
    /// steps are done down to `end_e` over `exploration_fraction` of the run.
    pub fn epsilon(&self) -> f64 {
        let c = &self.config;
        let taught = if c.teacher.has_teacher() { c.teacher_steps } else { 0 };
        let span = (c.exploration_fraction * self.total_steps as f64).max(1.0);
        let slope = (c.end_e - c.start_e) / span;
        let exploring = self.steps.saturating_sub(taught) as f64;
        (c.start_e + slope * exploring).max(c.end_e.min(c.start_e))
    }

    fn scores(&self, network: &CandidateScorer, obs: &[f32], rows: usize) -> Vec<f32> {
        let x = tensor2(obs.to_vec(), rows, self.obs_len, &self.plain);
        network.forward(x).into_data().try_into_vec::<f32>().expect("f32 scores")
    }

    fn gradient_step(&mut self) {
        let b = self.config.batch_size.min(self.replay.len);
        let idx: Vec<usize> = (0..b)
            .map(|_| {
                ((uniform(&mut self.rng) * self.replay.len as f64) as usize)
                    .min(self.replay.len - 1)
            })
            .collect();
        let (ol, sl) = (self.obs_len, self.slots);
        let r = &self.replay;
        let obs = gather(&r.obs, &idx, ol);
        let next_obs = gather(&r.next_obs, &idx, ol);
        let online_next = self.scores(&self.q_inference, &next_obs, b);
        let target_next = self.scores(&self.target, &next_obs, b);
        let gamma = self.config.gamma as f32;
        let targets: Vec<f32> = idx
            .iter()
            .enumerate()
            .map(|(j, &i)| {
                let mask = &r.next_masks[i * sl..(i + 1) * sl];
                let best = masked_argmax(&online_next[j * sl..(j + 1) * sl], mask);
                let bootstrap = match (r.terminated[i], best) {
                    (false, Some(a)) => target_next[j * sl + a],
                    _ => 0.0,
                };
                r.rewards[i] + gamma * bootstrap
            })
            .collect();
        let actions: Vec<i64> = idx.iter().map(|&i| r.actions[i]).collect();
        // the large-margin term's inputs: the teacher's choice (0 where none, weighted out) and
        // each slot's margin (0 at the teacher's choice, minus infinity at invalid slots)
        let margin = self.config.margin as f32;
        let mut taught = Vec::with_capacity(b);
        let mut margins = Vec::with_capacity(b * sl);
        let mut weights = Vec::with_capacity(b);
        for &i in &idx {
            let t = r.teacher[i];
            taught.push(t.max(0));
            weights.push(if t >= 0 { 1.0f32 } else { 0.0 });
            for a in 0..sl {
                margins.push(match (r.masks[i * sl + a], a as i64 == t) {
                    (false, _) => -1e9,
                    (true, true) => 0.0,
                    (true, false) => margin,
                });
            }
        }
        let taught_rows = weights.iter().sum::<f32>();
        let x = tensor2(obs, b, ol, &self.device);
        let actions = Tensor::<2, Int>::from_data(TensorData::new(actions, [b, 1]), &self.device);
        let y = Tensor::<1>::from_data(TensorData::new(targets, [b]), &self.device);
        let q_all: Tensor<2> = self.q.forward(x);
        let q: Tensor<1> = q_all.clone().gather(1, actions).reshape([b]);
        let td = (q.clone() - y).powi_scalar(2).mean();
        self.td_loss_sum += f64::from(td.clone().into_scalar::<f32>());
        self.q_sum += f64::from(q.mean().into_scalar::<f32>());
        self.gradient_steps += 1;
        let weight = self.config.margin_coef;
        let loss = if weight > 0.0 && taught_rows > 0.0 {
            let taught = Tensor::<2, Int>::from_data(TensorData::new(taught, [b, 1]), &self.device);
            let margins = tensor2(margins, b, sl, &self.device);
            let weights = Tensor::<1>::from_data(TensorData::new(weights, [b]), &self.device);
            let best: Tensor<1> = (q_all.clone() + margins).max_dim(1).reshape([b]);
            let chosen: Tensor<1> = q_all.gather(1, taught).reshape([b]);
            let large_margin = ((best - chosen) * weights).sum() / taught_rows;
            self.margin_loss_sum += f64::from(large_margin.clone().into_scalar::<f32>());
            td + large_margin * weight as f32
        } else {
            td
        };
        let grads = GradientsParams::from_grads(loss.backward(), &self.q);
        self.q = self.optim.step(self.config.learning_rate, self.q.clone(), grads);
        self.q_inference = self.q.valid();
    }
}

impl Learner for Dqn {
    fn steps_per_iteration(&self) -> usize {
        ITERATION_STEPS
    }

    fn act(
        &mut self,
        obs: &[f32],
        masks: &[bool],
        live: &[bool],
        teacher: Option<Teacher<'_>>,
    ) -> Vec<usize> {
        let scores = self.scores(&self.q_inference, obs, self.envs);
        let epsilon = self.epsilon();
        let sl = self.slots;
        for i in 0..self.envs {
            let mask = &masks[i * sl..(i + 1) * sl];
            self.current_teacher[i] = teacher.map_or(-1, |t| t.actions[i] as i64);
            let action = if !live[i] {
                0
            } else if let Some(t) = teacher.filter(|t| t.follow) {
                t.actions[i]
            } else if uniform(&mut self.rng) < epsilon {
                let valid: Vec<usize> = (0..sl).filter(|&a| mask[a]).collect();
                valid[((uniform(&mut self.rng) * valid.len() as f64) as usize).min(valid.len() - 1)]
            } else {
                masked_argmax(&scores[i * sl..(i + 1) * sl], mask).expect("a valid action")
            };
            self.current_actions[i] = action;
        }
        self.current_obs.copy_from_slice(obs);
        self.current_masks.copy_from_slice(masks);
        self.current_live.copy_from_slice(live);
        self.current_actions.clone()
    }

    fn observe(
        &mut self,
        rewards: &[f64],
        terminated: &[bool],
        _truncated: &[bool],
        next_obs: &[f32],
        next_masks: &[bool],
    ) {
        let (ol, sl) = (self.obs_len, self.slots);
        for i in 0..self.envs {
            if !self.current_live[i] {
                continue;
            }
            let r = &mut self.replay;
            let k = r.next;
            r.obs[k * ol..(k + 1) * ol].copy_from_slice(&self.current_obs[i * ol..(i + 1) * ol]);
            r.masks[k * sl..(k + 1) * sl]
                .copy_from_slice(&self.current_masks[i * sl..(i + 1) * sl]);
            r.actions[k] = self.current_actions[i] as i64;
            r.rewards[k] = (rewards[i] * self.config.reward_scale) as f32;
            r.next_obs[k * ol..(k + 1) * ol].copy_from_slice(&next_obs[i * ol..(i + 1) * ol]);
            r.next_masks[k * sl..(k + 1) * sl].copy_from_slice(&next_masks[i * sl..(i + 1) * sl]);
            r.terminated[k] = terminated[i];
            r.teacher[k] = self.current_teacher[i];
            r.next = (k + 1) % r.capacity;
            r.len = (r.len + 1).min(r.capacity);
        }
        let before = self.steps;
        self.steps += self.envs as u64;
        let now = self.steps;
        let crossed = |every: u64| before / every != now / every;
        if self.steps > self.config.learning_starts && self.replay.len > 0 {
            if crossed(self.config.train_frequency) {
                self.gradient_step();
            }
            if crossed(self.config.target_network_frequency) {
                self.target = self.q.valid();
            }
        }
    }

    fn update(
        &mut self,
        _next_obs: &[f32],
        _next_masks: &[bool],
        _progress: f64,
    ) -> Vec<(&'static str, f64)> {
        let n = self.gradient_steps.max(1) as f64;
        let out = vec![
            ("losses/td_loss", self.td_loss_sum / n),
            ("losses/margin_loss", self.margin_loss_sum / n),
            ("losses/q_values", self.q_sum / n),
            ("charts/epsilon", self.epsilon()),
            ("charts/margin_weight", self.config.margin_coef),
        ];
        self.td_loss_sum = 0.0;
        self.margin_loss_sum = 0.0;
        self.q_sum = 0.0;
        self.gradient_steps = 0;
        out
    }

    fn scorer(&self) -> CandidateScorer {
        self.q_inference.clone()
    }

    fn save(&self, dir: &Path) -> Result<(), TrainError> {
        save_module(self.q.clone(), dir, "model.bpk")?;
        save_module(self.q.clone(), dir, NETWORK_FILE)?;
        save_module(self.target.clone(), dir, "target.bpk")?;
        save_optimizer(&self.optim, dir, "optimizer.bpk")?;
        let state = DqnState { rng: self.rng.clone(), steps: self.steps };
        write_bytes(dir, "replay.bin", &self.replay.to_bytes())?;
        write_bytes(dir, "learner.json", &serde_json::to_vec(&state).expect("serialises"))
    }

    fn load(&mut self, dir: &Path) -> Result<(), TrainError> {
        let q = load_module(self.q.clone(), dir, "model.bpk")?;
        let target = load_module(self.target.clone(), dir, "target.bpk")?;
        let optim = load_optimizer(adam(self.config.max_grad_norm), dir, "optimizer.bpk")?;
        let state: DqnState = serde_json::from_slice(&read_bytes(dir, "learner.json")?)
            .map_err(|e| TrainError::unreadable(&dir.join("learner.json"), e))?;
        let mut replay = Replay::new(self.replay.capacity, self.obs_len, self.slots);
        replay
            .read_bytes(&read_bytes(dir, "replay.bin")?)
            .map_err(|e| TrainError::unreadable(&dir.join("replay.bin"), e))?;
        self.q_inference = q.valid();
        self.q = q;
        self.target = target;
        self.optim = optim;
        self.rng = state.rng;
        self.steps = state.steps;
        self.replay = replay;
        Ok(())
    }
}
