//! `c-mu-theta`: the cμ/θ rule for overloaded many-server queues with abandonment (Atar, Giat
//! and Shimkin 2010, "The cμ/θ rule for many-server queues with abandonment", Operations
//! Research 58(5):1427-1439). For classes with holding cost c per unit time in queue, service
//! rate μ and abandonment rate θ, serving the class with the highest c·μ/θ is asymptotically
//! optimal under a many-server fluid scaling in overload; a penalty p per abandonment adds p·θ to
//! the holding cost, giving the index (c + p·θ)·μ/θ.
//!
//! Here c is the reward a chat loses per minute of waiting apart from abandonment (the duration
//! charge and the satisfaction and retrial lost to growing frustration, as in `c-mu`), p is what
//! an abandonment costs, and μ is the rate at which answering finishes the chat (as in `c-mu`).
//! θ is the customers' abandonment rate: the model's customers draw patience from one log-normal,
//! so θ is one over its mean and the same for every chat. Where `c-mu` charges abandonment at the
//! hazard of the current wait (nothing in the first minute, most near the median patience), the
//! cμ/θ rule charges it at the long-run rate the fluid analysis uses, so a customer who has only
//! just started waiting still counts the abandonment they may cause. Routing and takeovers as in
//! `c-mu`.
//!
//! Parameters as `c-mu` ([`crate::CMu::params`]). Model-based like `c-mu`: it reads the
//! scenario's true parameters.

use handoff_env::{Candidate, Observation, Policy, Scenario};

use crate::c_mu::CMu;
use crate::params::ParamSet;

/// The cμ/θ priority index for a worker's attention.
#[derive(Debug, Clone)]
pub struct CMuTheta {
    c_mu: CMu,
    /// Abandonments per minute of waiting: one over the mean patience.
    theta_per_min: f64,
}

impl CMuTheta {
    /// The index with the parameters in `set` (those of [`CMu::params`]).
    pub fn with(scenario: &Scenario, set: &ParamSet) -> Self {
        let c = &scenario.customers;
        let mean_patience_s = c.patience_median_s * libm::exp(0.5 * c.patience_sigma.powi(2));
        Self { c_mu: CMu::with(scenario, set), theta_per_min: 60.0 / mean_patience_s }
    }

    /// The priority index (c + p·θ)·μ/θ.
    pub fn index(&self, chat: &Candidate) -> f64 {
        let cost =
            self.c_mu.holding_cost_rate(chat) + self.c_mu.abandonment_cost() * self.theta_per_min;
        cost * self.c_mu.service_rate(chat) / self.theta_per_min
    }
}

impl Policy for CMuTheta {
    fn name(&self) -> &str {
        "c-mu-theta"
    }

    fn act(&mut self, obs: &Observation) -> usize {
        self.c_mu.act_by(obs, |c| self.index(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use handoff_env::CandidateKind;

    #[test]
    fn a_fresh_wait_counts_abandonment_where_c_mu_does_not() {
        let scenario = Scenario::default();
        let set = ParamSet::defaults("c-mu-theta", CMu::params(&scenario));
        let (theta, c_mu) = (CMuTheta::with(&scenario, &set), CMu::with(&scenario, &set));
        let fresh = Candidate { kind: CandidateKind::Chat, wait_s: 1.0, ..Candidate::default() };
        // c-mu's cost of a one-second wait is the holding cost alone; c-mu-theta adds p·θ
        let holding = c_mu.holding_cost_rate(&fresh);
        assert!((c_mu.cost_rate(&fresh) - holding).abs() < 1e-9);
        let expected =
            (holding / theta.theta_per_min + c_mu.abandonment_cost()) * c_mu.service_rate(&fresh);
        assert!((theta.index(&fresh) - expected).abs() < 1e-9 * expected);
        assert!(theta.index(&fresh) > holding * c_mu.service_rate(&fresh) / theta.theta_per_min);
    }
}
