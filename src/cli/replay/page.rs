//! The replay page: one HTML file with inline CSS, SVG and a little JavaScript (no network, no
//! external scripts or fonts).
//!
//! Above, the centre over the day: arrivals, queue, waiting customers, abandonments, workers on
//! duty and the AI's chats. Below, for each policy, one lane per worker who held a chat, a lane
//! of the AI's chats and a lane of the chats that never left the queue; each chat is a bar
//! (overlapping chats of a worker stack in the lane's rows), coloured by how it reached its
//! holder. Clicking a bar shows the chat's row of `simulate --csv`; with two policies a list of
//! the twins whose reward differs most links both bars.

use std::collections::HashMap;
use std::fmt::Write;

use handoff_env::scenario::{DAY_S, HOUR_S};
use handoff_env::{CHAT_CSV_HEADER, ChatRecord, Ending, Escalation, write_chat_csv_row};
use handoff_eval::day::Sample;

use super::Shown;
use crate::cli::format::escape_markup as escape;

/// Width of the day at zoom 1, pixels.
const WIDTH: f64 = 1440.0;
/// Height of one row of a lane, pixels (a bar is one pixel less).
const ROW: usize = 4;
/// Height of each chart of the centre's state, pixels.
const CHART: f64 = 64.0;
/// Width of a chart's bin for counts (arrivals, abandonments), seconds.
const BIN_S: f64 = 600.0;
/// Twins listed with two policies.
const TWINS_LISTED: usize = 40;
/// Colours of the first and the second policy's curves.
const POLICY_COLOURS: [&str; 2] = ["#1f6fd1", "#d6452b"];

/// What the page says about the run.
pub struct View<'a> {
    /// The scenario as the user named it.
    pub scenario: &'a str,
    /// The episode's seed.
    pub seed: u64,
    /// The day shown, from 1.
    pub day: u32,
    /// Days in the episode.
    pub days: u32,
    /// Start of the day shown, seconds.
    pub start_s: f64,
    /// The concurrency cap (rows of a worker's lane).
    pub cap: u32,
    /// Workers in the centre.
    pub workers: u32,
    /// Seconds between two samples of the centre.
    pub sample_every_s: f64,
}

impl View<'_> {
    /// The x of time `t`, clamped to the day.
    fn x(&self, t: f64) -> f64 {
        ((t - self.start_s) / DAY_S * WIDTH).clamp(0.0, WIDTH)
    }

    /// Whether a chat arrived on the day shown.
    fn on_day(&self, r: &ChatRecord) -> bool {
        r.arrival_s >= self.start_s && r.arrival_s < self.start_s + DAY_S
    }
}

/// How a bar is drawn: its CSS class.
#[derive(Clone, Copy)]
enum Look {
    /// A chat a worker took from the start.
    Direct,
    /// A chat escalated for a technical reason, or the AI's part of one.
    Technical,
    /// An emotional escalation.
    Emotional,
    /// A takeover.
    TakenOver,
    /// The AI's part of a chat it ended alone.
    AiAlone,
    /// A wait in the queue.
    Queue,
}

impl Look {
    fn class(self) -> &'static str {
        match self {
            Look::Direct => "d",
            Look::Technical => "t",
            Look::Emotional => "e",
            Look::TakenOver => "h",
            Look::AiAlone => "a",
            Look::Queue => "q",
        }
    }

    /// The look of a chat's part with the worker (or AI) by how it left the AI.
    fn of(escalation: Option<Escalation>, ai_involved: bool) -> Self {
        match escalation {
            Some(Escalation::Technical) => Look::Technical,
            Some(Escalation::Emotional) => Look::Emotional,
            Some(Escalation::Human) => Look::TakenOver,
            None if ai_involved => Look::AiAlone,
            None => Look::Direct,
        }
    }
}

/// One bar: a span of a chat's life in a lane.
struct Bar {
    from_s: f64,
    to_s: f64,
    look: Look,
    /// Index of the chat among the policy's chats of the day.
    chat: usize,
    /// Whether this bar carries the chat's anchor (the bar a link goes to).
    anchor: bool,
    /// Whether the chat ended unresolved.
    unresolved: bool,
    /// Whether it is the AI's part of the chat.
    ai: bool,
}

/// A lane: a label and its bars, stacked into rows where they overlap.
struct Lane {
    key: String,
    label: String,
    bars: Vec<Bar>,
}

impl Lane {
    /// The bars packed into rows (the first row free at a bar's start), with the row count.
    fn pack(&mut self) -> (Vec<usize>, usize) {
        self.bars.sort_by(|a, b| a.from_s.total_cmp(&b.from_s));
        let mut ends: Vec<f64> = Vec::new();
        let rows = self
            .bars
            .iter()
            .map(|b| match ends.iter().position(|&e| e <= b.from_s) {
                Some(i) => {
                    ends[i] = b.to_s;
                    i
                }
                None => {
                    ends.push(b.to_s);
                    ends.len() - 1
                }
            })
            .collect();
        (rows, ends.len().max(1))
    }
}

/// The lanes of one policy's day: every worker who held a chat, the AI, the queue.
fn lanes(chats: &[&ChatRecord]) -> Vec<Lane> {
    let mut workers: HashMap<u32, Lane> = HashMap::new();
    let lane = |key: &str, label: &str| Lane { key: key.into(), label: label.into(), bars: vec![] };
    let (mut ai, mut queue) = (lane("ai", "AI"), lane("queue", "queue"));
    for (i, r) in chats.iter().enumerate() {
        let t = r.timeline;
        let end = r.arrival_s + r.duration_s;
        let look = Look::of(r.escalation, r.ai_involved);
        let bar = |from_s, to_s, look, anchor, ai| Bar {
            from_s,
            to_s,
            look,
            chat: i,
            anchor,
            unresolved: r.ending != Ending::Resolved,
            ai,
        };
        if let Some(from) = t.ai_from_s {
            let to = t.escalated_s.unwrap_or(end);
            let alone = t.escalated_s.is_none();
            ai.bars.push(bar(from, to, look, alone, true));
        }
        if let (Some(w), Some(from)) = (t.holder, t.held_from_s) {
            let lane =
                workers.entry(w).or_insert_with(|| lane(&format!("w{w}"), &format!("worker {w}")));
            lane.bars.push(bar(from, end, look, true, false));
        }
        if let Some(q) = t.queued_from_s(r.arrival_s) {
            // the wait in the queue, to a worker's taking the chat or the customer's leaving
            let held = t.held_from_s;
            queue.bars.push(bar(q, held.unwrap_or(end), Look::Queue, held.is_none(), false));
        }
    }
    let mut ids: Vec<u32> = workers.keys().copied().collect();
    ids.sort_unstable();
    let mut out = vec![ai];
    out.extend(ids.into_iter().map(|w| workers.remove(&w).expect("listed")));
    out.push(queue);
    out
}

/// The HTML of one lane.
fn lane_html(view: &View, letter: char, chats: &[&ChatRecord], lane: &mut Lane, out: &mut String) {
    let (rows, n) = lane.pack();
    let height = n * ROW + 2;
    // every lane has one bar per chat in it
    let _ = write!(
        out,
        "<div class=\"lane\" data-k=\"{}\"><div class=\"lab\">{} <small>{}</small></div>\
         <svg viewBox=\"0 0 {WIDTH} {height}\" height=\"{height}\" preserveAspectRatio=\"none\">",
        lane.key,
        lane.label,
        lane.bars.len()
    );
    for (bar, row) in lane.bars.iter().zip(rows) {
        let (x0, x1) = (view.x(bar.from_s), view.x(bar.to_s));
        let y = 1 + row * ROW;
        let mut class = bar.look.class().to_string();
        if bar.ai {
            class.push_str(" ai");
        }
        if bar.anchor && bar.unresolved {
            class.push_str(" x");
        }
        let id = if bar.anchor {
            format!(" id=\"{letter}{}\"", chats[bar.chat].chat_id)
        } else {
            String::new()
        };
        let h = ROW - 1;
        let _ = write!(
            out,
            "<rect{id} x=\"{x0:.1}\" y=\"{y}\" width=\"{:.2}\" height=\"{h}\" class=\"{class}\" data-i=\"{}\"/>",
            (x1 - x0).max(0.4),
            bar.chat
        );
    }
    out.push_str("</svg></div>\n");
}

/// A chart of one quantity per policy over the day: `series[p]` is policy p's (time, value)
/// points; `bars` draws the first policy's as bars of [`BIN_S`] (counts), else lines.
fn chart(view: &View, title: &str, series: &[Vec<(f64, f64)>], bars: bool, out: &mut String) {
    let max = series.iter().flatten().map(|p| p.1).fold(0.0, f64::max).max(1.0);
    let y = |v: f64| CHART - 2.0 - v / max * (CHART - 6.0);
    let _ = write!(
        out,
        "<div class=\"chart\"><div class=\"lab\">{title}<br><small>max {max:.0}</small></div>\
         <svg viewBox=\"0 0 {WIDTH} {CHART}\" height=\"{CHART}\" preserveAspectRatio=\"none\">"
    );
    for (p, points) in series.iter().enumerate() {
        if bars && p == 0 {
            let w = BIN_S / DAY_S * WIDTH;
            for &(t, v) in points {
                let _ = write!(
                    out,
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.2}\" height=\"{:.1}\" class=\"bin\"/>",
                    view.x(t),
                    y(v),
                    w * 0.9,
                    CHART - 2.0 - y(v)
                );
            }
            continue;
        }
        let mut path = String::new();
        for &(t, v) in points {
            let _ = write!(path, "{:.1},{:.1} ", view.x(t), y(v));
        }
        let _ = write!(
            out,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" class=\"curve\"/>",
            path.trim_end(),
            POLICY_COLOURS[p]
        );
    }
    out.push_str("</svg></div>\n");
}

/// Counts per [`BIN_S`] bin of the day of the times `times`, as chart points at bin starts.
fn binned(view: &View, times: impl Iterator<Item = f64>) -> Vec<(f64, f64)> {
    let bins = (DAY_S / BIN_S) as usize;
    let mut counts = vec![0.0; bins];
    for t in times {
        let i = ((t - view.start_s) / BIN_S).floor();
        if i >= 0.0 && (i as usize) < bins {
            counts[i as usize] += 1.0;
        }
    }
    counts.into_iter().enumerate().map(|(i, c)| (view.start_s + i as f64 * BIN_S, c)).collect()
}

/// The samples of the day as (time, value) points.
fn sampled(view: &View, samples: &[Sample], value: impl Fn(&Sample) -> u32) -> Vec<(f64, f64)> {
    samples
        .iter()
        .filter(|s| s.time_s >= view.start_s && s.time_s < view.start_s + DAY_S)
        .map(|s| (s.time_s, f64::from(value(s))))
        .collect()
}

/// The hours of the day along the time axis.
fn axis(view: &View, out: &mut String) {
    let _ = write!(
        out,
        "<div class=\"chart\"><div class=\"lab\">day {}</div><svg viewBox=\"0 0 {WIDTH} 16\" \
         height=\"16\" preserveAspectRatio=\"none\">",
        view.day
    );
    for h in 0..24 {
        let x = view.x(view.start_s + f64::from(h) * HOUR_S);
        let _ = write!(
            out,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"10\" y2=\"16\" class=\"tick\"/>\
             <text x=\"{:.1}\" y=\"9\" class=\"hour\">{h:02}:00</text>",
            x + 2.0
        );
    }
    out.push_str("</svg></div>\n");
}

/// A short description of a chat's handling, for the twins' list.
fn handling(r: &ChatRecord) -> String {
    let who = match (r.timeline.holder, r.ai_involved) {
        (Some(w), true) => format!("AI, then worker {w}"),
        (Some(w), false) => format!("worker {w}"),
        (None, true) => "AI".to_string(),
        (None, false) => "queue".to_string(),
    };
    let how = r.escalation.map(|e| format!(", {}", e.label())).unwrap_or_default();
    format!("{who}{how}, {}, {:.1} min", r.ending.label(), r.duration_s / 60.0)
}

/// The page, and the number of chats of the day of the first policy.
pub fn render(view: &View, shown: &[Shown]) -> (String, usize) {
    let chats: Vec<Vec<&ChatRecord>> =
        shown.iter().map(|s| s.day.records.iter().filter(|r| view.on_day(r)).collect()).collect();
    let names: Vec<String> = shown.iter().map(|s| escape(&s.name)).collect();
    let mut body = String::new();
    let returns: Vec<String> = chats
        .iter()
        .zip(&names)
        .enumerate()
        .map(|(p, (c, name))| {
            let total: f64 = c.iter().map(|r| r.reward).sum();
            format!(
                "<span style=\"color:{}\">&#9632;</span> <b>{name}</b>: {} chats, return {total:.1}",
                POLICY_COLOURS[p],
                c.len()
            )
        })
        .collect();
    let _ = writeln!(
        body,
        "<h1>handoff replay: {} day {} of {}, seed {}</h1><p>{}. {} workers, at most {} chats \
         each. Queue, waiting customers, workers on duty and AI chats are sampled at the first \
         decision of every {:.0} s; arrivals and abandonments are counted per 10 minutes.</p>",
        escape(view.scenario),
        view.day,
        view.days,
        view.seed,
        returns.join("; "),
        view.workers,
        view.cap,
        view.sample_every_s
    );
    body.push_str(LEGEND);
    body.push_str("<div id=\"scroll\"><div id=\"centre\">\n");
    axis(view, &mut body);
    let arrivals = binned(view, chats[0].iter().map(|r| r.arrival_s));
    chart(view, "arrivals / 10 min", &[arrivals], true, &mut body);
    let per_policy = |f: &dyn Fn(&Shown) -> Vec<(f64, f64)>| -> Vec<Vec<(f64, f64)>> {
        shown.iter().map(f).collect()
    };
    chart(
        view,
        "queue",
        &per_policy(&|s| sampled(view, &s.day.samples, |x| x.queue)),
        false,
        &mut body,
    );
    chart(
        view,
        "waiting customers",
        &per_policy(&|s| sampled(view, &s.day.samples, |x| x.waiting)),
        false,
        &mut body,
    );
    let abandoned: Vec<Vec<(f64, f64)>> = chats
        .iter()
        .map(|c| {
            let ends = c
                .iter()
                .filter(|r| r.ending == Ending::Abandoned)
                .map(|r| r.arrival_s + r.duration_s);
            binned(view, ends)
        })
        .collect();
    chart(view, "abandoned / 10 min", &abandoned, false, &mut body);
    chart(
        view,
        "workers on duty",
        &per_policy(&|s| sampled(view, &s.day.samples, |x| x.on_duty)),
        false,
        &mut body,
    );
    chart(
        view,
        "AI chats",
        &per_policy(&|s| sampled(view, &s.day.samples, |x| x.ai_chats)),
        false,
        &mut body,
    );
    for (p, (c, name)) in chats.iter().zip(&names).enumerate() {
        let letter = if p == 0 { 'A' } else { 'B' };
        let mut lanes = lanes(c);
        let _ = writeln!(
            body,
            "<h2><span style=\"color:{}\">&#9632;</span> {name}: {} lanes</h2>\
             <div class=\"lanes\" data-p=\"{p}\">",
            POLICY_COLOURS[p],
            lanes.len()
        );
        for lane in &mut lanes {
            lane_html(view, letter, c, lane, &mut body);
        }
        body.push_str("</div>\n");
    }
    body.push_str("</div></div>\n");
    if chats.len() == 2 {
        body.push_str(&twins(&chats, &names));
    }
    // the rows in a hidden textarea, whose text the browser unescapes (a script element's text
    // is raw: escaped there, a name with `&` would show as `&amp;`), escaped once
    for (p, (c, s)) in chats.iter().zip(shown).enumerate() {
        let mut rows = Vec::new();
        for r in c {
            let _ = write_chat_csv_row(&mut rows, &s.name, r);
        }
        let _ = write!(
            body,
            "<textarea hidden id=\"rows{p}\">{CHAT_CSV_HEADER}\n{}</textarea>\n",
            escape(&String::from_utf8_lossy(&rows))
        );
    }
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>handoff replay: {} day {}</title><style>{STYLE}</style></head>\
         <body style=\"--z:1\">{body}<script>{SCRIPT}</script></body></html>\n",
        escape(view.scenario),
        view.day
    );
    (html, chats[0].len())
}

/// The list of the twins whose reward differs most, each linking both bars.
fn twins(chats: &[Vec<&ChatRecord>], names: &[String]) -> String {
    let second: HashMap<u64, &ChatRecord> = chats[1].iter().map(|r| (r.chat_id, *r)).collect();
    let mut pairs: Vec<(&ChatRecord, &ChatRecord)> = chats[0]
        .iter()
        .filter_map(|a| Some((*a, *second.get(&a.chat_id)?)))
        .filter(|(a, b)| a.reward != b.reward)
        .collect();
    if pairs.is_empty() {
        return "<h2>Twins whose reward differs most</h2><p id=\"twins\">None: every twin earned \
                the same reward under both policies.</p>\n"
            .to_string();
    }
    pairs.sort_by(|x, y| {
        (y.1.reward - y.0.reward).abs().total_cmp(&(x.1.reward - x.0.reward).abs())
    });
    let mut out = format!(
        "<h2>Twins whose reward differs most</h2><table id=\"twins\"><tr><th>chat</th>\
         <th>{}</th><th>{}</th><th>reward difference</th></tr>\n",
        names[0], names[1]
    );
    for (a, b) in pairs.into_iter().take(TWINS_LISTED) {
        let _ = writeln!(
            out,
            "<tr data-c=\"{}\"><td><a href=\"#chat={}\">{}</a></td><td>{} ({:+.3})</td>\
             <td>{} ({:+.3})</td><td>{:+.3}</td></tr>",
            a.chat_id,
            a.chat_id,
            a.chat_id,
            handling(a),
            a.reward,
            handling(b),
            b.reward,
            b.reward - a.reward
        );
    }
    out.push_str("</table>\n");
    out
}

/// The legend and the controls.
const LEGEND: &str = "<div id=\"controls\"><span class=\"key d\"></span> worker from the start \
<span class=\"key t\"></span> technical escalation <span class=\"key e\"></span> emotional \
escalation <span class=\"key h\"></span> taken over <span class=\"key a\"></span> AI alone \
<span class=\"key q\"></span> waiting in the queue <span class=\"key x\"></span> unresolved; the \
AI's part of a chat is paler. &nbsp; Zoom <select id=\"zoom\"><option>1</option><option>2\
</option><option>4</option><option>8</option><option>16</option></select> &nbsp; Lanes \
<input id=\"filter\" placeholder=\"e.g. 3-40, ai, queue\" size=\"22\"> <span id=\"shown\"></span>\
</div>\n<div id=\"detail\">Click a chat to see its record.</div>\n";

/// The page's style.
const STYLE: &str = "body{font:13px system-ui,sans-serif;margin:12px;color:#222}\
h1{font-size:17px;margin:4px 0}h2{font-size:14px;margin:10px 0 4px}\
#scroll{overflow-x:auto;border:1px solid #ddd}#centre{width:calc(var(--z)*1440px + 130px)}\
.chart,.lane{display:flex;align-items:flex-start}\
.lab{position:sticky;left:0;background:#fff;width:124px;min-width:124px;padding-right:6px;\
font-size:11px;z-index:1}.lab small{color:#888}\
svg{width:calc(var(--z)*1440px);display:block}\
.lanes{max-height:46vh;overflow-y:auto;overflow-x:hidden;border-top:1px solid #eee}\
.lane{border-bottom:1px solid #f3f3f3}.lane.hidden{display:none}\
rect{cursor:pointer}rect.d{fill:#5b8def}rect.t{fill:#e6b422}rect.e{fill:#c94fd6}\
rect.h{fill:#f08a24}rect.a{fill:#38bdbd}rect.q{fill:#aaa}rect.ai{opacity:.5}\
rect.x{stroke:#e02020;stroke-width:1;vector-effect:non-scaling-stroke}\
rect.sel{stroke:#000;stroke-width:2;vector-effect:non-scaling-stroke;opacity:1}\
rect.bin{fill:#9bb;cursor:default}.curve{stroke-width:1.2;vector-effect:non-scaling-stroke}\
.tick{stroke:#888;vector-effect:non-scaling-stroke}.hour{font-size:9px;fill:#555}\
#controls{margin:6px 0}.key{display:inline-block;width:14px;height:8px;margin-left:8px}\
.key.d{background:#5b8def}.key.t{background:#e6b422}.key.e{background:#c94fd6}\
.key.h{background:#f08a24}.key.a{background:#38bdbd}.key.q{background:#aaa}\
.key.x{border:1px solid #e02020}\
#detail{font:12px ui-monospace,monospace;background:#f7f7f7;padding:6px;margin:6px 0;\
min-height:18px;white-space:pre-wrap}#twins{border-collapse:collapse}\
#twins td,#twins th{border:1px solid #ddd;padding:2px 6px;font-size:12px}";

/// The page's script: details on click, zoom, lane filter, links to twins.
const SCRIPT: &str = r#"
window.onerror = function (m) { document.body.dataset.error = String(m); };
const rows = [0, 1].map(p => document.getElementById('rows' + p)).filter(e => e);
const parsed = rows.map(e => null);
function table(p) {
  if (!parsed[p]) {
    const lines = rows[p].textContent.split('\n').filter(l => l);
    const header = lines[0].split(',');
    const byId = new Map();
    lines.slice(1).forEach((l, i) => byId.set(l.split(',')[0], i));
    parsed[p] = { header, lines: lines.slice(1), byId };
  }
  return parsed[p];
}
let selected = [];
function show(p, i) {
  selected.forEach(e => e.classList.remove('sel'));
  selected = [];
  const t = table(p);
  const values = t.lines[i].split(',');
  const id = values[0];
  let text = t.header.map((h, k) => h + ' = ' + values[k]).join('   ');
  [0, 1].forEach(q => {
    const bar = document.getElementById((q ? 'B' : 'A') + id);
    if (bar) { bar.classList.add('sel'); selected.push(bar); }
  });
  if (rows.length == 2) {
    const o = table(1 - p).byId.get(id);
    text += o === undefined ? '\n(no twin)' : '\ntwin: ' + table(1 - p).lines[o];
  }
  const detail = document.getElementById('detail');
  detail.textContent = text;
  detail.dataset.chat = id;
}
document.querySelectorAll('.lanes').forEach(box => box.addEventListener('click', ev => {
  const i = ev.target.dataset && ev.target.dataset.i;
  if (i !== undefined) show(Number(box.dataset.p), Number(i));
}));
document.getElementById('zoom').addEventListener('change', ev => {
  document.body.style.setProperty('--z', ev.target.value);
});
function keep(filter) {
  const parts = filter.split(',').map(s => s.trim()).filter(s => s);
  if (!parts.length) return () => true;
  return key => parts.some(part => {
    if (part == key) return true;
    const m = part.match(/^(\d+)(?:-(\d+))?$/);
    if (!m || key[0] != 'w') return false;
    const w = Number(key.slice(1)), lo = Number(m[1]), hi = m[2] ? Number(m[2]) : lo;
    return w >= lo && w <= hi;
  });
}
document.getElementById('filter').addEventListener('input', ev => {
  const f = keep(ev.target.value);
  let n = 0;
  document.querySelectorAll('.lane').forEach(l => {
    const on = f(l.dataset.k);
    l.classList.toggle('hidden', !on);
    n += on;
  });
  document.getElementById('shown').textContent = n + ' lanes shown';
});
function fromHash() {
  const m = location.hash.match(/chat=(\d+)/);
  if (!m) return;
  const t = table(0), i = t.byId.get(m[1]);
  if (i === undefined) return;
  show(0, i);
  selected.forEach(e => e.scrollIntoView({ block: 'center', inline: 'center' }));
}
window.addEventListener('hashchange', fromHash);
fromHash();
document.body.dataset.ready = '1';
"#;
