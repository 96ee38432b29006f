//! Summary statistics over seeds: mean, interquartile mean, seeded percentile bootstrap, and the
//! Student-t interval of the calibration (statrs for the t quantile).
//!
//! Written here rather than taken from a crate: the statistics crates on crates.io (statrs among
//! them) have no bootstrap, and the ones that do are unmaintained or pull in a dataframe library.
//! A percentile bootstrap of a mean is a dozen lines; what matters is that it is seeded and
//! portable, so an evaluation reproduces bit for bit.

use handoff_env::rng::uniform;
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// The arithmetic mean (NaN for no values).
pub fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// The mean of the values that are not NaN (NaN when there are none).
pub fn mean_finite(xs: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = xs.filter(|x| !x.is_nan()).fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    sum / n as f64
}

/// The interquartile mean: the mean of the middle half, trimming `floor(n / 4)` values from each
/// end (as rliable and `scipy.stats.trim_mean(x, 0.25)` do). Robust to outlier seeds, yet uses
/// more of the data than the median (Agarwal et al. 2021, "Deep RL at the edge of the
/// statistical precipice").
pub fn iqm(xs: &[f64]) -> f64 {
    let mut sorted = xs.to_vec();
    sorted.sort_by(f64::total_cmp);
    let cut = sorted.len() / 4;
    mean(&sorted[cut..sorted.len() - cut])
}

/// The `q` quantile of sorted values, interpolating linearly (R's type 7, NumPy's default).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (pos - lo as f64) * (sorted[hi] - sorted[lo])
}

/// A percentile-bootstrap confidence interval for the mean of `xs`: `resamples` resamples with
/// replacement from a generator seeded with `seed`. NaN for no values; the value itself for one.
pub fn bootstrap_mean_ci(xs: &[f64], confidence: f64, resamples: usize, seed: u64) -> [f64; 2] {
    match xs.len() {
        0 => return [f64::NAN; 2],
        1 => return [xs[0]; 2],
        _ => {}
    }
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let n = xs.len();
    let mut means: Vec<f64> = (0..resamples.max(1))
        .map(|_| {
            let sum: f64 =
                (0..n).map(|_| xs[((uniform(&mut rng) * n as f64) as usize).min(n - 1)]).sum();
            sum / n as f64
        })
        .collect();
    means.sort_by(f64::total_cmp);
    let alpha = 1.0 - confidence;
    [quantile_sorted(&means, alpha / 2.0), quantile_sorted(&means, 1.0 - alpha / 2.0)]
}

/// The share of pairs where `a` beats `b`, ties counting half: an estimate of the probability of
/// improvement.
pub fn win_rate(a: &[f64], b: &[f64]) -> f64 {
    let wins: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| match x.total_cmp(y) {
            std::cmp::Ordering::Greater => 1.0,
            std::cmp::Ordering::Equal => 0.5,
            std::cmp::Ordering::Less => 0.0,
        })
        .sum();
    wins / a.len() as f64
}

/// Mean and 95 % Student-t interval of `xs` (NaN values ignored; a single value has no width).
pub fn mean_ci(xs: &[f64]) -> (f64, f64, f64) {
    let v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    let n = v.len();
    if n == 0 {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let m = v.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return (m, m, m);
    }
    let t = StudentsT::new(0.0, 1.0, (n - 1) as f64)
        .expect("positive degrees of freedom")
        .inverse_cdf(0.975);
    let half = t * standard_error(&v);
    (m, m - half, m + half)
}

/// The standard error of the mean of `xs` (NaN values ignored; 0 for fewer than two values).
pub fn standard_error(xs: &[f64]) -> f64 {
    let v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    let n = v.len();
    if n < 2 {
        return 0.0;
    }
    let m = v.iter().sum::<f64>() / n as f64;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64;
    (var / n as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use handoff_env::rng::std_normal;

    #[test]
    fn iqm_trims_a_quarter_from_each_end() {
        assert_eq!(iqm(&[100.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, -100.0]), 3.5);
        assert_eq!(iqm(&[1.0, 2.0, 3.0]), 2.0);
    }

    #[test]
    fn quantiles_interpolate() {
        let xs = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile_sorted(&xs, 0.0), 1.0);
        assert_eq!(quantile_sorted(&xs, 0.5), 3.0);
        assert_eq!(quantile_sorted(&xs, 0.125), 1.5);
        assert_eq!(quantile_sorted(&xs, 1.0), 5.0);
    }

    #[test]
    fn win_rate_counts_ties_half() {
        assert_eq!(win_rate(&[1.0, 2.0, 3.0, 4.0], &[0.0, 2.0, 5.0, 0.0]), 0.625);
    }

    #[test]
    fn bootstrap_is_seeded() {
        let xs: Vec<f64> = (0..20).map(|i| f64::from(i * i % 17) + 0.1 * f64::from(i)).collect();
        assert_eq!(bootstrap_mean_ci(&xs, 0.95, 500, 3), bootstrap_mean_ci(&xs, 0.95, 500, 3));
        assert_ne!(bootstrap_mean_ci(&xs, 0.95, 500, 3), bootstrap_mean_ci(&xs, 0.95, 500, 4));
    }

    /// Coverage on a synthetic case with a known mean: samples of 30 from N(10, 2^2). The
    /// percentile bootstrap undercovers a little at n = 30 (about 93-94 % for a normal mean), so
    /// the nominal 95 % must land within three binomial standard errors of 0.935 over the
    /// replicates.
    #[test]
    fn bootstrap_interval_covers_a_known_mean_at_its_nominal_rate() {
        let (replicates, n, true_mean) = (600u32, 30, 10.0);
        let mut rng = Pcg64Mcg::seed_from_u64(42);
        let mut covered = 0;
        for r in 0..replicates {
            let xs: Vec<f64> = (0..n).map(|_| true_mean + 2.0 * std_normal(&mut rng)).collect();
            let [lo, hi] = bootstrap_mean_ci(&xs, 0.95, 1000, u64::from(r));
            covered += usize::from(lo <= true_mean && true_mean <= hi);
        }
        let rate = covered as f64 / f64::from(replicates);
        let se = (0.935 * 0.065 / f64::from(replicates)).sqrt();
        assert!((rate - 0.935).abs() <= 3.0 * se + 0.015, "coverage {rate}");
        // an interval at 50 % must cover far less often: the test can fail
        let mut covered_half = 0;
        for r in 0..replicates {
            let xs: Vec<f64> = (0..n).map(|_| true_mean + 2.0 * std_normal(&mut rng)).collect();
            let [lo, hi] = bootstrap_mean_ci(&xs, 0.5, 1000, u64::from(r));
            covered_half += usize::from(lo <= true_mean && true_mean <= hi);
        }
        let rate_half = covered_half as f64 / f64::from(replicates);
        assert!((rate_half - 0.5).abs() <= 3.0 * (0.25 / f64::from(replicates)).sqrt() + 0.03);
    }

    #[test]
    fn interval_covers_a_known_mean_at_the_nominal_rate() {
        // 2000 samples of 5 normal draws: the 95 % t-interval must cover 0 about 95 % of the time
        let mut rng = handoff_env::rng::stream_rng(3, handoff_env::rng::Stream::Policy);
        let trials = 2000;
        let covered = (0..trials)
            .filter(|_| {
                let xs: Vec<f64> = (0..5).map(|_| std_normal(&mut rng)).collect();
                let (_, lo, hi) = mean_ci(&xs);
                lo <= 0.0 && 0.0 <= hi
            })
            .count();
        let rate = covered as f64 / trials as f64;
        // binomial standard error at 0.95 with 2000 trials is 0.0049; allow four of them
        assert!((rate - 0.95).abs() < 4.0 * 0.0049, "coverage {rate}");
    }
}
