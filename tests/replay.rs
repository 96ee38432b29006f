//! `handoff replay` and `handoff explain` from the command line: the page holds every chat of the
//! day and loads in a real browser without a script error; bad input writes nothing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{handoff, json, stderr, stdout, temp_dir};

/// The two policies of the tests: the same rule with an earlier takeover trigger, so that some
/// chats are handled differently.
const POLICIES: [&str; 2] = ["c-mu", "c-mu@takeover_frustration=0.3"];

/// A headless browser from the distribution's packages, if one is installed. With
/// `HANDOFF_REQUIRE_BROWSER` set (CI sets it, after installing Chromium) a missing browser fails
/// the test instead of skipping its browser part.
fn browser() -> Option<&'static str> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()));
    if found.is_none() {
        assert!(
            std::env::var_os("HANDOFF_REQUIRE_BROWSER").is_none(),
            "HANDOFF_REQUIRE_BROWSER is set and no Chromium is installed"
        );
        eprintln!("no Chromium installed: the page's browser check is skipped");
    }
    found
}

/// The page as the browser has it once its script ran (`--dump-dom`), opened at `fragment`.
fn rendered(browser: &str, page: &Path, fragment: &str) -> String {
    let profile = page.with_extension("profile");
    let out = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}{fragment}", page.display()))
        .output()
        .expect("the browser runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The text of the element that starts at `start` (up to its closing tag `end`).
fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).unwrap_or_else(|| panic!("no {start}")) + start.len();
    let len = text[from..].find(end).unwrap_or_else(|| panic!("no {end} after {start}"));
    &text[from..from + len]
}

/// Replays a day of `small` with `policies` into a page in `dir`: the page's path, what the
/// command printed and the page.
fn replay_small(dir: &Path, policies: &[&str]) -> (PathBuf, String, String) {
    let page = dir.join("day.html");
    let mut args = vec!["replay", "--scenario", "small"];
    for policy in policies {
        args.extend_from_slice(&["--policy", policy]);
    }
    args.extend_from_slice(&["--out", page.to_str().unwrap()]);
    let out = handoff(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    (page, stdout(&out), html)
}

#[test]
fn a_replay_page_holds_every_chat_and_loads_in_a_browser_without_errors() {
    let (page, printed, html) = replay_small(&temp_dir("replay"), &POLICIES);
    // the chats of the day, as `simulate --csv` rows, one per chat of each policy
    let chats: Vec<usize> = (0..2)
        .map(|p| {
            let rows = between(&html, &format!("id=\"rows{p}\">"), "</textarea>");
            assert!(rows.starts_with("chat_id,arm,"), "{}", &rows[..40]);
            rows.lines().count() - 1
        })
        .collect();
    assert!(chats[0] > 1000, "{chats:?}");
    assert!(printed.contains(&format!("{} chats per policy", chats[0])), "{printed}");
    // every chat has exactly one anchored bar in its policy's lanes
    for (p, letter) in ["A", "B"].into_iter().enumerate() {
        let anchors = html.matches(&format!("<rect id=\"{letter}")).count();
        assert_eq!(anchors, chats[p], "policy {p}");
    }
    assert!(html.matches("class=\"lane\"").count() >= 2 * 20, "a lane per worker who held a chat");
    // self-contained: no script, style, font or image from elsewhere
    for outside in ["src=", "href=\"http", "@import", "url("] {
        assert!(!html.contains(outside), "the page loads {outside}");
    }
    let twins = between(&html, "<table id=\"twins\">", "</table>");
    let first = between(twins, "<tr data-c=\"", "\"");
    assert!(twins.matches("<tr data-c=").count() > 5, "{twins}");

    let Some(browser) = browser() else { return };
    let dom = rendered(browser, &page, &format!("#chat={first}"));
    assert!(dom.contains("data-ready=\"1\""), "the script did not finish");
    assert!(
        !dom.contains("data-error="),
        "a script error: {}",
        between(&dom, "data-error=\"", "\"")
    );
    // the linked chat's record and its twin's are shown, and both bars are selected
    let detail = between(&dom, &format!("id=\"detail\" data-chat=\"{first}\">"), "</div>");
    assert!(
        detail.contains(&format!("chat_id = {first}")) && detail.contains("twin: "),
        "{detail}"
    );
    for letter in ["A", "B"] {
        assert!(dom.contains(&format!("id=\"{letter}{first}\"")), "no bar {letter}{first}");
    }
    assert!(dom.matches(" sel\"").count() == 2, "both twins' bars are selected");
    let charts = dom.matches("class=\"curve\"").count();
    assert!(charts >= 2 * 5, "the queue, waiting, abandonment, staff and AI curves: {charts}");
}

#[test]
fn replay_refuses_bad_input_in_one_line_and_writes_nothing() {
    let dir = temp_dir("replay-bad");
    let page = dir.join("day.html");
    let page = page.to_str().unwrap();
    let missing = dir.join("no-such-folder").join("day.html");
    let cases: [(&[&str], &str); 5] = [
        (&["--policy", "c-mu", "--out", missing.to_str().unwrap()], "does not exist"),
        (&["--policy", "c-mu", "--days", "2", "--day", "3", "--out", page], "--day 3 is past"),
        (&["--policy", "oracle", "--out", page], "oracle"),
        (&["--policy", "no-such.toml", "--out", page], "no-such.toml"),
        (&["--policy", "c-mu", "--policy", "c-mu", "--out", page], "given twice"),
    ];
    for (args, says) in cases {
        let mut all = vec!["replay", "--scenario", "small"];
        all.extend_from_slice(args);
        let out = handoff(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let message = stderr(&out);
        assert_eq!(message.trim_end().lines().count(), 1, "{args:?}: {message}");
        assert!(message.contains(says), "{args:?}: {message}");
        assert!(!Path::new(page).exists() && !missing.exists(), "{args:?} wrote a page");
    }
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn explain_prints_the_levers_and_the_reward_parts_and_refuses_unknown_policies() {
    let args = ["explain", POLICIES[0], POLICIES[1], "--scenario", "small", "--days", "1"];
    let out = handoff(&[&args[..], &["--seeds", "3", "--json"]].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    let e = json(&out);
    let overall = |lever: &str| {
        e["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["lever"] == lever && r["situation"].is_null())
            .map(|r| r["differ"]["mean"].as_f64().unwrap())
    };
    assert!(overall("takeover").unwrap() > 0.0, "{e}");
    assert_eq!(overall("route"), Some(0.0), "the takeover trigger does not route");
    let names: Vec<&str> =
        e["reward"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["return", "satisfaction", "duration", "retrial", "abandonment"]);
    let text = stdout(&handoff(&[&args[..], &["--seeds", "2"]].concat()));
    for words in ["takeover", "load: < 50 % of slots", "frustration: >= 0.5", "takeovers per day"] {
        assert!(text.contains(words), "{words}: {text}");
    }
    let out = handoff(&["explain", "c-mu", "oracle", "--scenario", "small"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("oracle"), "{}", stderr(&out));
}

#[test]
fn two_policies_that_decide_alike_have_no_twin_to_list() {
    // quickest_first = 0 is c-mu's default: the same policy under another name
    let (_, _, html) = replay_small(&temp_dir("replay-alike"), &["c-mu", "c-mu@quickest_first=0"]);
    assert!(html.contains("None: every twin earned the same reward"), "a list of zero differences");
    assert!(!html.contains("<tr data-c="));
}

#[test]
fn a_policy_named_with_markup_shows_as_written() {
    let dir = temp_dir("replay-markup");
    let policy = dir.join("tuned&mine.toml");
    std::fs::write(&policy, "policy = \"c-mu\"\n").unwrap();
    let (page, _, html) = replay_small(&dir, &[policy.to_str().unwrap()]);
    let rows = between(&html, "id=\"rows0\">", "</textarea>");
    let first = rows.lines().nth(1).expect("a chat").split(',').next().unwrap().to_string();
    let Some(browser) = browser() else { return };
    let dom = rendered(browser, &page, &format!("#chat={first}"));
    let detail = between(&dom, &format!("data-chat=\"{first}\">"), "</div>");
    // the browser's serialisation escapes the text once: escaped twice, it was shown wrong
    let name = policy.to_str().unwrap().replace('&', "&amp;");
    assert!(detail.contains(&format!("arm = {name}")), "{detail}");
    assert!(!detail.contains("&amp;amp;"), "{detail}");
}
