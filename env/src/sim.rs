//! The discrete-event simulator.
//!
//! [`Simulator::advance`] runs events until a decision is needed (route a chat, or choose what a
//! ready worker does) and fills the [`Observation`]; [`Simulator::apply`] carries out the chosen
//! action. Completed chats collect in a buffer that the caller drains. Chats live in a slab whose
//! slots are reused, so memory grows with the chats in flight, not with the horizon.

use std::collections::VecDeque;

use rand_pcg::Pcg64Mcg;

use crate::chat::{Chat, Escalation, Handler, Phase};
use crate::error::StepError;
use crate::events::{EventKind, EventQueue};
use crate::observation::{Candidate, CandidateKind, Observation};
use crate::outcome::{ChatRecord, Ending};
use crate::pool::FreePool;
use crate::rng::{self, Stream};
use crate::scenario::{DAY_S, DecisionKind, HOUR_S, Scenario};

/// A human worker.
#[derive(Debug, Clone)]
pub struct Worker {
    /// Multiplier on this worker's reply times (heterogeneity).
    pub speed: f64,
    /// Slots of the chats the worker holds (at most the cap).
    pub held: Vec<u32>,
    /// Slots of the AI chats the worker supervises.
    pub supervised: Vec<u32>,
    /// Whether the worker is writing a reply now.
    pub writing: bool,
    /// Held chats whose customer awaits a reply.
    pub awaiting: u32,
    /// Id of the chat answered last (for the switching cost).
    pub last_chat: u64,
    /// Whether the worker is on duty (takes new chats).
    pub on_duty: bool,
    /// Whether the worker is queued for an attend decision.
    pub in_ready: bool,
}

/// The decision the simulator waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Route { slot: u32 },
    Attend { worker: u32 },
}

/// Counters for reports and invariant checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimCounters {
    /// Chats that arrived.
    pub arrived: u64,
    /// Chats that ended.
    pub completed: u64,
    /// Events processed.
    pub events: u64,
}

/// The simulator of one run.
#[derive(Debug)]
pub struct Simulator {
    scenario: Scenario,
    seed: u64,
    now: f64,
    horizon: f64,
    events: EventQueue,
    chats: Vec<Chat>,
    alive: Vec<bool>,
    free_slots: Vec<u32>,
    workers: Vec<Worker>,
    pool: FreePool,
    queue: VecDeque<u32>,
    pending_routes: VecDeque<u32>,
    ready: VecDeque<u32>,
    arrivals_rng: Pcg64Mcg,
    hourly_rate: [f64; 24],
    max_rate: f64,
    next_chat_id: u64,
    next_token: u32,
    supervisor_cursor: usize,
    on_duty: u32,
    pending: Option<Pending>,
    obs: Observation,
    completed: Vec<ChatRecord>,
    counters: SimCounters,
}

impl Simulator {
    /// A simulator for `scenario`; call [`Simulator::reset`] before use.
    pub fn new(scenario: Scenario) -> Self {
        let n_workers = scenario.workers.count as usize;
        let cap = scenario.workers.cap as usize;
        let candidates = scenario.env.candidates as usize;
        let profile_sum: f64 = scenario.arrivals.hourly_profile.iter().sum();
        let mut hourly_rate = [0.0; 24];
        for (h, r) in hourly_rate.iter_mut().enumerate() {
            *r = scenario.arrivals.chats_per_day * scenario.arrivals.hourly_profile[h]
                / profile_sum
                / HOUR_S;
        }
        let surge_max =
            scenario.arrivals.surges.iter().map(|s| s.multiplier.max(1.0)).product::<f64>();
        let max_rate = hourly_rate.iter().copied().fold(0.0, f64::max) * surge_max;
        let mut sim = Self {
            horizon: scenario.horizon_s(),
            seed: 0,
            now: 0.0,
            events: EventQueue::default(),
            chats: Vec::new(),
            alive: Vec::new(),
            free_slots: Vec::new(),
            workers: Vec::with_capacity(n_workers),
            pool: FreePool::new(n_workers, cap),
            queue: VecDeque::new(),
            pending_routes: VecDeque::new(),
            ready: VecDeque::new(),
            arrivals_rng: rng::stream_rng(0, Stream::Arrivals),
            hourly_rate,
            max_rate,
            next_chat_id: 0,
            next_token: 1,
            supervisor_cursor: 0,
            on_duty: 0,
            pending: None,
            obs: Observation::new(candidates),
            completed: Vec::new(),
            counters: SimCounters::default(),
            scenario,
        };
        sim.reset(0);
        sim
    }

    /// The scenario being simulated.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Starts a new run with `seed`, keeping allocated memory.
    pub fn reset(&mut self, seed: u64) {
        self.seed = seed;
        self.now = 0.0;
        self.events.clear();
        self.chats.clear();
        self.alive.clear();
        self.free_slots.clear();
        self.pool.clear();
        self.queue.clear();
        self.pending_routes.clear();
        self.ready.clear();
        self.completed.clear();
        self.arrivals_rng = rng::stream_rng(seed, Stream::Arrivals);
        self.next_chat_id = 0;
        self.next_token = 1;
        self.supervisor_cursor = 0;
        self.on_duty = 0;
        self.pending = None;
        self.counters = SimCounters::default();
        let w = &self.scenario.workers;
        let mut worker_rng = rng::stream_rng(seed, Stream::Workers);
        self.workers.clear();
        for _ in 0..w.count {
            self.workers.push(Worker {
                speed: rng::lognormal(&mut worker_rng, 1.0, w.speed_sigma),
                held: Vec::with_capacity(w.cap as usize),
                supervised: Vec::new(),
                writing: false,
                awaiting: 0,
                last_chat: u64::MAX,
                on_duty: false,
                in_ready: false,
            });
        }
        self.events.push(0.0, EventKind::Hour, 0, 0);
        self.schedule_next_arrival(0.0);
    }

    /// Simulated time, seconds.
    pub fn now(&self) -> f64 {
        self.now
    }

    /// The observation of the pending decision.
    pub fn observation(&self) -> &Observation {
        &self.obs
    }

    /// Counters of this run.
    pub fn counters(&self) -> SimCounters {
        self.counters
    }

    /// The workers (for inspection and invariant checks).
    pub fn workers(&self) -> &[Worker] {
        &self.workers
    }

    /// Chats in flight.
    pub fn chats_in_flight(&self) -> usize {
        (self.counters.arrived - self.counters.completed) as usize
    }

    /// Chat slots allocated: the high-water mark of chats in flight, which bounds the memory.
    pub fn allocated_slots(&self) -> usize {
        self.chats.len()
    }

    /// Chats completed since the last drain.
    pub fn completed(&self) -> &[ChatRecord] {
        &self.completed
    }

    /// Forgets the completed chats (after the caller has read them).
    pub fn clear_completed(&mut self) {
        self.completed.clear();
    }

    /// Runs until the next decision (returns true, with [`Simulator::observation`] filled) or the
    /// end of the run (returns false: no arrivals left and every chat has ended).
    pub fn advance(&mut self) -> bool {
        if self.pending.is_some() {
            return true;
        }
        loop {
            if let Some(slot) = self.pending_routes.pop_front() {
                if self.offer_route(slot) {
                    return true;
                }
                continue;
            }
            if let Some(worker) = self.ready.pop_front() {
                self.workers[worker as usize].in_ready = false;
                if self.offer_attend(worker) {
                    return true;
                }
                continue;
            }
            let Some(event) = self.events.pop() else {
                return false;
            };
            debug_assert!(event.time >= self.now, "event time went back");
            self.now = event.time;
            self.counters.events += 1;
            self.handle(event.kind, event.slot, event.tag);
        }
    }

    /// Carries out `action` at the pending decision. An invalid action is an error and changes
    /// nothing.
    pub fn apply(&mut self, action: usize) -> Result<(), StepError> {
        let Some(pending) = self.pending else {
            return Err(StepError::EpisodeOver);
        };
        let n = self.obs.mask.len();
        if action >= n {
            return Err(StepError::OutOfRange { action, n });
        }
        if !self.obs.mask[action] {
            return Err(StepError::Masked { action, valid: self.obs.valid_actions().collect() });
        }
        self.pending = None;
        let candidate = self.obs.candidates[action];
        match pending {
            Pending::Route { slot } => self.apply_route(slot, candidate),
            Pending::Attend { worker } => self.apply_attend(worker, candidate),
        }
        Ok(())
    }

    // ----- decisions -----

    fn ai_available(&self) -> bool {
        !self.scenario.ai.outages.iter().any(|w| w.contains(self.now))
    }

    fn fill_common(&mut self, kind: DecisionKind) {
        self.obs.kind = kind;
        self.obs.time_s = self.now;
        self.obs.queue_len = self.queue.len() as u32;
        self.obs.on_duty = self.on_duty;
        self.obs.in_flight = (self.counters.arrived - self.counters.completed) as u32;
        self.obs.free_workers = self.pool.len() as u32;
        self.obs.ai_available = self.ai_available();
        self.obs.chat = Candidate::default();
        self.obs.worker = Candidate::default();
        self.obs.clear_candidates();
    }

    fn worker_candidate(&self, w: u32, kind: CandidateKind) -> Candidate {
        let worker = &self.workers[w as usize];
        Candidate {
            kind,
            worker: w,
            load: worker.held.len() as f32 / self.scenario.workers.cap as f32,
            supervised: worker.supervised.len() as f32,
            ..Candidate::default()
        }
    }

    fn chat_candidate(&self, slot: u32, kind: CandidateKind, worker: u32) -> Candidate {
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
            ..Candidate::default()
        }
    }

    /// Builds the route decision for `slot`; applies it at once when only one action is valid.
    fn offer_route(&mut self, slot: u32) -> bool {
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
    fn offer_attend(&mut self, worker: u32) -> bool {
        let w = &self.workers[worker as usize];
        if w.writing {
            return false;
        }
        let cap = self.scenario.workers.cap as usize;
        let can_take_over = w.held.len() < cap && !w.supervised.is_empty();
        if w.awaiting == 0 && !can_take_over {
            return false;
        }
        if w.awaiting == 1 && !can_take_over {
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
        self.obs.mask[0] = w.awaiting == 0;
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

    /// Fills slots from `first` on with the supervised AI chats of `worker`, most frustrated first.
    fn fill_takeovers(&mut self, worker: u32, first: usize) {
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
    fn offer_or_force(&mut self) -> bool {
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

    fn apply_route(&mut self, slot: u32, candidate: Candidate) {
        match candidate.kind {
            CandidateKind::Ai => self.start_ai(slot),
            CandidateKind::Queue => {
                self.chats[slot as usize].phase = Phase::Queued;
                self.queue.push_back(slot);
            }
            CandidateKind::Worker => self.assign(slot, candidate.worker),
            _ => unreachable!("route candidates are AI, queue or worker"),
        }
    }

    fn apply_attend(&mut self, worker: u32, candidate: Candidate) {
        match candidate.kind {
            CandidateKind::Wait => {}
            CandidateKind::Chat => self.start_reply(worker, candidate.chat_slot),
            CandidateKind::Takeover => self.take_over(worker, candidate.chat_slot),
            _ => unreachable!("attend candidates are wait, chat or takeover"),
        }
    }

    // ----- events -----

    fn handle(&mut self, kind: EventKind, slot: u32, tag: u32) {
        match kind {
            EventKind::Arrival => self.on_arrival(),
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
        }
    }

    fn is_live(&self, slot: u32, life_token: u32) -> bool {
        self.alive[slot as usize] && self.chats[slot as usize].life_token == life_token
    }

    fn token(&mut self) -> u32 {
        let t = self.next_token;
        self.next_token = self.next_token.wrapping_add(1).max(1);
        t
    }

    fn arrival_rate(&self, t: f64) -> f64 {
        let hour = ((t % DAY_S) / HOUR_S) as usize % 24;
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

    /// Thinning of a Poisson process at the maximal rate (Lewis and Shedler, 1979).
    fn schedule_next_arrival(&mut self, from: f64) {
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
                self.events.push(t, EventKind::Arrival, 0, 0);
                return;
            }
        }
    }

    fn on_arrival(&mut self) {
        let eligible =
            rng::bernoulli(&mut self.arrivals_rng, self.scenario.arrivals.eligible_share);
        let id = self.next_chat_id;
        self.next_chat_id += 1;
        self.counters.arrived += 1;
        let life = self.token();
        let chat = Chat::new(id, self.now, eligible, life, self.seed, &self.scenario);
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
        self.pending_routes.push_back(slot);
        self.schedule_next_arrival(self.now);
    }

    fn on_hour(&mut self) {
        let hour = ((self.now % DAY_S) / HOUR_S).round() as usize % 24;
        let count = self.workers.len();
        let target = (self.scenario.workers.staffing[hour] * count as f64).round() as usize;
        for w in 0..count {
            let on = w < target;
            if self.workers[w].on_duty == on {
                continue;
            }
            self.workers[w].on_duty = on;
            if on {
                self.on_duty += 1;
                self.pool.set(w as u32, self.workers[w].held.len());
                self.fill_from_queue(w as u32);
            } else {
                self.on_duty -= 1;
                self.pool.remove(w as u32);
            }
        }
        let next = self.now + HOUR_S;
        if next < self.horizon || self.counters.arrived > self.counters.completed {
            self.events.push(next, EventKind::Hour, 0, 0);
        }
    }

    fn on_customer_message(&mut self, slot: u32) {
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

    fn on_worker_reply(&mut self, slot: u32) {
        let sc = &self.scenario;
        let (wp, cp) = (&sc.workers, &sc.customers);
        let chat = &mut self.chats[slot as usize];
        let Handler::Worker(w) = chat.handler else {
            unreachable!("a worker reply belongs to a worker's chat");
        };
        let effort = chat.effort;
        let msg_mean = 1.0 + (wp.messages_per_reply - 1.0) * effort;
        chat.worker_messages += rng::one_plus_poisson(&mut chat.service_rng.rng, msg_mean);
        chat.human_replies += 1;
        let p_productive =
            wp.productive_prob * effort_power(effort, wp.effort_productivity_elasticity);
        let productive = rng::bernoulli(&mut chat.service_rng.rng, p_productive);
        let closes =
            rng::bernoulli(&mut chat.service_rng.rng, wp.perfunctory_close_rate * (1.0 - effort));
        let resolved = Self::after_reply(chat, productive, cp);
        let ending = resolved.or(if chat.unproductive_streak >= cp.give_up_after_unproductive {
            Some(Ending::GaveUp)
        } else if closes {
            Some(Ending::ClosedUnresolved)
        } else {
            None
        });
        self.workers[w as usize].writing = false;
        self.mark_ready(w);
        match ending {
            Some(e) => self.end_chat(slot, e),
            None => self.customer_writes(slot),
        }
    }

    /// Updates frustration and progress after a reply; `Some(Resolved)` when the work is done.
    fn after_reply(
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

    fn on_ai_reply(&mut self, slot: u32) {
        let sc = &self.scenario;
        let chat = &mut self.chats[slot as usize];
        chat.ai_token = 0;
        chat.ai_replies += 1;
        chat.frustration += sc.customers.frustration_ai_reply;
        let productive =
            rng::bernoulli(&mut chat.ai_rng, sc.ai.productive_prob) && chat.customer.ai_solvable;
        chat.ai_productive_rounds += u32::from(productive);
        let resolved = Self::after_reply(chat, productive, &sc.customers);
        let Handler::Ai { supervisor } = chat.handler else {
            unreachable!("an AI reply belongs to an AI chat");
        };
        if resolved.is_some() {
            self.end_chat(slot, Ending::Resolved);
        } else if chat.frustration >= sc.ai.emotional_threshold {
            self.escalate(slot, Escalation::Emotional);
        } else if chat.unproductive_streak >= sc.ai.technical_after_unproductive {
            self.escalate(slot, Escalation::Technical);
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

    // ----- state changes -----

    /// Starts a wait: the customer abandons unless someone acts within their patience. At most
    /// one abandonment check per chat is scheduled; an earlier one still pending re-arms itself
    /// when it fires, so the event queue holds no pile of cancelled timers.
    fn start_wait(&mut self, slot: u32) {
        let chat = &mut self.chats[slot as usize];
        chat.awaiting_since = self.now;
        chat.abandon_at = self.now + chat.customer.patience_s;
        if !chat.abandon_check_scheduled {
            chat.abandon_check_scheduled = true;
            let (at, life) = (chat.abandon_at, chat.life_token);
            self.events.push(at, EventKind::Abandon, slot, life);
        }
    }

    fn on_abandon_check(&mut self, slot: u32) {
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

    fn customer_writes(&mut self, slot: u32) {
        let cp = &self.scenario.customers;
        let chat = &mut self.chats[slot as usize];
        chat.phase = Phase::CustomerWriting;
        let at = self.now + chat.customer_rng.lognormal(cp.write_median_s, cp.write_sigma);
        let life = chat.life_token;
        self.events.push(at, EventKind::CustomerMessage, slot, life);
    }

    fn schedule_ai_reply(&mut self, slot: u32) {
        let token = self.token();
        let ai = &self.scenario.ai;
        let chat = &mut self.chats[slot as usize];
        chat.phase = Phase::AiWriting;
        chat.ai_token = token;
        let at = self.now + rng::lognormal(&mut chat.ai_rng, ai.reply_median_s, ai.reply_sigma);
        self.events.push(at, EventKind::AiReply, slot, token);
    }

    fn pick_supervisor(&mut self) -> u32 {
        let n = self.workers.len();
        for k in 0..n {
            let w = (self.supervisor_cursor + k) % n;
            if self.workers[w].on_duty {
                self.supervisor_cursor = w + 1;
                return w as u32;
            }
        }
        let w = self.supervisor_cursor % n;
        self.supervisor_cursor = w + 1;
        w as u32
    }

    fn start_ai(&mut self, slot: u32) {
        let supervisor = self.pick_supervisor();
        let per_min = self.scenario.customers.frustration_per_wait_min;
        let chat = &mut self.chats[slot as usize];
        chat.end_wait(self.now, per_min);
        chat.handler = Handler::Ai { supervisor };
        chat.ai_involved = true;
        chat.last_worker = Some(supervisor);
        self.workers[supervisor as usize].supervised.push(slot);
        self.schedule_ai_reply(slot);
    }

    fn escalate(&mut self, slot: u32, reason: Escalation) {
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
        self.pending_routes.push_back(slot);
    }

    fn take_over(&mut self, worker: u32, slot: u32) {
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
    fn assign(&mut self, slot: u32, worker: u32) {
        self.attach(slot, worker);
        self.chats[slot as usize].phase = Phase::Awaiting;
        self.workers[worker as usize].awaiting += 1;
        self.mark_ready(worker);
    }

    fn attach(&mut self, slot: u32, worker: u32) {
        let chat = &mut self.chats[slot as usize];
        chat.handler = Handler::Worker(worker);
        chat.last_worker = Some(worker);
        let w = &mut self.workers[worker as usize];
        w.held.push(slot);
        debug_assert!(w.held.len() <= self.scenario.workers.cap as usize, "cap exceeded");
        if w.on_duty {
            self.pool.set(worker, w.held.len());
        }
    }

    fn start_reply(&mut self, worker: u32, slot: u32) {
        let sc = &self.scenario;
        let wp = &sc.workers;
        let w = &mut self.workers[worker as usize];
        let chat = &mut self.chats[slot as usize];
        chat.end_wait(self.now, sc.customers.frustration_per_wait_min);
        w.awaiting -= 1;
        if let (Some(reason), None) = (chat.escalation, chat.intervention_delay_s) {
            let delay = self.now - chat.escalated_at;
            chat.intervention_delay_s = Some(delay);
            chat.effort = sc.effort.after_escalation(reason, delay);
        }
        let concurrency =
            (w.held.len() as f64 - 1.0) + wp.supervision_load * w.supervised.len() as f64;
        chat.concurrency_sum += concurrency;
        let mut duration = chat.service_rng.lognormal(wp.reply_median_s, wp.reply_sigma)
            * w.speed
            * (1.0 + wp.multitask_cost * concurrency)
            / effort_power(chat.effort, wp.effort_speed_elasticity);
        if w.last_chat != chat.id {
            duration += wp.switch_cost_s;
            // after its first human reply, a chat answered by a worker who came from another
            // chat is one the worker had switched away from
            chat.switch_aways += u32::from(chat.human_replies > 0);
        }
        w.last_chat = chat.id;
        w.writing = true;
        chat.phase = Phase::WorkerWriting;
        let life = chat.life_token;
        self.events.push(self.now + duration, EventKind::WorkerReply, slot, life);
    }

    fn mark_ready(&mut self, worker: u32) {
        let w = &mut self.workers[worker as usize];
        if !w.in_ready && !w.writing {
            w.in_ready = true;
            self.ready.push_back(worker);
        }
    }

    /// Fills free slots of `worker` from the queue: its own escalations first, then the oldest.
    fn fill_from_queue(&mut self, worker: u32) {
        let cap = self.scenario.workers.cap as usize;
        while self.workers[worker as usize].on_duty
            && self.workers[worker as usize].held.len() < cap
            && !self.queue.is_empty()
        {
            let own = self.queue.iter().position(|&s| {
                let c = &self.chats[s as usize];
                c.escalation.is_some() && c.last_worker == Some(worker)
            });
            let slot = match own {
                Some(i) => self.queue.remove(i).expect("position is in the queue"),
                None => self.queue.pop_front().expect("queue is not empty"),
            };
            self.assign(slot, worker);
        }
    }

    fn end_chat(&mut self, slot: u32, ending: Ending) {
        let per_min = self.scenario.customers.frustration_per_wait_min;
        let s = slot as usize;
        if self.chats[s].is_waiting() {
            self.chats[s].end_wait(self.now, per_min);
        }
        let record = ChatRecord::complete(&self.chats[s], self.now, ending, &self.scenario);
        self.completed.push(record);
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
                self.fill_from_queue(w);
            }
            (Handler::Ai { supervisor }, _) => {
                remove_item(&mut self.workers[supervisor as usize].supervised, slot);
            }
            (Handler::Unassigned, Phase::Queued) => {
                let i = self
                    .queue
                    .iter()
                    .position(|&q| q == slot)
                    .expect("queued chat is in the queue");
                self.queue.remove(i);
            }
            (Handler::Unassigned, _) => {}
        }
        self.alive[s] = false;
        self.free_slots.push(slot);
    }

    /// Checks the simulator's invariants; returns a description of the first violation.
    pub fn check_invariants(&self) -> Result<(), String> {
        let cap = self.scenario.workers.cap as usize;
        for (i, w) in self.workers.iter().enumerate() {
            if w.held.len() > cap {
                return Err(format!("worker {i} holds {} chats over cap {cap}", w.held.len()));
            }
            let writing = w
                .held
                .iter()
                .filter(|&&s| self.chats[s as usize].phase == Phase::WorkerWriting)
                .count();
            if writing > 1 || (writing == 1) != w.writing {
                return Err(format!("worker {i} writes {writing} replies (flag {})", w.writing));
            }
            let awaiting =
                w.held.iter().filter(|&&s| self.chats[s as usize].phase == Phase::Awaiting).count();
            if awaiting != w.awaiting as usize {
                return Err(format!("worker {i} counts {} awaiting, has {awaiting}", w.awaiting));
            }
        }
        let in_flight = self.alive.iter().filter(|&&a| a).count() as u64;
        if self.counters.arrived != self.counters.completed + in_flight {
            return Err(format!(
                "{} arrived but {} completed and {in_flight} in flight",
                self.counters.arrived, self.counters.completed
            ));
        }
        Ok(())
    }
}

/// `effort^elasticity`, skipping the power for full effort (most replies).
#[inline]
fn effort_power(effort: f64, elasticity: f64) -> f64 {
    if effort == 1.0 { 1.0 } else { libm::pow(effort, elasticity) }
}

fn remove_item(list: &mut Vec<u32>, item: u32) {
    if let Some(i) = list.iter().position(|&x| x == item) {
        list.swap_remove(i);
    }
}
