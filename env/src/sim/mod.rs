//! The discrete-event simulator.
//!
//! [`Simulator::advance`] runs events until a decision is needed (route a chat, choose what a
//! ready worker does, or which queued chat a worker with a free slot takes) and fills the
//! [`Observation`]; [`Simulator::apply`] carries out the chosen
//! action. Completed chats collect in a buffer that the caller drains. Chats live in a slab whose
//! slots are reused, so memory grows with the chats in flight, not with the horizon.
//!
//! The simulator is one struct whose methods are split by job: [`decide`] builds and carries out
//! decisions, [`events`] handles each kind of event, [`state`] changes the state of chats and
//! workers; the pieces it is built of are [`event_queue`] (the future events in time order,
//! public for its benchmark), [`pool`] (the free workers) and [`roster`] (who is on duty when).
//! Every other submodule is private; this module is the simulator's whole interface.

mod agenda;
mod decide;
pub mod event_queue;
mod events;
mod fork;
mod pool;
mod roster;
mod state;

use std::collections::VecDeque;

use rand_pcg::Pcg64Mcg;

use agenda::{Agenda, Due};

use crate::chat::{Chat, ChatConstants, Phase};
use crate::error::StepError;
use crate::observation::Observation;
use crate::outcome::ChatRecord;
use crate::rng::{self, OnePlusPoisson, Stream};
use crate::scenario::{HOUR_S, Scenario};
use event_queue::{EventKind, EventQueue};
use pool::FreePool;
use roster::Roster;
pub use roster::{ShortHour, StaffingCoverage};

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
    /// Whether the worker has been on duty at some time in this run.
    pub has_worked: bool,
    /// When the reply being written began, seconds.
    pub reply_started_s: f64,
    /// Seconds spent writing the replies finished so far in this run.
    pub reply_time_s: f64,
    /// Replies finished so far in this run.
    pub replies: u32,
    /// Whether the worker is queued for an attend decision.
    pub in_ready: bool,
    /// Whether the worker is queued for an assign decision.
    pub in_assign: bool,
    /// Token of the worker's current hold (0: not holding): a hold's end that no longer matches
    /// is stale.
    pub hold_token: u32,
}

/// The decision the simulator waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    /// Where the chat in `slot` goes.
    Route { slot: u32 },
    /// What `worker`, free to write, does next.
    Attend { worker: u32 },
    /// Which queued chat `worker`, with a free slot, takes.
    Assign { worker: u32 },
}

/// A retrial that will come back: the chat that failed its customer and what they bring back.
#[derive(Debug, Clone, Copy)]
struct Return {
    /// The id of the chat the customer comes back about.
    parent_id: u64,
    /// Whether the issue is AI-eligible (the same issue as the parent's).
    eligible: bool,
    /// Frustration the customer brings back from the failed contact.
    carried_frustration: f64,
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

/// Where the replay of a log's arrivals stands (the trace and its share are the scenario's
/// `arrivals.replay` and `arrivals.trace_share`).
#[derive(Debug, Clone, Default)]
struct Replay {
    /// The next arrival of the trace to consider.
    next: usize,
    /// The arrival scheduled last.
    current: usize,
    /// Further copies of the current arrival still to come.
    copies_left: u32,
}

/// The simulator of one run. A clone continues exactly as the original would: every random
/// stream is part of its state.
#[derive(Debug, Clone)]
pub struct Simulator {
    /// Every parameter of the run.
    scenario: Scenario,
    /// The run's seed: arrivals, workers and each chat's streams derive from it.
    seed: u64,
    /// Simulated time, seconds.
    now: f64,
    /// End of arrivals, seconds (the chats in flight then still finish).
    horizon: f64,
    /// Future events in time order.
    events: EventQueue,
    /// The chat slab: slots of ended chats are reused (see `alive` and `free_slots`).
    chats: Vec<Chat>,
    /// Whether each slot holds a chat in flight.
    alive: Vec<bool>,
    /// Slots free for the next arrival.
    free_slots: Vec<u32>,
    /// Every worker, on duty or not.
    workers: Vec<Worker>,
    /// On-duty workers with a free slot, by load (for routing to the least loaded).
    pool: FreePool,
    /// Slots of chats waiting for a worker, oldest first.
    queue: VecDeque<u32>,
    /// Decisions and joins due before the next event.
    agenda: Agenda,
    /// The shifts: who is on duty each hour.
    roster: Roster,
    /// Workers who have been on duty in this run, in the order they first came on duty.
    first_on_duty: Vec<u32>,
    /// Retrials scheduled to come back, by the slot their event carries (`retrial.returns`).
    returns: Vec<Return>,
    /// Slots of `returns` free for the next retrial.
    free_returns: Vec<u32>,
    /// The arrival process's stream (times and AI-eligibility).
    arrivals_rng: Pcg64Mcg,
    /// Arrival rate per second in each hour of the day, before surges.
    hourly_rate: [f64; 24],
    /// The largest rate the process can reach (surges included): the thinning bound.
    max_rate: f64,
    /// The largest hourly rate before surges: the thinning bound of returning retrials.
    peak_hourly_rate: f64,
    /// Where a replayed log's arrivals stand (`arrivals.trace`), in place of the Poisson
    /// process.
    replay: Option<Replay>,
    /// The arrival process's epoch, carried by arrival events: a fork draws the next arrival
    /// afresh and the one already scheduled, of the epoch before, is stale.
    arrival_epoch: u32,
    /// Id of the next chat to arrive (twins share ids across policies).
    next_chat_id: u64,
    /// The next token that tells a current event from a stale one.
    next_token: u32,
    /// Where the round-robin choice of an AI chat's supervisor goes on from.
    supervisor_cursor: usize,
    /// Workers on duty now.
    on_duty: u32,
    /// The decision waiting for an action, if any.
    pending: Option<Pending>,
    /// The observation of the pending decision.
    obs: Observation,
    /// Chats that ended since the caller last drained them.
    completed: Vec<ChatRecord>,
    /// Counters of this run.
    counters: SimCounters,
    /// Messages of an engaged reply, the most frequent draw of its kind.
    full_effort_messages: OnePlusPoisson,
    /// The constants of every chat's draws and outcome.
    chat_constants: ChatConstants,
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
        let peak_hourly_rate = hourly_rate.iter().copied().fold(0.0, f64::max);
        let max_rate = peak_hourly_rate * surge_max;
        let mut sim = Self {
            horizon: scenario.horizon_s(),
            seed: 0,
            now: 0.0,
            events: EventQueue::for_rate(
                scenario.arrivals.chats_per_day * EVENTS_PER_CHAT / crate::scenario::DAY_S,
            ),
            chats: Vec::new(),
            alive: Vec::new(),
            free_slots: Vec::new(),
            workers: Vec::with_capacity(n_workers),
            pool: FreePool::new(n_workers, cap),
            queue: VecDeque::new(),
            agenda: Agenda::default(),
            roster: Roster::new(n_workers, scenario.workers.shifts),
            first_on_duty: Vec::with_capacity(n_workers),
            returns: Vec::new(),
            free_returns: Vec::new(),
            arrivals_rng: rng::stream_rng(0, Stream::Arrivals),
            hourly_rate,
            max_rate,
            peak_hourly_rate,
            replay: scenario.arrivals.replay.is_some().then(Replay::default),
            arrival_epoch: 0,
            next_chat_id: 0,
            next_token: 1,
            supervisor_cursor: 0,
            on_duty: 0,
            pending: None,
            obs: Observation::new(candidates),
            completed: Vec::new(),
            counters: SimCounters::default(),
            full_effort_messages: OnePlusPoisson::new(scenario.workers.messages_per_reply),
            chat_constants: ChatConstants::new(&scenario),
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
        self.agenda.clear();
        self.roster.reset();
        self.first_on_duty.clear();
        self.returns.clear();
        self.free_returns.clear();
        self.completed.clear();
        self.arrivals_rng = rng::stream_rng(seed, Stream::Arrivals);
        if let Some(replay) = &mut self.replay {
            *replay = Replay::default();
        }
        self.arrival_epoch = 0;
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
                has_worked: false,
                reply_started_s: 0.0,
                reply_time_s: 0.0,
                replies: 0,
                in_ready: false,
                in_assign: false,
                hold_token: 0,
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

    /// The workers who have been on duty in this run so far, in the order they first came on
    /// duty (the multi-agent view's workers join its live agents in this order).
    pub fn first_on_duty(&self) -> &[u32] {
        &self.first_on_duty
    }

    /// The id of the chat in flight in `slot` (an observation's `chat_slot`), if any.
    pub fn chat_id(&self, slot: u32) -> Option<u64> {
        let slot = slot as usize;
        self.alive.get(slot).copied().unwrap_or(false).then(|| self.chats[slot].id)
    }

    /// The chat in flight in `slot`, if any (for rendering).
    pub(crate) fn chat_at(&self, slot: u32) -> Option<&Chat> {
        let i = slot as usize;
        self.alive.get(i).copied().unwrap_or(false).then(|| &self.chats[i])
    }

    /// The slots of the queued chats, oldest first.
    pub(crate) fn queued(&self) -> impl Iterator<Item = u32> + '_ {
        self.queue.iter().copied()
    }

    /// Customers waiting now: in the queue, or for a reply from the worker who holds their chat.
    pub fn waiting_customers(&self) -> usize {
        self.queue.len() + self.workers.iter().map(|w| w.awaiting as usize).sum::<usize>()
    }

    /// Chats the AI is serving now.
    pub fn ai_chats(&self) -> usize {
        self.workers.iter().map(|w| w.supervised.len()).sum()
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
            if let Some(due) = self.agenda.next() {
                let decision = match due {
                    Due::Assign(worker) => {
                        self.workers[worker as usize].in_assign = false;
                        self.offer_assign(worker)
                    }
                    Due::Join(worker) => {
                        self.join(worker);
                        false
                    }
                    Due::Route(slot) => self.offer_route(slot),
                    Due::Attend(worker) => {
                        self.workers[worker as usize].in_ready = false;
                        self.offer_attend(worker)
                    }
                };
                if decision {
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
            Pending::Assign { worker } => self.apply_assign(worker, candidate),
        }
        Ok(())
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
        let anyone_on_duty = self.on_duty > 0;
        for (i, w) in self.workers.iter().enumerate() {
            if !w.on_duty && anyone_on_duty && !w.supervised.is_empty() {
                return Err(format!("worker {i} supervises AI chats off duty"));
            }
            if w.on_duty != self.pool.contains(i as u32) && w.held.len() < cap {
                return Err(format!(
                    "worker {i}: on duty {} but in the pool {}",
                    w.on_duty, !w.on_duty
                ));
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

/// Events per chat in the study's centre (20.4 M for 1.36 M chats over both arms, model version
/// 2): how a scenario's arrival rate becomes the event rate its event queue is chosen by.
const EVENTS_PER_CHAT: f64 = 15.0;

#[cfg(test)]
mod tests {
    use super::state::effort_after_escalation;
    use super::*;
    use crate::chat::Escalation;
    use crate::observation::CandidateKind;
    use crate::scenario::{DecisionKind, Effort};

    fn quick() -> Scenario {
        let mut s = Scenario::builtin("small").unwrap();
        s.arrivals.chats_per_day = 400.0;
        s.workers.count = 4;
        s
    }

    /// Runs to the end taking the first valid action; checks the invariants after every
    /// decision. Returns the completed chats and the most chats in flight at once.
    fn run_first_valid(sim: &mut Simulator, seed: u64) -> (Vec<ChatRecord>, usize) {
        sim.reset(seed);
        let (mut records, mut most_in_flight) = (Vec::new(), 0);
        loop {
            let more = sim.advance();
            records.extend_from_slice(sim.completed());
            sim.clear_completed();
            sim.check_invariants().unwrap();
            most_in_flight = most_in_flight.max(sim.chats_in_flight());
            if !more {
                return (records, most_in_flight);
            }
            let action = sim.observation().valid_actions().next().unwrap();
            sim.apply(action).unwrap();
        }
    }

    #[test]
    fn a_run_ends_with_every_chat_ended_and_repeats_from_its_seed() {
        let mut sim = Simulator::new(quick());
        let (first, _) = run_first_valid(&mut sim, 3);
        assert!(first.len() > 300, "{} chats", first.len());
        assert_eq!(sim.counters().arrived, first.len() as u64);
        assert_eq!(sim.chats_in_flight(), 0);
        let (again, _) = run_first_valid(&mut sim, 3);
        assert_eq!(first, again, "a reset simulator repeats the run of its seed");
        let (other, _) = run_first_valid(&mut sim, 4);
        assert_ne!(first, other);
    }

    #[test]
    fn a_busy_centre_gets_a_calendar_queue_and_a_quiet_one_a_heap() {
        assert!(Simulator::new(Scenario::builtin("taobao").unwrap()).events.is_calendar());
        assert!(!Simulator::new(Scenario::builtin("small").unwrap()).events.is_calendar());
    }

    #[test]
    fn memory_follows_the_chats_in_flight() {
        let mut sim = Simulator::new(quick());
        let (records, most_in_flight) = run_first_valid(&mut sim, 5);
        assert!(sim.allocated_slots() >= most_in_flight);
        assert!(sim.allocated_slots() < records.len() / 5, "slots of ended chats are reused");
    }

    #[test]
    fn an_invalid_action_is_refused_and_changes_nothing() {
        let mut sim = Simulator::new(quick());
        sim.reset(6);
        assert!(sim.advance());
        let before = sim.observation().clone();
        let masked = before.mask.iter().position(|&m| !m).unwrap();
        assert!(matches!(sim.apply(masked), Err(StepError::Masked { .. })));
        assert!(matches!(sim.apply(before.mask.len()), Err(StepError::OutOfRange { .. })));
        assert_eq!(sim.observation(), &before);
        assert!(sim.advance(), "the decision is still pending");
        let valid = before.valid_actions().next().unwrap();
        sim.apply(valid).unwrap();
        assert!(matches!(sim.apply(valid), Err(StepError::EpisodeOver)), "nothing is pending");
    }

    #[test]
    fn only_real_choices_are_offered() {
        let mut sim = Simulator::new(quick());
        sim.reset(7);
        for _ in 0..500 {
            if !sim.advance() {
                break;
            }
            let valid = sim.observation().valid_actions().count();
            assert!(valid >= 2, "a decision with {valid} valid actions was offered");
            sim.apply(sim.observation().valid_actions().last().unwrap()).unwrap();
        }
    }

    /// A busy centre where every lever is on: holds, and customers who come back.
    fn levers() -> Scenario {
        let mut s = quick();
        s.arrivals.chats_per_day = 900.0;
        s.env.hold_s = 20.0;
        s.retrial.returns = true;
        s
    }

    /// Runs `levers()` from `seed`, queueing every routed chat, passing or holding whenever the
    /// worker may, otherwise taking the last valid action; checks each decision's offer.
    /// Returns how many decisions of each kind were offered, and how many holds ran to their end.
    fn run_with_every_lever(seed: u64) -> ([usize; 3], usize) {
        let mut sim = Simulator::new(levers());
        let hold_s = sim.scenario().env.hold_s;
        let cap = sim.scenario().workers.cap as usize;
        let mut held_at: Vec<Option<f64>> = vec![None; sim.workers().len()];
        let mut kinds = [0usize; 3];
        let (mut step, mut holds_timed_out) = (0usize, 0usize);
        sim.reset(seed);
        while sim.advance() {
            sim.check_invariants().unwrap();
            let obs = sim.observation().clone();
            let n = obs.candidates.len();
            kinds[obs.kind as usize] += 1;
            step += 1;
            let action = match obs.kind {
                DecisionKind::Route => 1,
                DecisionKind::Attend => {
                    let w = obs.worker.worker as usize;
                    assert!(obs.mask[0], "with env.hold_s, waiting is always legal");
                    if let Some(t0) = held_at[w].take() {
                        assert!(sim.now() <= t0 + hold_s + 1e-9, "a hold ends on time");
                        holds_timed_out += usize::from(sim.now() == t0 + hold_s);
                    }
                    let awaiting = obs
                        .candidates
                        .iter()
                        .zip(&obs.mask)
                        .any(|(c, &m)| m && c.kind == CandidateKind::Chat);
                    if awaiting && step % 3 == 0 {
                        held_at[w] = Some(sim.now());
                        0
                    } else {
                        obs.valid_actions().last().unwrap()
                    }
                }
                DecisionKind::Assign => {
                    let w = &sim.workers()[obs.worker.worker as usize];
                    assert!(w.on_duty && w.held.len() < cap, "only a free slot is assigned");
                    assert!(obs.queue_len > 0);
                    assert_eq!(obs.mask[0], !w.held.is_empty(), "pass only with a chat held");
                    let queued = obs.valid_actions().filter(|&i| i > 0).count();
                    assert_eq!(queued, (obs.queue_len as usize).min(n - 1));
                    assert!(
                        obs.valid_actions()
                            .filter(|&i| i > 0)
                            .all(|i| obs.candidates[i].kind == CandidateKind::Queued)
                    );
                    let before = (w.held.len(), obs.queue_len);
                    let worker = obs.worker.worker as usize;
                    let action = if obs.mask[0] { 0 } else { 1 };
                    sim.apply(action).unwrap();
                    let after = (sim.workers()[worker].held.len(), sim.queue.len() as u32);
                    let expected = if action == 0 { before } else { (before.0 + 1, before.1 - 1) };
                    assert_eq!(after, expected);
                    continue;
                }
            };
            sim.apply(action).unwrap();
        }
        assert_eq!(sim.chats_in_flight(), 0, "the run ends with every chat ended");
        (kinds, holds_timed_out)
    }

    #[test]
    fn every_lever_is_offered_as_a_real_choice() {
        let (kinds, holds_timed_out) = run_with_every_lever(8);
        assert!(kinds.iter().all(|&k| k > 20), "decisions by kind: {kinds:?}");
        assert!(holds_timed_out > 0, "some holds last until their end");
    }

    #[test]
    fn every_worker_works_in_shifts_and_only_on_duty_workers_take_over() {
        let mut scenario = Scenario::builtin("taobao").unwrap().scaled(0.05);
        scenario.days = 4;
        let mut sim = Simulator::new(scenario);
        sim.reset(9);
        let (mut answered_by, mut takeovers) = (vec![0usize; sim.workers().len()], 0);
        while sim.advance() {
            sim.check_invariants().unwrap();
            let obs = sim.observation().clone();
            let action = match obs.kind {
                // the deployment: eligible chats to the AI, the rest to the least loaded
                DecisionKind::Route if obs.mask[0] => 0,
                DecisionKind::Attend => {
                    let takeover = obs
                        .valid_actions()
                        .find(|&i| obs.candidates[i].kind == CandidateKind::Takeover);
                    if takeover.is_some() {
                        assert!(sim.workers()[obs.worker.worker as usize].on_duty);
                        takeovers += 1;
                    }
                    takeover.unwrap_or_else(|| obs.valid_actions().last().unwrap())
                }
                _ => obs.valid_actions().last().unwrap(),
            };
            sim.apply(action).unwrap();
            for r in sim.completed() {
                if let Some(w) = r.worker {
                    answered_by[w as usize] += 1;
                    assert!(r.human_replies > 0, "only a chat a human answered has a worker");
                } else {
                    assert_eq!(r.human_replies, 0);
                }
            }
            sim.clear_completed();
        }
        assert!(takeovers > 10, "{takeovers} takeovers");
        let idle = answered_by.iter().filter(|&&n| n == 0).count();
        assert_eq!(idle, 0, "{idle} workers answered no chat in four days");
    }

    #[test]
    fn effort_falls_with_delay_and_is_lower_after_emotional_escalations() {
        let e = Effort::default();
        let at = |reason, delay| effort_after_escalation(&e, reason, delay);
        let t0 = at(Escalation::Technical, 0.0);
        assert_eq!(t0, at(Escalation::Technical, e.grace_s));
        let t_late = at(Escalation::Technical, e.grace_s + e.decay_s);
        assert!(t_late < t0 && t_late > e.floor * e.technical);
        assert!(at(Escalation::Emotional, 0.0) < t0);
    }
}
