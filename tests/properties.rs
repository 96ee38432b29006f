//! Property tests on generated input (proptest): scenario files built from the schema and
//! damaged byte by byte, random action sequences on the environment, random `--assert` text.
//! A default run fits CI; `PROPTEST_CASES=N cargo test --release --test properties` runs N cases
//! of each, and `cargo test --release --test properties -- --ignored` the million-case run of the
//! cheap properties (the README's 'Reliability' section has the counts of the last one).

use handoff::agents::{RandomPolicy, make_env};
use handoff::env::{Policy, Scenario, ScenarioError, Simulator};
use handoff::eval::Assertion;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// The shipped scenario texts.
fn shipped() -> Vec<&'static str> {
    handoff::env::scenario::BUILTIN.iter().map(|(_, text)| *text).collect()
}

/// A TOML value of any type, some of them absurd for any field.
fn any_value() -> impl Strategy<Value = toml::Value> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(toml::Value::Integer),
        prop_oneof![
            any::<f64>(),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(-1.0),
            Just(0.0),
            Just(1e300),
            0.0..10.0f64
        ]
        .prop_map(toml::Value::Float),
        any::<bool>().prop_map(toml::Value::Boolean),
        "[a-z_ ]{0,12}".prop_map(toml::Value::String),
    ];
    leaf.prop_recursive(2, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..30).prop_map(toml::Value::Array),
            prop::collection::btree_map("[a-z_]{1,10}", inner, 0..4)
                .prop_map(|m| toml::Value::Table(m.into_iter().collect())),
        ]
    })
}

/// A scenario document built from the schema: the `small` scenario's sections and fields (every
/// one written out, no `base`), a few of them dropped (the default scenario's value then stands)
/// or replaced by a random value of any type, and sometimes unknown fields.
fn schema_document() -> impl Strategy<Value = String> {
    let small = Scenario::builtin("small").expect("built-in");
    let schema = toml::Value::try_from(small).expect("scenarios serialise");
    let fields: Vec<(String, Option<String>)> = schema
        .as_table()
        .unwrap()
        .iter()
        .flat_map(|(section, value)| match value.as_table() {
            Some(t) => t.keys().map(|k| (section.clone(), Some(k.clone()))).collect::<Vec<_>>(),
            None => vec![(section.clone(), None)],
        })
        .collect();
    (
        prop::collection::vec((any::<prop::sample::Index>(), any::<bool>(), any_value()), 0..4),
        prop::collection::vec(("[a-z_]{1,8}", any_value()), 0..2),
    )
        .prop_map(move |(edits, extra)| {
            let mut doc = schema.clone();
            let table = doc.as_table_mut().unwrap();
            for (at, drop, value) in edits {
                let (section, field) = &fields[at.index(fields.len())];
                let slot = match field {
                    Some(f) => {
                        table.get_mut(section).and_then(|s| s.as_table_mut()).map(|s| (s, f))
                    }
                    None => Some((&mut *table, section)),
                };
                let Some((parent, key)) = slot else { continue };
                if drop {
                    parent.remove(key);
                } else {
                    parent.insert(key.clone(), value);
                }
            }
            for (key, value) in extra {
                table.insert(key, value);
            }
            toml::to_string(&doc).unwrap_or_default()
        })
}

/// A shipped scenario damaged at the byte level: bytes replaced, inserted or removed.
fn damaged_file() -> impl Strategy<Value = String> {
    let files = shipped();
    (
        0..files.len(),
        prop::collection::vec((any::<prop::sample::Index>(), 0..3u8, any::<u8>()), 1..6),
    )
        .prop_map(move |(f, edits)| {
            let mut bytes = files[f].as_bytes().to_vec();
            for (at, kind, byte) in edits {
                if bytes.is_empty() {
                    break;
                }
                let i = at.index(bytes.len());
                match kind {
                    0 => bytes[i] = byte,
                    1 => bytes.insert(i, byte),
                    _ => {
                        bytes.remove(i);
                    }
                }
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
}

/// Loaded documents, for the long run's report (how many cases reached the simulator).
static LOADED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The loader's property: a scenario, or an error naming the file (and, for a value out of
/// range, the field). Never a panic. A loaded scenario written back as TOML (as `calibrate --fit`
/// and Python's `scenario_toml()` write it) loads to the same values.
fn loads_or_names_the_problem(text: &str) -> Result<Option<Scenario>, TestCaseError> {
    match Scenario::from_toml("generated.toml", text) {
        Ok(scenario) => {
            let written = toml::to_string(&scenario).expect("scenarios serialise");
            let reloaded = Scenario::from_toml("written.toml", &written);
            prop_assert!(reloaded.as_ref() == Ok(&scenario), "{written}\n{reloaded:?}");
            LOADED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(Some(scenario))
        }
        Err(e) => {
            let message = e.to_string();
            prop_assert!(message.starts_with("generated.toml: "), "{message}");
            prop_assert!(!message.contains('\n'), "one line: {message}");
            if let ScenarioError::Invalid { field, .. } = &e {
                prop_assert!(!field.is_empty() && message.contains(field.as_str()));
            }
            Ok(None)
        }
    }
}

/// A loaded scenario runs: a few simulated hours (or a bounded number of decisions, for the
/// absurdly busy ones the ranges allow) with the invariants holding, so loading never yields
/// a scenario that hangs or breaks the simulator.
fn runs_a_few_hours(scenario: Scenario) -> Result<(), TestCaseError> {
    let mut sim = Simulator::new(scenario);
    let mut policy = RandomPolicy::default();
    sim.reset(1);
    policy.reset(1);
    let mut decisions = 0;
    while sim.now() < 3.0 * 3600.0 && decisions < 5_000 && sim.advance() {
        let action = policy.act(sim.observation());
        sim.apply(action).map_err(|e| TestCaseError::fail(e.to_string()))?;
        decisions += 1;
    }
    sim.check_invariants().map_err(TestCaseError::fail)?;
    Ok(())
}

proptest! {
    #![proptest_config(Config { cases: 200, ..Config::default() })]

    #[test]
    fn a_scenario_built_from_the_schema_loads_and_runs_or_names_its_problem(doc in schema_document()) {
        if let Some(scenario) = loads_or_names_the_problem(&doc)? {
            runs_a_few_hours(scenario)?;
        }
    }

    #[test]
    fn a_damaged_scenario_file_loads_and_runs_or_names_its_problem(text in damaged_file()) {
        if let Some(scenario) = loads_or_names_the_problem(&text)? {
            runs_a_few_hours(scenario)?;
        }
    }

    #[test]
    fn an_assertion_parses_or_says_why_in_one_line(text in "[a-z_.\\- <>=!0-9]{0,40}") {
        if let Err(e) = Assertion::parse(&text) {
            prop_assert!(!e.to_string().contains('\n'));
        }
    }
}

/// A quick scenario for action sequences: small, with a random size and load.
fn quick_scenario() -> impl Strategy<Value = Scenario> {
    (1..6u32, 50.0..400.0f64, 0.0..1.0f64).prop_map(|(workers, chats, eligible)| {
        let mut s = Scenario::builtin("small").unwrap();
        s.workers.count = workers;
        s.arrivals.chats_per_day = chats;
        s.arrivals.eligible_share = eligible;
        s
    })
}

proptest! {
    #![proptest_config(Config { cases: 24, ..Config::default() })]

    /// A valid action steps; an invalid one is refused and changes nothing: the environment that
    /// saw it and a twin that never did observe and earn the same to the end of the episode.
    #[test]
    fn invalid_actions_change_nothing(
        scenario in quick_scenario(),
        seed in any::<u64>(),
        picks in prop::collection::vec((any::<prop::sample::Index>(), any::<bool>()), 1..400),
    ) {
        let mut env = make_env(scenario.clone()).unwrap();
        let mut twin = make_env(scenario).unwrap();
        env.reset(seed);
        twin.reset(seed);
        let n = env.action_mask().len();
        let (mut earned, mut twin_earned) = (0.0, 0.0);
        for (pick, try_invalid) in picks {
            if env.is_over() {
                break;
            }
            if try_invalid {
                let invalid = (0..n + 3).filter(|&a| a >= n || !env.action_mask()[a]).collect::<Vec<_>>();
                let bad = invalid[pick.index(invalid.len())];
                prop_assert!(env.step(bad).is_err());
                prop_assert_eq!(env.observation(), twin.observation());
            }
            let valid: Vec<usize> = env.observation().valid_actions().collect();
            let a = valid[pick.index(valid.len())];
            earned += env.step(a).unwrap().reward;
            twin_earned += twin.step(a).unwrap().reward;
            prop_assert_eq!(env.observation(), twin.observation());
        }
        prop_assert_eq!(earned, twin_earned);
    }
}

/// The long run: a million cases of each cheap property (the loader on generated and damaged
/// documents, the assertion parser). `cargo test --release --test properties -- --ignored`.
#[test]
#[ignore]
fn a_million_cases_of_the_cheap_properties() {
    let cases =
        std::env::var("HANDOFF_LONG_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new(config.clone());
    runner.run(&schema_document(), |doc| loads_or_names_the_problem(&doc).map(|_| ())).unwrap();
    let mut runner = TestRunner::new(config.clone());
    runner.run(&damaged_file(), |text| loads_or_names_the_problem(&text).map(|_| ())).unwrap();
    let mut runner = TestRunner::new(config);
    runner
        .run(&"[a-z_.\\- <>=!0-9]{0,40}", |text| {
            if let Err(e) = Assertion::parse(&text) {
                prop_assert!(!e.to_string().contains('\n'));
            }
            Ok(())
        })
        .unwrap();
    let loaded = LOADED.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("{cases} cases of each of 3 properties passed ({loaded} scenario documents loaded)");
}
