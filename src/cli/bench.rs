//! `handoff bench`: simulator and environment throughput on one core.

use std::time::Instant;

use handoff_agents::{RandomPolicy, make_env};
use handoff_env::{Policy, Scenario};
use serde::Serialize;

use super::simulate::{ARMS, run_arm};
use super::table::render;

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

/// What `handoff bench --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// The whole-study simulation.
    pub simulator: SimulatorBench,
    /// The environment.
    pub env: EnvBench,
}

/// Simulates both arms of `scenario` on one core.
pub fn bench_simulator(scenario: &Scenario, seed: u64) -> SimulatorBench {
    let start = Instant::now();
    let (mut chats, mut events) = (0, 0);
    for (_, policy) in ARMS {
        let counters = run_arm(scenario, seed, policy, |_| {});
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

/// Steps the environment `steps` times with a random masked policy, encoding every observation.
pub fn bench_env(scenario: &Scenario, steps: u64, seed: u64) -> EnvBench {
    let mut env = make_env(scenario.clone());
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

/// Renders the report as a table.
pub fn render_text(report: &BenchReport) -> String {
    let s = &report.simulator;
    let e = &report.env;
    let rows = vec![
        vec!["benchmark".into(), "work".into(), "seconds".into(), "throughput".into()],
        vec![
            format!("simulate {} (both arms, one core)", s.scenario),
            format!("{} chats, {} events", s.chats, s.events),
            format!("{:.2}", s.seconds),
            format!("{:.0} chats/s, {:.2} M events/s", s.chats_per_s, s.events_per_s / 1e6),
        ],
        vec![
            format!("env {} (random masked policy)", e.scenario),
            format!("{} steps, {} episodes", e.steps, e.episodes),
            format!("{:.2}", e.seconds),
            format!("{:.2} M steps/s", e.steps_per_s / 1e6),
        ],
    ];
    let mut out = render(&rows);
    if cfg!(debug_assertions) {
        out.push_str("note: this is a debug build; measure with `cargo run --release -- bench`\n");
    }
    out
}
