//! A chat in flight: its customer, its issue and where it stands.

use rand_pcg::Pcg32;
use serde::Serialize;

use crate::rng::{self, OnePlusPoisson, Stream};
use crate::scenario::Scenario;

/// What a retrial's id adds to the id of the chat it comes back about: first contacts are
/// numbered from 0 in arrival order, and the k-th return of a customer is numbered k steps above,
/// so that a retrial's id, like its draws, is the same for every policy.
pub const RETRIAL_ID_STEP: u64 = 1 << 40;

/// Why a chat left the AI for a human (the study's four ways an AI chat can end, less "none").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Escalation {
    /// The algorithm saw no progress: beyond the AI's ability.
    Technical,
    /// The algorithm saw the customer's frustration cross its threshold.
    Emotional,
    /// The supervising worker stepped in on their own.
    Human,
}

impl Escalation {
    /// The label used in CSV and JSON.
    pub fn label(self) -> &'static str {
        match self {
            Escalation::Technical => "technical",
            Escalation::Emotional => "emotional",
            Escalation::Human => "human",
        }
    }
}

/// Where a chat stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting in the queue for a worker with a free slot.
    Queued,
    /// Waiting for a route decision (the decision is being made now).
    Routing,
    /// The customer is writing their next message.
    CustomerWriting,
    /// The customer waits for a worker's reply.
    Awaiting,
    /// A worker is writing a reply.
    WorkerWriting,
    /// The AI is writing a reply.
    AiWriting,
}

/// Who handles a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    /// Nobody yet (queued or being routed).
    Unassigned,
    /// The AI, supervised by a worker.
    Ai {
        /// The supervising worker.
        supervisor: u32,
    },
    /// A worker.
    Worker(u32),
}

/// The constants of a scenario's per-chat distributions, computed once per run rather than once
/// per chat (each is a logarithm or an exponential; the draws are the same).
#[derive(Debug, Clone)]
pub struct ChatConstants {
    /// Productive rounds an AI-ineligible (index 0) and an AI-eligible (index 1) issue needs.
    rounds: [OnePlusPoisson; 2],
    /// Log-odds of the centre's rating propensity.
    rating_logit: f64,
    /// Log-odds of the retrial probability of a resolved chat with a calm customer.
    pub retrial_logit: f64,
}

impl ChatConstants {
    /// The constants of `scenario`.
    pub fn new(scenario: &Scenario) -> Self {
        let issues = &scenario.issues;
        Self {
            rounds: [
                OnePlusPoisson::new(issues.rounds_ineligible_mean),
                OnePlusPoisson::new(issues.rounds_eligible_mean),
            ],
            rating_logit: rng::logit(scenario.customers.rating_propensity),
            retrial_logit: rng::logit(scenario.retrial.base),
        }
    }
}

/// Attributes drawn for a customer when the chat arrives, identical in every arm for one seed.
#[derive(Debug, Clone, Copy)]
pub struct CustomerDraws {
    /// Productive rounds the issue needs.
    pub rounds_needed: u32,
    /// Whether the AI can resolve the issue.
    pub ai_solvable: bool,
    /// Initial frustration.
    pub frustration: f64,
    /// Longest wait for a reply before abandoning, seconds.
    pub patience_s: f64,
    /// The customer's log-odds of rating a chat.
    pub rating_logit: f64,
    /// Standard-normal noise of latent satisfaction.
    pub satisfaction_noise: f64,
    /// Standard-normal noise of the star rating.
    pub rating_noise: f64,
    /// Uniform draw deciding whether the customer rates.
    pub rate_u: f64,
    /// Uniform draw deciding a retrial.
    pub retrial_u: f64,
}

impl CustomerDraws {
    /// Draws a customer for an issue; consumes a fixed number of draws from `rng`.
    pub fn draw(
        rng: &mut Pcg32,
        eligible: bool,
        scenario: &Scenario,
        constants: &ChatConstants,
    ) -> Self {
        let c = &scenario.customers;
        Self {
            rounds_needed: constants.rounds[usize::from(eligible)].sample(rng),
            ai_solvable: rng::bernoulli(rng, scenario.issues.ai_solvable_share),
            frustration: rng::exponential(rng, c.frustration_mean),
            patience_s: rng::lognormal(rng, c.patience_median_s, c.patience_sigma),
            rating_logit: constants.rating_logit + 0.5 * rng::std_normal(rng),
            satisfaction_noise: rng::std_normal(rng),
            rating_noise: rng::std_normal(rng),
            rate_u: rng::uniform(rng),
            retrial_u: rng::uniform(rng),
        }
    }
}

/// A chat in flight.
#[derive(Debug, Clone)]
pub struct Chat {
    /// Global id, shared by a chat's twins in other arms.
    pub id: u64,
    /// Arrival time, seconds.
    pub arrival_s: f64,
    /// Whether the issue is AI-eligible.
    pub eligible: bool,
    /// The customer's draws.
    pub customer: CustomerDraws,
    /// The customer's behaviour stream (writing times).
    pub customer_rng: Pcg32,
    /// The AI's stream for this chat, seeded when the AI first writes (see [`Chat::ai_rng`]).
    ai_rng: Option<Pcg32>,
    /// The workers' stream for this chat (reply times, productivity).
    pub service_rng: Pcg32,
    /// Where the chat stands.
    pub phase: Phase,
    /// Who handles it.
    pub handler: Handler,
    /// Productive rounds so far.
    pub rounds_done: u32,
    /// Consecutive unproductive replies.
    pub unproductive_streak: u32,
    /// Current frustration.
    pub frustration: f64,
    /// Since when the customer has been waiting (queue or reply).
    pub awaiting_since: f64,
    /// Total time spent waiting, seconds.
    pub total_wait_s: f64,
    /// The longest wait that ended so far, seconds: the customer's patience is longer.
    pub longest_wait_s: f64,
    /// The first wait, from arrival to the first reply taken up (or to leaving); `None` while
    /// it lasts.
    pub first_wait_s: Option<f64>,
    /// Why it left the AI, if it did.
    pub escalation: Option<Escalation>,
    /// When it left the AI.
    pub escalated_at: f64,
    /// Time from leaving the AI to the first human reply.
    pub intervention_delay_s: Option<f64>,
    /// Whether the AI handled it at some point.
    pub ai_involved: bool,
    /// Frustration when the AI took the chat: the AI's sentiment detector reads how the
    /// customer's tone changed since.
    pub frustration_at_ai: f64,
    /// Effort of the worker on this chat (1 for chats served by humans from the start).
    pub effort: f64,
    /// Replies written by the AI.
    pub ai_replies: u32,
    /// Productive rounds the AI achieved.
    pub ai_productive_rounds: u32,
    /// Replies written by workers.
    pub human_replies: u32,
    /// Messages written by workers.
    pub worker_messages: u32,
    /// Sum over worker replies of the other chats the worker was juggling when it wrote them.
    pub concurrency_sum: f64,
    /// Times the worker turned to other chats between two of its replies to this one.
    pub switch_aways: u32,
    /// The worker who last served it (held it or supervised it).
    pub last_worker: Option<u32>,
    /// The worker who wrote its last human reply.
    pub answered_by: Option<u32>,
    /// Whether the reply being written came right after the worker switched from another chat.
    pub reply_after_switch: bool,
    /// When the customer abandons if the current wait goes on (infinite when not waiting).
    pub abandon_at: f64,
    /// Whether an abandonment check for this chat is scheduled (at most one at a time).
    pub abandon_check_scheduled: bool,
    /// Token of the pending AI reply (0: none); a takeover clears it.
    pub ai_token: u32,
    /// Token of this chat's life in its slot: events of an earlier chat in the slot never match.
    pub life_token: u32,
    /// The chat this one is a retrial of (`retrial.returns`), if it is one.
    pub retrial_of: Option<u64>,
    /// When the AI took the chat, if it did.
    pub ai_from_s: Option<f64>,
    /// When a worker took the chat to hold (an assignment or a takeover), if one did.
    pub held_from_s: Option<f64>,
}

impl Chat {
    /// A chat that has just arrived; the customer's first message is written.
    pub fn new(
        id: u64,
        arrival_s: f64,
        eligible: bool,
        life_token: u32,
        seed: u64,
        scenario: &Scenario,
        constants: &ChatConstants,
    ) -> Self {
        let mut customer_rng = rng::chat_rng(seed, Stream::Customer, id);
        let customer = CustomerDraws::draw(&mut customer_rng, eligible, scenario, constants);
        Self {
            id,
            arrival_s,
            eligible,
            customer,
            customer_rng,
            ai_rng: None,
            service_rng: rng::chat_rng(seed, Stream::Service, id),
            phase: Phase::Routing,
            handler: Handler::Unassigned,
            rounds_done: 0,
            unproductive_streak: 0,
            frustration: customer.frustration,
            awaiting_since: arrival_s,
            total_wait_s: 0.0,
            longest_wait_s: 0.0,
            first_wait_s: None,
            escalation: None,
            escalated_at: 0.0,
            intervention_delay_s: None,
            ai_involved: false,
            frustration_at_ai: 0.0,
            effort: 1.0,
            ai_replies: 0,
            ai_productive_rounds: 0,
            human_replies: 0,
            worker_messages: 0,
            concurrency_sum: 0.0,
            switch_aways: 0,
            last_worker: None,
            answered_by: None,
            reply_after_switch: false,
            abandon_at: f64::INFINITY,
            abandon_check_scheduled: false,
            ai_token: 0,
            life_token,
            retrial_of: None,
            ai_from_s: None,
            held_from_s: None,
        }
    }

    /// The AI's stream for this chat, seeded from the run's `seed` at its first use: most chats
    /// never reach the AI, and the stream is the same whenever it is seeded.
    pub fn ai_rng(&mut self, seed: u64) -> &mut Pcg32 {
        let id = self.id;
        self.ai_rng.get_or_insert_with(|| rng::chat_rng(seed, Stream::Ai, id))
    }

    /// Draws afresh, from the streams of `seed`, what a dispatcher cannot see of this chat, as
    /// a fork of the simulator does (`Simulator::fork`), consistently with what has been seen:
    /// the productive rounds the issue needs (more than it has had), whether the AI can solve
    /// it (certain once the AI made progress; after `ai_replies` fruitless replies, the
    /// posterior), the customer's patience (longer than every wait so far, the current one
    /// included; a running wait's deadline moves with it), rating and retrial draws, and every
    /// later writing time, reply time and reply's outcome (the chat's streams). What has been
    /// seen stays: the issue's kind, the progress, the frustration, the replies and waits so far.
    pub fn redraw_unseen(
        &mut self,
        seed: u64,
        now: f64,
        scenario: &Scenario,
        constants: &ChatConstants,
    ) {
        let mut rng = rng::chat_rng(seed, Stream::Customer, self.id);
        let fresh = CustomerDraws::draw(&mut rng, self.eligible, scenario, constants);
        let rounds = &constants.rounds[usize::from(self.eligible)];
        let solvable = if self.ai_productive_rounds > 0 {
            true
        } else {
            // P(solvable | every AI reply fruitless): s (1-p)^r / (s (1-p)^r + 1 - s)
            let s = scenario.issues.ai_solvable_share;
            let miss = libm::pow(1.0 - scenario.ai.productive_prob, f64::from(self.ai_replies));
            rng::bernoulli(&mut rng, s * miss / (s * miss + 1.0 - s))
        };
        // a wait whose patience clock runs (finite `abandon_at`) has lasted this long
        let clock_runs = self.abandon_at.is_finite();
        let waited = if clock_runs { now - self.awaiting_since } else { 0.0 };
        let c = &scenario.customers;
        self.customer = CustomerDraws {
            rounds_needed: rounds.sample_above(&mut rng, self.rounds_done),
            ai_solvable: solvable,
            frustration: self.customer.frustration,
            patience_s: rng::lognormal_above(
                &mut rng,
                c.patience_median_s,
                c.patience_sigma,
                self.longest_wait_s.max(waited),
            ),
            ..fresh
        };
        self.customer_rng = rng;
        self.service_rng = rng::chat_rng(seed, Stream::Service, self.id);
        self.ai_rng = None; // seeded again from the fork's seed at the AI's next reply
        if clock_runs {
            self.abandon_at = self.awaiting_since + self.customer.patience_s;
        }
    }

    /// How much the customer's frustration has risen since the AI took the chat: what the AI's
    /// sentiment detector reads (`ai.emotional_threshold`).
    pub fn frustration_rise_with_ai(&self) -> f64 {
        self.frustration - self.frustration_at_ai
    }

    /// Whether the customer is waiting for someone to act (queue or reply).
    pub fn is_waiting(&self) -> bool {
        matches!(self.phase, Phase::Queued | Phase::Awaiting | Phase::Routing)
    }

    /// Ends the current wait at `now`, adding the frustration that waiting caused; the customer
    /// no longer abandons.
    pub fn end_wait(&mut self, now: f64, per_min: f64) {
        let waited = (now - self.awaiting_since).max(0.0);
        self.total_wait_s += waited;
        self.longest_wait_s = self.longest_wait_s.max(waited);
        self.first_wait_s.get_or_insert(waited);
        self.frustration += per_min * waited / 60.0;
        self.abandon_at = f64::INFINITY;
    }

    /// Frustration as the customer feels it now, including the current wait.
    pub fn frustration_now(&self, now: f64, per_min: f64) -> f64 {
        if self.is_waiting() {
            self.frustration + per_min * (now - self.awaiting_since).max(0.0) / 60.0
        } else {
            self.frustration
        }
    }
}
