//! Pictures of the centre at the current moment, for watching an episode: a text frame
//! (Gymnasium's `"ansi"` render mode) and a raster (`"rgb_array"`, which Gymnasium's
//! `RecordVideo` and `HumanRendering` wrappers build on).
//!
//! Both show the same things: the time, the queue, every worker's chats and what each is doing,
//! the AI chats each worker supervises, and the decision now waiting. Rendering reads the
//! simulator and changes nothing, so a rendered episode is the same episode as an unrendered one.

use std::fmt::Write;

use crate::chat::{Chat, Escalation, Phase};
use crate::env::HandoffEnv;
use crate::observation::CandidateKind;
use crate::scenario::{DAY_S, DecisionKind, HOUR_S};
use crate::sim::Worker;

/// Side of a chat's cell in the raster, pixels before scaling.
const CELL: usize = 5;
/// Margin inside a worker's tile, pixels before scaling (a further pixel parts the tiles).
const PAD: usize = 1;
/// Height of the band above the workers (the episode's progress and the queue).
const HEADER: usize = 8;
/// The raster's width is at least this, after scaling by a whole factor.
const MIN_WIDTH: usize = 480;
/// Both sides are multiples of this, so that video encoders take the frames as they are.
const MACRO_BLOCK: usize = 16;

/// An RGB colour.
type Rgb = [u8; 3];

/// The raster's colours (docs/environment.md has the legend).
mod colour {
    use super::Rgb;
    pub const BACKGROUND: Rgb = [24, 24, 28];
    pub const OFF_DUTY: Rgb = [48, 48, 52];
    pub const ON_DUTY: Rgb = [84, 84, 92];
    pub const SELECTED: Rgb = [255, 255, 255];
    pub const FREE_SLOT: Rgb = [60, 60, 66];
    pub const AWAITING: Rgb = [220, 60, 50];
    pub const WRITING: Rgb = [70, 200, 90];
    pub const CUSTOMER_WRITING: Rgb = [70, 120, 220];
    pub const AI_WRITING: Rgb = [70, 210, 220];
    pub const AI_CUSTOMER: Rgb = [120, 150, 200];
    pub const TECHNICAL: Rgb = [240, 200, 60];
    pub const EMOTIONAL: Rgb = [200, 80, 220];
    pub const HUMAN: Rgb = [250, 150, 40];
    pub const PROGRESS: Rgb = [150, 150, 160];
    pub const QUEUE: Rgb = [240, 140, 40];
}

/// The raster's geometry for a centre: fixed for an environment, so that every frame of an
/// episode has the same size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RasterSize {
    /// Pixels across.
    pub width: usize,
    /// Pixels down.
    pub height: usize,
    /// Workers' tiles per row.
    columns: usize,
    /// Chat cells per tile row (the concurrency cap).
    cap: usize,
    /// Whole-number magnification of the drawing.
    scale: usize,
}

impl RasterSize {
    /// The geometry for `workers` workers of concurrency cap `cap`: tiles in a grid about four
    /// thirds as wide as it is high, magnified to at least [`MIN_WIDTH`] pixels across and
    /// padded to multiples of [`MACRO_BLOCK`].
    pub fn new(workers: usize, cap: usize) -> Self {
        let (tile_w, tile_h) = tile_size(cap);
        let workers = workers.max(1);
        // columns × tile_w ≈ 4/3 × rows × tile_h, rows = workers / columns
        let ideal = (4.0 * workers as f64 * tile_h as f64 / (3.0 * tile_w as f64)).sqrt();
        let columns = (ideal.round() as usize).clamp(1, workers);
        let rows = workers.div_ceil(columns);
        let (w, h) = (columns * tile_w, HEADER + rows * tile_h);
        let scale = MIN_WIDTH.div_ceil(w).max(1);
        let round = |x: usize| x.div_ceil(MACRO_BLOCK) * MACRO_BLOCK;
        Self { width: round(w * scale), height: round(h * scale), columns, cap, scale }
    }
}

/// A worker's tile, with the pixel that parts it from the next: a row of cells for the chats
/// held, a row for the AI chats supervised.
fn tile_size(cap: usize) -> (usize, usize) {
    (2 * PAD + cap.max(1) * CELL + 1, 2 * PAD + 2 * CELL + 1)
}

/// A drawing surface in unscaled coordinates over an RGB buffer.
struct Canvas<'a> {
    pixels: &'a mut [u8],
    size: RasterSize,
}

impl Canvas<'_> {
    /// Fills the unscaled rectangle at (`x`, `y`) of `w` × `h` with `rgb`, clipped to the
    /// raster.
    fn fill(&mut self, x: usize, y: usize, w: usize, h: usize, rgb: Rgb) {
        let s = self.size.scale;
        let (x1, y1) = (((x + w) * s).min(self.size.width), ((y + h) * s).min(self.size.height));
        for py in (y * s).min(y1)..y1 {
            let row = py * self.size.width * 3;
            for px in (x * s).min(x1)..x1 {
                self.pixels[row + px * 3..row + px * 3 + 3].copy_from_slice(&rgb);
            }
        }
    }
}

impl HandoffEnv {
    /// The size of [`HandoffEnv::render_rgb`]'s frames: the same for every frame.
    pub fn raster_size(&self) -> RasterSize {
        let w = &self.scenario().workers;
        RasterSize::new(w.count as usize, w.cap as usize)
    }

    /// A picture of the centre now, as rows of RGB pixels (`height × width × 3` bytes in
    /// `out`, resized to fit). Above, a grey bar of the episode's progress and an orange bar of
    /// the queue (a pixel a chat, before magnification). Below, one tile per worker (dark off
    /// duty, lighter on duty, outlined in white when the decision waiting is theirs): the top
    /// row has a cell per chat held (red: the customer awaits a reply, green: the worker is
    /// writing, blue: the customer is writing), bordered in the colour of the escalation it
    /// came from (yellow technical, purple emotional, orange taken over); the bottom row has a
    /// cell per AI chat supervised (cyan while the AI writes, grey-blue while the customer
    /// does, reddening with the customer's frustration).
    pub fn render_rgb(&self, out: &mut Vec<u8>) -> RasterSize {
        let size = self.raster_size();
        out.clear();
        out.resize(size.width * size.height * 3, 0);
        let mut canvas = Canvas { pixels: out, size };
        let unscaled_w = size.width / size.scale;
        canvas.fill(0, 0, unscaled_w, size.height / size.scale, colour::BACKGROUND);
        let sim = self.simulator();
        let horizon = self.scenario().horizon_s().max(1.0);
        let progress = ((sim.now() / horizon).clamp(0.0, 1.0) * unscaled_w as f64) as usize;
        canvas.fill(0, 1, progress, 2, colour::PROGRESS);
        canvas.fill(0, 4, sim.queued().count(), 3, colour::QUEUE);
        let selected = self.deciding_worker();
        let (tile_w, tile_h) = tile_size(size.cap);
        let threshold = self.scenario().ai.emotional_threshold.max(f64::MIN_POSITIVE);
        for (i, worker) in sim.workers().iter().enumerate() {
            let (x, y) = ((i % size.columns) * tile_w, HEADER + (i / size.columns) * tile_h);
            let ground = if worker.on_duty { colour::ON_DUTY } else { colour::OFF_DUTY };
            let (inner_w, inner_h) = (tile_w - 1, tile_h - 1);
            if selected == Some(i as u32) {
                canvas.fill(x, y, inner_w, inner_h, colour::SELECTED);
                canvas.fill(x + 1, y + 1, inner_w - 2, inner_h - 2, ground);
            } else {
                canvas.fill(x, y, inner_w, inner_h, ground);
            }
            for k in 0..size.cap {
                let (cx, cy) = (x + PAD + k * CELL, y + PAD);
                match worker.held.get(k).and_then(|&s| sim.chat_at(s)) {
                    Some(chat) => {
                        let border = chat.escalation.map_or(phase_colour(chat), escalation_colour);
                        canvas.fill(cx, cy, CELL - 1, CELL - 1, border);
                        canvas.fill(cx + 1, cy + 1, CELL - 3, CELL - 3, phase_colour(chat));
                    }
                    None => canvas.fill(cx + 1, cy + 1, CELL - 3, CELL - 3, colour::FREE_SLOT),
                }
            }
            for (k, chat) in
                worker.supervised.iter().filter_map(|&s| sim.chat_at(s)).take(size.cap).enumerate()
            {
                let base = if chat.phase == Phase::AiWriting {
                    colour::AI_WRITING
                } else {
                    colour::AI_CUSTOMER
                };
                let heat = chat.frustration_rise_with_ai() / threshold;
                let (cx, cy) = (x + PAD + k * CELL, y + PAD + CELL);
                canvas.fill(cx, cy, CELL - 1, CELL - 1, blend(base, colour::AWAITING, heat));
            }
        }
        size
    }

    /// A text picture of the centre now: the time, the decision waiting, the queue, then a line
    /// per worker on duty or still holding chats (the others are counted): their chats, each
    /// with what it waits for, and the AI chats they supervise with the customer's frustration.
    pub fn render_text(&self) -> String {
        let sim = self.simulator();
        let sc = self.scenario();
        let now = sim.now();
        let per_min = sc.customers.frustration_per_wait_min;
        let mut out = String::new();
        let _ = write!(out, "{} · {}", sc.name, clock(now));
        if self.is_over() {
            out.push_str(" · no decision waiting\n");
        } else {
            let obs = self.observation();
            let _ = writeln!(
                out,
                " · {} decision of {} · valid actions {:?}",
                obs.kind.label(),
                obs.agent(),
                obs.valid_actions().collect::<Vec<_>>()
            );
            if obs.kind == DecisionKind::Route {
                let c = &obs.chat;
                let _ = writeln!(
                    out,
                    "routing a chat: {}, waited {}, frustration {:.2}{}",
                    if c.eligible { "AI-eligible" } else { "AI-ineligible" },
                    minutes(f64::from(c.wait_s)),
                    c.frustration,
                    c.escalation.map_or(String::new(), |e| format!(", escalated ({})", e.label()))
                );
            }
            for (i, c) in obs.candidates.iter().enumerate().filter(|(i, _)| obs.mask[*i]) {
                let chat = sim.chat_id(c.chat_slot).unwrap_or_default();
                let _ = writeln!(out, "  action {i}: {}", candidate_label(c.kind, c.worker, chat));
            }
        }
        let queued: Vec<&Chat> = sim.queued().filter_map(|s| sim.chat_at(s)).collect();
        let oldest = queued.first().map_or(0.0, |c| now - c.awaiting_since);
        let _ = writeln!(
            out,
            "queue {} (oldest waiting {}) · chats in flight {} · workers on duty {} of {}",
            queued.len(),
            minutes(oldest),
            sim.chats_in_flight(),
            sim.workers().iter().filter(|w| w.on_duty).count(),
            sim.workers().len()
        );
        let selected = self.deciding_worker();
        let mut idle = 0;
        for (i, w) in sim.workers().iter().enumerate() {
            if !w.on_duty && w.held.is_empty() && w.supervised.is_empty() {
                idle += 1;
                continue;
            }
            let marker = if selected == Some(i as u32) { '>' } else { ' ' };
            let _ = write!(out, "{marker}worker_{i:<4} {:<8}", worker_state(w));
            for chat in w.held.iter().filter_map(|&s| sim.chat_at(s)) {
                let _ = write!(out, " [{}]", chat_label(chat, now));
            }
            let ai: Vec<String> = w
                .supervised
                .iter()
                .filter_map(|&s| sim.chat_at(s))
                .map(|c| format!("{:.2}", c.frustration_now(now, per_min)))
                .collect();
            if !ai.is_empty() {
                let _ = write!(out, " · AI chats (frustration): {}", ai.join(" "));
            }
            out.truncate(out.trim_end().len());
            out.push('\n');
        }
        if idle > 0 {
            let _ = writeln!(out, " {idle} other workers off duty, holding nothing");
        }
        out
    }

    /// The worker whose attend or assign decision waits, if one does.
    fn deciding_worker(&self) -> Option<u32> {
        let obs = self.observation();
        (!self.is_over() && obs.kind != DecisionKind::Route).then_some(obs.worker.worker)
    }
}

/// What a worker is doing, in a word.
fn worker_state(w: &Worker) -> &'static str {
    match (w.on_duty, w.writing) {
        (_, true) => "writing",
        (true, false) => "on duty",
        (false, false) => "leaving",
    }
}

/// A held chat in a few words: its id, what it waits for, and its escalation.
fn chat_label(chat: &Chat, now: f64) -> String {
    let phase = match chat.phase {
        Phase::Awaiting => format!("awaits reply {}", minutes(now - chat.awaiting_since)),
        Phase::WorkerWriting => "reply being written".to_string(),
        Phase::CustomerWriting => "customer writing".to_string(),
        other => format!("{other:?}"),
    };
    match chat.escalation {
        Some(e) => format!("chat {} {phase}, {}", chat.id, e.label()),
        None => format!("chat {} {phase}", chat.id),
    }
}

/// What an action offers, in words (`chat`: the id of the chat it concerns, if any).
fn candidate_label(kind: CandidateKind, worker: u32, chat: u64) -> String {
    match kind {
        CandidateKind::Ai => "to the AI".to_string(),
        CandidateKind::Queue => "to the queue".to_string(),
        CandidateKind::Worker => format!("to worker_{worker}"),
        CandidateKind::Wait => "wait".to_string(),
        CandidateKind::Chat => format!("answer chat {chat}"),
        CandidateKind::Takeover => format!("take over AI chat {chat}"),
        CandidateKind::Pass => "take no queued chat".to_string(),
        CandidateKind::Queued => format!("take queued chat {chat}"),
        CandidateKind::Empty => "nothing".to_string(),
    }
}

fn phase_colour(chat: &Chat) -> Rgb {
    match chat.phase {
        Phase::Awaiting => colour::AWAITING,
        Phase::WorkerWriting => colour::WRITING,
        _ => colour::CUSTOMER_WRITING,
    }
}

fn escalation_colour(e: Escalation) -> Rgb {
    match e {
        Escalation::Technical => colour::TECHNICAL,
        Escalation::Emotional => colour::EMOTIONAL,
        Escalation::Human => colour::HUMAN,
    }
}

/// `from` moved towards `to` by `t` in [0, 1].
fn blend(from: Rgb, to: Rgb, t: f64) -> Rgb {
    let t = t.clamp(0.0, 1.0);
    std::array::from_fn(|i| {
        (f64::from(from[i]) + (f64::from(to[i]) - f64::from(from[i])) * t) as u8
    })
}

/// `day D HH:MM:SS` of a simulated time.
fn clock(t: f64) -> String {
    let day = (t / DAY_S).floor();
    let into = t - day * DAY_S;
    let (h, m, s) = ((into / HOUR_S) as u32, (into % HOUR_S / 60.0) as u32, (into % 60.0) as u32);
    format!("day {} {h:02}:{m:02}:{s:02}", day as u64 + 1)
}

/// A duration as `M:SS`.
fn minutes(s: f64) -> String {
    let s = s.max(0.0) as u64;
    format!("{}:{:02}", s / 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;
    use crate::scenario::Scenario;
    use crate::testing::First;

    /// Steps an episode of a short `small` with the first valid action, rendering every
    /// `every` steps (0: never); the return and the frames drawn.
    fn episode(every: usize) -> (f64, Vec<(String, RasterSize, Vec<u8>)>) {
        let mut scenario = Scenario::builtin("small").unwrap();
        scenario.days = 1;
        let mut env = HandoffEnv::new(scenario, Box::new(First));
        env.reset(4);
        let (mut total, mut frames, mut steps) = (0.0, Vec::new(), 0);
        while !env.is_over() {
            if every > 0 && steps % every == 0 {
                let mut pixels = Vec::new();
                let size = env.render_rgb(&mut pixels);
                frames.push((env.render_text(), size, pixels));
            }
            let action = First.act(env.observation());
            total += env.step(action).unwrap().reward;
            steps += 1;
        }
        (total, frames)
    }

    #[test]
    fn rendering_changes_nothing_and_every_frame_has_the_same_size() {
        let (plain, _) = episode(0);
        let (rendered, frames) = episode(97);
        assert_eq!(plain.to_bits(), rendered.to_bits(), "rendering changed the episode");
        assert!(frames.len() > 10);
        let size = frames[0].1;
        for (text, frame_size, pixels) in &frames {
            assert_eq!(*frame_size, size);
            assert_eq!(pixels.len(), size.width * size.height * 3);
            assert!(text.starts_with("small · day 1 "), "{text}");
        }
        // the centre changes through the day, and so do its pictures
        let distinct: std::collections::HashSet<&Vec<u8>> = frames.iter().map(|f| &f.2).collect();
        assert!(
            distinct.len() > frames.len() / 2,
            "{} distinct of {}",
            distinct.len(),
            frames.len()
        );
    }

    #[test]
    fn the_text_frame_names_the_decision_its_actions_and_the_workers_on_duty() {
        let mut scenario = Scenario::builtin("small").unwrap();
        scenario.days = 1;
        let mut env = HandoffEnv::new(scenario, Box::new(First));
        env.reset(4);
        for _ in 0..500 {
            let action = First.act(env.observation());
            env.step(action).unwrap();
        }
        let text = env.render_text();
        let obs = env.observation();
        assert!(text.contains(&format!("{} decision of {}", obs.kind.label(), obs.agent())));
        for a in obs.valid_actions() {
            assert!(text.contains(&format!("  action {a}: ")), "action {a} missing:\n{text}");
        }
        let on_duty = env.simulator().workers().iter().filter(|w| w.on_duty).count();
        assert!(on_duty > 0);
        assert!(text.contains(&format!("workers on duty {on_duty} of ")), "{text}");
        for (i, w) in env.simulator().workers().iter().enumerate() {
            assert_eq!(text.contains(&format!("worker_{i} ")), w.on_duty || !w.held.is_empty());
        }
    }

    #[test]
    fn raster_sizes_are_whole_macro_blocks_and_wide_enough() {
        for (workers, cap) in [(1, 1), (20, 4), (647, 4), (3, 10), (5000, 2)] {
            let size = RasterSize::new(workers, cap);
            assert_eq!(size.width % MACRO_BLOCK, 0, "{workers} workers");
            assert_eq!(size.height % MACRO_BLOCK, 0, "{workers} workers");
            assert!(size.width >= MIN_WIDTH, "{workers} workers: {}", size.width);
            let (tw, th) = tile_size(cap);
            let rows = workers.div_ceil(size.columns);
            assert!(size.columns * tw * size.scale <= size.width);
            assert!((HEADER + rows * th) * size.scale <= size.height);
        }
    }

    #[test]
    fn clock_and_minutes_read_as_a_person_would() {
        assert_eq!(clock(0.0), "day 1 00:00:00");
        assert_eq!(clock(DAY_S + 3.0 * HOUR_S + 61.5), "day 2 03:01:01");
        assert_eq!(minutes(75.9), "1:15");
        assert_eq!(minutes(-3.0), "0:00");
    }

    #[test]
    fn blend_goes_from_one_colour_to_the_other() {
        assert_eq!(blend([0, 100, 200], [200, 100, 0], 0.0), [0, 100, 200]);
        assert_eq!(blend([0, 100, 200], [200, 100, 0], 1.0), [200, 100, 0]);
        assert_eq!(blend([0, 100, 200], [200, 100, 0], 7.0), [200, 100, 0]);
    }
}
