//! The measurements of `handoff bench`: simulator and environment throughput on one core, the
//! vector environment on one and two threads, the learned policy's cost per decision, PPO
//! training throughput and a trained policy's inference latency, and a reference workload that
//! says how fast the host was. The command renders them ([`crate::cli`]).

use std::time::Instant;

use handoff_agents::{RandomPolicy, STUDY_ARMS, make_env, run_builtin};
use handoff_env::{DecisionKind, Policy, Scenario};
use handoff_training::TrainError;
use serde::Serialize;

/// Throughput of the whole-study simulation.
#[derive(Debug, Clone, Serialize)]
pub struct SimulatorBench {
    /// Scenario simulated.
    pub scenario: String,
    /// Chats simulated over both arms.
    pub chats: u64,
    /// Events processed over both arms.
    pub events: u64,
    /// Wall-clock seconds for both arms, one after the other on one core.
    pub seconds: f64,
    /// Chats per second.
    pub chats_per_s: f64,
    /// Events per second.
    pub events_per_s: f64,
}

/// Throughput of the environment under a random masked policy.
#[derive(Debug, Clone, Serialize)]
pub struct EnvBench {
    /// Scenario stepped.
    pub scenario: String,
    /// Agent steps taken (observation encoding included).
    pub steps: u64,
    /// Episodes completed or started.
    pub episodes: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Steps per second.
    pub steps_per_s: f64,
}

/// Throughput of the vector environment on one and on two threads.
#[derive(Debug, Clone, Serialize)]
pub struct VectorBench {
    /// Scenario stepped.
    pub scenario: String,
    /// Environments in the vector.
    pub envs: usize,
    /// Environment steps taken on each thread count (all environments together).
    pub steps: u64,
    /// Environment steps per second on one thread.
    pub threads_1: f64,
    /// Environment steps per second on two threads.
    pub threads_2: f64,
}

/// Steps a vector of `envs` environments on `scenario` for `steps` environment steps on one
/// thread and then on two, choosing random valid actions.
pub fn bench_vector(scenario: &Scenario, envs: usize, steps: u64) -> VectorBench {
    let per_second = |threads: usize| {
        let members = (0..envs)
            .map(|_| make_env(scenario.clone()).expect("loaded with its fallback checked"))
            .collect();
        let mut vector = handoff_env::VectorEnv::new(members).with_threads(threads);
        let mut policies: Vec<RandomPolicy> = (0..envs as u64)
            .map(|i| {
                let mut p = RandomPolicy::default();
                p.reset(i);
                p
            })
            .collect();
        vector.reset(1);
        let vector_steps = steps.div_ceil(envs as u64);
        let start = Instant::now();
        for _ in 0..vector_steps {
            let actions: Vec<usize> = policies
                .iter_mut()
                .zip(vector.envs())
                .zip(vector.needs_reset())
                .map(|((p, env), &reset)| if reset { 0 } else { p.act(env.observation()) })
                .collect();
            vector.step(&actions).expect("random valid actions");
        }
        (vector_steps * envs as u64) as f64 / start.elapsed().as_secs_f64()
    };
    VectorBench {
        scenario: scenario.name.clone(),
        envs,
        steps: steps.div_ceil(envs as u64) * envs as u64,
        threads_1: per_second(1),
        threads_2: per_second(2),
    }
}

/// Throughput of PPO training and latency of a trained policy.
#[derive(Debug, Clone, Serialize)]
pub struct LearnerBench {
    /// Scenario trained on.
    pub scenario: String,
    /// Environment steps trained.
    pub steps: u64,
    /// Environment steps per second, rollouts and updates included (evaluations excluded).
    pub train_steps_per_s: f64,
    /// Decisions timed for the inference latency.
    pub decisions: u64,
    /// Mean microseconds per decision of the greedy policy at batch size 1, encoding included.
    pub inference_us: f64,
}

/// A fixed reference workload timed in the same run (one core: a binary heap of random keys
/// and an exponential per operation, the kind of work a discrete-event simulation does), so
/// that results read as ratios that hold across machines better than seconds do.
#[derive(Debug, Clone, Serialize)]
pub struct ReferenceBench {
    /// Operations timed.
    pub ops: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Operations per second.
    pub ops_per_s: f64,
}

/// Operations of one repetition of the reference workload.
const REFERENCE_OPS: u64 = 2_000_000;

/// Repetitions of the reference workload; the fastest counts (the usual way to time a short
/// workload on a machine with other load: slower repetitions measure the interference).
const REFERENCE_REPEATS: usize = 7;

/// The least of [`REFERENCE_REPEATS`] timings of `pass`.
fn fastest(mut pass: impl FnMut() -> f64) -> f64 {
    (0..REFERENCE_REPEATS).map(|_| pass()).fold(f64::INFINITY, f64::min)
}

/// Times the reference workload.
pub fn bench_reference() -> ReferenceBench {
    use rand::SeedableRng;
    let seconds = fastest(|| {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(1);
        let mut heap = std::collections::BinaryHeap::with_capacity(1025);
        let start = Instant::now();
        for _ in 0..REFERENCE_OPS {
            let key = libm::exp(-handoff_env::rng::uniform(&mut rng)).to_bits();
            heap.push(std::cmp::Reverse(key));
            if heap.len() > 1024 {
                heap.pop();
            }
        }
        std::hint::black_box(&heap);
        start.elapsed().as_secs_f64()
    });
    ReferenceBench { ops: REFERENCE_OPS, seconds, ops_per_s: REFERENCE_OPS as f64 / seconds }
}

/// Nanoseconds per draw of each of the simulator's samplers on one core (the fastest of
/// [`REFERENCE_REPEATS`] repetitions of [`DRAWS`] draws each): the per-part figure for the
/// draws, which `libm` computes so that every machine gets the same bits.
#[derive(Debug, Clone, Serialize)]
pub struct DrawsBench {
    /// Draws of each sampler per repetition.
    pub draws: u64,
    /// A uniform on [0, 1) from the generator's 53 bits.
    pub uniform_ns: f64,
    /// An exponential (ziggurat).
    pub exponential_ns: f64,
    /// A standard normal (ziggurat).
    pub normal_ns: f64,
    /// A log-normal: a normal and the table `exp` (the reply and typing times).
    pub lognormal_ns: f64,
    /// 1 + Poisson(0.6), the messages per reply at full effort (inversion, `exp(-λ)` kept).
    pub poisson_ns: f64,
}

/// Draws of one repetition of each sampler.
const DRAWS: u64 = 1_000_000;

/// Times the simulator's samplers.
pub fn bench_draws() -> DrawsBench {
    use handoff_env::rng::{OnePlusPoisson, exponential, lognormal, std_normal, uniform};
    use rand::SeedableRng;
    fn time(mut draw: impl FnMut(&mut rand_pcg::Pcg32) -> f64) -> f64 {
        fastest(|| {
            let mut rng = rand_pcg::Pcg32::seed_from_u64(1);
            let start = Instant::now();
            let mut sum = 0.0;
            for _ in 0..DRAWS {
                sum += draw(&mut rng);
            }
            std::hint::black_box(sum);
            start.elapsed().as_secs_f64() * 1e9 / DRAWS as f64
        })
    }
    let messages = OnePlusPoisson::new(1.6);
    DrawsBench {
        draws: DRAWS,
        uniform_ns: time(uniform),
        exponential_ns: time(|rng| exponential(rng, 1.0)),
        normal_ns: time(std_normal),
        lognormal_ns: time(|rng| lognormal(rng, 35.0, 0.6)),
        poisson_ns: time(|rng| f64::from(messages.sample(rng))),
    }
}

/// Nanoseconds per event of the simulator's event queue in the classic hold model (pop the
/// earliest event, schedule one after it), at the number of events the whole study holds
/// pending at its peak (one core, the fastest of [`REFERENCE_REPEATS`] passes).
#[derive(Debug, Clone, Serialize)]
pub struct QueueBench {
    /// Events pending throughout.
    pub pending: usize,
    /// Holds (a pop and a push) per pass.
    pub holds: u64,
    /// Nanoseconds per hold of [`handoff_env::event_queue::EventQueue`] on its 4-ary heap
    /// (the queue of quiet runs).
    pub ns: f64,
    /// Nanoseconds per hold of the queue on its calendar (the queue of busy runs).
    pub calendar_ns: f64,
}

/// Events pending in the queue benchmark: about what the whole study holds at its peak hour
/// (some 600 chats in flight, each with its next message or reply and many a patience check).
const QUEUE_PENDING: usize = 1_000;

/// Times the event queue in the hold model. Delays are the simulator's: seven in eight a
/// log-normal reply or typing time (median 30 s), one in eight a patience check (median 420 s).
pub fn bench_event_queue(holds: u64) -> QueueBench {
    use handoff_env::event_queue::{EventKind, EventQueue};
    use handoff_env::rng::{lognormal, uniform};
    use rand::SeedableRng;
    let delays: Vec<f64> = {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(1);
        (0..4096)
            .map(|_| {
                let median = if uniform(&mut rng) < 0.125 { 420.0 } else { 30.0 };
                lognormal(&mut rng, median, 0.6)
            })
            .collect()
    };
    let time_holds = |mut queue: EventQueue| {
        for (i, d) in delays.iter().take(QUEUE_PENDING).enumerate() {
            queue.push(*d, EventKind::CustomerMessage, i as u32, 0);
        }
        let start = Instant::now();
        for i in 0..holds {
            let event = queue.pop().expect("the queue holds events");
            let delay = delays[i as usize % delays.len()];
            queue.push(event.time + delay, event.kind, event.slot, event.tag);
        }
        start.elapsed().as_secs_f64() * 1e9 / holds as f64
    };
    let ns = fastest(|| time_holds(EventQueue::default()));
    let calendar_ns = fastest(|| time_holds(EventQueue::calendar()));
    QueueBench { pending: QUEUE_PENDING, holds, ns, calendar_ns }
}

/// Nanoseconds to encode an observation into the network's floats, on observations of real
/// decisions (one core, the fastest of [`REFERENCE_REPEATS`] passes).
#[derive(Debug, Clone, Serialize)]
pub struct EncodingBench {
    /// Scenario the observations come from (the agent making every kind of decision).
    pub scenario: String,
    /// Floats per observation.
    pub floats: usize,
    /// Encodings per pass.
    pub encodings: u64,
    /// Mean nanoseconds per encoding.
    pub ns: f64,
}

/// Distinct observations the encoding benchmark cycles through.
const ENCODED_OBSERVATIONS: usize = 1000;

/// Times [`handoff_env::Observation::encode`] on `encodings` encodings of observations of
/// `scenario`'s decisions (taken by a random masked policy, every decision kind).
pub fn bench_encoding(scenario: &Scenario, encodings: u64) -> EncodingBench {
    let scenario = with_every_lever(scenario);
    let mut env = make_env(scenario.clone()).expect("loaded with its fallback checked");
    let mut policy = RandomPolicy::default();
    policy.reset(1);
    env.reset(1);
    let mut observations = Vec::with_capacity(ENCODED_OBSERVATIONS);
    while observations.len() < ENCODED_OBSERVATIONS && !env.is_over() {
        observations.push(env.observation().clone());
        let action = policy.act(env.observation());
        env.step(action).expect("the random policy picks valid actions");
    }
    let mut buffer = vec![0.0f32; env.observation_len()];
    let ns = fastest(|| {
        let start = Instant::now();
        for obs in observations.iter().cycle().take(encodings as usize) {
            obs.encode(&mut buffer);
            std::hint::black_box(&buffer);
        }
        start.elapsed().as_secs_f64() * 1e9 / encodings as f64
    });
    EncodingBench { scenario: scenario.name.clone(), floats: buffer.len(), encodings, ns }
}

/// What `handoff bench --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// The model measured ([`handoff_env::MODEL_VERSION`]).
    pub model_version: u32,
    /// The reference workload, timed first.
    pub reference: ReferenceBench,
    /// The simulator's samplers, one by one.
    pub draws: DrawsBench,
    /// The event queue in the hold model.
    pub event_queue: QueueBench,
    /// The observation's encoding.
    pub encoding: EncodingBench,
    /// The whole-study simulation.
    pub simulator: SimulatorBench,
    /// The environment.
    pub env: EnvBench,
    /// The environment with the agent making every kind of decision, holds allowed.
    pub env_every_kind: EnvBench,
    /// The vector environment on one and two threads.
    pub vector: VectorBench,
    /// The default learner's policy (a rule with a linear correction) per decision.
    pub corrected: DecisionBench,
    /// The default learner's comparisons on copies of the centre.
    pub comparisons: ComparisonBench,
    /// PPO training and inference (absent with `--skip-learner`).
    pub learner: Option<LearnerBench>,
}

/// The cost per decision of the policy `handoff train --algo rollout` writes (the rule with
/// linear corrections of its routing, attend and assign decisions), against the rule alone, on
/// the same decisions. The policy does not look ahead when it decides: its rollouts are made in training.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionBench {
    /// Scenario decided on (the agent making every kind of decision).
    pub scenario: String,
    /// The rule corrected.
    pub rule: String,
    /// Decisions timed.
    pub decisions: u64,
    /// Of them, routings of AI-eligible chats with a choice (where the correction reads its
    /// features).
    pub corrected_routings: u64,
    /// Mean nanoseconds per decision of the rule alone.
    pub rule_ns: f64,
    /// Mean nanoseconds per decision of the corrected policy.
    pub corrected_ns: f64,
}

/// The rule the decision benchmark corrects: the best rule of the default learner's validation.
const BENCH_RULE: &str = "surge-c-mu-theta";

/// Times the rule and the rule with its corrections (non-zero weights, so that every eligible
/// routing computes its features and estimates) on the same `decisions` decisions of `scenario`,
/// the environment following the rule.
pub fn bench_decisions(scenario: &Scenario, decisions: u64) -> DecisionBench {
    use handoff_agents::Advantage;
    use handoff_agents::corrected::{OPTION_FEATURES, PACE_FEATURES, ROUTE_FEATURES};
    let scenario = with_every_lever(scenario);
    let mut rule = handoff_agents::spec::resolve(BENCH_RULE, &scenario).expect("shipped");
    let small = |features| Advantage { weights: vec![1e-3; features] };
    let corrections = handoff_agents::Corrections {
        route: small(ROUTE_FEATURES),
        pace: small(PACE_FEATURES),
        attend: small(OPTION_FEATURES),
        assign: small(OPTION_FEATURES),
    };
    let mut corrected = handoff_agents::Corrected::new("corrected", rule.clone(), corrections);
    let mut env = make_env(scenario.clone()).expect("loaded with its fallback checked");
    let (mut rule_s, mut corrected_s, mut routings) = (0.0, 0.0, 0);
    let mut episodes = 1;
    env.reset(1);
    for _ in 0..decisions {
        if env.is_over() {
            episodes += 1;
            env.reset(episodes);
        }
        let obs = env.observation();
        let start = Instant::now();
        let action = rule.act(obs);
        let ruled = Instant::now();
        std::hint::black_box(corrected.act(obs));
        corrected_s += ruled.elapsed().as_secs_f64();
        rule_s += (ruled - start).as_secs_f64();
        routings += u64::from(
            obs.kind == DecisionKind::Route && obs.chat.eligible && obs.valid_count() > 1,
        );
        env.step(action).expect("the rule picks valid actions");
    }
    DecisionBench {
        scenario: scenario.name.clone(),
        rule: BENCH_RULE.into(),
        decisions,
        corrected_routings: routings,
        rule_ns: 1e9 * rule_s / decisions as f64,
        corrected_ns: 1e9 * corrected_s / decisions as f64,
    }
}

/// What the default learner's comparisons cost: options compared on copies of the centre, as
/// `handoff train` compares them, one core.
#[derive(Debug, Clone, Serialize)]
pub struct ComparisonBench {
    /// Scenario compared on (one day at its size).
    pub scenario: String,
    /// The rule that makes the other decisions.
    pub rule: String,
    /// Routings compared (the routed chat run to its end with each of two options).
    pub route: u64,
    /// Route comparisons a second.
    pub route_per_s: f64,
    /// Attend decisions compared (the touched chats run to their end with each of two options).
    pub attend: u64,
    /// Attend comparisons a second.
    pub attend_per_s: f64,
}

/// The rule of the comparison benchmark: the default learner's rule on taobao.
const COMPARISON_RULE: &str = "taobao-c-mu";

/// Compares the first two options of every `ROUTE_EVERY`-th routing with a choice, and of
/// every attend decision with one, over one day of `scenario` under [`COMPARISON_RULE`],
/// timing the comparisons alone.
pub fn bench_comparisons(scenario: &Scenario) -> ComparisonBench {
    const ROUTE_EVERY: u64 = 20;
    let mut scenario = scenario.clone();
    scenario.days = 1;
    scenario.env.control = vec![DecisionKind::Route, DecisionKind::Attend];
    let mut rule = handoff_agents::spec::resolve(COMPARISON_RULE, &scenario).expect("shipped");
    let mut env = make_env(scenario.clone()).expect("loaded with its fallback checked");
    let (mut route, mut attend, mut routings) = (0u64, 0u64, 0u64);
    let (mut route_s, mut attend_s) = (0.0, 0.0);
    env.reset(1);
    while !env.is_over() {
        let obs = env.observation();
        let options: Vec<usize> = obs.valid_actions().take(2).collect();
        if options.len() == 2 {
            let start = Instant::now();
            match obs.kind {
                DecisionKind::Route => {
                    routings += 1;
                    if routings % ROUTE_EVERY == 0 {
                        for &o in &options {
                            std::hint::black_box(env.rollout_chat(o, rule.as_ref()).ok());
                        }
                        route += 1;
                        route_s += start.elapsed().as_secs_f64();
                    }
                }
                _ => {
                    for &o in &options {
                        std::hint::black_box(env.rollout_touched(o, rule.as_ref()).ok());
                    }
                    attend += 1;
                    attend_s += start.elapsed().as_secs_f64();
                }
            }
        }
        let action = rule.act(env.observation());
        env.step(action).expect("the rule picks valid actions");
    }
    let rate = |n: u64, s: f64| if s > 0.0 { n as f64 / s } else { 0.0 };
    ComparisonBench {
        scenario: scenario.name.clone(),
        rule: COMPARISON_RULE.into(),
        route,
        route_per_s: rate(route, route_s),
        attend,
        attend_per_s: rate(attend, attend_s),
    }
}

/// Trains PPO on `scenario` for `steps` steps (8 environments, default hyperparameters) in a
/// scratch directory, then times the trained policy deciding on the same scenario.
pub fn bench_learner(scenario: &str, steps: u64) -> Result<LearnerBench, TrainError> {
    use handoff_training::config::{Algo, TeacherPolicy, TrainConfig};
    use handoff_training::train::{TrainOptions, train};
    // removed when dropped, on every return below (errors included)
    let scratch = tempfile::Builder::new()
        .prefix("handoff-bench-")
        .tempdir()
        .map_err(|e| TrainError::write(&std::env::temp_dir(), e))?;
    let dir = scratch.path().join("run");
    let mut config = TrainConfig {
        algo: Algo::Ppo,
        scenario: scenario.to_string(),
        scale: 1.0,
        steps,
        eval_every: 0,
        eval_seeds: 1,
        checkpoint_every: 1_000_000,
        ..TrainConfig::default()
    };
    // plain PPO throughout: no imitation phase
    config.ppo.teacher = TeacherPolicy::None;
    let mut sps = 0.0;
    let outcome = train(
        &config,
        &TrainOptions { run_dir: dir.clone(), ..TrainOptions::default() },
        &mut |p| sps = p.sps,
    )?;
    let scenario = handoff_training::setup::training_scenario(&config)?.scenario;
    let obs_len = handoff_env::observation_len(scenario.env.candidates as usize);
    let mut policy =
        handoff_training::checkpoint::load_policy(&outcome.checkpoint, "ppo", obs_len)?;
    let mut env = make_env(scenario)?;
    env.reset(1);
    let decisions = 20_000u64;
    let mut elapsed = 0.0;
    for _ in 0..decisions {
        if env.is_over() {
            env.reset(2);
        }
        let start = Instant::now();
        let action = policy.act(env.observation());
        elapsed += start.elapsed().as_secs_f64();
        env.step(action).map_err(|e| TrainError::InvalidAction(e.to_string()))?;
    }
    Ok(LearnerBench {
        scenario: config.scenario,
        steps: outcome.global_step,
        train_steps_per_s: sps,
        decisions,
        inference_us: elapsed / decisions as f64 * 1e6,
    })
}

/// Simulates both arms of `scenario` on one core.
pub fn bench_simulator(scenario: &Scenario, seed: u64) -> SimulatorBench {
    let start = Instant::now();
    let (mut chats, mut events) = (0, 0);
    for (_, policy) in STUDY_ARMS {
        let counters = run_builtin(scenario, seed, policy, |_| {}).expect("built in");
        chats += counters.completed;
        events += counters.events;
    }
    let seconds = start.elapsed().as_secs_f64();
    SimulatorBench {
        scenario: scenario.name.clone(),
        chats,
        events,
        seconds,
        chats_per_s: chats as f64 / seconds,
        events_per_s: events as f64 / seconds,
    }
}

/// Hold of the benchmark with every lever, seconds (when the scenario allows none).
const BENCH_HOLD_S: f64 = 30.0;

/// `scenario` with the agent making every kind of decision and allowed to hold.
pub fn with_every_lever(scenario: &Scenario) -> Scenario {
    let mut s = scenario.clone();
    s.env.control = DecisionKind::ALL.to_vec();
    if s.env.hold_s == 0.0 {
        s.env.hold_s = BENCH_HOLD_S;
    }
    s
}

/// Steps the environment `steps` times with a random masked policy, encoding every observation.
pub fn bench_env(scenario: &Scenario, steps: u64, seed: u64) -> EnvBench {
    let mut env = make_env(scenario.clone()).expect("loaded with its fallback checked");
    let mut policy = RandomPolicy::default();
    policy.reset(seed);
    let mut buffer = vec![0.0f32; env.observation_len()];
    let start = Instant::now();
    let mut episodes = 1;
    env.reset(seed);
    for _ in 0..steps {
        if env.is_over() {
            env.reset(seed + episodes);
            episodes += 1;
        }
        env.observation().encode(&mut buffer);
        let action = policy.act(env.observation());
        env.step(action).expect("the random policy picks valid actions");
    }
    std::hint::black_box(&buffer);
    let seconds = start.elapsed().as_secs_f64();
    EnvBench {
        scenario: scenario.name.clone(),
        steps,
        episodes,
        seconds,
        steps_per_s: steps as f64 / seconds,
    }
}
