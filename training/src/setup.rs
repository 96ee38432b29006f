//! From a configuration to the objects a run needs: the scenario, the device, the environments.

use burn::prelude::Device;
use handoff_agents::{Centre, CentreRequest};
use handoff_env::{Scenario, VectorEnv};

use crate::config::{DeviceKind, TrainConfig};
use crate::error::TrainError;
use handoff_eval::{run_episodes, stats};

/// Seeds of the wait measurements that size the training centre: apart from the training,
/// validation and test seeds.
const MATCH_FIRST_SEED: u64 = 3_000_000;

/// Episodes per wait measurement.
const MATCH_SEEDS: u64 = 4;

/// The centre a run trains on, and how it was sized.
#[derive(Debug, Clone)]
pub struct TrainingScenario {
    /// The scaled-down scenario the environments run.
    pub scenario: Scenario,
    /// Workers of the plain scaled-down centre (the same load per worker as at full size).
    pub scaled_workers: u32,
    /// Mean customer wait at full size under the scenario's fallback policy, minutes (when
    /// matched).
    pub full_wait_min: Option<f64>,
    /// The same in the training centre, minutes (when matched).
    pub training_wait_min: Option<f64>,
}

/// The scenario the run is about: the named scenario at full size and over its own days, with
/// the run's control. Closing comparisons run on it.
pub fn target_scenario(config: &TrainConfig) -> Result<Scenario, TrainError> {
    Ok(target_request(config).build(CONFIGURATION)?.scenario)
}

/// Where a run's changes to its scenario come from, for errors.
const CONFIGURATION: &str = "the training configuration";

/// What a run asks of its scenario at full size: the run's control.
fn target_request(config: &TrainConfig) -> CentreRequest {
    let control = (!config.control.is_empty()).then(|| config.control.clone());
    CentreRequest { control, ..CentreRequest::new(&config.scenario) }
}

/// The scenario the environments train on: [`target_scenario`] over `config.days` (when not 0),
/// scaled down by `config.scale`.
///
/// A smaller centre at the same load per worker pools its workers worse (Erlang: with fewer
/// servers, a customer finds all of them busy more often), so a 5 % replica of `taobao` keeps its
/// customers waiting far longer than the real centre (8.4 % of them give up, against 0.7 % at
/// full size) and teaches lessons that do not hold at full size. With
/// `config.match_waits`, workers are added to the replica until its customers wait no longer, on
/// average, than at full size, both measured under the scenario's fallback policy on common
/// seeds (the idea of square-root staffing, Halfin and Whitt 1981: a small centre needs
/// relatively more spare capacity for the same service level).
pub fn training_scenario(config: &TrainConfig) -> Result<TrainingScenario, TrainError> {
    let days = (config.days > 0).then_some(config.days);
    let full = CentreRequest { days, ..target_request(config) }.build(CONFIGURATION)?.scenario;
    let scaled = full.scaled(config.scale);
    let scaled_workers = scaled.workers.count;
    if !config.match_waits || config.scale >= 1.0 {
        return Ok(TrainingScenario {
            scenario: scaled,
            scaled_workers,
            full_wait_min: None,
            training_wait_min: None,
        });
    }
    let target = mean_wait(&full);
    let with_workers = |n: u32| {
        let mut s = scaled.clone();
        s.workers.count = n;
        s
    };
    // the fewest workers, up to four times the plain replica's, that bring waits down to target
    let mut best = (scaled_workers, mean_wait(&scaled));
    if best.1 > target {
        let (mut lo, mut hi) = (scaled_workers, scaled_workers.saturating_mul(4));
        best = (hi, mean_wait(&with_workers(hi)));
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            let wait = mean_wait(&with_workers(mid));
            if wait <= target {
                (hi, best) = (mid, (mid, wait));
            } else {
                lo = mid;
            }
        }
    }
    let scenario = with_workers(best.0);
    scenario.validate("the training centre")?;
    Ok(TrainingScenario {
        scenario,
        scaled_workers,
        full_wait_min: Some(target),
        training_wait_min: Some(best.1),
    })
}

/// Mean customer wait, minutes, under the scenario's fallback policy over the match seeds.
fn mean_wait(scenario: &Scenario) -> f64 {
    let make = || handoff_agents::fallback(scenario, &scenario.name).expect("validated fallback");
    let episodes = run_episodes(scenario, MATCH_FIRST_SEED, MATCH_SEEDS, &make);
    stats::mean(&episodes.iter().map(|e| e.kpis.wait_min).collect::<Vec<_>>())
}

/// The compute device of `kind`: `flex` (pure-Rust CPU, always built), or `wgpu` / `cuda` when
/// the binary was built with the cargo feature of the same name.
pub fn device(kind: DeviceKind) -> Result<Device, TrainError> {
    kind.check_built().map_err(TrainError::Config)?;
    Ok(match kind {
        #[cfg(feature = "wgpu")]
        DeviceKind::Wgpu => Device::wgpu(Default::default()),
        #[cfg(feature = "cuda")]
        DeviceKind::Cuda => Device::cuda(0),
        // flex, and a backend this build lacks, which `check_built` refused above
        _ => Device::flex(),
    })
}

/// `envs` environments on `scenario`, reset from `seed`.
pub fn vector_env(scenario: &Scenario, envs: usize, seed: u64) -> Result<VectorEnv, TrainError> {
    let centre = Centre::new(scenario.clone(), &scenario.name)?;
    let mut vector = VectorEnv::new((0..envs).map(|_| centre.env()).collect());
    vector.reset(seed);
    Ok(vector)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(match_waits: bool) -> TrainConfig {
        TrainConfig { scenario: "small".into(), scale: 0.25, match_waits, ..TrainConfig::default() }
    }

    #[test]
    fn the_matched_centre_is_the_smallest_that_waits_no_longer_than_full_size() {
        // a quarter of small's 28 workers
        let plain = training_scenario(&config(false)).unwrap();
        assert_eq!(plain.scenario.workers.count, 7);
        assert!(plain.full_wait_min.is_none());

        let matched = training_scenario(&config(true)).unwrap();
        let (full, wait) = (matched.full_wait_min.unwrap(), matched.training_wait_min.unwrap());
        let workers = matched.scenario.workers.count;
        assert_eq!(matched.scaled_workers, 7);
        assert!(workers > 7, "a quarter of small waits longer than small itself");
        assert!(wait <= full, "{wait} > {full}");
        let mut fewer = matched.scenario.clone();
        fewer.workers.count = workers - 1;
        assert!(mean_wait(&fewer) > full, "{} workers would do", workers - 1);
        // arrivals, days and everything else are those of the plain replica
        assert_eq!(matched.scenario.arrivals, plain.scenario.arrivals);
        assert_eq!(matched.scenario.days, plain.scenario.days);
    }
}
