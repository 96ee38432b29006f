//! `random`: a uniformly random valid action (the usual sanity baseline).

use handoff_env::{Observation, Policy};
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

/// Chooses uniformly among the valid actions, from its own seeded stream.
#[derive(Debug, Clone)]
pub struct RandomPolicy {
    rng: Pcg64Mcg,
}

impl Default for RandomPolicy {
    fn default() -> Self {
        Self { rng: Pcg64Mcg::seed_from_u64(0) }
    }
}

impl Policy for RandomPolicy {
    fn name(&self) -> &str {
        "random"
    }

    fn reset(&mut self, seed: u64) {
        self.rng = Pcg64Mcg::seed_from_u64(seed);
    }

    fn act(&mut self, obs: &Observation) -> usize {
        let valid = obs.valid_count();
        let mut k = (handoff_env::rng::uniform(&mut self.rng) * valid as f64) as usize;
        for (i, &m) in obs.mask.iter().enumerate() {
            if m {
                if k == 0 {
                    return i;
                }
                k -= 1;
            }
        }
        crate::pick::any_valid(obs)
    }
}
