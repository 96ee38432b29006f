//! Typed parameter sets of the heuristics. Each heuristic names its parameters with a
//! description, a range and a default; the defaults reproduce the heuristic as first written,
//! and `handoff tune` searches the ranges.

use std::fmt;

/// One parameter of a heuristic.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// The name used in policy files and `policy@name=value`.
    pub name: &'static str,
    /// What the parameter does, for `handoff policies`.
    pub description: &'static str,
    /// The smallest allowed value.
    pub min: f64,
    /// The largest allowed value.
    pub max: f64,
    /// The value that reproduces the untuned heuristic on the scenario it was made for.
    pub default: f64,
    /// Whether only whole numbers are allowed.
    pub integer: bool,
}

impl Param {
    /// A real-valued parameter.
    pub fn real(
        name: &'static str,
        description: &'static str,
        range: [f64; 2],
        default: f64,
    ) -> Self {
        Self { name, description, min: range[0], max: range[1], default, integer: false }
    }

    /// A whole-number parameter.
    pub fn integer(
        name: &'static str,
        description: &'static str,
        range: [f64; 2],
        default: f64,
    ) -> Self {
        Self { integer: true, ..Self::real(name, description, range, default) }
    }

    /// The allowed values, as an error message shows them.
    pub fn range_text(&self) -> String {
        let kind = if self.integer { "whole numbers" } else { "numbers" };
        format!("{kind} from {} to {}", self.min, self.max)
    }

    fn allows(&self, value: f64) -> bool {
        value.is_finite()
            && value >= self.min
            && value <= self.max
            && (!self.integer || value.fract() == 0.0)
    }
}

/// Why a parameter value was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamError {
    /// The heuristic has no parameter of this name.
    Unknown {
        /// The heuristic.
        policy: String,
        /// The name given.
        name: String,
        /// The parameters it has.
        known: Vec<&'static str>,
    },
    /// The value is outside the parameter's range (or not whole where it must be).
    OutOfRange {
        /// The parameter.
        name: &'static str,
        /// The value given.
        value: f64,
        /// The allowed values.
        allowed: String,
    },
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamError::Unknown { policy, name, known } if known.is_empty() => {
                write!(f, "\"{policy}\" has no parameters (given \"{name}\")")
            }
            ParamError::Unknown { policy, name, known } => write!(
                f,
                "\"{policy}\" has no parameter \"{name}\" (its parameters: {})",
                known.join(", ")
            ),
            ParamError::OutOfRange { name, value, allowed } => {
                write!(f, "{name} = {value} is out of range (allowed: {allowed})")
            }
        }
    }
}

impl std::error::Error for ParamError {}

/// A heuristic's parameters with a value for each.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSet {
    policy: &'static str,
    params: Vec<Param>,
    values: Vec<f64>,
}

impl ParamSet {
    /// `params` of `policy`, each at its default.
    pub fn defaults(policy: &'static str, params: Vec<Param>) -> Self {
        let values = params.iter().map(|p| p.default).collect();
        Self { policy, params, values }
    }

    /// The parameters.
    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// The values, in the order of [`ParamSet::params`].
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// (name, value) pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        self.params.iter().zip(&self.values).map(|(p, &v)| (p.name, v))
    }

    /// Sets `name` to `value`, refusing unknown names and values outside the range.
    pub fn set(&mut self, name: &str, value: f64) -> Result<(), ParamError> {
        let Some(i) = self.params.iter().position(|p| p.name == name) else {
            return Err(ParamError::Unknown {
                policy: self.policy.to_string(),
                name: name.to_string(),
                known: self.params.iter().map(|p| p.name).collect(),
            });
        };
        let param = &self.params[i];
        if !param.allows(value) {
            return Err(ParamError::OutOfRange {
                name: param.name,
                value,
                allowed: param.range_text(),
            });
        }
        self.values[i] = value;
        Ok(())
    }

    /// The value of `name`; `None` when the heuristic has no such parameter.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.params.iter().position(|p| p.name == name).map(|i| self.values[i])
    }

    /// The value of a parameter the heuristic is known to have (its own builder asking).
    pub(crate) fn value(&self, name: &str) -> f64 {
        self.get(name).unwrap_or_else(|| panic!("{} has no parameter {name}", self.policy))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> ParamSet {
        ParamSet::defaults(
            "demo",
            vec![
                Param::real("weight", "a weight", [0.0, 2.0], 1.0),
                Param::integer("limit", "a limit", [1.0, 4.0], 4.0),
            ],
        )
    }

    #[test]
    fn values_start_at_defaults_and_accept_values_in_range() {
        let mut s = set();
        assert_eq!(s.values(), &[1.0, 4.0]);
        s.set("weight", 0.25).unwrap();
        s.set("limit", 2.0).unwrap();
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![("weight", 0.25), ("limit", 2.0)]);
    }

    #[test]
    fn unknown_names_fractions_and_values_out_of_range_are_refused() {
        let mut s = set();
        let unknown = s.set("speed", 1.0).unwrap_err().to_string();
        assert!(unknown.contains("speed") && unknown.contains("weight, limit"), "{unknown}");
        let high = s.set("weight", 2.5).unwrap_err().to_string();
        assert!(high.contains("from 0 to 2"), "{high}");
        assert!(s.set("limit", 2.5).unwrap_err().to_string().contains("whole numbers"));
        assert!(s.set("weight", f64::NAN).is_err());
        assert_eq!(s.values(), &[1.0, 4.0], "a refused value changes nothing");
    }
}
