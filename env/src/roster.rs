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
    workers: Vec<WorkerShifts>,
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
    /// A roster of `workers` workers, none on duty yet.
    pub fn new(workers: usize) -> Self {
        Self { workers: vec![WorkerShifts::default(); workers], ..Self::default() }
    }

    /// Starts again from an empty roster, keeping allocated memory.
    pub fn reset(&mut self) {
        self.workers.iter_mut().for_each(|w| *w = WorkerShifts::default());
        self.coming.clear();
        self.leaving.clear();
        self.relaxed = 0;
    }

    /// Moves to `hour` (hours since the start of the run) with `target` workers wanted on duty.
    /// Afterwards [`Roster::coming`] and [`Roster::leaving`] list who changes.
    pub fn next_hour(&mut self, hour: u32, target: usize) {
        self.coming.clear();
        self.leaving.clear();
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
        if on_duty > target {
            self.stand_down(hour, on_duty - target);
        } else if on_duty < target {
            self.start_shifts(hour, target - on_duty);
        }
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

    /// Starts `n` new shifts, preferring the workers the rules allow.
    fn start_shifts(&mut self, hour: u32, n: usize) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a roster of `workers` over `days` days of an hourly profile; returns for each worker
    /// the hours on duty, and checks each hour's coverage against its target.
    fn run(workers: usize, days: u32, profile: &[f64; 24]) -> (Vec<Vec<u32>>, Roster) {
        let mut roster = Roster::new(workers);
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
}
