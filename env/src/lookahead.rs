//! Comparing a decision's options by simulation: copy the environment, take each option, let a
//! rule make every later decision for a while, and add up the rewards.
//!
//! A copy of the environment continues exactly as the original would (the same customers, the
//! same replies, the same arrivals: every random stream is part of the copied state), so two
//! options differ only through what the decision changed: common random numbers make the
//! comparison exact for this episode (Bertsekas's rollout; Roubos and Bhulai 2012 for call
//! centres). What the copy knows is the episode's true future, which no dispatcher knows: the
//! differences are unbiased estimates of the options' value differences given the state, fit to
//! learn from (distilled into a policy that sees only observations), not to decide with. A fork
//! ([`HandoffEnv::fork`]) keeps the observable present and draws the future afresh: options
//! compared on forks are compared as a dispatcher could compare them.

use crate::env::HandoffEnv;
use crate::error::StepError;
use crate::observation::CandidateKind;
use crate::outcome::ChatRecord;
use crate::policy::Policy;
use crate::scenario::DecisionKind;

/// What the chats a decision touches come to ([`HandoffEnv::rollout_touched`]): those that
/// ended before the episode did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Touched {
    /// Their summed reward.
    pub reward: f64,
    /// The human replies they took: the worker time they cost the other customers.
    pub human_replies: u32,
}

impl HandoffEnv {
    /// The reward earned from now until `horizon_s` simulated seconds later (or the episode's
    /// end) by taking `action` now and letting `rule` make every later decision the agent
    /// controls, on a copy of the environment; the environment itself is unchanged.
    ///
    /// The copy ignores `env.max_steps`. `rule` is copied too, so each option starts from its
    /// current state. Two identical options return exactly the same reward.
    pub fn rollout_return(
        &self,
        action: usize,
        rule: &dyn Policy,
        horizon_s: f64,
    ) -> Result<f64, StepError> {
        self.clone().return_to_horizon(action, rule, horizon_s)
    }

    /// [`HandoffEnv::rollout_return`] on a fork on `seed` ([`HandoffEnv::fork`]) instead of an
    /// exact copy: the future the option meets is one a dispatcher could imagine, not the one
    /// that will happen. Options compared on forks of the same seed share that future (common
    /// random numbers); two identical options return exactly the same reward.
    pub fn fork_return(
        &self,
        seed: u64,
        action: usize,
        rule: &dyn Policy,
        horizon_s: f64,
    ) -> Result<f64, StepError> {
        self.fork(seed).return_to_horizon(action, rule, horizon_s)
    }

    /// The reward of taking `action` on this copy and letting `rule` decide for `horizon_s`
    /// simulated seconds (or to the episode's end).
    fn return_to_horizon(
        self,
        action: usize,
        rule: &dyn Policy,
        horizon_s: f64,
    ) -> Result<f64, StepError> {
        let end = self.observation().time_s + horizon_s;
        let (_, total) =
            self.run_copy(action, rule, &[], |copy| copy.observation().time_s >= end)?;
        Ok(total)
    }

    /// The record of the chat routed at this decision, run to its end on a copy of the
    /// environment after taking `action`, with `rule` making every later decision the agent
    /// controls; the environment itself is unchanged. `None` when this is not a route decision,
    /// or the episode ended first.
    ///
    /// The chat's own outcome, on the same random numbers for every option: the customer,
    /// the AI's and the workers' replies are the same draws, so the options' records differ
    /// only through the decision and the workers' load it meets.
    pub fn rollout_chat(
        &self,
        action: usize,
        rule: &dyn Policy,
    ) -> Result<Option<ChatRecord>, StepError> {
        let obs = self.observation();
        if obs.kind != DecisionKind::Route || self.is_over() {
            return Ok(None);
        }
        let Some(chat_id) = self.simulator().chat_id(obs.chat.chat_slot) else {
            return Ok(None);
        };
        let copy = self.clone().run_watching(action, rule, &[chat_id])?;
        Ok(copy.watched_records().next().flatten().copied())
    }

    /// What the chats this attend or assign decision touches come to, each run to its end on a
    /// copy of the environment after taking `action`, with `rule` making every later decision
    /// the agent controls; the environment itself is unchanged. `None` when this is a route
    /// decision, or the episode is over.
    ///
    /// The chats touched are the deciding worker's held chats and the chat of every option
    /// (the chats it could answer or take over, the queued chats it could take): the same set
    /// whichever option is taken, so that options compare on the same customers. A chat the
    /// episode's end leaves unfinished adds nothing. Choosing one chat delays the others; the
    /// customers the choice affects beyond these (the next queued chats a freed slot takes
    /// sooner) are not counted, but the worker time the touched chats take is
    /// ([`Touched::human_replies`]), for a price of worker time; [`HandoffEnv::rollout_return`]
    /// counts everyone over a horizon.
    pub fn rollout_touched(
        &self,
        action: usize,
        rule: &dyn Policy,
    ) -> Result<Option<Touched>, StepError> {
        let obs = self.observation();
        if obs.kind == DecisionKind::Route || self.is_over() {
            return Ok(None);
        }
        let sim = self.simulator();
        let held = sim.workers().get(obs.worker.worker as usize).map_or(&[][..], |w| &w.held);
        let options = obs.candidates.iter().filter(|c| {
            matches!(c.kind, CandidateKind::Chat | CandidateKind::Takeover | CandidateKind::Queued)
        });
        let mut touched: Vec<u64> = held
            .iter()
            .copied()
            .chain(options.map(|c| c.chat_slot))
            .filter_map(|slot| sim.chat_id(slot))
            .collect();
        touched.sort_unstable();
        touched.dedup();
        let copy = self.clone().run_watching(action, rule, &touched)?;
        let mut touched = Touched::default();
        for record in copy.watched_records().flatten() {
            touched.reward += record.reward;
            touched.human_replies += record.human_replies;
        }
        Ok(Some(touched))
    }

    /// This copy of the environment after it took `action` and then `rule`'s actions until every
    /// chat of `watch` has ended, or the episode did.
    fn run_watching(
        self,
        action: usize,
        rule: &dyn Policy,
        watch: &[u64],
    ) -> Result<HandoffEnv, StepError> {
        let ended = |copy: &HandoffEnv| copy.watched_records().all(|record| record.is_some());
        self.run_copy(action, rule, watch, ended).map(|(copy, _)| copy)
    }

    /// This copy of the environment (no step limit, watching the chats `watch`) after it took
    /// `action` and then `rule`'s actions until `done` or the episode's end, and the reward on
    /// the way.
    fn run_copy(
        self,
        action: usize,
        rule: &dyn Policy,
        watch: &[u64],
        done: impl Fn(&HandoffEnv) -> bool,
    ) -> Result<(HandoffEnv, f64), StepError> {
        let mut copy = self;
        copy.set_max_steps(0);
        copy.watch(watch.iter().copied());
        let mut rule = dyn_clone::clone_box(rule);
        let mut total = copy.step(action)?.reward;
        while !copy.is_over() && !done(&copy) {
            let action = rule.act(copy.observation());
            total += copy.step(action)?.reward;
        }
        Ok((copy, total))
    }
}
