//! The learners: they solve a task with a known optimum, never sample a masked action, resume
//! exactly where they stopped, refuse damaged checkpoints, and write TensorBoard files that parse.

use std::path::{Path, PathBuf};

use handoff_env::rng::uniform;
use handoff_env::{CANDIDATE_FEATURES, GLOBAL_FEATURES, observation_len};
use handoff_training::TrainError;
use handoff_training::config::{Algo, DeviceKind, TrainConfig};
use handoff_training::network::make_learner;
use handoff_training::run::SCALARS_FILE;
use handoff_training::train::{TrainOptions, train};
use ndarray::Array2;
use protobuf::Message;
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use tensorboard_proto::event::{Event, SessionLog_SessionStatus};

/// The rows of a batch buffer, one environment after the other.
fn rows<T>(a: &Array2<T>) -> &[T] {
    a.as_slice().unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("handoff-learn-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

const SLOTS: usize = 4;
/// The candidate feature the task rewards (the frustration column).
const SIGNAL: usize = 10;

/// A contextual bandit shaped like the environment: each step shows every environment 4
/// candidate slots, some masked; choosing the valid slot with the largest signal pays 1, any
/// other valid slot 0. The optimum is 1 per step; a uniform valid choice earns about 0.45.
struct Bandit {
    rng: Pcg64Mcg,
    obs: Array2<f32>,
    masks: Array2<bool>,
}

impl Bandit {
    fn new(envs: usize) -> Self {
        let mut b = Self {
            rng: Pcg64Mcg::seed_from_u64(11),
            obs: Array2::zeros((envs, observation_len(SLOTS))),
            masks: Array2::from_elem((envs, SLOTS), false),
        };
        b.draw();
        b
    }

    fn draw(&mut self) {
        for i in 0..self.obs.nrows() {
            let keep = (uniform(&mut self.rng) * SLOTS as f64) as usize;
            for s in 0..SLOTS {
                self.masks[[i, s]] = s == keep || uniform(&mut self.rng) < 0.5;
                let base = GLOBAL_FEATURES + s * CANDIDATE_FEATURES;
                for f in 0..CANDIDATE_FEATURES {
                    self.obs[[i, base + f]] = uniform(&mut self.rng) as f32;
                }
            }
        }
    }

    fn best(&self, i: usize) -> usize {
        (0..SLOTS)
            .filter(|&s| self.masks[[i, s]])
            .max_by(|&a, &b| {
                let f = |s: usize| self.obs[[i, GLOBAL_FEATURES + s * CANDIDATE_FEATURES + SIGNAL]];
                f(a).total_cmp(&f(b))
            })
            .unwrap()
    }
}

/// Trains `algo` on the bandit and returns the greedy policy's accuracy on fresh draws.
fn solve_bandit(algo: Algo, iterations: usize) -> f64 {
    let envs = 8;
    let mut config = TrainConfig { algo, envs, hidden: 32, ..TrainConfig::default() };
    config.ppo.num_steps = 32;
    config.ppo.learning_rate = 3e-3;
    config.ppo.anneal_lr = false;
    config.dqn.learning_starts = 256;
    config.dqn.train_frequency = 8;
    config.dqn.batch_size = 64;
    config.dqn.learning_rate = 1e-3;
    config.dqn.buffer_size = 5_000;
    config.dqn.gamma = 0.0;
    config.dqn.target_network_frequency = 200;
    let steps_per_iteration = match algo {
        Algo::Ppo => config.ppo.num_steps,
        Algo::Dqn => handoff_training::dqn::ITERATION_STEPS,
        Algo::Rollout => unreachable!("the network learners only"),
    };
    config.steps = (iterations * steps_per_iteration * envs) as u64;
    config.dqn.exploration_fraction = 0.5;
    let device = handoff_training::setup::device(DeviceKind::Flex).unwrap();
    let mut learner = make_learner(&config, &device, observation_len(SLOTS), SLOTS).unwrap();
    let mut bandit = Bandit::new(envs);
    let live = vec![true; envs];
    for it in 0..iterations {
        for _ in 0..learner.steps_per_iteration() {
            let actions = learner.act(rows(&bandit.obs), rows(&bandit.masks), &live, None);
            let mut rewards = vec![0.0; envs];
            for (i, &a) in actions.iter().enumerate() {
                assert!(bandit.masks[[i, a]], "a masked action was chosen");
                rewards[i] = f64::from(u8::from(a == bandit.best(i)));
            }
            bandit.draw();
            let done = vec![true; envs];
            learner.observe(&rewards, &done, &[false; 8], rows(&bandit.obs), rows(&bandit.masks));
        }
        learner.update(rows(&bandit.obs), rows(&bandit.masks), it as f64 / iterations as f64);
    }
    let policy = handoff_agents::LearnedPolicy::new(
        "learned",
        learner.scorer(),
        device,
        observation_len(SLOTS),
    );
    let (mut right, mut total) = (0, 0);
    for _ in 0..100 {
        bandit.draw();
        for i in 0..envs {
            let row = bandit.obs.row(i);
            let mask: Vec<bool> = bandit.masks.row(i).to_vec();
            let scores = policy_scores(&policy, row.as_slice().unwrap());
            let a = handoff_agents::learned::masked_argmax(&scores, &mask).unwrap();
            right += usize::from(a == bandit.best(i));
            total += 1;
        }
    }
    right as f64 / total as f64
}

fn policy_scores(policy: &handoff_agents::LearnedPolicy, features: &[f32]) -> Vec<f32> {
    policy.scores_of(features)
}

#[test]
fn ppo_solves_a_task_with_a_known_optimum() {
    let accuracy = solve_bandit(Algo::Ppo, 60);
    assert!(accuracy > 0.9, "PPO picks the best slot {accuracy} of the time");
}

#[test]
fn dqn_solves_a_task_with_a_known_optimum() {
    let accuracy = solve_bandit(Algo::Dqn, 40);
    assert!(accuracy > 0.9, "DQN picks the best slot {accuracy} of the time");
}

/// A run small enough for a test: one worker, about 150 chats a day, episodes of a few hundred
/// decisions, so several end within the run.
fn tiny_config(algo: Algo) -> TrainConfig {
    let mut config = TrainConfig {
        algo,
        scenario: "small".to_string(),
        scale: 0.1,
        envs: 2,
        hidden: 16,
        checkpoint_every: 2,
        eval_every: 3,
        eval_seeds: 1,
        ..TrainConfig::default()
    };
    config.ppo.num_steps = 64;
    // two iterations imitating the teacher, then PPO with the fading imitation term
    config.ppo.teacher_steps = 256;
    config.dqn.learning_starts = 100;
    config.dqn.buffer_size = 2_000;
    config.dqn.batch_size = 32;
    config.dqn.train_frequency = 4;
    config.dqn.target_network_frequency = 100;
    let per_iteration = match algo {
        Algo::Ppo => 64,
        Algo::Dqn => handoff_training::dqn::ITERATION_STEPS,
        Algo::Rollout => unreachable!("the network learners only"),
    };
    config.steps = 6 * 2 * per_iteration as u64;
    config
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn resume_gives_the_same_parameters(algo: Algo) {
    let config = tiny_config(algo);
    let straight = temp_dir(&format!("straight-{}", algo.name()));
    let outcome = train(
        &config,
        &TrainOptions { run_dir: straight.clone(), ..TrainOptions::default() },
        &mut |_| {},
    )
    .unwrap();
    assert!(outcome.finished);

    let interrupted = temp_dir(&format!("interrupted-{}", algo.name()));
    let first = TrainOptions {
        run_dir: interrupted.clone(),
        stop_after: Some(3),
        ..TrainOptions::default()
    };
    let stopped = train(&config, &first, &mut |_| {}).unwrap();
    assert!(!stopped.finished && stopped.global_step < outcome.global_step);
    let again =
        TrainOptions { run_dir: interrupted.clone(), resume: true, ..TrainOptions::default() };
    let resumed = train(&config, &again, &mut |_| {}).unwrap();
    assert!(resumed.finished);
    assert_eq!(resumed.global_step, outcome.global_step);
    // the logs of the resumed run hold each step once, as the uninterrupted run's do, and
    // TensorBoard is told to drop what the interruption logged after its checkpoint
    let logged = |run: &Path| -> Vec<(String, String)> {
        std::fs::read_to_string(run.join(SCALARS_FILE))
            .unwrap()
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f[0].to_string(), f[1].to_string())
            })
            .collect()
    };
    assert_eq!(logged(&interrupted), logged(&straight));
    let starts: Vec<i64> = event_files(&interrupted)
        .iter()
        .flat_map(|f| events(f))
        .filter(|e| {
            e.has_session_log()
                && e.get_session_log().get_status() == SessionLog_SessionStatus::START
        })
        .map(|e| e.get_step())
        .collect();
    assert_eq!(starts, vec![stopped.global_step as i64 + 1]);
    // The optimiser's file is not compared byte for byte: Burn writes its per-parameter state in
    // hash-map order. Its content is checked all the same: the parameters after three more
    // iterations of Adam steps match only if the moments were restored.
    // the loop state matches too, except the best validation return, an evaluation of the
    // network whose last bit may differ when the matrix kernels meet differently aligned buffers
    let state = |c: &Path| -> serde_json::Value {
        serde_json::from_slice(&read(&c.join("state.json"))).unwrap()
    };
    let (mut a, mut b) = (state(&outcome.checkpoint), state(&resumed.checkpoint));
    let (best_a, best_b) = (a["best_return"].as_f64().unwrap(), b["best_return"].as_f64().unwrap());
    assert!((best_a - best_b).abs() <= 1e-9 * best_a.abs(), "{best_a} vs {best_b}");
    a["best_return"] = serde_json::Value::Null;
    b["best_return"] = serde_json::Value::Null;
    assert_eq!(a, b);
    let mut files = vec!["model.bpk", "policy.bpk", "learner.json"];
    if algo == Algo::Dqn {
        files.extend(["target.bpk", "replay.bin"]);
    }
    for file in files {
        assert!(
            read(&outcome.checkpoint.join(file)) == read(&resumed.checkpoint.join(file)),
            "{}: {file} differs after resuming",
            algo.name()
        );
    }
    // a different configuration is refused
    let mut other = config.clone();
    other.seed += 1;
    let err = train(&other, &again, &mut |_| {}).unwrap_err();
    assert!(err.is_input() && err.to_string().contains("different configuration"), "{err}");
    // so is a fresh run into a directory that holds one
    let err = train(&config, &first, &mut |_| {}).unwrap_err();
    assert!(err.is_input() && err.to_string().contains("already holds a run"), "{err}");
}

#[test]
fn ppo_resumes_exactly_where_it_stopped() {
    resume_gives_the_same_parameters(Algo::Ppo);
}

#[test]
fn dqn_resumes_exactly_where_it_stopped() {
    resume_gives_the_same_parameters(Algo::Dqn);
}

#[test]
fn a_damaged_checkpoint_is_reported_not_loaded() {
    let config = tiny_config(Algo::Ppo);
    let run = temp_dir("damaged");
    let outcome = train(
        &config,
        &TrainOptions { run_dir: run.clone(), ..TrainOptions::default() },
        &mut |_| {},
    )
    .unwrap();
    let policy = outcome.checkpoint.join("policy.bpk");
    assert!(run.join("best").join("policy.bpk").exists(), "the best validated policy is kept");
    let mut bytes = read(&policy);
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x5a;
    std::fs::write(&policy, bytes).unwrap();
    let err =
        handoff_training::checkpoint::load_policy(&outcome.checkpoint, "ckpt", observation_len(8))
            .map(|_| ())
            .unwrap_err();
    assert!(matches!(err, TrainError::Checkpoint(_)), "{err:?}");
    let err = err.to_string();
    assert!(err.contains("corrupt") && err.contains("policy.bpk"), "{err}");
    let err = handoff_training::checkpoint::load_policy(&temp_dir("nothing"), "x", 10)
        .map(|_| ())
        .unwrap_err();
    assert!(err.is_input() && err.to_string().contains("no checkpoint here"), "{err}");
}

/// Reads the scalar tags of a TensorBoard event file.
fn event_tags(path: &Path) -> Vec<String> {
    let events = events(path);
    assert!(events.len() > 1);
    events
        .iter()
        .flat_map(|e| e.get_summary().get_value().iter().map(|v| v.get_tag().to_string()))
        .collect()
}

/// Every record of a TensorBoard event file (TFRecord framing: length, masked CRC32C of the
/// length, data, masked CRC32C of the data, around `Event` protocol buffers), checking that the
/// file ends on a record boundary.
fn events(path: &Path) -> Vec<Event> {
    let bytes = read(path);
    let mut at = 0;
    let mut out = Vec::new();
    while at < bytes.len() {
        let len = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
        let data = &bytes[at + 12..at + 12 + len];
        out.push(Event::parse_from_bytes(data).expect("an Event"));
        at += 12 + len + 4;
    }
    assert_eq!(at, bytes.len(), "the file ends on a record boundary");
    out
}

/// The TensorBoard event files of a run directory.
fn event_files(run: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(run)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("events.out.tfevents."))
        .map(|e| e.path())
        .collect()
}

#[test]
fn tensorboard_files_hold_cleanrl_tags() {
    let config = tiny_config(Algo::Ppo);
    let run = temp_dir("tensorboard");
    train(&config, &TrainOptions { run_dir: run.clone(), ..TrainOptions::default() }, &mut |_| {})
        .unwrap();
    let file = event_files(&run).pop().expect("an event file");
    let tags = event_tags(&file);
    for tag in [
        "charts/episodic_return",
        "charts/SPS",
        "losses/value_loss",
        "losses/policy_loss",
        "losses/entropy",
        "losses/approx_kl",
        "kpi/duration",
        "kpi/rating",
        "kpi/retrial",
        "eval/return",
    ] {
        assert!(tags.iter().any(|t| t == tag), "{tag} missing from {tags:?}");
    }
}

/// Offsets at which to damage a file of `len` bytes: every offset of a small file, else 256
/// spread evenly over it plus its last bytes.
fn damage_offsets(len: usize) -> Vec<usize> {
    if len <= 4096 {
        return (0..len).collect();
    }
    let mut offsets: Vec<usize> = (0..256).map(|k| k * len / 256).collect();
    offsets.extend(len - 8..len);
    offsets
}

#[test]
fn every_damaged_checkpoint_file_is_reported_never_loaded() {
    for algo in [Algo::Ppo, Algo::Dqn] {
        let run = temp_dir(&format!("damage-{}", algo.name()));
        let options = TrainOptions { run_dir: run.clone(), ..TrainOptions::default() };
        let checkpoint = train(&tiny_config(algo), &options, &mut |_| {}).unwrap().checkpoint;
        let mut files: Vec<PathBuf> = std::fs::read_dir(&checkpoint)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        files.sort();
        let mut cases = 0;
        for file in &files {
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            let original = read(file);
            let mut damaged_copies: Vec<Vec<u8>> = Vec::new();
            for at in damage_offsets(original.len()) {
                damaged_copies.push(original[..at].to_vec()); // truncated
                if at % 16 == 0 || original.len() <= 256 {
                    let mut flipped = original.clone();
                    flipped[at] ^= 0x01;
                    damaged_copies.push(flipped);
                }
            }
            for damaged in damaged_copies {
                std::fs::write(file, &damaged).unwrap();
                let opened = handoff_training::checkpoint::open(&checkpoint);
                let loaded = handoff_training::checkpoint::load_policy(&checkpoint, "x", 10);
                let error = loaded.map(|_| ()).unwrap_err();
                assert!(opened.is_err() && error.is_input(), "{name}: {error}");
                // the manifest lists the checksums: damage to it can point at another file,
                // damage to any other file names that file
                if name != "manifest.json" {
                    assert!(error.to_string().contains(&name), "{name}: {error}");
                }
                cases += 1;
            }
            std::fs::write(file, &original).unwrap();
        }
        assert!(handoff_training::checkpoint::load_policy(&checkpoint, "x", 10).is_ok());
        assert!(cases > 1000, "{cases} cases");
        eprintln!("{}: {cases} damaged checkpoints, each reported", algo.name());
    }
}
