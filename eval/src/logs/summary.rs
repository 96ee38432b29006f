//! What a log says, summed row by row in memory that does not grow with its length: arrivals
//! by hour, endings, first waits and durations (histograms), ratings, retrials, the AI's share
//! and the workers active in each hour. The same sums describe a simulated run, so the log and
//! the fitted simulator are compared by one definition of every number.

use std::collections::HashMap;

use handoff_env::Ending;
use handoff_env::scenario::{DAY_S, HOUR_S};
use hdrhistogram::Histogram;
use serde::Serialize;

use super::patience::CensoredWaits;
use handoff_env::log::LogRow;

/// Histograms record milliseconds to three significant digits (0.1 % of a value).
const SIGNIFICANT_DIGITS: u8 = 3;

/// Minutes of a day, the resolution of a worker's time at work.
const MINUTES: usize = 1440;
/// A worker who answered nobody for less than this many minutes between two chats is taken to
/// have been at work throughout (a pause between customers, not a break: the roster's breaks
/// last an hour).
const PAUSE_MIN: usize = 15;

/// One worker's day: the minutes in which they were answering a chat, and how many chats they
/// held through the whole of each minute.
#[derive(Debug, Clone)]
struct WorkerDay {
    answering: [u64; MINUTES.div_ceil(64)],
    holding: Box<[u8; MINUTES]>,
}

impl Default for WorkerDay {
    fn default() -> Self {
        Self { answering: [0; MINUTES.div_ceil(64)], holding: Box::new([0; MINUTES]) }
    }
}

/// The share of a worker's minutes at work in which they must be seen holding a number of chats
/// for it to count as what they hold at once (a rare minute is a clock's quirk, not a habit).
const HOLDING_SHARE: f64 = 0.001;

/// z for a two-sided 95 % interval: every interval of the log fit uses it.
pub(super) const Z95: f64 = 1.959_963_984_540_054;

/// Sums over the chats of a log or of a simulated run.
#[derive(Debug, Clone)]
pub struct LogSummary {
    /// Chats summed.
    pub rows: u64,
    first_arrival_s: f64,
    last_arrival_s: f64,
    arrivals_by_hour: [u64; 24],
    endings: [u64; 4],
    first_waits_ms: Histogram<u64>,
    first_waits: Moments,
    durations_ms: Histogram<u64>,
    durations: Moments,
    /// First waits that ended in abandonment or in a reply: the patience data.
    pub patience: CensoredWaits,
    eligible: (u64, u64),
    ai_involved: (u64, u64),
    /// The ratings of the rated chats.
    ratings: Moments,
    retrials: (u64, u64),
    /// The counts of worker messages, over the chats that have one.
    worker_messages: Moments,
    /// Each worker's days, per (worker, day).
    answering: HashMap<(u32, i64), WorkerDay>,
    /// Whether the workers' minutes are summed (the service fit's runs skip them).
    workers_summed: bool,
}

impl Default for LogSummary {
    fn default() -> Self {
        // milliseconds from 1 to 10^13 (317 years): every wait and duration a log can hold
        let histogram = || {
            Histogram::new_with_bounds(1, 10_000_000_000_000, SIGNIFICANT_DIGITS)
                .expect("valid bounds")
        };
        Self {
            rows: 0,
            first_arrival_s: f64::INFINITY,
            last_arrival_s: f64::NEG_INFINITY,
            arrivals_by_hour: [0; 24],
            endings: [0; 4],
            first_waits_ms: histogram(),
            first_waits: Moments::default(),
            durations_ms: histogram(),
            durations: Moments::default(),
            patience: CensoredWaits::default(),
            eligible: (0, 0),
            ai_involved: (0, 0),
            ratings: Moments::default(),
            retrials: (0, 0),
            worker_messages: Moments::default(),
            answering: HashMap::new(),
            workers_summed: true,
        }
    }
}

fn milliseconds(s: f64) -> u64 {
    (s * 1000.0).round() as u64
}

fn count(pair: &mut (u64, u64), value: Option<bool>) {
    if let Some(v) = value {
        pair.0 += u64::from(v);
        pair.1 += 1;
    }
}

impl LogSummary {
    /// Sums without the workers' minutes (by far the costliest part of a row): for runs that
    /// need only the key numbers ([`LogSummary::kpis`]).
    pub fn without_workers() -> Self {
        Self { workers_summed: false, ..Self::default() }
    }

    /// Adds one chat.
    pub fn add(&mut self, row: &LogRow) {
        self.rows += 1;
        self.first_arrival_s = self.first_arrival_s.min(row.arrival_s);
        self.last_arrival_s = self.last_arrival_s.max(row.arrival_s);
        let hour = (row.arrival_s.rem_euclid(DAY_S) / HOUR_S) as usize;
        self.arrivals_by_hour[hour.min(23)] += 1;
        let ending = Ending::ALL.iter().position(|e| *e == row.ending).expect("every ending");
        self.endings[ending] += 1;
        let wait = row.first_wait_s;
        self.first_waits_ms.saturating_record(milliseconds(wait));
        self.first_waits.add(wait);
        self.durations_ms.saturating_record(milliseconds(row.duration_s));
        self.durations.add(row.duration_s);
        // the customer left before a first reply when the chat ended with its first wait
        let left_waiting = row.ending == Ending::Abandoned && row.duration_s - wait < 0.0015;
        self.patience.add(wait, left_waiting);
        count(&mut self.eligible, row.ai_eligible);
        count(&mut self.ai_involved, row.ai_involved);
        count(&mut self.retrials, row.retrial);
        if let Some(r) = row.rating {
            self.ratings.add(f64::from(r));
        }
        if let Some(m) = row.worker_messages {
            self.worker_messages.add(f64::from(m));
        }
        if let Some(w) = row.worker.filter(|_| self.workers_summed) {
            // the worker answered from the first reply to the end, and held the chat through
            // every whole minute in between
            let (from_s, to_s) = (row.arrival_s + wait, row.arrival_s + row.duration_s);
            let (start, end) = ((from_s / 60.0).floor() as i64, (to_s / 60.0).floor() as i64);
            let whole = (from_s / 60.0).ceil() as i64..end;
            for minute in start..=end {
                let (day, m) =
                    (minute.div_euclid(MINUTES as i64), minute.rem_euclid(MINUTES as i64));
                let worker_day = self.answering.entry((w, day)).or_default();
                worker_day.answering[m as usize / 64] |= 1 << (m % 64);
                if whole.contains(&minute) {
                    let held = &mut worker_day.holding[m as usize];
                    *held = held.saturating_add(1);
                }
            }
        }
    }

    /// Whole days from the first arrival's to the last's.
    pub fn days(&self) -> u32 {
        if self.rows == 0 {
            return 0;
        }
        handoff_env::scenario::whole_days(self.first_arrival_s, self.last_arrival_s)
    }

    /// Arrivals in each hour of the day, summed over days.
    pub fn arrivals_by_hour(&self) -> [u64; 24] {
        self.arrivals_by_hour
    }

    /// Arrivals per hour in each hour of the day, averaged over the days.
    pub fn arrivals_per_hour(&self) -> [f64; 24] {
        let days = f64::from(self.days().max(1));
        self.arrivals_by_hour.map(|n| n as f64 / days)
    }

    /// Chats per day, with a Poisson count's interval.
    pub fn chats_per_day(&self) -> Interval {
        poisson_rate(self.rows, f64::from(self.days()))
    }

    /// Chats that ended in `ending`.
    pub fn ended(&self, ending: Ending) -> u64 {
        self.endings[Ending::ALL.iter().position(|e| *e == ending).expect("every ending")]
    }

    /// The share of AI-eligible chats among those the log marks, with its interval.
    pub fn eligible_share(&self) -> Interval {
        share(self.eligible.0, self.eligible.1)
    }

    /// Chats the AI handled among those the log marks, with the count marked.
    pub fn ai_involved(&self) -> (u64, u64) {
        self.ai_involved
    }

    /// The workers the log names.
    pub fn workers_seen(&self) -> usize {
        let ids: std::collections::HashSet<u32> = self.answering.keys().map(|(w, _)| *w).collect();
        ids.len()
    }

    /// The most chats a worker holds at once: the largest number of chats held through a whole
    /// minute in at least 0.1 % of the minutes workers answered; `None` when the log names no
    /// workers or no chat lasted a whole minute.
    pub fn chats_held_at_once(&self) -> Option<u32> {
        let mut minutes_holding = [0u64; 256];
        let mut at_work = 0u64;
        for day in self.answering.values() {
            at_work += day.answering.iter().map(|b| u64::from(b.count_ones())).sum::<u64>();
            for &held in day.holding.iter() {
                minutes_holding[held as usize] += 1;
            }
        }
        let enough = (HOLDING_SHARE * at_work as f64).max(1.0);
        (1..256).rev().find(|&n| minutes_holding[n] as f64 >= enough).map(|n| n as u32)
    }

    /// Workers at work in each hour of the day, averaged over the log's days: the minutes each
    /// worker was answering a chat, with pauses shorter than 15 minutes between chats counted
    /// as work. `None` when the log names no workers.
    pub fn workers_by_hour(&self) -> Option<[f64; 24]> {
        if self.answering.is_empty() {
            return None;
        }
        let days = f64::from(self.days().max(1));
        let mut minutes = [0u64; 24];
        for day in self.answering.values() {
            let answering = |m: usize| day.answering[m / 64] >> (m % 64) & 1 == 1;
            let mut last: Option<usize> = None;
            for m in (0..MINUTES).filter(|&m| answering(m)) {
                let from = match last {
                    Some(l) if m - l <= PAUSE_MIN => l + 1,
                    _ => m,
                };
                for at_work in from..=m {
                    minutes[at_work / 60] += 1;
                }
                last = Some(m);
            }
        }
        Some(minutes.map(|m| m as f64 / (60.0 * days)))
    }

    /// The key numbers, with 95 % intervals from the sample: shares and means by the normal
    /// approximation, quantiles from the ranks a binomial gives.
    pub fn kpis(&self) -> Vec<Kpi> {
        let mut kpis = vec![
            Kpi::new("chats_per_day", "chats", self.chats_per_day()),
            Kpi::new("abandoned_share", "share", share(self.ended(Ending::Abandoned), self.rows)),
            Kpi::new("first_wait_mean_s", "s", self.first_waits.mean_interval()),
            Kpi::new("first_wait_p50_s", "s", quantile(&self.first_waits_ms, 0.5)),
            Kpi::new("first_wait_p90_s", "s", quantile(&self.first_waits_ms, 0.9)),
            Kpi::new("duration_mean_s", "s", self.durations.mean_interval()),
            Kpi::new("duration_p25_s", "s", quantile(&self.durations_ms, 0.25)),
            Kpi::new("duration_p50_s", "s", quantile(&self.durations_ms, 0.5)),
            Kpi::new("duration_p75_s", "s", quantile(&self.durations_ms, 0.75)),
        ];
        if self.ratings.n > 0 {
            kpis.push(Kpi::new("rated_share", "share", share(self.ratings.n, self.rows)));
            kpis.push(Kpi::new("rating_mean", "stars", self.ratings.mean_interval()));
        }
        if self.retrials.1 > 0 {
            kpis.push(Kpi::new("retrial_share", "share", share(self.retrials.0, self.retrials.1)));
        }
        if self.worker_messages.n > 0 {
            kpis.push(Kpi::new(
                "worker_messages_mean",
                "messages",
                self.worker_messages.mean_interval(),
            ));
        }
        if self.ai_involved.1 > 0 {
            kpis.push(Kpi::new("ai_share", "share", share(self.ai_involved.0, self.ai_involved.1)));
        }
        kpis
    }
}

/// A value with its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// The estimate.
    pub value: f64,
    /// Lower end of the 95 % interval.
    pub lo: f64,
    /// Upper end of the 95 % interval.
    pub hi: f64,
}

impl Interval {
    /// The mean of `values` (one per seed) with its Student-t interval over them.
    pub fn over_seeds(values: &[f64]) -> Self {
        let (value, lo, hi) = crate::stats::mean_ci(values);
        Self { value, lo, hi }
    }

    /// Whether the two intervals overlap.
    pub fn overlaps(&self, other: &Interval) -> bool {
        self.lo <= other.hi && other.lo <= self.hi
    }
}

/// One key number of a log (and, beside it, of the fitted simulator).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kpi {
    /// Its name (`abandoned_share`, `duration_p50_s`, ...).
    pub name: &'static str,
    /// Its unit.
    pub unit: &'static str,
    /// In the log.
    pub log: Interval,
    /// In the fitted simulator, over seeds (filled in by the fit).
    pub simulated: Option<Interval>,
}

impl Kpi {
    fn new(name: &'static str, unit: &'static str, log: Interval) -> Self {
        Self { name, unit, log, simulated: None }
    }
}

fn share(k: u64, n: u64) -> Interval {
    let p = k as f64 / n.max(1) as f64;
    let half = Z95 * (p * (1.0 - p) / n.max(1) as f64).sqrt();
    Interval { value: p, lo: (p - half).max(0.0), hi: (p + half).min(1.0) }
}

fn poisson_rate(k: u64, days: f64) -> Interval {
    let rate = k as f64 / days.max(1.0);
    let half = Z95 * (k as f64).sqrt() / days.max(1.0);
    Interval { value: rate, lo: rate - half, hi: rate + half }
}

/// The count, sum and sum of squares of some values: their mean and its interval, in memory
/// that does not grow with the log.
#[derive(Debug, Clone, Copy, Default)]
struct Moments {
    n: u64,
    sum: f64,
    squares: f64,
}

impl Moments {
    fn add(&mut self, x: f64) {
        self.n += 1;
        self.sum += x;
        self.squares += x * x;
    }

    /// The mean with its 95 % interval by the normal approximation.
    fn mean_interval(&self) -> Interval {
        let n = self.n as f64;
        let mean = self.sum / n.max(1.0);
        let variance = (self.squares / n.max(1.0) - mean * mean).max(0.0) * n / (n - 1.0).max(1.0);
        let half = Z95 * (variance / n.max(1.0)).sqrt();
        Interval { value: mean, lo: mean - half, hi: mean + half }
    }
}

/// The `q` quantile, seconds, with the order statistics at the ranks `n q -/+ 1.96 sqrt(n q
/// (1 - q))` as its interval.
fn quantile(h: &Histogram<u64>, q: f64) -> Interval {
    let n = h.len() as f64;
    let half = Z95 * (n * q * (1.0 - q)).sqrt() / n.max(1.0);
    let at = |q: f64| h.value_at_quantile(q.clamp(0.0, 1.0)) as f64 / 1000.0;
    Interval { value: at(q), lo: at(q - half), hi: at(q + half) }
}
