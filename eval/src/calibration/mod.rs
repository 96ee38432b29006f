//! The simulator against the study: measuring its effects the study's way ([`measure`]), fitting
//! the parameters the paper does not give ([`fit`]) and the report of `handoff calibrate`
//! ([`report`]). The files import one way, measure ← fit ← report; this module re-exports the
//! first and last.

pub mod fit;
mod measure;
mod report;

pub use measure::*;
pub use report::*;
