//! A fork of the simulator: the present as a dispatcher observes it, and a future drawn afresh.

use super::Simulator;
use super::event_queue::EventKind;
use crate::rng::{self, Stream};

impl Simulator {
    /// Turns this simulator into a fork on `seed`: everything a dispatcher observes stays as it
    /// is (the time, the decision waiting and its observation, every chat's progress, frustration
    /// and waits, who holds and supervises what, the roster, the workers' paces), and the future
    /// is drawn afresh from the streams of `seed`: later arrivals, and for every chat in flight
    /// what cannot be seen of it, redrawn consistently with what has been seen
    /// ([`crate::chat::Chat::redraw_unseen`]: a customer who has waited five minutes has more
    /// than five minutes of patience).
    ///
    /// Kept, and so known to the fork: the time at which a message or reply being written now
    /// arrives (one event a chat, seconds to a minute ahead; its outcome is redrawn), the
    /// workers' speeds, and a replayed log's arrival times (a log is a fixed input). Forking the
    /// same state on the same seed gives the same fork, bit for bit.
    pub(crate) fn redraw_future(&mut self, seed: u64) {
        self.seed = seed;
        self.arrivals_rng = rng::stream_rng(seed, Stream::Arrivals);
        if self.replay.is_none() {
            // the pending arrival was drawn from the old stream: a new epoch makes it stale, and
            // the next arrival is drawn from now (the process is memoryless)
            self.arrival_epoch = self.arrival_epoch.wrapping_add(1);
            self.schedule_next_arrival(self.now);
        }
        let (now, scenario, constants) = (self.now, &self.scenario, &self.chat_constants);
        for (slot, chat) in self.chats.iter_mut().enumerate() {
            if !self.alive[slot] {
                continue;
            }
            let deadline = chat.abandon_at;
            chat.redraw_unseen(seed, now, scenario, constants);
            if chat.abandon_at < deadline {
                // the check already scheduled would come too late; a check that finds the
                // customer gone or the deadline later does nothing or re-arms
                chat.abandon_check_scheduled = true;
                self.events.push(chat.abandon_at, EventKind::Abandon, slot as u32, chat.life_token);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::env::HandoffEnv;
    use crate::policy::Policy;
    use crate::scenario::{DecisionKind, Scenario};
    use crate::testing::First;

    /// An environment on a day of `small`, where the agent makes every kind of decision, after
    /// `steps` steps of the first valid action from seed 2.
    fn midway(steps: usize) -> HandoffEnv {
        let mut scenario = Scenario::builtin("small").unwrap();
        scenario.days = 1;
        scenario.env.control = DecisionKind::ALL.to_vec();
        let mut env = HandoffEnv::new(scenario, Box::new(First));
        env.reset(2);
        for _ in 0..steps {
            let action = First.act(env.observation());
            env.step(action).unwrap();
        }
        env
    }

    /// The reward from now to the end under the first valid action, and the step count.
    fn to_the_end(mut env: HandoffEnv) -> (f64, u64) {
        let mut total = 0.0;
        while !env.is_over() {
            let action = First.act(env.observation());
            total += env.step(action).unwrap().reward;
        }
        (total, env.simulator().counters().events)
    }

    #[test]
    fn a_fork_keeps_every_observable_of_the_present() {
        let env = midway(700);
        let fork = env.fork(99);
        assert_eq!(fork.observation(), env.observation());
        let (mut a, mut b) = (vec![0.0; env.observation_len()], vec![0.0; env.observation_len()]);
        env.observation().encode(&mut a);
        fork.observation().encode(&mut b);
        assert_eq!(a, b);
        // what the text frame shows (every chat's state and wait, every worker's chats) is the
        // same
        assert_eq!(fork.render_text(), env.render_text());
        let (sim, forked) = (env.simulator(), fork.simulator());
        assert_eq!(sim.now(), forked.now());
        assert_eq!(sim.chats_in_flight(), forked.chats_in_flight());
        for (w, v) in sim.workers().iter().zip(forked.workers()) {
            assert_eq!((&w.held, &w.supervised, w.speed), (&v.held, &v.supervised, v.speed));
        }
    }

    #[test]
    fn a_fork_draws_a_new_future_and_the_same_seed_draws_the_same_one() {
        let env = midway(700);
        let exact = to_the_end(env.clone());
        let futures: Vec<(f64, u64)> = (0..8).map(|s| to_the_end(env.fork(1000 + s))).collect();
        let again = to_the_end(env.fork(1000));
        assert_eq!(again.0.to_bits(), futures[0].0.to_bits(), "the same fork twice");
        assert_eq!(again.1, futures[0].1);
        assert!(futures.iter().all(|f| f.0 != exact.0), "a fork knew the exact future");
        let distinct: std::collections::HashSet<u64> =
            futures.iter().map(|f| f.0.to_bits()).collect();
        assert_eq!(distinct.len(), futures.len(), "forks of different seeds coincide");
    }

    #[test]
    fn identical_options_on_forks_of_one_seed_compare_to_exactly_zero() {
        let env = midway(500);
        let action = First.act(env.observation());
        let run = |mut f: HandoffEnv| {
            let first = f.step(action).unwrap().reward;
            first + to_the_end(f).0
        };
        assert_eq!(run(env.fork(5)) - run(env.fork(5)), 0.0);
    }

    #[test]
    fn redrawn_customers_agree_with_what_was_seen() {
        let env = midway(900);
        let now = env.simulator().now();
        for seed in 0..20 {
            let fork = env.fork(seed);
            let sim = fork.simulator();
            for (slot, chat) in sim.chats.iter().enumerate().filter(|(s, _)| sim.alive[*s]) {
                assert!(chat.customer.rounds_needed > chat.rounds_done, "slot {slot}");
                if chat.ai_productive_rounds > 0 {
                    assert!(chat.customer.ai_solvable, "slot {slot}: the AI made progress");
                }
                assert!(chat.customer.patience_s > chat.longest_wait_s, "slot {slot}");
                if chat.abandon_at.is_finite() {
                    assert!(chat.abandon_at > now, "slot {slot}: would have left already");
                }
            }
        }
    }
}
