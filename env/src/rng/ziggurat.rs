//! Standard normal and exponential draws by the ziggurat method (Marsaglia and Tsang, 2000):
//! 256 layers of equal area under the density; about 99 % of draws are one 64-bit random
//! number, a multiplication and a comparison, without a logarithm, and that path is inlined.
//!
//! The sampling loop is the one of `rand_distr` (8 bits of the random number choose the layer,
//! its 52 high bits the position, the tails by Marsaglia's methods); `rand_distr` itself is not
//! used because its tails and wedges call the platform's maths library whenever any crate in the
//! build enables `num-traits/std`, which would cost the same bits on every machine. Here the
//! tables are computed by `build.rs` with `libm` (Marsaglia and Tsang's r and layer area for
//! 256 layers), the tails use `libm` and the wedges this module's own `exp`, so every machine
//! draws the same numbers.

use super::exp::exp;
use super::tables;
use rand::Rng;

/// One ziggurat: the layers' right edges `x` (x\[0\] the base's virtual width, x\[1\] = r,
/// x\[256\] = 0) and the density there (unnormalised), from `build.rs`.
struct Table {
    x: &'static [f64; 257],
    f: &'static [f64; 257],
}

/// The standard normal's ziggurat (density e^(-x²/2)); its base starts at r.
const NORMAL_R: f64 = 3.654_152_885_361_009;
const NORMAL: Table = Table { x: &tables::NORMAL_X, f: &tables::NORMAL_F };

/// The standard exponential's ziggurat (density e^(-x)).
const EXPONENTIAL_R: f64 = 7.697_117_470_131_05;
const EXPONENTIAL: Table = Table { x: &tables::EXPONENTIAL_X, f: &tables::EXPONENTIAL_F };

/// A number in [1, 2) from the 52 high bits of `bits`.
#[inline]
fn one_to_two(bits: u64) -> f64 {
    f64::from_bits(0x3FF0_0000_0000_0000 | (bits >> 12))
}

/// Uniform in (0, 1], from a fresh draw: safe to take the logarithm of.
#[inline]
fn open_unit<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    2.0 - one_to_two(rng.next_u64())
}

/// A standard normal draw. The common case (about 99 % of draws: inside a layer's rectangle) is
/// inlined into the caller; the rest continues in [`normal_beyond_rectangle`].
#[inline(always)]
pub fn std_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let (i, u, x) = normal_candidate(rng.next_u64());
    if x.abs() < NORMAL.x[i + 1] {
        return x;
    }
    normal_beyond_rectangle(rng, i, u, x)
}

/// The layer, the position in [-1, 1) and the candidate draw that 64 random bits give.
#[inline(always)]
fn normal_candidate(bits: u64) -> (usize, f64, f64) {
    let i = (bits & 0xff) as usize;
    // in [-1, 1): a number in [2, 4) less 3
    let u = 2.0 * one_to_two(bits) - 3.0;
    (i, u, u * NORMAL.x[i])
}

/// The rest of a normal draw whose candidate `x` (layer `i`, position `u`) fell outside its
/// layer's rectangle: the base's tail or the layer's wedge, then fresh candidates until one is
/// accepted.
#[cold]
#[inline(never)]
fn normal_beyond_rectangle<R: Rng + ?Sized>(
    rng: &mut R,
    mut i: usize,
    mut u: f64,
    mut x: f64,
) -> f64 {
    let table = &NORMAL;
    loop {
        if i == 0 {
            // the tail beyond r (Marsaglia, 1964)
            loop {
                let x = libm::log(open_unit(rng)) / NORMAL_R;
                let y = libm::log(open_unit(rng));
                if -2.0 * y >= x * x {
                    return if u < 0.0 { x - NORMAL_R } else { NORMAL_R - x };
                }
            }
        }
        let y = table.f[i + 1] + (table.f[i] - table.f[i + 1]) * (one_to_two(rng.next_u64()) - 1.0);
        if y < exp(-0.5 * x * x) {
            return x;
        }
        (i, u, x) = normal_candidate(rng.next_u64());
        if x.abs() < table.x[i + 1] {
            return x;
        }
    }
}

/// A standard exponential draw (mean 1). The common case is inlined into the caller; the rest
/// continues in [`exponential_beyond_rectangle`].
#[inline(always)]
pub fn std_exponential<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let (i, x) = exponential_candidate(rng.next_u64());
    if x < EXPONENTIAL.x[i + 1] {
        return x;
    }
    exponential_beyond_rectangle(rng, i, x)
}

/// The layer and the candidate draw that 64 random bits give.
#[inline(always)]
fn exponential_candidate(bits: u64) -> (usize, f64) {
    let i = (bits & 0xff) as usize;
    // in (0, 1]
    let u = 2.0 - one_to_two(bits);
    (i, u * EXPONENTIAL.x[i])
}

/// The rest of an exponential draw whose candidate `x` (layer `i`) fell outside its layer's
/// rectangle.
#[cold]
#[inline(never)]
fn exponential_beyond_rectangle<R: Rng + ?Sized>(rng: &mut R, mut i: usize, mut x: f64) -> f64 {
    let table = &EXPONENTIAL;
    loop {
        if i == 0 {
            // memoryless: the tail beyond r is r plus a fresh exponential
            return EXPONENTIAL_R - libm::log(open_unit(rng));
        }
        let y = table.f[i + 1] + (table.f[i] - table.f[i + 1]) * (one_to_two(rng.next_u64()) - 1.0);
        if y < exp(-x) {
            return x;
        }
        (i, x) = exponential_candidate(rng.next_u64());
        if x < table.x[i + 1] {
            return x;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layers close: the recursion from r reaches the top with the last layer's area v.
    #[test]
    fn tables_close() {
        for (table, v) in
            [(&NORMAL, 0.004_928_673_233_99), (&EXPONENTIAL, 0.003_949_659_822_581_557)]
        {
            let top = table.x[255] * (1.0 - table.f[255]);
            assert!((top - v).abs() < 1e-9, "top layer area {top} against {v}");
            assert!(table.x.windows(2).skip(1).all(|w| w[0] > w[1]));
        }
    }
}
