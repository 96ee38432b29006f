//! Gymnasium-style space descriptions.

use serde::Serialize;

/// A box of `f32` vectors, like `gymnasium.spaces.Box`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BoxSpace {
    /// Lower bound of each component.
    pub low: Vec<f32>,
    /// Upper bound of each component (infinite where unbounded).
    pub high: Vec<f32>,
}

impl BoxSpace {
    /// Number of components.
    pub fn len(&self) -> usize {
        self.low.len()
    }

    /// Whether the box has no components.
    pub fn is_empty(&self) -> bool {
        self.low.is_empty()
    }

    /// Whether `x` lies inside the box (and is not NaN).
    pub fn contains(&self, x: &[f32]) -> bool {
        x.len() == self.len()
            && x.iter()
                .zip(self.low.iter().zip(&self.high))
                .all(|(v, (lo, hi))| *v >= *lo && *v <= *hi)
    }
}

/// A discrete space `{0, ..., n-1}`, like `gymnasium.spaces.Discrete`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Discrete {
    /// Number of actions.
    pub n: usize,
}

impl Discrete {
    /// Whether `a` is an element of the space.
    pub fn contains(&self, a: usize) -> bool {
        a < self.n
    }
}
