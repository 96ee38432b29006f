//! Writes the sampling tables (`rng::exp`'s powers of two, the ziggurats' layers) as constants,
//! computed with `libm` (pure Rust, the same bits on every machine), so that the samplers read
//! plain arrays with no initialisation check per draw.

use std::fmt::Write;

/// Layers of each ziggurat.
const LAYERS: usize = 256;

/// The right edges `x` of a ziggurat's layers (x\[0\] the base's virtual width, x\[1\] = r,
/// x\[256\] = 0) and the density there, for a decreasing density `pdf` with inverse
/// `pdf_inverse`, rightmost layer from `r`, each layer of area `v` (Marsaglia and Tsang, 2000).
fn ziggurat(
    r: f64,
    v: f64,
    pdf: impl Fn(f64) -> f64,
    pdf_inverse: impl Fn(f64) -> f64,
) -> (Vec<f64>, Vec<f64>) {
    let mut x = vec![0.0; LAYERS + 1];
    x[0] = v / pdf(r);
    x[1] = r;
    for i in 1..LAYERS - 1 {
        x[i + 1] = pdf_inverse(v / x[i] + pdf(x[i]));
    }
    let f = (0..=LAYERS).map(|i| if i == LAYERS { 1.0 } else { pdf(x[i]) }).collect();
    (x, f)
}

/// A constant array written bit for bit.
fn constant(out: &mut String, doc: &str, name: &str, values: &[f64]) {
    writeln!(out, "/// {doc}\npub(super) const {name}: [f64; {}] = [", values.len()).unwrap();
    for v in values {
        writeln!(out, "    f64::from_bits({:#018x}), // {v:e}", v.to_bits()).unwrap();
    }
    out.push_str("];\n");
}

fn main() {
    let mut out = String::new();
    let powers: Vec<f64> = (0..64).map(|j| libm::exp2(f64::from(j) / 64.0)).collect();
    constant(&mut out, "2^(j/64) for j in 0..64.", "POWERS_OF_TWO", &powers);
    let (x, f) = ziggurat(
        3.654_152_885_361_009,
        0.004_928_673_233_99,
        |x| libm::exp(-0.5 * x * x),
        |y| libm::sqrt(-2.0 * libm::log(y)),
    );
    constant(&mut out, "The normal ziggurat's layer edges.", "NORMAL_X", &x);
    constant(&mut out, "e^(-x²/2) at the normal ziggurat's layer edges.", "NORMAL_F", &f);
    let (x, f) = ziggurat(
        7.697_117_470_131_05,
        0.003_949_659_822_581_557,
        |x| libm::exp(-x),
        |y| -libm::log(y),
    );
    constant(&mut out, "The exponential ziggurat's layer edges.", "EXPONENTIAL_X", &x);
    constant(&mut out, "e^(-x) at the exponential ziggurat's layer edges.", "EXPONENTIAL_F", &f);
    let path = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("tables.rs");
    std::fs::write(path, out).unwrap();
    println!("cargo::rerun-if-changed=build.rs");
}
