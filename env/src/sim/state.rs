//! State changes: waits and patience, writing, holding and replying, the AI's turn, escalation
//! and takeover, assigning chats to workers, the end of a chat and the retrial it may bring back.

use super::event_queue::EventKind;
use super::{Return, Simulator};
use crate::chat::{Chat, Escalation, Handler, Phase};
use crate::ending::Ending;
use crate::outcome::ChatRecord;
use crate::rng::{self, Stream};
use crate::scenario::{Effort, HOUR_S, RETRIAL_WINDOW_S, hour_of_day};

impl Simulator {
    /// Starts a wait: the customer abandons unless someone acts within their patience. At most
    /// one abandonment check per chat is scheduled; an earlier one still pending re-arms itself
    /// when it fires, so the event queue holds no pile of cancelled timers.
    pub(super) fn start_wait(&mut self, slot: u32) {
        let chat = &mut self.chats[slot as usize];
        chat.awaiting_since = self.now;
        chat.abandon_at = self.now + chat.customer.patience_s;
        if !chat.abandon_check_scheduled {
            chat.abandon_check_scheduled = true;
            let (at, life) = (chat.abandon_at, chat.life_token);
            self.events.push(at, EventKind::Abandon, slot, life);
        }
    }

    pub(super) fn customer_writes(&mut self, slot: u32) {
        let cp = &self.scenario.customers;
        let chat = &mut self.chats[slot as usize];
        chat.phase = Phase::CustomerWriting;
        let at =
            self.now + rng::lognormal(&mut chat.customer_rng, cp.write_median_s, cp.write_sigma);
        let life = chat.life_token;
        self.events.push(at, EventKind::CustomerMessage, slot, life);
    }

    pub(super) fn schedule_ai_reply(&mut self, slot: u32) {
        let token = self.token();
        let ai = &self.scenario.ai;
        let chat = &mut self.chats[slot as usize];
        chat.phase = Phase::AiWriting;
        chat.ai_token = token;
        let at =
            self.now + rng::lognormal(chat.ai_rng(self.seed), ai.reply_median_s, ai.reply_sigma);
        self.events.push(at, EventKind::AiReply, slot, token);
    }

    /// The next worker on duty in round-robin order, if anyone is on duty.
    fn next_on_duty(&mut self) -> Option<u32> {
        let n = self.workers.len();
        let w =
            (0..n).map(|k| (self.supervisor_cursor + k) % n).find(|&w| self.workers[w].on_duty)?;
        self.supervisor_cursor = w + 1;
        Some(w as u32)
    }

    /// The supervisor of a new AI chat: the next worker on duty in round-robin order (with
    /// nobody on duty, the next worker: the chat is supervised from their return).
    pub(super) fn pick_supervisor(&mut self) -> u32 {
        self.next_on_duty().unwrap_or_else(|| {
            let w = self.supervisor_cursor % self.workers.len();
            self.supervisor_cursor = w + 1;
            w as u32
        })
    }

    pub(super) fn start_ai(&mut self, slot: u32) {
        let supervisor = self.pick_supervisor();
        let per_min = self.scenario.customers.frustration_per_wait_min;
        let chat = &mut self.chats[slot as usize];
        chat.end_wait(self.now, per_min);
        chat.ai_involved = true;
        chat.ai_from_s = Some(self.now);
        chat.frustration_at_ai = chat.frustration;
        self.supervise(slot, supervisor);
        self.schedule_ai_reply(slot);
    }

    /// `worker` supervises the AI chat in `slot` from now on (the chat's own record of it; the
    /// caller takes it off any earlier supervisor's list).
    fn supervise(&mut self, slot: u32, worker: u32) {
        let chat = &mut self.chats[slot as usize];
        chat.handler = Handler::Ai { supervisor: worker };
        chat.last_worker = Some(worker);
        self.workers[worker as usize].supervised.push(slot);
    }

    pub(super) fn escalate(&mut self, slot: u32, reason: Escalation) {
        let chat = &mut self.chats[slot as usize];
        let Handler::Ai { supervisor } = chat.handler else {
            unreachable!("only AI chats escalate");
        };
        chat.escalation = Some(reason);
        chat.escalated_at = self.now;
        chat.handler = Handler::Unassigned;
        chat.phase = Phase::Routing;
        remove_item(&mut self.workers[supervisor as usize].supervised, slot);
        self.start_wait(slot);
        self.agenda.route(slot);
    }

    pub(super) fn take_over(&mut self, worker: u32, slot: u32) {
        let chat = &mut self.chats[slot as usize];
        chat.escalation = Some(Escalation::Human);
        chat.escalated_at = self.now;
        chat.ai_token = 0;
        let was_ai_writing = chat.phase == Phase::AiWriting;
        remove_item(&mut self.workers[worker as usize].supervised, slot);
        self.attach(slot, worker);
        if was_ai_writing {
            // the AI's reply is withdrawn: the customer now waits for the worker
            self.start_wait(slot);
            self.chats[slot as usize].phase = Phase::Awaiting;
            self.workers[worker as usize].awaiting += 1;
        }
        self.mark_ready(worker);
    }

    /// Gives a routed or queued chat to `worker`; the customer keeps waiting for a reply.
    pub(super) fn assign(&mut self, slot: u32, worker: u32) {
        self.attach(slot, worker);
        self.chats[slot as usize].phase = Phase::Awaiting;
        self.workers[worker as usize].awaiting += 1;
        self.mark_ready(worker);
    }

    pub(super) fn attach(&mut self, slot: u32, worker: u32) {
        let chat = &mut self.chats[slot as usize];
        chat.handler = Handler::Worker(worker);
        chat.last_worker = Some(worker);
        chat.held_from_s = Some(self.now);
        let w = &mut self.workers[worker as usize];
        w.held.push(slot);
        debug_assert!(w.held.len() <= self.scenario.workers.cap as usize, "cap exceeded");
        if w.on_duty {
            self.pool.set(worker, w.held.len());
        }
    }

    pub(super) fn start_reply(&mut self, worker: u32, slot: u32) {
        let sc = &self.scenario;
        let wp = &sc.workers;
        let w = &mut self.workers[worker as usize];
        let chat = &mut self.chats[slot as usize];
        chat.end_wait(self.now, sc.customers.frustration_per_wait_min);
        w.awaiting -= 1;
        if let (Some(reason), None) = (chat.escalation, chat.intervention_delay_s) {
            let delay = self.now - chat.escalated_at;
            chat.intervention_delay_s = Some(delay);
            chat.effort = effort_after_escalation(&sc.effort, reason, delay);
        }
        let concurrency =
            (w.held.len() as f64 - 1.0) + wp.supervision_load * w.supervised.len() as f64;
        chat.concurrency_sum += concurrency;
        let mut duration = rng::lognormal(&mut chat.service_rng, wp.reply_median_s, wp.reply_sigma)
            * w.speed
            * (1.0 + wp.multitask_cost * concurrency)
            / effort_power(chat.effort, wp.effort_speed_elasticity);
        chat.reply_after_switch = w.last_chat != chat.id;
        if chat.reply_after_switch {
            duration += wp.switch_cost_s;
            // after its first human reply, a chat answered by a worker who came from another
            // chat is one the worker had switched away from
            chat.switch_aways += u32::from(chat.human_replies > 0);
        }
        w.last_chat = chat.id;
        chat.answered_by = Some(worker);
        w.writing = true;
        w.reply_started_s = self.now;
        w.hold_token = 0;
        chat.phase = Phase::WorkerWriting;
        let life = chat.life_token;
        self.events.push(self.now + duration, EventKind::WorkerReply, slot, life);
    }

    pub(super) fn mark_ready(&mut self, worker: u32) {
        let w = &mut self.workers[worker as usize];
        if !w.in_ready && !w.writing {
            w.in_ready = true;
            self.agenda.attend(worker);
        }
    }

    /// Takes the chat in `slot` out of the queue, keeping the others in order.
    pub(super) fn remove_from_queue(&mut self, slot: u32) {
        let i = self.queue.iter().position(|&q| q == slot).expect("the chat is in the queue");
        self.queue.remove(i);
    }

    /// Asks `worker` which queued chat to take when they are on duty with a free slot and chats
    /// are queued (an assign decision, made before anything else; `first` puts it ahead of the
    /// assign decisions already waiting).
    pub(super) fn request_assign(&mut self, worker: u32, first: bool) {
        let cap = self.scenario.workers.cap as usize;
        let w = &mut self.workers[worker as usize];
        if w.in_assign || !w.on_duty || w.held.len() >= cap || self.queue.is_empty() {
            return;
        }
        w.in_assign = true;
        self.agenda.assign(worker, first);
    }

    /// `worker` comes on duty: into the pool of workers with free slots, and to the queue. The
    /// first worker on duty after an hour with nobody takes over the supervision of the AI chats
    /// that began or were left while nobody was on duty.
    pub(super) fn join(&mut self, worker: u32) {
        if self.on_duty == 0 {
            for other in 0..self.workers.len() {
                for slot in std::mem::take(&mut self.workers[other].supervised) {
                    self.supervise(slot, worker);
                }
            }
        }
        let w = &mut self.workers[worker as usize];
        w.on_duty = true;
        if !w.has_worked {
            w.has_worked = true;
            self.first_on_duty.push(worker);
        }
        self.on_duty += 1;
        self.pool.set(worker, w.held.len());
        self.request_assign(worker, false);
    }

    /// `worker` goes off duty (a break or the end of a shift): they take no new chats and finish
    /// the ones they hold; the AI chats they supervise pass to workers on duty.
    pub(super) fn go_off_duty(&mut self, worker: u32) {
        let w = &mut self.workers[worker as usize];
        w.on_duty = false;
        self.on_duty -= 1;
        self.pool.remove(worker);
        while let Some(&slot) = self.workers[worker as usize].supervised.last() {
            let Some(to) = self.next_on_duty() else {
                break; // nobody is on duty: the chats stay where they are
            };
            self.workers[worker as usize].supervised.pop();
            self.supervise(slot, to);
        }
    }

    /// `worker` writes nothing for `env.hold_s` seconds although customers await a reply; they
    /// are asked again when the hold ends or, earlier, when one of their chats changes.
    pub(super) fn hold(&mut self, worker: u32) {
        let token = self.token();
        self.workers[worker as usize].hold_token = token;
        let at = self.now + self.scenario.env.hold_s;
        self.events.push(at, EventKind::HoldOver, worker, token);
    }

    /// Schedules the return of the customer of the chat in `slot`, which has just ended with a
    /// retrial (`retrial.returns`). The return comes an exponential delay after the chat arrived,
    /// within the 7-day window, thinned by the hourly arrival profile so that customers come back
    /// at the hours customers write, and after the chat ended (by memorylessness, an exponential
    /// delay after its end). The proposals come from the chat's own stream and are measured from
    /// its arrival, which twins share, so twins that both retry come back at the same moment
    /// unless one of them was still open then. A return after the last arrival is not simulated.
    fn schedule_return(&mut self, slot: u32) {
        /// Proposals before the thinning gives up (never reached in practice: a proposal is
        /// accepted with the day's mean profile over its peak, when it falls after the end).
        const MAX_PROPOSALS: usize = 10_000;
        let r = &self.scenario.retrial;
        let chat = &self.chats[slot as usize];
        let mut stream = rng::chat_rng(self.seed, Stream::Retrial, chat.id);
        let mut at = f64::INFINITY;
        for _ in 0..MAX_PROPOSALS {
            let delay =
                rng::truncated_exponential(&mut stream, r.delay_mean_h * HOUR_S, RETRIAL_WINDOW_S);
            let proposal = chat.arrival_s + delay;
            let hour = hour_of_day(proposal);
            let keep = rng::uniform(&mut stream) * self.peak_hourly_rate <= self.hourly_rate[hour];
            if keep && proposal > self.now {
                at = proposal;
                break;
            }
        }
        if at >= self.horizon {
            return;
        }
        let back = Return {
            parent_id: chat.id,
            eligible: chat.eligible,
            carried_frustration: r.carry * chat.frustration,
        };
        let index = match self.free_returns.pop() {
            Some(i) => {
                self.returns[i as usize] = back;
                i
            }
            None => {
                self.returns.push(back);
                (self.returns.len() - 1) as u32
            }
        };
        self.events.push(at, EventKind::Return, index, 0);
    }

    /// Puts a chat that has just arrived into the slab and asks where it goes.
    pub(super) fn admit(&mut self, chat: Chat) {
        self.counters.arrived += 1;
        let slot = match self.free_slots.pop() {
            Some(s) => {
                self.chats[s as usize] = chat;
                self.alive[s as usize] = true;
                s
            }
            None => {
                self.chats.push(chat);
                self.alive.push(true);
                (self.chats.len() - 1) as u32
            }
        };
        self.start_wait(slot);
        self.agenda.route(slot);
    }

    pub(super) fn end_chat(&mut self, slot: u32, ending: Ending) {
        let per_min = self.scenario.customers.frustration_per_wait_min;
        let s = slot as usize;
        if self.chats[s].is_waiting() {
            self.chats[s].end_wait(self.now, per_min);
        }
        let record = ChatRecord::complete(
            &self.chats[s],
            self.now,
            ending,
            &self.scenario,
            &self.chat_constants,
        );
        self.completed.push(record);
        if record.retrial && self.scenario.retrial.returns {
            self.schedule_return(slot);
        }
        self.counters.completed += 1;
        let chat = &self.chats[s];
        match (chat.handler, chat.phase) {
            (Handler::Worker(w), phase) => {
                let worker = &mut self.workers[w as usize];
                if phase == Phase::Awaiting {
                    worker.awaiting -= 1;
                }
                remove_item(&mut worker.held, slot);
                if worker.on_duty {
                    self.pool.set(w, worker.held.len());
                }
                self.request_assign(w, false);
            }
            (Handler::Ai { supervisor }, _) => {
                remove_item(&mut self.workers[supervisor as usize].supervised, slot);
            }
            (Handler::Unassigned, Phase::Queued) => self.remove_from_queue(slot),
            (Handler::Unassigned, _) => {}
        }
        self.alive[s] = false;
        self.free_slots.push(slot);
    }
}

/// Effort of a worker stepping into a chat that left the AI for `reason`, `delay_s` seconds
/// after it left (the study's mechanisms 2 and 3): the reason's base effort, undiminished within
/// the grace period, then decaying towards `floor` of it.
pub(super) fn effort_after_escalation(effort: &Effort, reason: Escalation, delay_s: f64) -> f64 {
    let base = match reason {
        Escalation::Technical => effort.technical,
        Escalation::Emotional => effort.emotional,
        Escalation::Human => effort.human_initiated,
    };
    let late = (delay_s - effort.grace_s).max(0.0) / effort.decay_s;
    base * (effort.floor + (1.0 - effort.floor) * rng::exp(-late))
}

/// `effort^elasticity`, skipping the power for full effort (most replies).
#[inline]
pub(super) fn effort_power(effort: f64, elasticity: f64) -> f64 {
    if effort == 1.0 { 1.0 } else { libm::pow(effort, elasticity) }
}

/// Removes `item` from an unordered list.
pub(super) fn remove_item(list: &mut Vec<u32>, item: u32) {
    if let Some(i) = list.iter().position(|&x| x == item) {
        list.swap_remove(i);
    }
}
