//! The model version goes up whenever the simulator's outputs change.
//!
//! A digest of a short run (both study arms on `small`, every chat's record; then the
//! environment with the agent making every kind of decision, every observation and reward) is
//! pinned per [`MODEL_VERSION`]. A change that moves any of those bits fails here until the
//! version is bumped in `env/src/version.rs` and its digest added below, with a line in
//! `docs/versions.md` and `CHANGELOG.md` saying what changed.

use std::fmt::Write;

use handoff::agents::{by_name, make_env, run_builtin};
use handoff::env::digest;
use handoff::env::{ChatRecord, DecisionKind, MODEL_VERSION, Scenario, Timeline};

/// (model version, digest of [`behaviour`]) for every version since the stamps began.
const DIGESTS: &[(u32, &str)] = &[
    (0, "c73f18a38fe99dea"),
    (1, "fb04a32b3334f349"),
    (2, "e59c9a0b29da4e89"),
    (3, "f1222e833e2725ac"),
    (4, "95450d4bd17d0c99"),
];

/// The outputs whose bits define a model version, as text.
fn behaviour() -> String {
    let mut scenario = Scenario::builtin("small").unwrap();
    let mut text = String::new();
    for policy in ["study-control", "study-treatment"] {
        run_builtin(&scenario, 11, policy, |chat| {
            // `first_wait_s` joined the record after version 0 without changing a draw: it is
            // the first of the waits `wait_s` sums (checked below), so the text the version's
            // digest pins leaves it out
            // likewise `timeline` (when the chat changed hands) records times the record had
            // already, without a draw: left out
            let untimed = ChatRecord { timeline: Timeline::default(), ..*chat };
            let record = format!("{untimed:?}");
            let first_wait = format!("first_wait_s: {:?}, ", chat.first_wait_s);
            let timeline = format!(", timeline: {:?}", Timeline::default());
            assert!(chat.first_wait_s <= chat.wait_s + 1e-9, "{record}");
            let record = record.replacen(&first_wait, "", 1).replacen(&timeline, "", 1);
            writeln!(text, "{policy} {record}").unwrap();
        })
        .unwrap();
    }
    scenario.env.control = DecisionKind::ALL.to_vec();
    let mut env = make_env(scenario.clone()).unwrap();
    let mut agent = by_name("c-mu", &scenario).unwrap();
    let mut features = vec![0.0f32; env.observation_len()];
    env.reset(12);
    agent.reset(12);
    while !env.is_over() {
        env.observation().encode(&mut features);
        let bits: Vec<u32> = features.iter().map(|x| x.to_bits()).collect();
        let action = agent.act(env.observation());
        let step = env.step(action).unwrap();
        writeln!(text, "{bits:?} {action} {:?}", step.reward.to_bits()).unwrap();
    }
    text
}

#[test]
fn the_model_version_is_bumped_whenever_outputs_change() {
    let found = digest(behaviour().as_bytes());
    let pinned = DIGESTS.iter().find(|(version, _)| *version == MODEL_VERSION);
    match pinned {
        Some((_, pinned)) => assert_eq!(
            found,
            *pinned,
            "the simulator's outputs changed on model version {MODEL_VERSION}: bump \
             MODEL_VERSION in env/src/version.rs, add ({}, \"{found}\") to DIGESTS, and say what \
             changed in docs/versions.md and CHANGELOG.md",
            MODEL_VERSION + 1
        ),
        None => panic!(
            "model version {MODEL_VERSION} has no pinned digest: add ({MODEL_VERSION}, \
             \"{found}\") to DIGESTS"
        ),
    }
}

#[test]
fn every_version_pins_a_different_behaviour() {
    for (i, (version, digest)) in DIGESTS.iter().enumerate() {
        assert!(
            DIGESTS[..i].iter().all(|(v, d)| v < version && d != digest),
            "versions go up and each changes the outputs ({version})"
        );
    }
}
