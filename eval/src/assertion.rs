//! `--assert` expressions: comparisons of evaluation results a CI suite can gate on.
//!
//! Grammar: `OPERAND OP OPERAND`, where `OP` is one of `>`, `>=`, `<`, `<=` and an `OPERAND` is
//! a number or `POLICY.METRIC` (the metric after the last dot, so policy names may contain dots).
//! For example `emotion-first.return > study-treatment.return`, `c-mu.rating >= 3.5` or
//! `c-mu.diff_lo > 0` (the paired difference to the baseline is significantly positive).

use std::fmt;

use crate::compare::{EvalReport, PolicySummary};
use crate::episode::KPIS;

/// A value an assertion can read from a policy's results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Mean episode return.
    Return,
    /// Lower end of the return's interval.
    ReturnLo,
    /// Upper end of the return's interval.
    ReturnHi,
    /// Interquartile mean of the returns.
    Iqm,
    /// Mean paired difference of returns to the baseline.
    Diff,
    /// Lower end of the difference's interval.
    DiffLo,
    /// Upper end of the difference's interval.
    DiffHi,
    /// Share of seeds beating the baseline.
    WinRate,
    /// A KPI of the policy's mean over seeds: [`KPIS`]`[i]`.
    Kpi(usize),
}

impl Metric {
    /// The metrics of a policy's return and its comparison with the baseline, with their names
    /// in expressions; the KPIs follow ([`Metric::all`]).
    const OF_RETURN: &[(&str, Metric)] = &[
        ("return", Metric::Return),
        ("return_lo", Metric::ReturnLo),
        ("return_hi", Metric::ReturnHi),
        ("iqm", Metric::Iqm),
        ("diff", Metric::Diff),
        ("diff_lo", Metric::DiffLo),
        ("diff_hi", Metric::DiffHi),
        ("win_rate", Metric::WinRate),
    ];

    /// Every metric with its name in expressions: those of the return, then every KPI's.
    pub fn all() -> impl Iterator<Item = (&'static str, Metric)> {
        let kpis = KPIS.iter().enumerate().map(|(i, k)| (k.metric, Metric::Kpi(i)));
        Self::OF_RETURN.iter().copied().chain(kpis)
    }

    /// The metric called `name`.
    pub fn from_name(name: &str) -> Option<Metric> {
        Self::all().find(|&(n, _)| n == name).map(|(_, m)| m)
    }

    /// The metric's value in `p`'s results.
    pub fn value(self, p: &PolicySummary) -> f64 {
        match self {
            Metric::Return => p.return_mean,
            Metric::ReturnLo => p.return_ci[0],
            Metric::ReturnHi => p.return_ci[1],
            Metric::Iqm => p.return_iqm,
            Metric::Diff => p.vs_baseline.diff,
            Metric::DiffLo => p.vs_baseline.ci[0],
            Metric::DiffHi => p.vs_baseline.ci[1],
            Metric::WinRate => p.vs_baseline.win_rate,
            Metric::Kpi(i) => (KPIS[i].get)(&p.kpis),
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

impl Op {
    const SYMBOLS: [(&str, Op); 4] = [(">=", Op::Ge), ("<=", Op::Le), (">", Op::Gt), ("<", Op::Lt)];

    fn holds(self, lhs: f64, rhs: f64) -> bool {
        match self {
            Op::Gt => lhs > rhs,
            Op::Ge => lhs >= rhs,
            Op::Lt => lhs < rhs,
            Op::Le => lhs <= rhs,
        }
    }
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A literal number.
    Number(f64),
    /// A policy's metric.
    Metric {
        /// The policy's name.
        policy: String,
        /// The metric.
        metric: Metric,
    },
}

impl Operand {
    fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("an operand is missing".to_string());
        }
        if let Ok(x) = text.parse::<f64>() {
            return if x.is_finite() {
                Ok(Operand::Number(x))
            } else {
                Err(format!("{text} is not a finite number"))
            };
        }
        let Some((policy, metric)) = text.rsplit_once('.') else {
            return Err(format!("\"{text}\" is neither a number nor POLICY.METRIC"));
        };
        if policy.is_empty() {
            return Err(format!("\"{text}\" names no policy before the dot"));
        }
        let names: Vec<&str> = Metric::all().map(|(n, _)| n).collect();
        let metric = Metric::from_name(metric).ok_or_else(|| {
            format!("unknown metric \"{metric}\" in \"{text}\" (known: {})", names.join(", "))
        })?;
        Ok(Operand::Metric { policy: policy.to_string(), metric })
    }

    fn value(&self, report: &EvalReport) -> Result<f64, AssertionError> {
        match self {
            Operand::Number(x) => Ok(*x),
            Operand::Metric { policy, metric } => report
                .policy(policy)
                .map(|p| metric.value(p))
                .ok_or_else(|| AssertionError::UnknownPolicy(policy.clone())),
        }
    }
}

/// Why an assertion cannot be checked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AssertionError {
    /// The expression does not parse.
    #[error("malformed assertion \"{text}\": {reason}")]
    Malformed {
        /// The expression.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The expression names a policy that was not evaluated.
    #[error("the assertion names policy \"{0}\", which is not evaluated (add --policy {0})")]
    UnknownPolicy(String),
}

/// A parsed `--assert` expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Assertion {
    /// The expression as written.
    pub text: String,
    /// Left side.
    pub lhs: Operand,
    /// The operator.
    pub op: Op,
    /// Right side.
    pub rhs: Operand,
}

/// The result of checking an assertion.
#[derive(Debug, Clone, PartialEq)]
pub struct AssertionOutcome {
    /// The expression as written.
    pub text: String,
    /// Whether it holds.
    pub passed: bool,
    /// Value of the left side.
    pub lhs: f64,
    /// Value of the right side.
    pub rhs: f64,
}

impl AssertionOutcome {
    /// How far the left side is from the right (lhs - rhs).
    pub fn gap(&self) -> f64 {
        self.lhs - self.rhs
    }
}

impl fmt::Display for AssertionOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.passed { "passed" } else { "FAILED" };
        write!(
            f,
            "{verdict}: {} (left {}, right {}, left - right = {})",
            self.text,
            fmt_num(self.lhs),
            fmt_num(self.rhs),
            fmt_num(self.gap())
        )
    }
}

fn fmt_num(x: f64) -> String {
    if x.abs() >= 1000.0 { format!("{x:.1}") } else { format!("{x:.4}") }
}

impl Assertion {
    /// Parses an expression such as `c-mu.return > study-treatment.return`.
    pub fn parse(text: &str) -> Result<Self, AssertionError> {
        let malformed =
            |reason: String| AssertionError::Malformed { text: text.to_string(), reason };
        if text.contains("==") || text.contains("!=") || text.contains('=') && !has_order(text) {
            return Err(malformed("equality is not supported: use >, >=, < or <=".to_string()));
        }
        let found: Vec<(usize, &str, Op)> = Op::SYMBOLS
            .iter()
            .filter_map(|&(sym, op)| text.find(sym).map(|at| (at, sym, op)))
            .collect();
        // the earliest operator; at one position the two-character form was listed first
        let Some(&(at, sym, op)) = found.iter().min_by_key(|(at, _, _)| *at) else {
            return Err(malformed("no comparison operator (use >, >=, < or <=)".to_string()));
        };
        let (lhs, rhs) = (&text[..at], &text[at + sym.len()..]);
        if rhs.contains(['<', '>']) {
            return Err(malformed("only one comparison per assertion".to_string()));
        }
        let lhs = Operand::parse(lhs).map_err(malformed)?;
        let rhs = Operand::parse(rhs).map_err(malformed)?;
        if matches!((&lhs, &rhs), (Operand::Number(_), Operand::Number(_))) {
            return Err(malformed("compares two numbers: name a POLICY.METRIC".to_string()));
        }
        Ok(Self { text: text.trim().to_string(), lhs, op, rhs })
    }

    /// The policy whose difference from the baseline the assertion reads when that policy *is*
    /// `baseline` (a difference of 0 and a win rate of 0.5 by definition), else `None`.
    pub fn reads_baseline_against_itself(&self, baseline: &str) -> Option<&str> {
        [&self.lhs, &self.rhs].into_iter().find_map(|o| match o {
            Operand::Metric { policy, metric }
                if policy == baseline
                    && matches!(
                        metric,
                        Metric::Diff | Metric::DiffLo | Metric::DiffHi | Metric::WinRate
                    ) =>
            {
                Some(policy.as_str())
            }
            _ => None,
        })
    }

    /// The policies the assertion reads.
    pub fn policies(&self) -> impl Iterator<Item = &str> {
        [&self.lhs, &self.rhs].into_iter().filter_map(|o| match o {
            Operand::Metric { policy, .. } => Some(policy.as_str()),
            Operand::Number(_) => None,
        })
    }

    /// Checks the assertion against `report`. A comparison with NaN (a rating where no chat was
    /// rated) fails.
    pub fn check(&self, report: &EvalReport) -> Result<AssertionOutcome, AssertionError> {
        let lhs = self.lhs.value(report)?;
        let rhs = self.rhs.value(report)?;
        Ok(AssertionOutcome { text: self.text.clone(), passed: self.op.holds(lhs, rhs), lhs, rhs })
    }
}

fn has_order(text: &str) -> bool {
    text.contains(">=") || text.contains("<=")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(policy: &str, metric: Metric) -> Operand {
        Operand::Metric { policy: policy.to_string(), metric }
    }

    #[test]
    fn parses_comparisons_of_metrics_and_numbers() {
        let a = Assertion::parse("emotion-first.return > study-treatment.return").unwrap();
        assert_eq!(a.lhs, metric("emotion-first", Metric::Return));
        assert_eq!(a.op, Op::Gt);
        assert_eq!(a.rhs, metric("study-treatment", Metric::Return));
        let b = Assertion::parse("  c-mu.rating>=3.5 ").unwrap();
        assert_eq!((b.op, b.rhs), (Op::Ge, Operand::Number(3.5)));
        assert_eq!(b.text, "c-mu.rating>=3.5");
        let c = Assertion::parse("0 < ckpt:runs/ppo.v2.diff_lo").unwrap();
        assert_eq!(c.rhs, metric("ckpt:runs/ppo.v2", Metric::DiffLo));
        assert_eq!(c.policies().collect::<Vec<_>>(), ["ckpt:runs/ppo.v2"]);
        assert_eq!(Assertion::parse("a.wait <= b.wait").unwrap().op, Op::Le);
    }

    #[test]
    fn malformed_expressions_say_what_is_wrong() {
        for (text, needle) in [
            ("c-mu.return", "no comparison operator"),
            ("c-mu.return == 3", "equality"),
            ("c-mu.return = 3", "equality"),
            ("c-mu.return > ", "operand is missing"),
            ("c-mu.speed > 3", "unknown metric \"speed\""),
            ("cmu > 3", "neither a number nor POLICY.METRIC"),
            ("1 < 2", "two numbers"),
            ("a.return > b.return > c.return", "only one comparison"),
            (".return > 3", "names no policy"),
            ("a.return > inf", "not a finite number"),
        ] {
            let err = Assertion::parse(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
            assert!(err.contains(text.trim()), "{text}: {err}");
        }
    }

    #[test]
    fn operators_compare_as_written() {
        assert!(Op::Gt.holds(2.0, 1.0) && !Op::Gt.holds(1.0, 1.0));
        assert!(Op::Ge.holds(1.0, 1.0) && !Op::Ge.holds(0.0, 1.0));
        assert!(Op::Lt.holds(0.0, 1.0) && !Op::Lt.holds(1.0, 1.0));
        assert!(Op::Le.holds(1.0, 1.0) && !Op::Le.holds(2.0, 1.0));
        assert!(!Op::Ge.holds(f64::NAN, 1.0));
    }
}
