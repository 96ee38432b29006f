//! Random number streams and the few distributions the simulator samples.
//!
//! Every stream is derived from the run's seed and a stream name, so that two policies run on one
//! seed see the same arrivals and the same customers (common random numbers). Per-chat streams are
//! seeded from the chat's id: a chat's customer draws the same patience, writing times and rating
//! noise in every arm, whatever happened to other chats.
//!
//! The samplers are pure Rust arithmetic (a table `exp`, ziggurat normals and exponentials, and
//! `libm` for the rare logarithm) rather than the platform's maths library, so that results are
//! bit-identical on every machine.

mod exp;
mod ziggurat;

/// The sampling tables, written by `build.rs`.
mod tables {
    include!(concat!(env!("OUT_DIR"), "/tables.rs"));
}

pub use exp::exp;
pub use ziggurat::{std_exponential, std_normal};

use rand::{Rng, SeedableRng};
use rand_pcg::{Pcg32, Pcg64Mcg};

/// The independent random streams of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Stream {
    /// Arrival times and issue types.
    Arrivals = 1,
    /// A customer's attributes and behaviour (per chat).
    Customer = 2,
    /// The AI's replies (per chat).
    Ai = 3,
    /// Worker attributes.
    Workers = 4,
    /// Worker replies (per chat).
    Service = 5,
    /// The policy's own randomness.
    Policy = 6,
    /// When a retrial comes back (per chat, `retrial.returns`).
    Retrial = 7,
}

/// SplitMix64: a bijective mixer used to derive seeds.
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The seed of `stream` for `seed`, optionally for one chat.
pub fn derive_seed(seed: u64, stream: Stream, index: u64) -> u64 {
    splitmix64(
        splitmix64(seed ^ splitmix64(stream as u64)) ^ splitmix64(index.wrapping_add(0x5851_F42D)),
    )
}

/// The seed a policy is reset with for the episode of `seed`, by every runner: the evaluation,
/// `handoff explain`, the rollout learner.
pub fn policy_seed(seed: u64) -> u64 {
    derive_seed(seed, Stream::Policy, 0)
}

/// The seed of the fallback policy that makes the decisions beside an agent reset with
/// `policy_seed` (the environment's and the evaluation's decision split alike), so that a random
/// fallback gives the same episode through either.
pub fn fallback_seed(policy_seed: u64) -> u64 {
    derive_seed(policy_seed, Stream::Policy, 1)
}

/// A long-lived generator for a global stream.
pub fn stream_rng(seed: u64, stream: Stream) -> Pcg64Mcg {
    Pcg64Mcg::seed_from_u64(derive_seed(seed, stream, u64::MAX))
}

/// A small generator for one chat's stream.
pub fn chat_rng(seed: u64, stream: Stream, chat_id: u64) -> Pcg32 {
    Pcg32::seed_from_u64(derive_seed(seed, stream, chat_id))
}

/// Uniform in [0, 1) with 53 random bits.
#[inline]
pub fn uniform<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Exponential with the given mean, conditioned on falling below `limit` (inverse transform of
/// the truncated distribution: one draw, no rejection).
#[inline]
pub fn truncated_exponential<R: Rng + ?Sized>(rng: &mut R, mean: f64, limit: f64) -> f64 {
    let inside = -libm::expm1(-limit / mean);
    -mean * libm::log1p(-uniform(rng) * inside)
}

/// Uniform in (0, 1]: safe to take the logarithm of.
#[inline]
pub fn uniform_open0<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    1.0 - uniform(rng)
}

/// True with probability `p`.
#[inline]
pub fn bernoulli<R: Rng + ?Sized>(rng: &mut R, p: f64) -> bool {
    uniform(rng) < p
}

/// Exponential with the given mean.
#[inline]
pub fn exponential<R: Rng + ?Sized>(rng: &mut R, mean: f64) -> f64 {
    mean * std_exponential(rng)
}

/// Log-normal with the given median and log-scale spread.
#[inline]
pub fn lognormal<R: Rng + ?Sized>(rng: &mut R, median: f64, sigma: f64) -> f64 {
    median * exp(sigma * std_normal(rng))
}

/// A standard normal draw conditioned to exceed `a`: plain rejection for a low bound, Robert's
/// exponential rejection in the tail (Robert 1995, "Simulation of truncated normal
/// variables"), so that even a far tail costs a few draws.
pub fn std_normal_above<R: Rng + ?Sized>(rng: &mut R, a: f64) -> f64 {
    if a < 0.5 {
        loop {
            let z = std_normal(rng);
            if z > a {
                return z;
            }
        }
    }
    let lambda = 0.5 * (a + (a * a + 4.0).sqrt());
    loop {
        let z = a + std_exponential(rng) / lambda;
        if uniform(rng) <= exp(-0.5 * (z - lambda) * (z - lambda)) {
            return z;
        }
    }
}

/// A log-normal draw of the given median and log-scale `sigma`, conditioned to exceed `floor`.
pub fn lognormal_above<R: Rng + ?Sized>(rng: &mut R, median: f64, sigma: f64, floor: f64) -> f64 {
    if floor <= 0.0 || sigma <= 0.0 {
        return lognormal(rng, median, sigma).max(floor);
    }
    let a = libm::log(floor / median) / sigma;
    (median * exp(sigma * std_normal_above(rng, a))).max(floor)
}

/// 1 + Poisson(mean - 1): a count of at least one with the given mean (inversion; small means),
/// with its `exp(-λ)` computed once, for a mean drawn from many times.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OnePlusPoisson {
    /// λ = mean - 1, at least 0.
    lambda: f64,
    /// `exp(-λ)`, the probability of the count 1.
    p_one: f64,
}

impl OnePlusPoisson {
    /// The distribution with the given mean (means below 1 count as 1).
    pub fn new(mean: f64) -> Self {
        let lambda = (mean - 1.0).max(0.0);
        Self { lambda, p_one: libm::exp(-lambda) }
    }

    /// A draw by inversion (one uniform, none when the mean is 1).
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u32 {
        if self.lambda == 0.0 {
            return 1;
        }
        let (mut k, mut p) = (0u32, self.p_one);
        let mut cdf = p;
        let u = uniform(rng);
        while u > cdf && k < 1000 {
            k += 1;
            p *= self.lambda / f64::from(k);
            cdf += p;
        }
        1 + k
    }

    /// A draw conditioned to exceed `floor`, by inversion of the tail (one uniform).
    pub fn sample_above<R: Rng + ?Sized>(&self, rng: &mut R, floor: u32) -> u32 {
        if floor == 0 {
            return self.sample(rng);
        }
        if self.lambda == 0.0 {
            return floor + 1; // the mass at 1 lies below the floor: the least count above it
        }
        // the distribution function at floor, i.e. of Poisson(lambda) at floor - 1
        let (mut k, mut p) = (0u32, self.p_one);
        let mut cdf = p;
        while k + 1 < floor {
            k += 1;
            p *= self.lambda / f64::from(k);
            cdf += p;
        }
        let tail = 1.0 - cdf;
        if tail <= 1e-12 {
            return floor + 1;
        }
        let u = cdf + uniform(rng) * tail;
        while u > cdf && k < 1000 {
            k += 1;
            p *= self.lambda / f64::from(k);
            cdf += p;
        }
        (1 + k).max(floor + 1)
    }
}

/// The logistic function.
#[inline]
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + exp(-x))
}

/// The log-odds of a probability, clamped away from 0 and 1.
#[inline]
pub fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-9, 1.0 - 1e-9);
    libm::log(p / (1.0 - p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_differ_and_repeat() {
        let a = derive_seed(7, Stream::Customer, 1);
        assert_eq!(a, derive_seed(7, Stream::Customer, 1));
        assert_ne!(a, derive_seed(7, Stream::Ai, 1));
        assert_ne!(a, derive_seed(7, Stream::Customer, 2));
        assert_ne!(a, derive_seed(8, Stream::Customer, 1));
    }

    /// The standard normal distribution function.
    fn normal_cdf(x: f64) -> f64 {
        0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
    }

    /// The Kolmogorov-Smirnov distance between `draws` and the distribution function `cdf`.
    fn ks_distance(mut draws: Vec<f64>, cdf: impl Fn(f64) -> f64) -> f64 {
        draws.sort_by(f64::total_cmp);
        let n = draws.len() as f64;
        draws
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let f = cdf(x);
                (f - i as f64 / n).abs().max((i as f64 + 1.0) / n - f)
            })
            .fold(0.0, f64::max)
    }

    /// Each continuous sampler passes a Kolmogorov-Smirnov test against its distribution at the
    /// 0.1 % level (critical distance 1.95/√n), with its mean and variance within five standard
    /// errors, on a per-chat generator and a long-lived one; the normal's tails beyond the
    /// ziggurat's base (|x| > 3.65) appear as often as they should.
    #[test]
    fn samplers_pass_kolmogorov_smirnov() {
        let n = 200_000;
        let critical = 1.95 / (n as f64).sqrt();
        let mut chat = chat_rng(1, Stream::Service, 9);
        let mut long = stream_rng(1, Stream::Policy);
        for (name, draws, cdf, mean, var) in [
            (
                "normal (chat stream)",
                (0..n).map(|_| std_normal(&mut chat)).collect::<Vec<_>>(),
                &normal_cdf as &dyn Fn(f64) -> f64,
                0.0,
                1.0,
            ),
            (
                "normal (long stream)",
                (0..n).map(|_| std_normal(&mut long)).collect(),
                &normal_cdf,
                0.0,
                1.0,
            ),
            (
                "exponential, mean 3",
                (0..n).map(|_| exponential(&mut chat, 3.0)).collect(),
                &|x: f64| 1.0 - libm::exp(-x / 3.0),
                3.0,
                9.0,
            ),
            (
                "log-normal, median 35, sigma 0.6",
                (0..n).map(|_| lognormal(&mut chat, 35.0, 0.6)).collect(),
                &|x: f64| normal_cdf(libm::log(x / 35.0) / 0.6),
                35.0 * libm::exp(0.18),
                35.0f64.powi(2) * libm::exp(0.36) * (libm::exp(0.36) - 1.0),
            ),
        ] {
            let d = ks_distance(draws.clone(), cdf);
            assert!(d < critical, "{name}: KS distance {d} against {critical}");
            let m = draws.iter().sum::<f64>() / n as f64;
            let v = draws.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n as f64;
            assert!((m - mean).abs() < 5.0 * (var / n as f64).sqrt(), "{name}: mean {m}");
            // the sample variance's standard error is σ²·sqrt((kurtosis - 1) / n): kurtosis - 1 is 2
            // for the normal, 8 for the exponential, 9.3 for this log-normal
            assert!((v - var).abs() < 5.0 * var * (10.0 / n as f64).sqrt(), "{name}: variance {v}");
        }
        let tail =
            (0..2_000_000).filter(|_| std_normal(&mut long).abs() > 3.654_152_885_361_009).count();
        // P(|Z| > 3.654) = 2.58e-4: 516 expected, standard deviation 22.7
        assert!((tail as f64 - 516.0).abs() < 5.0 * 22.7, "{tail} tail draws");
    }

    /// 1 + Poisson(λ) has mean 1 + λ and variance λ.
    #[test]
    fn poisson_has_its_moments() {
        let mut rng = stream_rng(1, Stream::Policy);
        let n = 200_000;
        let count = OnePlusPoisson::new(4.0);
        let draws: Vec<f64> = (0..n).map(|_| f64::from(count.sample(&mut rng))).collect();
        let m = draws.iter().sum::<f64>() / n as f64;
        let v = draws.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n as f64;
        assert!((m - 4.0).abs() < 5.0 * (3.0 / n as f64).sqrt(), "{m}");
        // the sample variance's standard error: sqrt((μ4 - σ⁴) / n), μ4 - σ⁴ = λ + 2λ² = 21
        assert!((v - 3.0).abs() < 5.0 * (21.0 / n as f64).sqrt(), "{v}");
    }

    /// A truncated draw follows the distribution conditioned on the bound: the normal's tail by
    /// the KS distance at every kind of bound (plain rejection and Robert's), the count's
    /// frequencies against the conditional probabilities.
    #[test]
    fn truncated_draws_follow_the_conditional_distributions() {
        let mut rng = stream_rng(3, Stream::Policy);
        let n = 50_000;
        let critical = 1.63 / (n as f64).sqrt(); // KS at the 1 % level
        for a in [-1.0, 0.3, 0.5, 2.0, 4.5] {
            let draws: Vec<f64> = (0..n).map(|_| std_normal_above(&mut rng, a)).collect();
            assert!(draws.iter().all(|&z| z > a), "a draw at or below {a}");
            let below = normal_cdf(a);
            let d = ks_distance(draws, |x| (normal_cdf(x) - below) / (1.0 - below));
            assert!(d < critical, "bound {a}: KS distance {d} against {critical}");
        }
        let patience: Vec<f64> =
            (0..n).map(|_| lognormal_above(&mut rng, 420.0, 0.6, 900.0)).collect();
        assert!(patience.iter().all(|&p| p > 900.0));
        let below = normal_cdf(libm::log(900.0 / 420.0) / 0.6);
        let d = ks_distance(patience, |x| {
            (normal_cdf(libm::log(x / 420.0) / 0.6) - below) / (1.0 - below)
        });
        assert!(d < critical, "log-normal above 900 s: KS distance {d}");
        let counts = OnePlusPoisson::new(4.0);
        let pmf = |x: u32| {
            let k = x - 1; // Poisson(3) at k
            libm::exp(-3.0) * 3f64.powi(k as i32) / (1..=k).map(f64::from).product::<f64>()
        };
        for floor in [1u32, 3, 6] {
            let tail: f64 = 1.0 - (1..=floor).map(pmf).sum::<f64>();
            let mut seen = [0u32; 40];
            for _ in 0..n {
                let x = counts.sample_above(&mut rng, floor);
                assert!(x > floor, "a count of {x} at or below {floor}");
                seen[x.min(39) as usize] += 1;
            }
            for x in floor + 1..floor + 5 {
                let p = pmf(x) / tail;
                let expected = p * n as f64;
                let sd = (n as f64 * p * (1.0 - p)).sqrt();
                let got = f64::from(seen[x as usize]);
                assert!(
                    (got - expected).abs() < 5.0 * sd,
                    "floor {floor}, {x}: {got} vs {expected}"
                );
            }
        }
        assert_eq!(OnePlusPoisson::new(1.0).sample_above(&mut rng, 4), 5);
    }
}
