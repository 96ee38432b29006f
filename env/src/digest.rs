//! Short, stable digests of bytes: for scenario fingerprints, replayed traces and saved
//! environment states.

use sha2::{Digest, Sha256};

/// Hex digits of a [`digest`] (64 bits of SHA-256: collisions are not a concern for the few
/// scenarios a project compares).
pub(crate) const DIGEST_HEX: usize = 16;

/// A short, stable digest of `bytes`: the first 64 bits of their SHA-256, as hex.
///
/// SHA-256 (RustCrypto's `sha2`, already in the dependency tree through Burn) rather than
/// Rust's `Hasher`: its bits are specified, the same on every machine and release.
pub fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut hex = String::with_capacity(DIGEST_HEX);
    for byte in &hash[..DIGEST_HEX / 2] {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}
