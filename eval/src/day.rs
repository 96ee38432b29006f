//! One episode kept whole for looking at: every chat's record (with its [`Timeline`]) and the
//! centre's state over time, what `handoff replay` draws.
//!
//! [`Timeline`]: handoff_env::Timeline

use handoff_env::{ChatRecord, Policy, Scenario};

use crate::episode::play;

/// The centre at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Simulated time, seconds.
    pub time_s: f64,
    /// Chats waiting in the queue for a worker.
    pub queue: u32,
    /// Customers waiting: in the queue, or for a reply from the worker holding their chat.
    pub waiting: u32,
    /// Workers on duty.
    pub on_duty: u32,
    /// Chats the AI is serving.
    pub ai_chats: u32,
    /// Chats in flight.
    pub in_flight: u32,
}

/// One policy's episode, whole.
#[derive(Debug, Clone)]
pub struct Day {
    /// Every chat that ended, in the order they ended.
    pub records: Vec<ChatRecord>,
    /// The centre's state at the first decision of every `every_s` seconds.
    pub samples: Vec<Sample>,
}

/// Runs `policy` (with `fallback` for the decisions the scenario does not give the agent, as
/// `handoff eval` does) on `scenario` from `seed`, keeping every chat and sampling the centre at
/// the first decision of each `every_s` seconds. The episode is the one `handoff eval` runs on
/// that seed: watching changes nothing.
pub fn record_day(
    scenario: &Scenario,
    seed: u64,
    policy: Box<dyn Policy>,
    fallback: Box<dyn Policy>,
    every_s: f64,
) -> Day {
    let (mut records, mut samples) = (Vec::new(), Vec::new());
    let mut next_s = 0.0;
    play(
        scenario,
        seed,
        policy,
        fallback,
        |chat| records.push(*chat),
        |sim, _| {
            let obs = sim.observation();
            if obs.time_s >= next_s {
                samples.push(Sample {
                    time_s: obs.time_s,
                    queue: obs.queue_len,
                    waiting: sim.waiting_customers() as u32,
                    on_duty: obs.on_duty,
                    ai_chats: sim.ai_chats() as u32,
                    in_flight: obs.in_flight,
                });
                next_s = (libm::floor(obs.time_s / every_s) + 1.0) * every_s;
            }
        },
    );
    Day { records, samples }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::episode::run_episode;

    fn small() -> Scenario {
        let mut scenario = Scenario::builtin("small").expect("built-in");
        scenario.days = 1;
        scenario
    }

    fn fallback(scenario: &Scenario) -> Box<dyn Policy> {
        handoff_agents::fallback(scenario, "small").expect("fallback")
    }

    #[test]
    fn a_recorded_day_is_the_evaluated_episode_with_consistent_timelines() {
        let scenario = small();
        let day = record_day(&scenario, 3, fallback(&scenario), fallback(&scenario), 60.0);
        let episode = run_episode(&scenario, 3, fallback(&scenario), fallback(&scenario));
        assert_eq!(day.records.len() as f64, episode.kpis.chats);
        let total: f64 = day.records.iter().map(|r| r.reward).sum();
        assert_eq!(total, episode.episode_return, "watching changes the episode");
        let (mut held, mut ai, mut escalated) = (0, 0, 0);
        for r in &day.records {
            let t = r.timeline;
            let end = r.arrival_s + r.duration_s;
            assert_eq!(t.ai_from_s.is_some(), r.ai_involved, "{r:?}");
            assert_eq!(t.escalated_s.is_some(), r.escalation.is_some(), "{r:?}");
            assert_eq!(t.held_from_s.is_some(), t.holder.is_some(), "{r:?}");
            for time in [t.ai_from_s, t.escalated_s, t.held_from_s].into_iter().flatten() {
                assert!(time >= r.arrival_s - 1e-9 && time <= end + 1e-9, "{r:?}");
            }
            if let (Some(a), Some(e)) = (t.ai_from_s, t.escalated_s) {
                assert!(a <= e, "{r:?}");
            }
            if r.human_replies > 0 {
                assert_eq!(t.holder, r.worker, "the holder wrote the replies: {r:?}");
            }
            held += usize::from(t.holder.is_some());
            ai += usize::from(t.ai_from_s.is_some());
            escalated += usize::from(t.escalated_s.is_some() && t.holder.is_some());
        }
        assert!(held > 100 && ai > 30 && escalated > 10, "{held} {ai} {escalated}");
        // at most one sample a minute, in most minutes of the day
        assert!(day.samples.len() > 600, "{} samples", day.samples.len());
        let minute = |s: &Sample| libm::floor(s.time_s / 60.0);
        assert!(day.samples.windows(2).all(|w| minute(&w[1]) > minute(&w[0])));
        assert!(day.samples.iter().all(|s| s.queue <= s.waiting && s.waiting <= s.in_flight));
        assert!(day.samples.iter().any(|s| s.ai_chats > 0 && s.on_duty > 0));
    }

    #[test]
    fn the_queue_interval_starts_at_arrival_or_escalation() {
        use handoff_env::Timeline;
        let human = Timeline { held_from_s: Some(5.0), holder: Some(1), ..Timeline::default() };
        assert_eq!(human.queued_from_s(2.0), Some(2.0));
        let direct = Timeline { held_from_s: Some(2.0), holder: Some(1), ..Timeline::default() };
        assert_eq!(direct.queued_from_s(2.0), None, "taken at once: never queued");
        let alone = Timeline { ai_from_s: Some(2.0), ..Timeline::default() };
        assert_eq!(alone.queued_from_s(2.0), None);
        let escalated = Timeline {
            ai_from_s: Some(2.0),
            escalated_s: Some(9.0),
            held_from_s: Some(12.0),
            holder: Some(1),
        };
        assert_eq!(escalated.queued_from_s(2.0), Some(9.0));
        let takeover = Timeline { held_from_s: Some(9.0), ..escalated };
        assert_eq!(takeover.queued_from_s(2.0), None, "a takeover never waits in the queue");
        let abandoned = Timeline { held_from_s: None, holder: None, ..escalated };
        assert_eq!(abandoned.queued_from_s(2.0), Some(9.0), "left from the queue");
    }
}
