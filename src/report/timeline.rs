//! A run as a timeline, gathered from its events: when each step became ready, started and
//! ended, the lane it ran on (the lowest free one when it started, as `cargo build --timings`
//! draws them), and the time it spent waiting for a free slot and for cargo's lock. `html.rs`
//! draws it for `--report html=PATH`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::run::{
    CargoLock, Event, EventKind, ReportError, Reporter, Status, StepEnd, StepInfo, Summary,
};

/// What the timeline shows, also embedded in the page as JSON for tools.
#[derive(Debug, Serialize)]
pub(crate) struct Timeline {
    pub workflow: String,
    pub status: &'static str,
    pub wall_ms: u64,
    pub parallel: usize,
    pub critical_path: Vec<String>,
    pub steps: Vec<Bar>,
}

/// One step on the timeline.
#[derive(Debug, Serialize)]
pub(crate) struct Bar {
    pub id: String,
    /// `success`, `cached`, `failed`, `timed_out`, `interrupted` or `skipped`.
    pub status: &'static str,
    /// The lane it ran on, from 0; none for a step that did not start.
    pub lane: Option<usize>,
    /// When the last step it depends on ended: it could start from then on.
    pub ready_ms: u64,
    pub start_ms: Option<u64>,
    pub end_ms: Option<u64>,
    /// From ready to started: every slot was taken, or its target dir was busy.
    pub waited_for_slot_ms: u64,
    /// When its cargo waited for a lock another cargo held: `[from, to]`.
    pub cargo_lock_waits: Vec<[u64; 2]>,
    pub on_critical_path: bool,
    /// Why it was skipped, or how it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Gathers the timeline as events pass, and writes the page when the run ends.
pub(crate) struct TimelineReport {
    path: PathBuf,
    workflow: String,
    steps: Arc<[StepInfo]>,
    parallel: usize,
    start: Vec<Option<Duration>>,
    end: Vec<Option<Duration>>,
    lane: Vec<Option<usize>>,
    /// Which lanes a running step holds.
    taken: Vec<bool>,
    /// Each step's waits for cargo's lock; the last one open while it waits.
    waits: Vec<Vec<(Duration, Option<Duration>)>>,
}

impl TimelineReport {
    /// A reporter writing the page to `path`.
    pub(crate) fn new(path: PathBuf) -> Self {
        Self {
            path,
            workflow: String::new(),
            steps: Arc::from([]),
            parallel: 1,
            start: Vec::new(),
            end: Vec::new(),
            lane: Vec::new(),
            taken: Vec::new(),
            waits: Vec::new(),
        }
    }

    fn started(&mut self, step: usize, at: Duration) {
        let lane = match self.taken.iter().position(|t| !t) {
            Some(free) => free,
            None => {
                self.taken.push(false);
                self.taken.len() - 1
            }
        };
        self.taken[lane] = true;
        self.lane[step] = Some(lane);
        self.start[step] = Some(at);
    }

    fn ended(&mut self, step: usize, at: Duration) {
        self.end[step] = Some(at);
        if let Some(lane) = self.lane[step] {
            self.taken[lane] = false;
        }
        self.close_wait(step, at);
    }

    fn cargo(&mut self, step: usize, lock: CargoLock, at: Duration) {
        match lock {
            CargoLock::Waiting if !self.waiting(step) => self.waits[step].push((at, None)),
            CargoLock::Waiting => {}
            CargoLock::Held | CargoLock::Released => self.close_wait(step, at),
        }
    }

    fn waiting(&self, step: usize) -> bool {
        self.waits[step].last().is_some_and(|(_, to)| to.is_none())
    }

    fn close_wait(&mut self, step: usize, at: Duration) {
        if let Some((_, to @ None)) = self.waits[step].last_mut() {
            *to = Some(at);
        }
    }

    /// The timeline of the run that `summary` ends.
    pub(crate) fn timeline(&self, summary: &Summary) -> Timeline {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let id = |i: usize| self.steps.get(i).map_or("?", |s| s.id.as_str()).to_string();
        let steps = summary
            .steps
            .iter()
            .enumerate()
            .map(|(i, end)| {
                let ready = self.ready(i);
                let (status, note) = match end {
                    StepEnd::Ran(o) => (
                        status_word(&o.status),
                        (!o.status.is_success()).then(|| super::line::failure(o)),
                    ),
                    StepEnd::Skipped(r) => ("skipped", Some(r.describe(&self.steps, i))),
                };
                Bar {
                    id: id(i),
                    status,
                    lane: self.lane[i],
                    ready_ms: ms(ready),
                    start_ms: self.start[i].map(ms),
                    end_ms: self.end[i].map(ms),
                    waited_for_slot_ms: self.start[i].map_or(0, |s| ms(s.saturating_sub(ready))),
                    cargo_lock_waits: self.waits[i]
                        .iter()
                        .map(|(from, to)| [ms(*from), ms(to.unwrap_or(*from))])
                        .collect(),
                    on_critical_path: summary.critical_path.contains(&i),
                    note,
                }
            })
            .collect();
        Timeline {
            workflow: self.workflow.clone(),
            status: summary.status_word(),
            wall_ms: ms(summary.wall),
            parallel: self.parallel,
            critical_path: summary.critical_path.iter().map(|&i| id(i)).collect(),
            steps,
        }
    }

    /// When step `i` could start: once the last step it depends on ended.
    fn ready(&self, i: usize) -> Duration {
        self.steps
            .get(i)
            .map(|s| &s.depends_on)
            .into_iter()
            .flatten()
            .filter_map(|&d| self.end.get(d).copied().flatten())
            .max()
            .unwrap_or(Duration::ZERO)
    }
}

/// A status as the timeline names it.
fn status_word(status: &Status) -> &'static str {
    match status {
        Status::Cached { .. } => "cached",
        other => other.json(),
    }
}

impl Reporter for TimelineReport {
    fn report(&mut self, event: &Event) -> Result<(), ReportError> {
        let at = event.elapsed;
        match &event.kind {
            EventKind::RunStarted {
                workflow,
                steps,
                parallel,
                ..
            } => {
                self.workflow = workflow.clone();
                self.steps = Arc::clone(steps);
                self.parallel = *parallel;
                let n = steps.len();
                (self.start, self.end, self.lane) = (vec![None; n], vec![None; n], vec![None; n]);
                self.waits = vec![Vec::new(); n];
            }
            EventKind::StepStarted { step } => self.started(*step, at),
            EventKind::StepCargo { step, lock } => self.cargo(*step, *lock, at),
            EventKind::StepFinished { step, .. } => self.ended(*step, at),
            EventKind::RunFinished { summary } => {
                let page = super::html::render(&self.timeline(summary));
                return super::file::write_whole(&self.path, page.as_bytes()).map_err(|e| {
                    ReportError(format!(
                        "cannot write the report `{}`: {e}",
                        self.path.display()
                    ))
                });
            }
            _ => {}
        }
        Ok(())
    }
}
