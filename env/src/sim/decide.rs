//! Decisions: building the observation of a route, attend or assign decision, forcing the ones
//! with a single valid action, and carrying out the chosen action.

use super::{Pending, Simulator};
use crate::chat::Phase;
use crate::observation::{Candidate, CandidateKind, REPLY_TIME_PRIOR};
use crate::scenario::DecisionKind;

impl Simulator {
    pub(super) fn ai_available(&self) -> bool {
        !self.scenario.ai.outages.iter().any(|w| w.contains(self.now))
    }

    pub(super) fn fill_common(&mut self, kind: DecisionKind) {
        self.obs.kind = kind;
        self.obs.time_s = self.now;
        self.obs.queue_len = self.queue.len() as u32;
        // escalations queue ahead of new chats, each in the order they came: the longest wait is
        // at the head of one of the two
        let waited = |s: Option<&u32>| {
            s.map_or(0.0, |&s| (self.now - self.chats[s as usize].awaiting_since) as f32)
        };
        let first_new = self.first_new_in_queue();
        self.obs.queue_oldest_wait_s =
            waited(self.queue.front()).max(waited(self.queue.get(first_new)));
        self.obs.on_duty = self.on_duty;
        self.obs.in_flight = (self.counters.arrived - self.counters.completed) as u32;
        self.obs.free_workers = self.pool.len() as u32;
        self.obs.ai_available = self.ai_available();
        self.obs.chat = Candidate::default();
        self.obs.worker = Candidate::default();
        self.obs.clear_candidates();
    }

    pub(super) fn worker_candidate(&self, w: u32, kind: CandidateKind) -> Candidate {
        let worker = &self.workers[w as usize];
        Candidate {
            kind,
            worker: w,
            load: worker.held.len() as f32 / self.scenario.workers.cap as f32,
            supervised: worker.supervised.len() as f32,
            reply_time_ratio: {
                let median = self.scenario.workers.reply_median_s;
                let observed = worker.reply_time_s + REPLY_TIME_PRIOR * median;
                (observed / (f64::from(worker.replies) + REPLY_TIME_PRIOR) / median) as f32
            },
            ..Candidate::default()
        }
    }

    pub(super) fn chat_candidate(&self, slot: u32, kind: CandidateKind, worker: u32) -> Candidate {
        let chat = &self.chats[slot as usize];
        let waiting = chat.is_waiting();
        Candidate {
            kind,
            worker,
            chat_slot: slot,
            wait_s: if waiting { (self.now - chat.awaiting_since) as f32 } else { 0.0 },
            frustration: chat
                .frustration_now(self.now, self.scenario.customers.frustration_per_wait_min)
                as f32,
            escalation: chat.escalation,
            rounds_done: chat.rounds_done as f32,
            eligible: chat.eligible,
            last_answered: self.workers[worker as usize].last_chat == chat.id,
            age_s: (self.now - chat.arrival_s) as f32,
            ai_unproductive: (chat.ai_replies - chat.ai_productive_rounds) as f32,
            ..Candidate::default()
        }
    }

    /// Builds the route decision for `slot`; applies it at once when only one action is valid.
    pub(super) fn offer_route(&mut self, slot: u32) -> bool {
        self.fill_common(DecisionKind::Route);
        let chat = &self.chats[slot as usize];
        let supervisor = if chat.escalation.is_some() { chat.last_worker } else { None };
        let ai_ok = chat.eligible && chat.escalation.is_none() && self.obs.ai_available;
        self.obs.chat = self.chat_candidate(slot, CandidateKind::Chat, supervisor.unwrap_or(0));
        self.obs.chat.last_answered = false;
        let n = self.obs.candidates.len();
        self.obs.candidates[0] = Candidate { kind: CandidateKind::Ai, ..Candidate::default() };
        self.obs.mask[0] = ai_ok;
        self.obs.candidates[1] = Candidate { kind: CandidateKind::Queue, ..Candidate::default() };
        self.obs.mask[1] = true;
        let mut next = 2;
        if let Some(s) = supervisor.filter(|&s| self.pool.contains(s)) {
            let mut c = self.worker_candidate(s, CandidateKind::Worker);
            c.is_supervisor = true;
            self.obs.candidates[next] = c;
            self.obs.mask[next] = true;
            next += 1;
        }
        for w in self.pool.least_loaded() {
            if next >= n {
                break;
            }
            if Some(w) == supervisor {
                continue;
            }
            self.obs.candidates[next] = self.worker_candidate(w, CandidateKind::Worker);
            self.obs.mask[next] = true;
            next += 1;
        }
        self.pending = Some(Pending::Route { slot });
        self.offer_or_force()
    }

    /// Builds the attend decision for `worker`; false when there is nothing to decide.
    pub(super) fn offer_attend(&mut self, worker: u32) -> bool {
        let w = &self.workers[worker as usize];
        if w.writing {
            return false;
        }
        let cap = self.scenario.workers.cap as usize;
        let can_take_over = w.on_duty && w.held.len() < cap && !w.supervised.is_empty();
        let can_hold = self.scenario.env.hold_s > 0.0;
        if w.awaiting == 0 && !can_take_over {
            return false;
        }
        if w.awaiting == 1 && !can_take_over && !can_hold {
            // a forced decision: answer the one waiting customer without building an observation
            let slot = *w
                .held
                .iter()
                .find(|&&s| self.chats[s as usize].phase == Phase::Awaiting)
                .expect("the awaiting count matches the held chats");
            self.start_reply(worker, slot);
            return false;
        }
        self.fill_common(DecisionKind::Attend);
        self.obs.worker = self.worker_candidate(worker, CandidateKind::Worker);
        let w = &self.workers[worker as usize];
        self.obs.candidates[0] =
            Candidate { kind: CandidateKind::Wait, worker, ..Candidate::default() };
        self.obs.mask[0] = w.awaiting == 0 || can_hold;
        for i in 0..w.held.len() {
            let slot = self.workers[worker as usize].held[i];
            self.obs.candidates[1 + i] = self.chat_candidate(slot, CandidateKind::Chat, worker);
            self.obs.mask[1 + i] = self.chats[slot as usize].phase == Phase::Awaiting;
        }
        if can_take_over {
            self.fill_takeovers(worker, 1 + cap);
        }
        self.pending = Some(Pending::Attend { worker });
        self.offer_or_force()
    }

    /// Builds the assign decision for `worker`, who has a free slot: keep it free (only while the
    /// worker holds a chat, or nothing would wake an idle worker), or take a queued chat: the
    /// worker's own escalation that has waited longest first, then the queue from its head.
    /// False when there is nothing to decide.
    pub(super) fn offer_assign(&mut self, worker: u32) -> bool {
        let w = &self.workers[worker as usize];
        let cap = self.scenario.workers.cap as usize;
        if !w.on_duty || w.held.len() >= cap || self.queue.is_empty() {
            return false;
        }
        let holds_a_chat = !w.held.is_empty();
        self.fill_common(DecisionKind::Assign);
        self.obs.worker = self.worker_candidate(worker, CandidateKind::Worker);
        self.obs.candidates[0] =
            Candidate { kind: CandidateKind::Pass, worker, ..Candidate::default() };
        self.obs.mask[0] = holds_a_chat;
        let own = self.queue.iter().position(|&s| self.is_own_escalation(s, worker));
        let n = self.obs.candidates.len();
        let order = own.into_iter().chain((0..self.queue.len()).filter(|&i| Some(i) != own));
        for (next, i) in (1..n).zip(order) {
            let slot = self.queue[i];
            let mut c = self.chat_candidate(slot, CandidateKind::Queued, worker);
            c.is_supervisor = self.is_own_escalation(slot, worker);
            self.obs.candidates[next] = c;
            self.obs.mask[next] = true;
        }
        self.pending = Some(Pending::Assign { worker });
        self.offer_or_force()
    }

    /// The position of the first new chat in the queue (after the queued escalations).
    fn first_new_in_queue(&self) -> usize {
        self.queue
            .iter()
            .position(|&s| self.chats[s as usize].escalation.is_none())
            .unwrap_or(self.queue.len())
    }

    /// Whether the chat in `slot` left an AI chat that `worker` supervised.
    fn is_own_escalation(&self, slot: u32, worker: u32) -> bool {
        let c = &self.chats[slot as usize];
        c.escalation.is_some() && c.last_worker == Some(worker)
    }

    /// Fills slots from `first` on with the supervised AI chats of `worker`, most frustrated first.
    pub(super) fn fill_takeovers(&mut self, worker: u32, first: usize) {
        let n = self.obs.candidates.len();
        let per_min = self.scenario.customers.frustration_per_wait_min;
        let supervised_len = self.workers[worker as usize].supervised.len();
        for i in 0..supervised_len {
            let slot = self.workers[worker as usize].supervised[i];
            let f = self.chats[slot as usize].frustration_now(self.now, per_min) as f32;
            // insertion into the slots kept sorted by frustration, descending
            let mut pos = first;
            while pos < n && self.obs.mask[pos] && self.obs.candidates[pos].frustration >= f {
                pos += 1;
            }
            if pos >= n {
                continue;
            }
            let last = n - 1;
            for k in (pos..last).rev() {
                self.obs.candidates[k + 1] = self.obs.candidates[k];
                self.obs.mask[k + 1] = self.obs.mask[k];
            }
            self.obs.candidates[pos] = self.chat_candidate(slot, CandidateKind::Takeover, worker);
            self.obs.mask[pos] = true;
        }
    }

    /// Keeps a decision with several valid actions for the policy; applies a forced one.
    pub(super) fn offer_or_force(&mut self) -> bool {
        let (first, second) = {
            let mut valid = self.obs.valid_actions();
            (valid.next(), valid.next())
        };
        match (first, second) {
            (Some(only), None) => {
                self.apply(only).expect("the only valid action applies");
                false
            }
            (Some(_), Some(_)) => true,
            (None, _) => {
                self.pending = None;
                false
            }
        }
    }

    pub(super) fn apply_route(&mut self, slot: u32, candidate: Candidate) {
        match candidate.kind {
            CandidateKind::Ai => self.start_ai(slot),
            CandidateKind::Queue => {
                self.chats[slot as usize].phase = Phase::Queued;
                // escalations queue ahead of new work, in the order they came
                let at = if self.chats[slot as usize].escalation.is_some() {
                    self.first_new_in_queue()
                } else {
                    self.queue.len()
                };
                self.queue.insert(at, slot);
            }
            CandidateKind::Worker => self.assign(slot, candidate.worker),
            _ => unreachable!("route candidates are AI, queue or worker"),
        }
    }

    pub(super) fn apply_attend(&mut self, worker: u32, candidate: Candidate) {
        match candidate.kind {
            CandidateKind::Wait => {
                if self.workers[worker as usize].awaiting > 0 {
                    self.hold(worker);
                }
            }
            CandidateKind::Chat => self.start_reply(worker, candidate.chat_slot),
            CandidateKind::Takeover => self.take_over(worker, candidate.chat_slot),
            _ => unreachable!("attend candidates are wait, chat or takeover"),
        }
    }

    pub(super) fn apply_assign(&mut self, worker: u32, candidate: Candidate) {
        match candidate.kind {
            CandidateKind::Pass => {}
            CandidateKind::Queued => {
                let slot = candidate.chat_slot;
                self.remove_from_queue(slot);
                self.assign(slot, worker);
                // the worker goes on filling free slots before anything else happens
                self.request_assign(worker, true);
            }
            _ => unreachable!("assign candidates are pass or queued"),
        }
    }
}
