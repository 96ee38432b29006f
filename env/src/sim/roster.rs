//! The shift roster: which workers are on duty in each hour.
//!
//! Every worker works shifts of at most [`SHIFT_SPAN_H`] hours with a one-hour break inside,
//! taken when fewer workers are needed (from the shift's third hour on, by its sixth at the
//! latest); a shift is cut short when demand falls. A worker rests at least
//! [`MIN_REST_H`] hours between shifts and has a weekly day off (worker `i` on day `i mod 7`, so
//! days off are spread over the week). Together the shifts follow the hourly staffing profile:
//! at the start of each hour the roster starts or ends just enough shifts to put the hour's
//! target on duty, covering breaks too.
//!
//! The roster is built online, one hour at a time, by a deterministic greedy rule, so it costs
//! memory in the number of workers, not in the horizon, and is the same in every arm:
//! - shifts reaching their span end; breaks end after an hour; breaks due now begin;
//! - with too many workers on duty, breaks begin early, then the shifts that started first end;
//! - with too few, shifts start for the workers who may start one, those with the fewest shifts
//!   in the last seven days first, then the longest rested. When the rules leave too few, the
//!   day off gives way first, then the rest period: coverage of the profile comes first, and
//!   [`Roster::relaxed`] counts the exceptions.
//!
//! Even so, some profiles cannot be covered: with staffing 1.0 every worker would have to be on
//! duty around the clock, and breaks alone keep about one in nine off. The roster then delivers
//! fewer workers than asked, and [`Scenario::staffing_coverage`] reports the hours and the
//! shortfall. With `workers.shifts = "none"` there are no shift rules: the first `k` workers are
//! on duty in an hour that asks for `k`.

use serde::Serialize;

use crate::scenario::{Scenario, Shifts};

/// Longest span of a shift, break included, hours.
pub const SHIFT_SPAN_H: u32 = 9;
/// Hours into a shift from which a worker may take the break: it comes when fewer workers are
/// needed, and by [`LATEST_BREAK_H`] at the latest.
const EARLIEST_BREAK_H: u32 = 2;
/// The hour of a shift (from 0) by which the worker has taken the break.
const LATEST_BREAK_H: u32 = 5;
/// Shortest rest between the end of a shift and the start of the next, hours.
pub const MIN_REST_H: u32 = 11;

/// Where one worker stands in the roster.
#[derive(Debug, Clone, Copy, Default)]
struct WorkerShifts {
    /// The hour the current shift started, if the worker is on a shift.
    started: Option<u32>,
    /// Whether the worker has had the current shift's break.
    had_break: bool,
    /// Whether the worker is on the break now.
    on_break: bool,
    /// The hour the last shift ended.
    last_end: Option<u32>,
    /// Start hours of the last seven shifts, most recent at `recent[(count - 1) % 7]`.
    recent: [u32; 7],
    /// Shifts started so far.
    count: u32,
}

impl WorkerShifts {
    /// Shifts started in the seven days before `hour`.
    fn shifts_in_week(&self, hour: u32) -> usize {
        let known = self.count.min(7) as usize;
        self.recent[..known].iter().filter(|&&h| hour - h < 7 * 24).count()
    }

    /// Hours since the last shift ended (`u32::MAX` for a worker who has not worked yet).
    fn rested(&self, hour: u32) -> u32 {
        self.last_end.map_or(u32::MAX, |end| hour - end)
    }

    /// Ends the current shift at `hour`.
    fn end(&mut self, hour: u32) {
        self.started = None;
        self.on_break = false;
        self.last_end = Some(hour);
    }
}

/// The roster of one run: call [`Roster::next_hour`] at the start of every hour.
#[derive(Debug, Clone, Default)]
pub struct Roster {
    /// Shift rules, or none.
    shifts: Shifts,
    workers: Vec<WorkerShifts>,
    /// Workers on duty after the last [`Roster::next_hour`].
    on_duty: usize,
    /// Workers who come on duty this hour, in the order the roster chose them.
    coming: Vec<u32>,
    /// Workers who go off duty this hour (the end of a shift or a break).
    leaving: Vec<u32>,
    /// Scratch list of candidates (sort key, worker), kept to avoid allocating every hour.
    candidates: Vec<(u64, u32)>,
    /// Shifts started against the day-off or the rest rule (counted for the tests).
    relaxed: u64,
}

impl Roster {
    /// A roster of `workers` workers under `shifts`, none on duty yet.
    pub fn new(workers: usize, shifts: Shifts) -> Self {
        Self { shifts, workers: vec![WorkerShifts::default(); workers], ..Self::default() }
    }

    /// Starts again from an empty roster, keeping allocated memory.
    pub fn reset(&mut self) {
        self.workers.iter_mut().for_each(|w| *w = WorkerShifts::default());
        self.on_duty = 0;
        self.coming.clear();
        self.leaving.clear();
        self.relaxed = 0;
    }

    /// Moves to `hour` (hours since the start of the run) with `target` workers wanted on duty.
    /// Afterwards [`Roster::coming`] and [`Roster::leaving`] list who changes.
    pub fn next_hour(&mut self, hour: u32, target: usize) {
        self.coming.clear();
        self.leaving.clear();
        if self.shifts == Shifts::None {
            // no shift rules: workers 0..target are on duty
            let target = target.min(self.workers.len());
            self.coming.extend(self.on_duty as u32..target as u32);
            self.leaving.extend(target as u32..self.on_duty as u32);
            self.on_duty = target;
            return;
        }
        let mut on_duty = 0;
        for (i, w) in self.workers.iter_mut().enumerate() {
            let Some(start) = w.started else { continue };
            let into = hour - start;
            if w.on_break {
                w.on_break = false;
                self.coming.push(i as u32);
                on_duty += 1;
            } else if into >= SHIFT_SPAN_H {
                w.end(hour);
                self.leaving.push(i as u32);
            } else if !w.had_break && into == LATEST_BREAK_H {
                w.on_break = true;
                w.had_break = true;
                self.leaving.push(i as u32);
            } else {
                on_duty += 1;
            }
        }
        self.on_duty = match on_duty.cmp(&target) {
            std::cmp::Ordering::Greater => {
                self.stand_down(hour, on_duty - target);
                target
            }
            std::cmp::Ordering::Less => on_duty + self.start_shifts(hour, target - on_duty),
            std::cmp::Ordering::Equal => on_duty,
        };
    }

    /// Workers on duty after the last [`Roster::next_hour`]: the hour's target, or fewer when
    /// the shift rules leave nobody free to start (everyone else is on a shift or its break).
    pub fn on_duty(&self) -> usize {
        self.on_duty
    }

    /// Takes `n` workers off duty: first by breaks due soon (the longest on duty first), then by
    /// ending the shifts of those who started first.
    fn stand_down(&mut self, hour: u32, n: usize) {
        self.candidates.clear();
        for (i, w) in self.workers.iter().enumerate() {
            let Some(start) = w.started.filter(|_| !w.on_break) else { continue };
            let into = hour - start;
            // breaks before shift ends; within each, the earliest start first
            let breaks = !w.had_break && into >= EARLIEST_BREAK_H;
            let key = (u64::from(!breaks) << 32) | u64::from(start);
            self.candidates.push((key, i as u32));
        }
        self.candidates.sort_unstable();
        for &(key, i) in self.candidates.iter().take(n) {
            let w = &mut self.workers[i as usize];
            if key >> 32 == 0 {
                w.on_break = true;
                w.had_break = true;
            } else {
                w.end(hour);
            }
            if let Some(k) = self.coming.iter().position(|&c| c == i) {
                // back from a break only to leave: no change after all
                self.coming.swap_remove(k);
            } else {
                self.leaving.push(i);
            }
        }
    }

    /// Starts up to `n` new shifts, preferring the workers the rules allow; returns how many
    /// started (fewer than `n` when fewer workers are off shift).
    fn start_shifts(&mut self, hour: u32, n: usize) -> usize {
        self.candidates.clear();
        for (i, w) in self.workers.iter().enumerate() {
            if w.started.is_some() {
                continue;
            }
            let day_off = (hour / 24) % 7 == i as u32 % 7;
            let rested = w.rested(hour);
            let broken = u64::from(day_off) + 2 * u64::from(rested < MIN_REST_H);
            let week = w.shifts_in_week(hour) as u64;
            // fewest broken rules, then fewest shifts this week, then the longest rested
            let key =
                (broken << 40) | (week << 32) | u64::from(u32::MAX - rested.min(u32::MAX - 1));
            self.candidates.push((key, i as u32));
        }
        self.candidates.sort_unstable();
        for &(key, i) in self.candidates.iter().take(n) {
            self.relaxed += u64::from(key >> 40 > 0);
            let w = &mut self.workers[i as usize];
            w.recent[(w.count % 7) as usize] = hour;
            w.count += 1;
            w.started = Some(hour);
            w.had_break = false;
            self.coming.push(i);
        }
        n.min(self.candidates.len())
    }

    /// Workers coming on duty this hour.
    pub fn coming(&self) -> &[u32] {
        &self.coming
    }

    /// Workers going off duty this hour (the end of a shift or a break).
    pub fn leaving(&self) -> &[u32] {
        &self.leaving
    }

    #[cfg(test)]
    /// Shifts started so far against the day-off or the rest rule, because the others who could
    /// work were too few to cover the hour.
    pub fn relaxed(&self) -> u64 {
        self.relaxed
    }
}

/// The staffing a scenario's workers deliver against what its profile asks, over its days: the
/// roster is the same in every arm and for every seed, so this is a property of the scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StaffingCoverage {
    /// The shift rules it was measured under.
    pub shifts: Shifts,
    /// Worker-hours the staffing profile asks for over the scenario's days.
    pub asked_worker_hours: u64,
    /// Worker-hours on duty.
    pub staffed_worker_hours: u64,
    /// The hours of the day short of their staffing on at least one day, in order.
    pub short_hours: Vec<ShortHour>,
}

/// An hour of the day the roster cannot staff as asked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShortHour {
    /// The hour of the day, 0 to 23.
    pub hour: u32,
    /// Workers asked on duty.
    pub asked: u32,
    /// Workers on duty, the mean over the scenario's days.
    pub staffed_mean: f64,
    /// Days on which this hour was short.
    pub short_days: u32,
}

impl StaffingCoverage {
    /// The share of the worker-hours asked that are on duty (1 when nothing is asked).
    pub fn delivered(&self) -> f64 {
        if self.asked_worker_hours == 0 {
            return 1.0;
        }
        self.staffed_worker_hours as f64 / self.asked_worker_hours as f64
    }

    /// One line saying where the staffing falls short and what to do, or `None` when every hour
    /// gets what it asks.
    pub fn shortfall(&self) -> Option<String> {
        if self.short_hours.is_empty() {
            return None;
        }
        const SHOWN: usize = 6;
        let mut hours: Vec<String> = self
            .short_hours
            .iter()
            .take(SHOWN)
            .map(|h| format!("{:02}:00 {:.1} of {}", h.hour, h.staffed_mean, h.asked))
            .collect();
        if self.short_hours.len() > SHOWN {
            hours.push(format!("{} more hours", self.short_hours.len() - SHOWN));
        }
        Some(format!(
            "the shift roster staffs {:.1} % of the worker-hours asked (short at {}): shifts of \
             at most {SHIFT_SPAN_H} h with a one-hour break cannot cover this profile; \
             workers.shifts = \"none\" keeps the asked staffing on duty every hour",
            100.0 * self.delivered(),
            hours.join(", ")
        ))
    }
}

impl Scenario {
    /// The hours of the day in which chats arrive but the staffing profile puts no worker on
    /// duty (`workers.staffing` times `workers.count`, rounded): customers arriving then can
    /// only wait for the next shift or leave. A centre scaled far down (`--scale`) has them.
    pub fn unstaffed_hours(&self) -> Vec<u32> {
        (0..24u32)
            .filter(|&h| {
                self.arrivals.hourly_profile[h as usize] > 0.0 && self.workers.asked_on_duty(h) == 0
            })
            .collect()
    }

    /// Runs the scenario's roster over its days and compares the workers on duty with those its
    /// staffing profile asks for, hour by hour.
    pub fn staffing_coverage(&self) -> StaffingCoverage {
        let workers = &self.workers;
        let mut roster = Roster::new(workers.count as usize, workers.shifts);
        let mut staffed = [0u64; 24];
        let mut short_days = [0u32; 24];
        let (mut asked_total, mut staffed_total) = (0, 0);
        for hour in 0..self.days * 24 {
            let asked = workers.asked_on_duty(hour);
            roster.next_hour(hour, asked);
            let on_duty = roster.on_duty();
            let of_day = (hour % 24) as usize;
            staffed[of_day] += on_duty as u64;
            short_days[of_day] += u32::from(on_duty < asked);
            asked_total += asked as u64;
            staffed_total += on_duty as u64;
        }
        let short_hours = (0..24u32)
            .filter(|&h| short_days[h as usize] > 0)
            .map(|h| ShortHour {
                hour: h,
                asked: workers.asked_on_duty(h) as u32,
                staffed_mean: staffed[h as usize] as f64 / f64::from(self.days),
                short_days: short_days[h as usize],
            })
            .collect();
        StaffingCoverage {
            shifts: workers.shifts,
            asked_worker_hours: asked_total,
            staffed_worker_hours: staffed_total,
            short_hours,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a roster of `workers` over `days` days of an hourly profile; returns for each worker
    /// the hours on duty, and checks each hour's coverage against its target.
    fn run(workers: usize, days: u32, profile: &[f64; 24]) -> (Vec<Vec<u32>>, Roster) {
        let mut roster = Roster::new(workers, Shifts::Roster);
        let mut on = vec![false; workers];
        let mut hours = vec![Vec::new(); workers];
        for hour in 0..days * 24 {
            let target = (profile[(hour % 24) as usize] * workers as f64).round() as usize;
            roster.next_hour(hour, target);
            for &w in roster.leaving() {
                assert!(on[w as usize], "hour {hour}: worker {w} leaves without being on duty");
                on[w as usize] = false;
            }
            for &w in roster.coming() {
                assert!(!on[w as usize], "hour {hour}: worker {w} comes twice");
                on[w as usize] = true;
            }
            assert_eq!(on.iter().filter(|&&o| o).count(), target, "hour {hour}: coverage");
            for (w, &o) in on.iter().enumerate() {
                if o {
                    hours[w].push(hour);
                }
            }
        }
        (hours, roster)
    }

    /// The shipped taobao staffing profile (647 workers, 3 % to 51 % of them on duty).
    fn taobao() -> [f64; 24] {
        let staffing = crate::Scenario::builtin("taobao").unwrap().workers.staffing;
        staffing.try_into().unwrap()
    }

    /// Splits sorted duty hours into shifts: runs separated by at most a one-hour break.
    fn shifts(hours: &[u32]) -> Vec<(u32, u32)> {
        let mut out: Vec<(u32, u32)> = Vec::new();
        for &h in hours {
            match out.last_mut() {
                Some((_, end)) if h <= *end + 2 => *end = h,
                _ => out.push((h, h)),
            }
        }
        out
    }

    #[test]
    fn every_worker_works_shifts_that_follow_the_profile() {
        let (hours, roster) = run(647, 17, &taobao());
        let total: usize = hours.iter().map(Vec::len).sum();
        let mean = total as f64 / 647.0;
        let mut shift_count = 0;
        for (w, h) in hours.iter().enumerate() {
            // nobody carries the night alone: everyone works, within half the mean hours
            let share = h.len() as f64 / mean;
            assert!((0.5..1.5).contains(&share), "worker {w} works {share:.2} of the mean");
            for (start, end) in shifts(h) {
                assert!(end - start < SHIFT_SPAN_H, "worker {w}: shift {start}..={end}");
                shift_count += 1;
            }
        }
        let mean_shift = total as f64 / f64::from(shift_count);
        assert!(mean_shift > 6.0, "shifts last {mean_shift:.2} h on duty on average");
        let relaxed = roster.relaxed() as f64 / f64::from(shift_count);
        // the fitted profile asks each worker for 48 hours a week on duty, and shifts cut short
        // when demand falls need more starts: about one start in five (measured 0.20) breaks the
        // day off or the rest rule
        assert!(relaxed < 0.25, "{relaxed:.3} of the shifts broke a rule");
    }

    #[test]
    fn rest_and_days_off_give_way_only_in_counted_exceptions() {
        let (hours, roster) = run(647, 17, &taobao());
        let mut exceptions = 0;
        for (w, h) in hours.iter().enumerate() {
            let s = shifts(h);
            let day_off = |start: u32| (start / 24) % 7 == w as u32 % 7;
            exceptions += s.iter().filter(|(start, _)| day_off(*start)).count();
            for pair in s.windows(2) {
                let rest = pair[1].0 - pair[0].1 - 1;
                exceptions += usize::from(rest < MIN_REST_H && !day_off(pair[1].0));
            }
        }
        assert!(exceptions as u64 <= roster.relaxed(), "{exceptions} uncounted exceptions");
    }

    #[test]
    fn a_profile_the_rules_cannot_cover_is_covered_with_counted_exceptions() {
        // 45 % on duty around the clock: 10.8 hours a day each
        let (_, roster) = run(60, 8, &[0.45; 24]);
        assert!(roster.relaxed() > 0);
    }

    /// 12 workers asked on duty around the clock for a week, under `shifts`.
    fn always_on(shifts: Shifts) -> Scenario {
        let mut s = Scenario::builtin("small").unwrap();
        s.days = 7;
        s.workers.count = 12;
        s.workers.staffing = vec![1.0; 24];
        s.workers.shifts = shifts;
        s
    }

    #[test]
    fn without_shifts_every_worker_asked_is_on_duty_every_hour() {
        let coverage = always_on(Shifts::None).staffing_coverage();
        assert_eq!(coverage.asked_worker_hours, 12 * 24 * 7);
        assert_eq!(coverage.staffed_worker_hours, coverage.asked_worker_hours);
        assert!(coverage.short_hours.is_empty());
        assert_eq!(coverage.shortfall(), None);
        // a profile that rises and falls: exactly the hour's count, the lowest workers first
        let mut roster = Roster::new(10, Shifts::None);
        for (hour, target) in [(0, 4), (1, 7), (2, 2), (3, 12)] {
            roster.next_hour(hour, target);
            assert_eq!(roster.on_duty(), target.min(10));
        }
    }

    #[test]
    fn a_roster_that_cannot_cover_its_profile_is_reported_with_its_hours() {
        let coverage = always_on(Shifts::Roster).staffing_coverage();
        // a one-hour break in every shift of at most nine hours keeps about one in nine off
        let delivered = coverage.delivered();
        assert!((0.80..0.97).contains(&delivered), "delivered {delivered:.3}");
        assert!(!coverage.short_hours.is_empty());
        let message = coverage.shortfall().expect("the shortfall is reported");
        let first = &coverage.short_hours[0];
        assert!(message.contains(&format!("{:02}:00 ", first.hour)), "{message}");
        assert!(message.contains("of 12"), "{message}");
        assert!(message.contains("workers.shifts = \"none\""), "{message}");
    }

    #[test]
    fn the_shipped_scenarios_get_the_staffing_they_ask_for() {
        for (name, _) in crate::scenario::BUILTIN {
            let coverage = Scenario::builtin(name).unwrap().staffing_coverage();
            assert_eq!(coverage.shortfall(), None, "{name}");
        }
    }
}
