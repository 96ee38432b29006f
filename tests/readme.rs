//! The README's commands and samples, checked against the binary so that they cannot go stale:
//! every `handoff` command in a shell block parses (its flags exist and its values are valid),
//! and every sample output has the shape the binary prints today.

mod common;

use common::{handoff, stderr, stdout, temp_dir};

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// The code blocks of the README: (info string, body).
fn blocks(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        if let Some(info) = line.strip_prefix("```") {
            match current.take() {
                Some(block) => out.push(block),
                None => current = Some((info.trim().to_string(), String::new())),
            }
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    out
}

/// Splits a shell command line into words, honouring single and double quotes.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut in_word = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(word);
    }
    out
}

/// The README and every page in `docs/`.
fn documents() -> Vec<String> {
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let mut pages: Vec<_> = std::fs::read_dir(docs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    pages.sort();
    let mut texts = vec![readme()];
    texts.extend(pages.iter().map(|p| std::fs::read_to_string(p).unwrap()));
    texts
}

/// The arguments of every `handoff` command in the shell blocks of the README and the pages of
/// `docs/` (`handoff ARGS` or `cargo run --release -- ARGS`), comments removed and continued
/// lines joined.
fn documented_commands() -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    for (info, body) in documents().iter().flat_map(|text| blocks(text)) {
        if info != "sh" {
            continue;
        }
        let joined = body.replace("\\\n", " ");
        for line in joined.lines() {
            let line = line.split(" #").next().unwrap_or("").trim();
            let args = if let Some(rest) = line.strip_prefix("cargo run --release -- ") {
                rest
            } else if let Some(rest) = line.strip_prefix("handoff ") {
                rest
            } else if line == "cargo run --release" {
                ""
            } else {
                continue;
            };
            commands.push(words(args));
        }
    }
    commands
}

#[test]
fn the_readme_starts_short() {
    let lines = readme().lines().count();
    assert!(lines <= 300, "the README has {lines} lines: reference belongs in docs/");
}

#[test]
fn every_documented_command_parses() {
    let commands = documented_commands();
    assert!(commands.len() >= 10, "found only {commands:?}");
    for args in commands {
        // with --help at the end, clap checks every flag and value before it and then prints
        // the help instead of running: exit 0 means the command as documented is accepted
        let mut with_help: Vec<&str> = args.iter().map(String::as_str).collect();
        with_help.push("--help");
        let o = handoff(&with_help);
        assert_eq!(o.status.code(), Some(0), "README command {args:?}: {}", stderr(&o));
    }
}

/// The README and the pages of `docs/`, one after the other.
fn documentation() -> String {
    documents().join("\n")
}

/// The sample block of the README or a `docs/` page that follows the line containing `marker`.
fn sample_after(marker: &str) -> String {
    let text = documentation();
    let at = text.find(marker).unwrap_or_else(|| panic!("{marker} is not documented"));
    let rest = &text[at..];
    let start = rest.find("```\n").expect("a sample block follows") + 4;
    let end = rest[start..].find("```").unwrap() + start;
    rest[start..end].to_string()
}

#[test]
fn the_simulate_sample_has_the_shape_simulate_prints() {
    let sample = sample_after("`handoff simulate` prints:");
    let o = handoff(&["simulate", "--scenario", "small"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    // the same headers, rules, row labels and section lines: each line up to its first number
    let shape = |text: &str| -> Vec<String> {
        text.lines()
            .skip(1)
            .map(|l| {
                if !l.is_empty() && l.chars().all(|c| c == '-' || c == ' ') {
                    return "rule".to_string();
                }
                l.split_whitespace()
                    .take_while(|w| {
                        !w.starts_with(|c: char| c.is_ascii_digit() || "+-[".contains(c))
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    };
    assert_eq!(shape(&sample), shape(&out), "README sample:\n{sample}\nbinary:\n{out}");
}

#[test]
fn the_calibration_sample_lists_the_metrics_calibrate_reports() {
    let sample = sample_after("every target but the known gap passes, so the command");
    let o = handoff(&["calibrate", "--scenario", "small", "--seeds", "1", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = report["targets"].as_array().unwrap();
    let labels = |gap: bool| -> Vec<&str> {
        rows.iter()
            .filter(|r| r.get("known_gap").is_some() == gap)
            .map(|r| r["label"].as_str().unwrap())
            .collect()
    };
    let documented = |block: &str| -> Vec<String> {
        block
            .lines()
            .skip(2)
            .take_while(|l| !l.is_empty())
            .map(|l| l.split("  ").next().unwrap_or("").trim().to_string())
            .collect()
    };
    let (checked, gaps) = sample.split_once("known gaps:").expect("a known-gaps section");
    let checked = checked.lines().take_while(|l| !l.contains(" targets pass")).collect::<Vec<_>>();
    assert_eq!(documented(&checked.join("\n")), labels(false), "calibration table:\n{sample}");
    let gap_table = gaps.split_once('\n').map(|(_, rest)| rest).unwrap_or("");
    assert_eq!(documented(gap_table), labels(true), "known gaps:\n{sample}");
}

#[test]
fn the_evaluation_tables_have_the_columns_eval_prints() {
    let o = handoff(&[
        "eval",
        "--scenario",
        "small",
        "--seeds",
        "1",
        "--policy",
        "c-mu",
        "--baseline",
        "study-treatment",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let header = out.lines().find(|l| l.starts_with("| policy |")).unwrap();
    let text = documentation();
    let documented: Vec<&str> =
        text.lines().filter(|l| l.starts_with("| policy | return")).collect();
    assert!(documented.len() >= 3, "the README shows the baseline tables");
    for line in documented {
        let baseline = line.split("| minus ").nth(1).unwrap().split(" (95").next().unwrap();
        assert_eq!(line, header.replace("study-treatment", baseline), "README: {line}");
    }
}

#[test]
fn the_documentation_names_every_tensorboard_tag_a_run_logs() {
    let dir = temp_dir("tags");
    std::fs::write(
        dir.join("tiny.toml"),
        "algo = \"ppo\"\nscenario = \"small\"\nscale = 0.1\nenvs = 2\nhidden = 8\nsteps = 1024\neval_seeds = 1\n\
         [ppo]\nnum_steps = 64\nteacher_steps = 256\n",
    )
    .unwrap();
    let run = dir.join("run");
    let o = handoff(&[
        "train",
        "--config",
        dir.join("tiny.toml").to_str().unwrap(),
        "--run-dir",
        run.to_str().unwrap(),
        "--test-seeds",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = documentation();
    let scalars = std::fs::read_to_string(run.join("scalars.csv")).unwrap();
    let mut tags: Vec<&str> = scalars.lines().skip(1).filter_map(|l| l.split(',').nth(1)).collect();
    tags.sort();
    tags.dedup();
    assert!(tags.len() > 10, "{tags:?}");
    for tag in tags {
        assert!(text.contains(&format!("`{tag}`")), "the README does not name {tag}");
    }
}

#[test]
fn the_documentation_lists_every_policy_and_scenario() {
    let text = documentation();
    for name in handoff::agents::policy_names() {
        assert!(text.contains(&format!("| `{name}` |")), "policy {name} is not in the README");
    }
    for (name, _) in handoff::env::scenario::BUILTIN {
        assert!(text.contains(&format!("| `{name}`")), "scenario {name} is not in the README");
    }
}
