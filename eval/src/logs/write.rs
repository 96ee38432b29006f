//! The fitted scenario as TOML on its base: only the values the log identified, each with a
//! comment saying where it came from.

use handoff_env::Scenario;

use super::Estimates;
use super::patience::MIN_ABANDONMENTS;
use super::summary::LogSummary;

/// The scenario's text and the values it leaves at the base's, with the reason.
pub(super) struct Written {
    pub text: String,
    pub kept: Vec<String>,
}

fn array(values: &[f64]) -> String {
    let items: Vec<String> = values.iter().map(|v| format!("{v:.4}")).collect();
    format!("[{}]", items.join(", "))
}

/// Writes the scenario `name` on `base_name` (whose values are `base`) from the estimates.
pub(super) fn scenario_toml(
    file: &str,
    name: &str,
    base_name: &str,
    base: &Scenario,
    summary: &LogSummary,
    estimates: &Estimates,
) -> Written {
    let mut kept = Vec::new();
    let days = summary.days().max(1);
    let mut t = format!(
        "# Fitted by `handoff fit-logs` from {file}: {} chats over {days} days.\n\
         # The values below are the log's; every other value is the base scenario's ({base_name}),\n\
         # calibrated to the Taobao study (see the fit's report for what a log cannot show).\n\
         base = \"{base_name}\"\nname = \"{name}\"\n\
         description = \"Fitted to {} by handoff fit-logs\"\n\
         # the whole days from the first arrival's to the last's\ndays = {days}\n",
        summary.rows,
        file.replace('\\', "/").replace('"', "'")
    );
    let per_hour = estimates.arrivals_per_hour;
    let mean_hour = per_hour.iter().sum::<f64>() / 24.0;
    let profile: Vec<f64> = per_hour.iter().map(|r| r / mean_hour.max(f64::MIN_POSITIVE)).collect();
    let cpd = estimates.chats_per_day;
    t += &format!(
        "\n[arrivals]\n# {} arrivals over {days} days; 95 % interval [{:.1}, {:.1}] (Poisson)\n\
         chats_per_day = {:.1}\n\
         # arrivals in each hour of the day, relative to the mean hour (the log's counts)\n\
         hourly_profile = {}\n",
        summary.rows,
        cpd.lo,
        cpd.hi,
        cpd.value,
        array(&profile)
    );
    if !base.arrivals.surges.is_empty() {
        t += "# the log's own arrivals include any peaks: no surges on top of them\nsurges = []\n";
    }
    match estimates.eligible_share {
        Some(e) => {
            t += &format!(
                "# the share of chats marked ai_eligible = 1; 95 % interval [{:.4}, {:.4}]\n\
                 eligible_share = {:.4}\n",
                e.lo, e.hi, e.value
            )
        }
        None => kept.push(format!(
            "arrivals.eligible_share = {}: the base's (the log has no ai_eligible column)",
            base.arrivals.eligible_share
        )),
    }
    match &estimates.patience {
        Some(p) => {
            t += &format!(
                "\n[customers]\n# log-normal patience by censored maximum likelihood on first waits: {} \
                 customers\n# left before a first reply, {} were answered first (censored); \
                 95 % intervals\n# [{:.1}, {:.1}] s and [{:.3}, {:.3}]\n\
                 patience_median_s = {:.1}\npatience_sigma = {:.3}\n",
                p.abandonments,
                p.answered,
                p.median_ci[0],
                p.median_ci[1],
                p.sigma_ci[0],
                p.sigma_ci[1],
                p.median_s,
                p.sigma
            )
        }
        None => kept.push(format!(
            "customers.patience_median_s = {} and patience_sigma = {}: the base's (only {} \
             customers left before a first reply; the fit needs {MIN_ABANDONMENTS})",
            base.customers.patience_median_s,
            base.customers.patience_sigma,
            summary.patience.abandonments()
        )),
    }
    match estimates.workers_by_hour.filter(|w| w.iter().any(|&x| x > 0.0)) {
        Some(at_work) => {
            let on_duty = estimates.workers_on_duty.unwrap_or(at_work);
            let finishing = estimates.finishing_share().unwrap_or(0.0);
            t += &workers_section(base, &on_duty, finishing, summary.workers_seen());
            if let Some(cap) = estimates.chats_held_at_once {
                t += &format!(
                    "# the most chats a worker held through a whole minute, in at least 0.1 % of \
                     the minutes\n# workers answered\ncap = {cap}\n"
                );
                // the environment offers every held chat and two more as candidates
                if cap + 2 > base.env.candidates {
                    t += &format!(
                        "\n[env]\n# every chat a worker holds, and two more (the cap above)\n\
                         candidates = {}\n",
                        cap + 2
                    );
                }
            }
        }
        None => kept.push(format!(
            "workers.count = {} and workers.staffing: the base's (the log has no worker column)",
            base.workers.count
        )),
    }
    Written { text: t, kept }
}

/// The `[workers]` section: `on_duty` (the log's workers seen answering, less the `finishing`
/// share spent finishing chats after a shift) on the base's roster when it can deliver those
/// hours (a headcount of every worker the log names), else that many workers on duty each hour
/// without shift rules.
fn workers_section(base: &Scenario, on_duty: &[f64; 24], finishing: f64, named: usize) -> String {
    let source = format!(
        "# workers on duty in each hour of the day (mean over days), as a share of count: the\n\
         # minutes each worker answered a chat, pauses under 15 minutes included, less the\n\
         # minutes the fitted centre's workers, simulated for a week and seen the same way,\n\
         # spend finishing chats after a shift ({:.1} % of those on duty)\n",
        100.0 * finishing
    );
    let rostered =
        |count: f64| -> Vec<f64> { on_duty.iter().map(|w| (w / count).min(1.0)).collect() };
    let headcount = named.max(1) as f64;
    let mut roster = base.clone();
    roster.workers.count = named.max(1) as u32;
    roster.workers.staffing = rostered(headcount);
    roster.workers.shifts = handoff_env::Shifts::Roster;
    if roster.staffing_coverage().shortfall().is_none() {
        return format!(
            "\n[workers]\n# every worker the log names\ncount = {named}\n{source}staffing = {}\n\
             # on the roster's shifts, which deliver these hours in full\nshifts = \"roster\"\n",
            array(&roster.workers.staffing)
        );
    }
    let peak = on_duty.iter().copied().fold(0.0, f64::max).ceil().max(1.0);
    format!(
        "\n[workers]\n# the most workers at work in an hour (the roster cannot deliver the log's \
         hours with the\n# {named} workers it names, so they are on duty without shift rules)\n\
         count = {peak}\n{source}staffing = {}\nshifts = \"none\"\n",
        array(&rostered(peak))
    )
}

/// Adds `key = value` under `[section]` of `text` (after its header, or in a new section at the
/// end), with `comment` above it.
pub(super) fn insert_value(text: &mut String, path: &str, value: f64, comment: &str) {
    let (section, key) = path.split_once('.').expect("a dotted path");
    let lines = format!("# {comment}\n{key} = {value:.4}\n");
    let header = format!("\n[{section}]\n");
    match text.find(&header) {
        Some(at) => text.insert_str(at + header.len(), &lines),
        None => *text += &format!("{header}{lines}"),
    }
}
