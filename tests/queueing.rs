//! The simulator configured as a textbook queue agrees with queueing theory: M/M/c (Erlang C:
//! the probability of waiting and the mean wait) and M/M/c+G (Erlang A's generalisation to the
//! simulator's log-normal patience: the probability of waiting and the abandonment share), at
//! several loads.
//!
//! The configuration: `c` identical workers (no speed spread, no switching cost) who hold one chat
//! each (`cap = 1`), all on duty every hour (`shifts = "none"`, staffing 1.0), no AI, Poisson
//! arrivals at a flat rate, served first come, first served (`study-control`). A chat needs one
//! productive reply; each reply is productive with chance `p`, so a chat holds its worker for a
//! geometric number of replies (mean 1/p) with the customer's short message between them. With
//! log-normal reply times of coefficient of variation 1 (σ = √ln 2), the holding time has
//! coefficient of variation 1 and, as the sum of a geometric number of draws, is exponential up to
//! terms of order `p` (Rényi's theorem): with p = 0.05 the queue is M/M/c to well within the
//! sampling error used here.
//!
//! Tolerances come from the sample: each seed is an independent replication (a warm-up, then
//! several days), and a statistic must lie within four standard errors of the seeds' mean, plus
//! 1 % of the value for the holding time's residual departure from the exponential.

use handoff::agents::by_name;
use handoff::env::{Ending, Scenario, Shifts, Simulator};

/// Chance that a reply resolves the chat: the holding time is a sum of 1/P replies on average.
const P: f64 = 0.05;
/// The customer's message between replies, seconds (the shortest the scenario allows).
const WRITE_S: f64 = 0.1;
/// Mean holding time of a chat, seconds.
const SERVICE_S: f64 = 300.0;
/// Independent replications per configuration.
const SEEDS: u64 = 10;
/// Simulated days per replication, and the hours discarded at the start of each.
const DAYS: u32 = 3;
const WARM_UP_H: f64 = 6.0;

/// A queue to simulate: `servers` workers at offered load `load` (arrival rate × mean holding
/// time ÷ servers) and, for M/M/c+G, log-normal patience (median seconds, σ).
#[derive(Clone, Copy)]
struct Queue {
    servers: u32,
    load: f64,
    patience: Option<(f64, f64)>,
}

impl Queue {
    fn arrivals_per_s(&self) -> f64 {
        self.load * f64::from(self.servers) / SERVICE_S
    }

    fn scenario(&self) -> Scenario {
        let mut s = Scenario::builtin("small").unwrap();
        s.days = DAYS;
        s.arrivals.chats_per_day = self.arrivals_per_s() * 86_400.0;
        s.arrivals.hourly_profile = vec![1.0; 24];
        s.arrivals.surges.clear();
        s.arrivals.eligible_share = 0.0;
        s.issues.rounds_ineligible_mean = 1.0;
        s.issues.rounds_eligible_mean = 1.0;
        let w = &mut s.workers;
        w.count = self.servers;
        w.cap = 1;
        w.staffing = vec![1.0; 24];
        w.shifts = Shifts::None;
        w.productive_prob = P;
        w.reply_sigma = std::f64::consts::LN_2.sqrt();
        // mean holding time: E[reply]/p + (1/p - 1) * write
        let reply_mean = (SERVICE_S - (1.0 / P - 1.0) * WRITE_S) * P;
        w.reply_median_s = reply_mean / libm::exp(w.reply_sigma.powi(2) / 2.0);
        w.speed_sigma = 0.0;
        w.switch_cost_s = 0.0;
        w.switch_slip = 0.0;
        w.perfunctory_close_rate = 0.0;
        let c = &mut s.customers;
        c.write_median_s = WRITE_S;
        c.write_sigma = 0.0;
        c.give_up_after_unproductive = 1000;
        (c.patience_median_s, c.patience_sigma) = self.patience.unwrap_or((86_400.0, 0.0));
        s.retrial.returns = false;
        s.validate("queueing test").unwrap();
        s
    }
}

/// Per replication: the share of customers who waited, their mean wait (seconds) and the share
/// who abandoned, over the chats that arrived after the warm-up.
fn replications(queue: Queue) -> Vec<[f64; 3]> {
    let scenario = queue.scenario();
    (0..SEEDS)
        .map(|seed| {
            let mut sim = Simulator::new(scenario.clone());
            let mut policy = by_name("study-control", &scenario).unwrap();
            let (mut n, mut waited, mut wait, mut abandoned) = (0.0, 0.0, 0.0, 0.0);
            handoff::env::run(&mut sim, seed, policy.as_mut(), |r| {
                if r.arrival_s >= WARM_UP_H * 3600.0 && r.arrival_s < scenario.horizon_s() {
                    n += 1.0;
                    waited += f64::from(r.wait_s > 1e-9);
                    wait += r.wait_s;
                    abandoned += f64::from(r.ending == Ending::Abandoned);
                }
            });
            [waited / n, wait / n, abandoned / n]
        })
        .collect()
}

/// Asserts that the replications' mean of statistic `k` is within four standard errors (and 1 %
/// of the value) of `theory`.
fn assert_agrees(what: &str, reps: &[[f64; 3]], k: usize, theory: f64) {
    let n = reps.len() as f64;
    let mean = reps.iter().map(|r| r[k]).sum::<f64>() / n;
    let sd = (reps.iter().map(|r| (r[k] - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let tolerance = 4.0 * sd / n.sqrt() + 0.01 * theory;
    eprintln!("{what}: simulated {mean:.4}, theory {theory:.4}, tolerance {tolerance:.4}");
    assert!(
        (mean - theory).abs() <= tolerance,
        "{what}: simulated {mean:.4}, theory {theory:.4}, tolerance {tolerance:.4}"
    );
}

/// Erlang B by its stable recursion: the blocking probability of `c` servers at `a` erlangs.
fn erlang_b(c: u32, a: f64) -> f64 {
    (1..=c).fold(1.0, |b, k| a * b / (f64::from(k) + a * b))
}

/// Erlang C: the probability that an arrival waits in M/M/c at `a` erlangs (a < c).
fn erlang_c(c: u32, a: f64) -> f64 {
    let b = erlang_b(c, a);
    f64::from(c) * b / (f64::from(c) - a * (1.0 - b))
}

/// The standard normal distribution function.
fn normal_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)
}

/// M/M/n+G (Baccelli and Hebuterne 1981; Mandelbaum and Zeltyn 2004): with patience
/// distribution `g`, H(x) = ∫₀ˣ (1 - g) and the virtual wait's density λ π₍ₙ₋₁₎ exp(λH(x) - nμx)
/// for x > 0, returns (probability of waiting, abandonment share).
fn mmn_g(n: u32, arrivals: f64, service: f64, g: impl Fn(f64) -> f64) -> (f64, f64) {
    let (lambda, n_mu) = (arrivals, f64::from(n) / service);
    let steps = 400_000;
    let dx = 40.0 * service / steps as f64;
    let (mut h, mut j, mut abandon) = (0.0, 0.0, 0.0);
    let mut previous = (1.0, g(0.0));
    for i in 1..=steps {
        let x = i as f64 * dx;
        let gx = g(x);
        h += 0.5 * ((1.0 - previous.1) + (1.0 - gx)) * dx;
        let density = libm::exp(lambda * h - n_mu * x);
        j += 0.5 * (previous.0 + density) * dx;
        abandon += 0.5 * (previous.0 * previous.1 + density * gx) * dx;
        previous = (density, gx);
    }
    let a = lambda * service;
    let pi = 1.0 / (1.0 / erlang_b(n - 1, a) + lambda * j);
    (pi * lambda * j, pi * lambda * abandon)
}

#[test]
fn the_patience_formula_reduces_to_erlang_c_without_abandonment() {
    let (c, service, arrivals) = (12, 300.0, 0.034);
    let (waits, abandons) = mmn_g(c, arrivals, service, |_| 0.0);
    let exact = erlang_c(c, arrivals * service);
    assert!((waits - exact).abs() < 1e-4 * exact, "{waits} against {exact}");
    assert_eq!(abandons, 0.0);
    // 12 servers at 10.2 erlangs wait with probability 0.4933 (the Erlang C tables)
    assert!((exact - 0.4933).abs() < 5e-4, "{exact}");
}

#[test]
fn without_patience_the_centre_is_erlang_c() {
    for load in [0.7, 0.85, 0.95] {
        let queue = Queue { servers: 12, load, patience: None };
        let a = queue.arrivals_per_s() * SERVICE_S;
        let p_wait = erlang_c(queue.servers, a);
        let mean_wait = p_wait * SERVICE_S / (f64::from(queue.servers) - a);
        let reps = replications(queue);
        assert_agrees(&format!("P(wait) at load {load}"), &reps, 0, p_wait);
        assert_agrees(&format!("mean wait at load {load}"), &reps, 1, mean_wait);
        assert_agrees(&format!("abandonment at load {load}"), &reps, 2, 0.0);
    }
}

#[test]
fn with_log_normal_patience_the_centre_is_m_m_n_plus_g() {
    for (load, median) in [(0.9, 120.0), (1.1, 120.0), (1.3, 300.0)] {
        let sigma = 0.8;
        let queue = Queue { servers: 12, load, patience: Some((median, sigma)) };
        let patience =
            |x: f64| if x <= 0.0 { 0.0 } else { normal_cdf(libm::log(x / median) / sigma) };
        let (p_wait, p_abandon) = mmn_g(12, queue.arrivals_per_s(), SERVICE_S, patience);
        let reps = replications(queue);
        assert_agrees(&format!("P(wait) at load {load}"), &reps, 0, p_wait);
        assert_agrees(&format!("abandonment at load {load}"), &reps, 2, p_abandon);
    }
}
