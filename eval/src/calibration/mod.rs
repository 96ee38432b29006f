//! The simulator against the study: measuring its effects the study's way ([`measure`]), fitting
//! the parameters the paper does not give ([`fit`]) and the report of `handoff calibrate`
//! ([`report`]), and `handoff calibrate` as one call ([`run`]). The files import one way,
//! measure ← fit ← report ← run; this module re-exports the first, the last two.

pub mod fit;
mod measure;
mod report;
mod run;

pub use measure::*;
pub use report::*;
pub use run::*;
