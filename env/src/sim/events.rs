//! The handler of each kind of event: arrivals (thinned Poisson), the hourly staffing change,
//! the messages and replies of each chat, patience checks, the end of a hold and the return of a
//! retrial.

use super::Simulator;
use super::event_queue::EventKind;
use crate::chat::{Chat, Escalation, Handler, Phase, RETRIAL_ID_STEP};
use crate::ending::Ending;
use crate::rng;
use crate::scenario::{HOUR_S, hour_of_day};

impl Simulator {
    pub(super) fn handle(&mut self, kind: EventKind, slot: u32, tag: u32) {
        match kind {
            EventKind::Arrival => {
                if tag == self.arrival_epoch {
                    self.on_arrival();
                }
            }
            EventKind::Hour => self.on_hour(),
            EventKind::CustomerMessage => {
                if self.is_live(slot, tag) {
                    self.on_customer_message(slot);
                }
            }
            EventKind::WorkerReply => {
                if self.is_live(slot, tag) {
                    self.on_worker_reply(slot);
                }
            }
            EventKind::AiReply => {
                if self.alive[slot as usize] && self.chats[slot as usize].ai_token == tag {
                    self.on_ai_reply(slot);
                }
            }
            EventKind::Abandon => {
                if self.is_live(slot, tag) {
                    self.on_abandon_check(slot);
                }
            }
            EventKind::HoldOver => self.on_hold_over(slot, tag),
            EventKind::Return => self.on_return(slot),
        }
    }

    pub(super) fn is_live(&self, slot: u32, life_token: u32) -> bool {
        self.alive[slot as usize] && self.chats[slot as usize].life_token == life_token
    }

    pub(super) fn token(&mut self) -> u32 {
        let t = self.next_token;
        self.next_token = self.next_token.wrapping_add(1).max(1);
        t
    }

    pub(super) fn arrival_rate(&self, t: f64) -> f64 {
        let hour = hour_of_day(t);
        let surge: f64 = self
            .scenario
            .arrivals
            .surges
            .iter()
            .filter(|s| s.contains(t))
            .map(|s| s.multiplier)
            .product();
        self.hourly_rate[hour] * surge
    }

    /// The next arrival: a replayed log's, or by thinning of a Poisson process at the maximal
    /// rate (Lewis and Shedler, 1979).
    pub(super) fn schedule_next_arrival(&mut self, from: f64) {
        if self.replay.is_some() {
            return self.schedule_replayed_arrival();
        }
        if self.max_rate <= 0.0 {
            return;
        }
        let mut t = from;
        loop {
            t += rng::exponential(&mut self.arrivals_rng, 1.0 / self.max_rate);
            if t >= self.horizon {
                return;
            }
            if rng::uniform(&mut self.arrivals_rng) * self.max_rate < self.arrival_rate(t) {
                self.events.push(t, EventKind::Arrival, 0, self.arrival_epoch);
                return;
            }
        }
    }

    /// The next arrival of a replayed log: its time, as often as `arrivals.trace_share` says.
    fn schedule_replayed_arrival(&mut self) {
        let (Some(replay), Some(trace)) = (&mut self.replay, &self.scenario.arrivals.replay) else {
            return;
        };
        if replay.copies_left > 0 {
            replay.copies_left -= 1;
            let at = trace.time(replay.current);
            self.events.push(at, EventKind::Arrival, 0, self.arrival_epoch);
            return;
        }
        let share = self.scenario.arrivals.trace_share;
        while replay.next < trace.len() {
            let i = replay.next;
            replay.next += 1;
            let at = trace.time(i);
            if at >= self.horizon {
                replay.next = trace.len();
                return;
            }
            let fraction = share.fract();
            let copies = share.floor() as u32
                + u32::from(fraction > 0.0 && rng::bernoulli(&mut self.arrivals_rng, fraction));
            if copies > 0 {
                (replay.current, replay.copies_left) = (i, copies - 1);
                self.events.push(at, EventKind::Arrival, 0, self.arrival_epoch);
                return;
            }
        }
    }

    pub(super) fn on_arrival(&mut self) {
        let trace = self.scenario.arrivals.replay.as_ref();
        let logged = self.replay.as_ref().zip(trace).and_then(|(r, t)| t.eligible(r.current));
        let eligible = match logged {
            Some(eligible) => eligible,
            None => rng::bernoulli(&mut self.arrivals_rng, self.scenario.arrivals.eligible_share),
        };
        let id = self.next_chat_id;
        self.next_chat_id += 1;
        let life = self.token();
        let chat = Chat::new(
            id,
            self.now,
            eligible,
            life,
            self.seed,
            &self.scenario,
            &self.chat_constants,
        );
        self.admit(chat);
        self.schedule_next_arrival(self.now);
    }

    /// A new hour: the roster's shifts and breaks change who is on duty.
    pub(super) fn on_hour(&mut self) {
        let hour = (self.now / HOUR_S).round() as u32;
        self.roster.next_hour(hour, self.scenario.workers.asked_on_duty(hour));
        for i in 0..self.roster.leaving().len() {
            let worker = self.roster.leaving()[i];
            self.go_off_duty(worker);
        }
        // workers join one by one, each taking queued chats before the next one joins
        self.agenda.join(self.roster.coming().iter().copied());
        let next = self.now + HOUR_S;
        if next < self.horizon || self.counters.arrived > self.counters.completed {
            self.events.push(next, EventKind::Hour, 0, 0);
        }
    }

    pub(super) fn on_customer_message(&mut self, slot: u32) {
        match self.chats[slot as usize].handler {
            Handler::Ai { .. } => self.schedule_ai_reply(slot),
            Handler::Worker(w) => {
                self.start_wait(slot);
                self.chats[slot as usize].phase = Phase::Awaiting;
                self.workers[w as usize].awaiting += 1;
                self.mark_ready(w);
            }
            Handler::Unassigned => unreachable!("a customer writes only in an assigned chat"),
        }
    }

    pub(super) fn on_worker_reply(&mut self, slot: u32) {
        let sc = &self.scenario;
        let (wp, cp) = (&sc.workers, &sc.customers);
        let chat = &mut self.chats[slot as usize];
        let Handler::Worker(w) = chat.handler else {
            unreachable!("a worker reply belongs to a worker's chat");
        };
        // The reply's draws come in the same order whatever the effort (common random numbers
        // across effort levels): the messages a full-effort reply would say, the reply's outcome,
        // whether the worker engages.
        let full_messages = self.full_effort_messages.sample(&mut chat.service_rng);
        let outcome = rng::uniform(&mut chat.service_rng);
        let engaged = rng::uniform(&mut chat.service_rng) < chat.effort;
        let slip = if chat.reply_after_switch { 1.0 - wp.switch_slip } else { 1.0 };
        let (productive, closes) = if engaged {
            chat.worker_messages += full_messages;
            (outcome < wp.productive_prob * slip, false)
        } else {
            // a perfunctory reply: one message that neither asks nor solves, and that may be
            // the worker closing the chat
            chat.worker_messages += 1;
            (false, outcome < wp.perfunctory_close_rate)
        };
        chat.human_replies += 1;
        let resolved = Self::after_reply(chat, productive, cp);
        let ending = resolved.or(if chat.unproductive_streak >= cp.give_up_after_unproductive {
            Some(Ending::GaveUp)
        } else if closes {
            Some(Ending::ClosedUnresolved)
        } else {
            None
        });
        let worker = &mut self.workers[w as usize];
        worker.writing = false;
        worker.reply_time_s += self.now - worker.reply_started_s;
        worker.replies += 1;
        self.mark_ready(w);
        match ending {
            Some(e) => self.end_chat(slot, e),
            None => self.customer_writes(slot),
        }
    }

    /// Updates frustration and progress after a reply; `Some(Resolved)` when the work is done.
    pub(super) fn after_reply(
        chat: &mut Chat,
        productive: bool,
        cp: &crate::scenario::Customers,
    ) -> Option<Ending> {
        if productive {
            chat.rounds_done += 1;
            chat.unproductive_streak = 0;
            chat.frustration *= 1.0 - cp.frustration_relief;
        } else {
            chat.unproductive_streak += 1;
            chat.frustration += cp.frustration_unproductive;
        }
        (chat.rounds_done >= chat.customer.rounds_needed).then_some(Ending::Resolved)
    }

    pub(super) fn on_ai_reply(&mut self, slot: u32) {
        let sc = &self.scenario;
        let chat = &mut self.chats[slot as usize];
        chat.ai_token = 0;
        chat.ai_replies += 1;
        chat.frustration += sc.customers.frustration_ai_reply;
        let productive = rng::bernoulli(chat.ai_rng(self.seed), sc.ai.productive_prob)
            && chat.customer.ai_solvable;
        chat.ai_productive_rounds += u32::from(productive);
        let resolved = Self::after_reply(chat, productive, &sc.customers);
        let Handler::Ai { supervisor } = chat.handler else {
            unreachable!("an AI reply belongs to an AI chat");
        };
        if resolved.is_some() {
            self.end_chat(slot, Ending::Resolved);
        } else if chat.unproductive_streak >= sc.ai.technical_after_unproductive {
            self.escalate(slot, Escalation::Technical);
        } else if chat.frustration_rise_with_ai() >= sc.ai.emotional_threshold {
            self.escalate(slot, Escalation::Emotional);
        } else {
            self.customer_writes(slot);
            // the supervisor sees the chat's sentiment change
            let cap = self.scenario.workers.cap as usize;
            let sup = &self.workers[supervisor as usize];
            if !sup.writing && sup.held.len() < cap {
                self.mark_ready(supervisor);
            }
        }
    }

    /// A waiting customer's patience check: the chat ends abandoned if the wait has lasted the
    /// customer's patience, else the check re-arms for the wait's new end.
    pub(super) fn on_abandon_check(&mut self, slot: u32) {
        let chat = &mut self.chats[slot as usize];
        chat.abandon_check_scheduled = false;
        if !chat.is_waiting() {
            return;
        }
        if self.now >= chat.abandon_at {
            self.end_chat(slot, Ending::Abandoned);
        } else {
            chat.abandon_check_scheduled = true;
            let (at, life) = (chat.abandon_at, chat.life_token);
            self.events.push(at, EventKind::Abandon, slot, life);
        }
    }

    /// A hold ends: the worker is asked again, unless the hold was already cut short.
    pub(super) fn on_hold_over(&mut self, worker: u32, token: u32) {
        let w = &mut self.workers[worker as usize];
        if w.hold_token == token {
            w.hold_token = 0;
            self.mark_ready(worker);
        }
    }

    /// The retrial in `returns[index]` comes back as a new chat of the same customer and issue.
    pub(super) fn on_return(&mut self, index: u32) {
        let back = self.returns[index as usize];
        self.free_returns.push(index);
        let id = back.parent_id + RETRIAL_ID_STEP;
        let life = self.token();
        let (scenario, constants) = (&self.scenario, &self.chat_constants);
        let mut chat = Chat::new(id, self.now, back.eligible, life, self.seed, scenario, constants);
        chat.frustration += back.carried_frustration;
        chat.retrial_of = Some(back.parent_id);
        self.admit(chat);
    }
}
