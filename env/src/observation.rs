//! What the agent sees at a decision: the decision's subject and a fixed-size candidate set.
//!
//! Actions index the candidate set; unused slots are padded and masked, so one network serves any
//! number of workers. The typed [`Observation`] is what heuristics read; [`Observation::encode`]
//! writes the flat `f32` vector a network reads, described by [`observation_space`].

use crate::chat::Escalation;
use crate::scenario::DecisionKind;
use crate::spaces::BoxSpace;

/// What a candidate slot offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CandidateKind {
    /// Padding: never valid.
    #[default]
    Empty,
    /// Route: hand the chat to the AI.
    Ai,
    /// Route: leave the chat in the queue for the next free slot.
    Queue,
    /// Route: hand the chat to this worker.
    Worker,
    /// Attend: write nothing now; when held chats await a reply (only with `env.hold_s`), hold
    /// for `env.hold_s` seconds or until something changes.
    Wait,
    /// Attend: answer this held chat.
    Chat,
    /// Attend: take over this AI chat (a human-initiated intervention).
    Takeover,
    /// Assign: take no queued chat, keeping the slot free until one of the worker's chats ends
    /// (never offered to a worker who holds no chat).
    Pass,
    /// Assign: take this queued chat.
    Queued,
}

/// One slot of the candidate set.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Candidate {
    /// What the slot offers.
    pub kind: CandidateKind,
    /// The worker concerned (routing target, or the attending worker).
    pub worker: u32,
    /// The chat's slot in the simulator (Chat and Takeover).
    pub chat_slot: u32,
    /// The worker's held chats over the cap (Worker).
    pub load: f32,
    /// AI chats the worker supervises (Worker).
    pub supervised: f32,
    /// Route: whether the worker supervised the chat being routed (escalations); Assign:
    /// whether the worker supervised this queued escalation.
    pub is_supervisor: bool,
    /// How long the customer has been waiting now, seconds (Chat, Takeover, Queued).
    pub wait_s: f32,
    /// The customer's frustration now, i.e. the sentiment the worker sees (Chat, Takeover).
    pub frustration: f32,
    /// Why the chat left the AI, if it did (Chat).
    pub escalation: Option<Escalation>,
    /// Productive rounds so far (Chat, Takeover).
    pub rounds_done: f32,
    /// Whether the issue is AI-eligible (Chat, Takeover).
    pub eligible: bool,
    /// Whether the worker answered this chat last, so no switching cost (Chat).
    pub last_answered: bool,
    /// Time since the chat arrived, seconds (Chat, Takeover).
    pub age_s: f32,
    /// How long the worker's replies have taken so far in this episode, as a multiple of the
    /// centre's median reply time, shrunk towards 1 by [`REPLY_TIME_PRIOR`] replies' worth of
    /// the centre's median (Worker): what a dispatcher learns of a worker's pace by watching.
    pub reply_time_ratio: f32,
    /// The AI's replies so far that did not move the issue forward (Takeover): the progress a
    /// supervising worker sees the AI fail to make.
    pub ai_unproductive: f32,
}

/// Replies' worth of the centre's median reply time that a worker's observed pace
/// ([`Candidate::reply_time_ratio`]) starts from: with fewer replies than this the centre's
/// pace weighs more than the worker's own.
pub const REPLY_TIME_PRIOR: f64 = 5.0;

/// The state shown at a decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Which decision this is.
    pub kind: DecisionKind,
    /// Simulated time, seconds.
    pub time_s: f64,
    /// Route: the chat being routed; Attend and Assign: unused (default).
    pub chat: Candidate,
    /// Attend: the worker who is ready to write; Assign: the worker with a free slot; Route:
    /// unused (default).
    pub worker: Candidate,
    /// Chats waiting in the queue.
    pub queue_len: u32,
    /// How long the oldest queued chat has waited, seconds (0 when the queue is empty).
    pub queue_oldest_wait_s: f32,
    /// Workers on duty.
    pub on_duty: u32,
    /// On-duty workers with a free slot.
    pub free_workers: u32,
    /// Chats in flight (queued, with the AI or with workers).
    pub in_flight: u32,
    /// Whether the AI takes new chats now.
    pub ai_available: bool,
    /// The candidate set, always `candidates` long.
    pub candidates: Vec<Candidate>,
    /// Which candidates are valid actions.
    pub mask: Vec<bool>,
}

/// Features before the candidate slots.
pub const GLOBAL_FEATURES: usize = 17;
/// Features per candidate slot.
pub const CANDIDATE_FEATURES: usize = 23;

/// Length of the encoded observation for `candidates` slots.
pub fn observation_len(candidates: usize) -> usize {
    GLOBAL_FEATURES + candidates * CANDIDATE_FEATURES
}

/// The space of encoded observations: kinds and flags in 0..1, times in minutes and counts
/// scaled, frustration unbounded above.
pub fn observation_space(candidates: usize) -> BoxSpace {
    let len = observation_len(candidates);
    let mut low = vec![0.0f32; len];
    let mut high = vec![1.0f32; len];
    // time of day as sine and cosine
    low[2] = -1.0;
    low[3] = -1.0;
    // queue per worker, chats per worker, frustration, wait minutes, oldest queued wait
    for i in [4, 11, 12, 13, 16] {
        high[i] = f32::INFINITY;
    }
    for c in 0..candidates {
        let base = GLOBAL_FEATURES + c * CANDIDATE_FEATURES;
        for off in [9, 11, 12, 16, 20, 21, 22] {
            high[base + off] = f32::INFINITY;
        }
    }
    BoxSpace { low, high }
}

/// Who makes a decision in the multi-agent view of the centre: the router places new and
/// escalated chats; each worker makes the attend and assign decisions that concern them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Agent {
    /// The router: every routing decision.
    Router,
    /// The worker with this index: their attend and assign decisions.
    Worker(u32),
}

impl std::fmt::Display for Agent {
    /// `router` or `worker_17`, PettingZoo's agent ids.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Agent::Router => f.write_str("router"),
            Agent::Worker(w) => write!(f, "worker_{w}"),
        }
    }
}

/// An escalation's position in the one-hot of escalations.
fn escalation_index(e: Escalation) -> usize {
    match e {
        Escalation::Technical => 0,
        Escalation::Emotional => 1,
        Escalation::Human => 2,
    }
}

fn escalation_one_hot(e: Option<Escalation>) -> [f32; 3] {
    let mut one_hot = [0.0; 3];
    if let Some(e) = e {
        one_hot[escalation_index(e)] = 1.0;
    }
    one_hot
}

fn flag(b: bool) -> f32 {
    if b { 1.0 } else { 0.0 }
}

impl Observation {
    /// An empty observation with `candidates` padded slots.
    pub fn new(candidates: usize) -> Self {
        Self {
            kind: DecisionKind::Route,
            time_s: 0.0,
            chat: Candidate::default(),
            worker: Candidate::default(),
            queue_len: 0,
            queue_oldest_wait_s: 0.0,
            on_duty: 0,
            free_workers: 0,
            in_flight: 0,
            ai_available: false,
            candidates: vec![Candidate::default(); candidates],
            mask: vec![false; candidates],
        }
    }

    /// Clears every slot to padding.
    pub fn clear_candidates(&mut self) {
        self.candidates.iter_mut().for_each(|c| *c = Candidate::default());
        self.mask.iter_mut().for_each(|m| *m = false);
    }

    /// The agent whose decision this is: the router routes, a worker attends and assigns.
    pub fn agent(&self) -> Agent {
        match self.kind {
            DecisionKind::Route => Agent::Router,
            DecisionKind::Attend | DecisionKind::Assign => Agent::Worker(self.worker.worker),
        }
    }

    /// Number of valid actions.
    pub fn valid_count(&self) -> usize {
        self.mask.iter().filter(|&&m| m).count()
    }

    /// The valid actions.
    pub fn valid_actions(&self) -> impl Iterator<Item = usize> + '_ {
        self.mask.iter().enumerate().filter(|(_, m)| **m).map(|(i, _)| i)
    }

    /// Writes the flat encoding into `out`, which must be `observation_len` long.
    pub fn encode(&self, out: &mut [f32]) {
        assert_eq!(out.len(), observation_len(self.candidates.len()), "observation buffer length");
        let day_frac = (self.time_s / 86_400.0).fract() as f32;
        let angle = std::f32::consts::TAU * day_frac;
        let on_duty = self.on_duty.max(1) as f32;
        let subject_esc = escalation_one_hot(self.chat.escalation);
        let global: [f32; GLOBAL_FEATURES] = [
            flag(self.kind == DecisionKind::Route),
            flag(self.kind == DecisionKind::Attend),
            libm::sinf(angle),
            libm::cosf(angle),
            self.queue_len as f32 / on_duty,
            self.free_workers as f32 / on_duty,
            flag(self.ai_available),
            flag(self.chat.eligible),
            subject_esc[0],
            subject_esc[1],
            subject_esc[2],
            self.in_flight as f32 / on_duty,
            self.chat.frustration,
            self.chat.wait_s / 60.0,
            self.worker.load.min(1.0),
            flag(self.kind == DecisionKind::Assign),
            self.queue_oldest_wait_s / 60.0,
        ];
        out[..GLOBAL_FEATURES].copy_from_slice(&global);
        for (c, row) in
            self.candidates.iter().zip(out[GLOBAL_FEATURES..].chunks_exact_mut(CANDIDATE_FEATURES))
        {
            c.encode(row.try_into().expect("rows of CANDIDATE_FEATURES"));
        }
    }
}

impl CandidateKind {
    /// The kind's position in a candidate's one-hot of kinds (padding has none).
    fn one_hot_index(self) -> Option<usize> {
        Some(match self {
            CandidateKind::Empty => return None,
            CandidateKind::Ai => 0,
            CandidateKind::Queue => 1,
            CandidateKind::Worker => 2,
            CandidateKind::Wait => 3,
            CandidateKind::Chat => 4,
            CandidateKind::Takeover => 5,
            CandidateKind::Pass => 6,
            CandidateKind::Queued => 7,
        })
    }
}

impl Candidate {
    /// Writes the slot's features: the one-hot of its kind, then its numbers and flags (see
    /// [`observation_space`]). Padding encodes as zeros, whatever its fields hold. The row is
    /// cleared and only the features a candidate sets are written, as most are zero.
    fn encode(&self, row: &mut [f32; CANDIDATE_FEATURES]) {
        row.fill(0.0);
        let Some(kind) = self.kind.one_hot_index() else {
            return;
        };
        row[kind] = 1.0;
        row[8] = self.load.min(1.0);
        row[9] = self.supervised / 4.0;
        row[10] = flag(self.is_supervisor);
        row[11] = self.wait_s / 60.0;
        row[12] = self.frustration;
        if let Some(escalation) = self.escalation {
            row[13 + escalation_index(escalation)] = 1.0;
        }
        row[16] = self.rounds_done / 10.0;
        row[17] = flag(self.eligible);
        row[18] = flag(self.last_answered);
        // not padding
        row[19] = 1.0;
        row[20] = self.age_s / 1800.0;
        row[21] = self.reply_time_ratio;
        row[22] = self.ai_unproductive / 5.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::uniform;
    use rand_pcg::Pcg32;

    /// A candidate's features written out one by one, as the observation space describes them.
    fn features_by_definition(c: &Candidate) -> [f32; CANDIDATE_FEATURES] {
        if c.kind == CandidateKind::Empty {
            return [0.0; CANDIDATE_FEATURES];
        }
        let esc = escalation_one_hot(c.escalation);
        let k = c.kind;
        [
            flag(k == CandidateKind::Ai),
            flag(k == CandidateKind::Queue),
            flag(k == CandidateKind::Worker),
            flag(k == CandidateKind::Wait),
            flag(k == CandidateKind::Chat),
            flag(k == CandidateKind::Takeover),
            flag(k == CandidateKind::Pass),
            flag(k == CandidateKind::Queued),
            c.load.min(1.0),
            c.supervised / 4.0,
            flag(c.is_supervisor),
            c.wait_s / 60.0,
            c.frustration,
            esc[0],
            esc[1],
            esc[2],
            c.rounds_done / 10.0,
            flag(c.eligible),
            flag(c.last_answered),
            1.0,
            c.age_s / 1800.0,
            c.reply_time_ratio,
            c.ai_unproductive / 5.0,
        ]
    }

    /// A candidate of a random kind with random fields (some negative zeros and extremes).
    fn random_candidate(rng: &mut Pcg32) -> Candidate {
        const KINDS: [CandidateKind; 9] = [
            CandidateKind::Empty,
            CandidateKind::Ai,
            CandidateKind::Queue,
            CandidateKind::Worker,
            CandidateKind::Wait,
            CandidateKind::Chat,
            CandidateKind::Takeover,
            CandidateKind::Pass,
            CandidateKind::Queued,
        ];
        const ESCALATIONS: [Option<Escalation>; 4] = [
            None,
            Some(Escalation::Technical),
            Some(Escalation::Emotional),
            Some(Escalation::Human),
        ];
        let kind = KINDS[(uniform(rng) * 9.0) as usize];
        let escalation = ESCALATIONS[(uniform(rng) * 4.0) as usize];
        let [is_supervisor, eligible, last_answered] = [(); 3].map(|_| uniform(rng) < 0.5);
        let mut number = || match (uniform(rng) * 8.0) as u32 {
            0 => -0.0,
            1 => f32::MAX,
            2 => f32::INFINITY,
            _ => (uniform(rng) * 1e4 - 10.0) as f32,
        };
        Candidate {
            kind,
            worker: 0,
            chat_slot: 0,
            load: number(),
            supervised: number(),
            is_supervisor,
            wait_s: number(),
            frustration: number(),
            escalation,
            rounds_done: number(),
            eligible,
            last_answered,
            age_s: number(),
            reply_time_ratio: number(),
            ai_unproductive: number(),
        }
    }

    #[test]
    fn a_candidate_encodes_bit_for_bit_as_its_features_are_defined() {
        let mut rng = Pcg32::new(7, 11);
        let mut row = [f32::NAN; CANDIDATE_FEATURES];
        for _ in 0..100_000 {
            let c = random_candidate(&mut rng);
            c.encode(&mut row);
            let expected = features_by_definition(&c);
            assert_eq!(row.map(f32::to_bits), expected.map(f32::to_bits), "{c:?}");
        }
    }

    #[test]
    fn padding_encodes_as_zeros_whatever_its_fields_hold() {
        let mut rng = Pcg32::new(3, 5);
        for _ in 0..1000 {
            let padding = Candidate { kind: CandidateKind::Empty, ..random_candidate(&mut rng) };
            let mut row = [f32::NAN; CANDIDATE_FEATURES];
            padding.encode(&mut row);
            assert_eq!(row.map(f32::to_bits), [0; CANDIDATE_FEATURES], "{padding:?}");
        }
    }

    #[test]
    fn the_router_routes_and_a_worker_attends_and_assigns() {
        let mut obs = Observation::new(4);
        obs.worker.worker = 17;
        assert_eq!(obs.agent(), Agent::Router, "routing is the router's whatever the worker");
        for kind in [DecisionKind::Attend, DecisionKind::Assign] {
            obs.kind = kind;
            assert_eq!(obs.agent(), Agent::Worker(17));
        }
        assert_eq!(Agent::Router.to_string(), "router");
        assert_eq!(Agent::Worker(17).to_string(), "worker_17");
    }
}
