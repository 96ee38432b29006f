//! From a configuration to the objects a run needs: the scenario, the device, the environments.

use burn::prelude::Device;
use handoff_agents::make_env;
use handoff_env::scenario::DecisionKind;
use handoff_env::{Scenario, vector::VectorEnv};

use crate::config::TrainConfig;

/// The training scenario: the named scenario with the run's days, scale and control.
pub fn training_scenario(config: &TrainConfig) -> Result<Scenario, String> {
    let mut s = Scenario::load(&config.scenario).map_err(|e| e.to_string())?.scaled(config.scale);
    if config.days > 0 {
        s.days = config.days;
    }
    if !config.control.is_empty() {
        s.env.control = config
            .control
            .iter()
            .map(|k| match k.as_str() {
                "route" => Ok(DecisionKind::Route),
                "attend" => Ok(DecisionKind::Attend),
                other => {
                    Err(format!("control: \"{other}\" is not a decision kind (route, attend)"))
                }
            })
            .collect::<Result<_, _>>()?;
    }
    s.validate("the training configuration").map_err(|e| e.to_string())?;
    Ok(s)
}

/// The compute device called `name`: `flex` (pure-Rust CPU, always built), or `wgpu` / `cuda`
/// when the binary was built with the cargo feature of the same name.
pub fn device(name: &str) -> Result<Device, String> {
    match name {
        "flex" | "cpu" => Ok(Device::flex()),
        #[cfg(feature = "wgpu")]
        "wgpu" => Ok(Device::wgpu(Default::default())),
        #[cfg(feature = "cuda")]
        "cuda" => Ok(Device::cuda(0)),
        other => Err(format!(
            "device \"{other}\" is not available in this build (built in: flex; rebuild with \
             --features wgpu or --features cuda for a GPU)"
        )),
    }
}

/// `envs` environments on `scenario`, reset from `seed`.
pub fn vector_env(scenario: &Scenario, envs: usize, seed: u64) -> VectorEnv {
    let mut vector = VectorEnv::new((0..envs).map(|_| make_env(scenario.clone())).collect());
    vector.reset(seed);
    vector
}
