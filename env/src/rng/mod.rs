//! Random number streams and the few distributions the simulator samples.
//!
//! Every stream is derived from the run's seed and a stream name, so that two policies run on one
//! seed see the same arrivals and the same customers (common random numbers). Per-chat streams are
//! seeded from the chat's id: a chat's customer draws the same patience, writing times and rating
//! noise in every arm, whatever happened to other chats.
//!
//! The samplers use `libm` rather than the platform's maths library, so that results are
//! bit-identical on every machine.

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
    -mean * libm::log(uniform_open0(rng))
}

/// Standard normal (Box-Muller; one of the pair is discarded to keep draws per call fixed).
#[inline]
pub fn std_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1 = uniform_open0(rng);
    let u2 = uniform(rng);
    libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(std::f64::consts::TAU * u2)
}

/// A stream that keeps the second normal of each Box-Muller pair for its next normal draw,
/// halving the transcendental calls of the simulator's most frequent draws.
#[derive(Debug, Clone)]
pub struct PairedNormals<R> {
    /// The underlying generator.
    pub rng: R,
    spare: Option<f64>,
}

impl<R: Rng> PairedNormals<R> {
    /// Wraps a generator.
    pub fn new(rng: R) -> Self {
        Self { rng, spare: None }
    }

    /// A standard normal: the kept one, or a fresh pair.
    #[inline]
    pub fn std_normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let r = libm::sqrt(-2.0 * libm::log(uniform_open0(&mut self.rng)));
        let (sin, cos) = libm::sincos(std::f64::consts::TAU * uniform(&mut self.rng));
        self.spare = Some(r * sin);
        r * cos
    }

    /// Log-normal with the given median and log-scale spread.
    #[inline]
    pub fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * libm::exp(sigma * self.std_normal())
    }
}

/// Log-normal with the given median and log-scale spread.
#[inline]
pub fn lognormal<R: Rng + ?Sized>(rng: &mut R, median: f64, sigma: f64) -> f64 {
    median * libm::exp(sigma * std_normal(rng))
}

/// 1 + Poisson(mean - 1): a count of at least one with the given mean (inversion; small means).
pub fn one_plus_poisson<R: Rng + ?Sized>(rng: &mut R, mean: f64) -> u32 {
    OnePlusPoisson::new(mean).sample(rng)
}

/// The distribution of [`one_plus_poisson`] with its `exp(-λ)` computed once, for a mean drawn
/// from many times: the same draws for the same generator state, one transcendental call fewer
/// per draw.
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
}

/// The logistic function.
#[inline]
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + libm::exp(-x))
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

    #[test]
    fn samplers_have_their_means() {
        let mut rng = stream_rng(1, Stream::Policy);
        let n = 200_000;
        let mean_exp: f64 = (0..n).map(|_| exponential(&mut rng, 3.0)).sum::<f64>() / n as f64;
        // Standard error of the mean is 3 / sqrt(n) = 0.0067; allow 5 of them.
        assert!((mean_exp - 3.0).abs() < 5.0 * 3.0 / (n as f64).sqrt(), "{mean_exp}");
        let mean_pois: f64 =
            (0..n).map(|_| f64::from(one_plus_poisson(&mut rng, 4.0))).sum::<f64>() / n as f64;
        assert!((mean_pois - 4.0).abs() < 5.0 * 3f64.sqrt() / (n as f64).sqrt(), "{mean_pois}");
        let normals: Vec<f64> = (0..n).map(|_| std_normal(&mut rng)).collect();
        let m = normals.iter().sum::<f64>() / n as f64;
        let var = normals.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n as f64;
        assert!(m.abs() < 5.0 / (n as f64).sqrt(), "{m}");
        assert!((var - 1.0).abs() < 5.0 * 2f64.sqrt() / (n as f64).sqrt(), "{var}");
        // the paired stream: both halves of each pair are standard normal and uncorrelated
        let mut paired = PairedNormals::new(chat_rng(1, Stream::Service, 9));
        let pairs: Vec<(f64, f64)> =
            (0..n / 2).map(|_| (paired.std_normal(), paired.std_normal())).collect();
        let m2 = pairs.iter().map(|p| p.0 + p.1).sum::<f64>() / n as f64;
        let var2 = pairs.iter().map(|p| p.0 * p.0 + p.1 * p.1).sum::<f64>() / n as f64;
        let cov = pairs.iter().map(|p| p.0 * p.1).sum::<f64>() / (n / 2) as f64;
        assert!(m2.abs() < 5.0 / (n as f64).sqrt(), "{m2}");
        assert!((var2 - 1.0).abs() < 5.0 * 2f64.sqrt() / (n as f64).sqrt(), "{var2}");
        assert!(cov.abs() < 5.0 / ((n / 2) as f64).sqrt(), "{cov}");
    }
}
