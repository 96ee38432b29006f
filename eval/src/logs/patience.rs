//! Patience from first waits (Brown et al., JASA 2005): a customer who left before the first
//! reply showed their patience; one who was answered showed only that their patience was longer
//! than their wait (a censored observation). A log-normal fitted by maximum likelihood to both,
//! on waits binned finely on a log scale so that memory does not grow with the log.

use serde::Serialize;

use super::summary::Z95;

/// Bins per decade of wait: bin edges 2.3 % apart, far finer than any patience estimate's
/// interval.
const PER_DECADE: f64 = 100.0;
/// The lowest bin edge, seconds; shorter waits fall in bin 0, `[0, LOWEST_S)`.
const LOWEST_S: f64 = 0.1;
/// Bins from 0.1 s to 10^7 s (116 days), the last open-ended.
const BINS: usize = 801;

/// Fewest abandonments before the first reply from which the fit estimates patience; with
/// fewer, the scenario keeps its base value and the report says so.
pub const MIN_ABANDONMENTS: u64 = 30;

/// First waits, binned: those that ended in abandonment and those that ended in a reply.
#[derive(Debug, Clone, PartialEq)]
pub struct CensoredWaits {
    abandoned: Vec<u64>,
    answered: Vec<u64>,
}

impl Default for CensoredWaits {
    fn default() -> Self {
        Self { abandoned: vec![0; BINS], answered: vec![0; BINS] }
    }
}

/// The lower edge of bin `k`, seconds (0 for bin 0).
fn lower_edge(k: usize) -> f64 {
    if k == 0 { 0.0 } else { LOWEST_S * libm::pow(10.0, (k - 1) as f64 / PER_DECADE) }
}

fn bin_of(wait_s: f64) -> usize {
    if wait_s < LOWEST_S {
        0
    } else {
        (1 + (libm::log10(wait_s / LOWEST_S) * PER_DECADE).floor() as usize).min(BINS - 1)
    }
}

impl CensoredWaits {
    /// Adds one first wait, which ended with the customer leaving or with a reply.
    pub fn add(&mut self, wait_s: f64, abandoned: bool) {
        let k = bin_of(wait_s);
        if abandoned { self.abandoned[k] += 1 } else { self.answered[k] += 1 }
    }

    /// Abandonments before the first reply.
    pub fn abandonments(&self) -> u64 {
        self.abandoned.iter().sum()
    }

    /// The log-likelihood of a log-normal patience with median `exp(mu)` and log-scale spread
    /// `sigma`: an abandonment in bin k contributes the chance of patience in that bin, an
    /// answered wait the chance of patience beyond the bin's geometric middle (the wait is known
    /// to within the bin; its lower edge would bias patience low, by 1.5 % when four customers
    /// in five are answered).
    fn log_likelihood(&self, mu: f64, sigma: f64) -> f64 {
        let survival_at = |t: f64| survival(t, mu, sigma);
        let survival = |k: usize| -> f64 { if k == 0 { 1.0 } else { survival_at(lower_edge(k)) } };
        let half_bin = libm::pow(10.0, 0.5 / PER_DECADE);
        let mut total = 0.0;
        for k in 0..BINS {
            let (a, c) = (self.abandoned[k], self.answered[k]);
            if a == 0 && c == 0 {
                continue;
            }
            let s_low = survival(k);
            if a > 0 {
                let s_high = if k + 1 < BINS { survival(k + 1) } else { 0.0 };
                total += a as f64 * libm::log((s_low - s_high).max(1e-300));
            }
            if c > 0 && k > 0 {
                total += c as f64 * libm::log(survival_at(lower_edge(k) * half_bin).max(1e-300));
            }
        }
        total
    }

    /// The maximum-likelihood log-normal, with 95 % intervals from the observed information;
    /// `None` with fewer than [`MIN_ABANDONMENTS`] abandonments.
    pub fn fit(&self) -> Option<PatienceFit> {
        let abandonments = self.abandonments();
        if abandonments < MIN_ABANDONMENTS {
            return None;
        }
        // the censored normal log-likelihood is concave in (mu/sigma, 1/sigma) (Burridge 1981),
        // so nested one-dimensional searches find its maximum
        let best_mu = |sigma: f64| {
            golden_max(libm::log(LOWEST_S) - 5.0, libm::log(1e7) + 10.0, |mu| {
                self.log_likelihood(mu, sigma)
            })
        };
        let sigma = golden_max(0.02, 6.0, |s| self.log_likelihood(best_mu(s), s));
        let mu = best_mu(sigma);
        // observed information: the negative Hessian, by central differences
        let (h_mu, h_sigma) = (1e-3, 1e-3);
        let f = |m: f64, s: f64| self.log_likelihood(m, s);
        let f0 = f(mu, sigma);
        let d_mm = (f(mu + h_mu, sigma) - 2.0 * f0 + f(mu - h_mu, sigma)) / (h_mu * h_mu);
        let d_ss =
            (f(mu, sigma + h_sigma) - 2.0 * f0 + f(mu, sigma - h_sigma)) / (h_sigma * h_sigma);
        let d_ms = (f(mu + h_mu, sigma + h_sigma)
            - f(mu + h_mu, sigma - h_sigma)
            - f(mu - h_mu, sigma + h_sigma)
            + f(mu - h_mu, sigma - h_sigma))
            / (4.0 * h_mu * h_sigma);
        let det = d_mm * d_ss - d_ms * d_ms;
        let (var_mu, var_sigma) =
            if det > 0.0 { (-d_ss / det, -d_mm / det) } else { (f64::NAN, f64::NAN) };
        let (se_mu, se_sigma) = (var_mu.max(0.0).sqrt(), var_sigma.max(0.0).sqrt());
        Some(PatienceFit {
            median_s: libm::exp(mu),
            median_ci: [libm::exp(mu - Z95 * se_mu), libm::exp(mu + Z95 * se_mu)],
            sigma,
            sigma_ci: [sigma - Z95 * se_sigma, sigma + Z95 * se_sigma],
            abandonments,
            answered: self.answered.iter().sum(),
        })
    }

    /// The Kaplan-Meier survival of patience at the bin edges where it changes: `(seconds,
    /// share still patient)`, the curve the fit's log-normal is drawn against.
    pub fn kaplan_meier(&self) -> Vec<(f64, f64)> {
        let mut at_risk: u64 = self.abandoned.iter().chain(&self.answered).sum();
        let mut survival = 1.0;
        let mut curve = vec![(0.0, 1.0)];
        for k in 0..BINS {
            let (a, c) = (self.abandoned[k], self.answered[k]);
            if a > 0 && at_risk > 0 {
                survival *= 1.0 - a as f64 / at_risk as f64;
                let upper = if k + 1 < BINS { lower_edge(k + 1) } else { lower_edge(k) };
                curve.push((upper, survival));
            }
            at_risk -= a + c;
        }
        curve
    }
}

/// A log-normal patience estimated from first waits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatienceFit {
    /// Median patience, seconds (`customers.patience_median_s`).
    pub median_s: f64,
    /// Its 95 % interval.
    pub median_ci: [f64; 2],
    /// Log-scale spread (`customers.patience_sigma`).
    pub sigma: f64,
    /// Its 95 % interval.
    pub sigma_ci: [f64; 2],
    /// Customers who left before the first reply (observed patience).
    pub abandonments: u64,
    /// Customers answered first (patience longer than the wait: censored).
    pub answered: u64,
}

/// The chance that a log-normal patience (median `exp(mu)`, log-scale spread `sigma`) lasts
/// beyond `t` seconds.
fn survival(t: f64, mu: f64, sigma: f64) -> f64 {
    let z = (libm::log(t) - mu) / sigma;
    0.5 * libm::erfc(z / std::f64::consts::SQRT_2)
}

impl PatienceFit {
    /// The share of customers still waiting after `t` seconds, by the fitted log-normal.
    pub fn survival(&self, t: f64) -> f64 {
        survival(t, libm::log(self.median_s), self.sigma)
    }
}

/// The maximum of a unimodal `f` on `[lo, hi]` by golden-section search, to 1e-9 of the range.
fn golden_max(mut lo: f64, mut hi: f64, f: impl Fn(f64) -> f64) -> f64 {
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    let tolerance = 1e-9 * (hi - lo);
    let mut a = hi - ratio * (hi - lo);
    let mut b = lo + ratio * (hi - lo);
    let (mut fa, mut fb) = (f(a), f(b));
    while hi - lo > tolerance {
        if fa < fb {
            lo = a;
            a = b;
            fa = fb;
            b = lo + ratio * (hi - lo);
            fb = f(b);
        } else {
            hi = b;
            b = a;
            fb = fa;
            a = hi - ratio * (hi - lo);
            fa = f(a);
        }
    }
    (lo + hi) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn bins_cover_waits_in_order() {
        assert_eq!(bin_of(0.0), 0);
        assert_eq!(bin_of(0.1), 1);
        assert!(lower_edge(bin_of(123.4)) <= 123.4 && 123.4 < lower_edge(bin_of(123.4) + 1));
        assert_eq!(bin_of(1e12), BINS - 1);
    }

    #[test]
    fn recovers_a_log_normal_patience_behind_heavy_censoring() {
        // patience log-normal (median 200 s, sigma 0.8), waits exponential (mean 60 s): most
        // customers are answered before their patience shows
        let mut rng = rand_pcg::Pcg64::seed_from_u64(7);
        let mut uniform = move || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let mut waits = CensoredWaits::default();
        for _ in 0..20_000 {
            let (u, v) = (uniform(), uniform());
            let normal = (-2.0 * libm::log(1.0 - u)).sqrt() * libm::cos(std::f64::consts::TAU * v);
            let patience = libm::exp(libm::log(200.0) + 0.8 * normal);
            let wait = -60.0 * libm::log(1.0 - uniform());
            waits.add(wait.min(patience), patience < wait);
        }
        let fit = waits.fit().unwrap();
        assert!(fit.abandonments > 1000 && fit.answered > 10_000, "{fit:?}");
        assert!(fit.median_ci[0] < 200.0 && 200.0 < fit.median_ci[1], "{fit:?}");
        assert!(fit.sigma_ci[0] < 0.8 && 0.8 < fit.sigma_ci[1], "{fit:?}");
        // the interval is the sampling error of 20,000 customers, not wider
        assert!(fit.median_ci[1] / fit.median_ci[0] < 1.2, "{fit:?}");
    }

    #[test]
    fn too_few_abandonments_estimate_nothing() {
        let mut waits = CensoredWaits::default();
        for i in 0..1000 {
            waits.add(f64::from(i), i < 29);
        }
        assert_eq!(waits.fit(), None);
    }
}
