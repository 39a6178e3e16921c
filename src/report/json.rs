//! `--report json=PATH`: a machine-readable record of the run, written when it ends.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use crate::run::{
    Event, EventKind, ReportError, Reporter, Selection, Status, StepEnd, StepInfo, Summary,
};

/// The version of the report's format; raised on any incompatible change.
pub(crate) const REPORT_VERSION: u32 = 1;

/// Writes the JSON report when the run ends.
pub(crate) struct JsonReport {
    path: PathBuf,
    workflow: String,
    steps: Arc<[StepInfo]>,
    affected: Option<Arc<Selection>>,
}

impl JsonReport {
    /// A reporter writing to `path`.
    pub(crate) fn new(path: PathBuf) -> Self {
        Self {
            path,
            workflow: String::new(),
            steps: Arc::from([]),
            affected: None,
        }
    }
}

#[derive(Serialize)]
struct Report<'a> {
    version: u32,
    workflow: &'a str,
    status: &'static str,
    exit_code: i32,
    wall_ms: u64,
    step_time_ms: u64,
    /// The part of `step_time_ms` that cargo waited for a lock another cargo held.
    waiting_for_cargo_lock_ms: u64,
    critical_path: Vec<&'a str>,
    /// With `--affected`: what the change was measured against, and each package chosen.
    #[serde(skip_serializing_if = "Option::is_none")]
    affected: Option<Affected<'a>>,
    steps: Vec<StepRecord<'a>>,
}

#[derive(Serialize)]
struct Affected<'a> {
    base: &'a str,
    packages: Vec<AffectedPackage<'a>>,
}

#[derive(Serialize)]
struct AffectedPackage<'a> {
    name: &'a str,
    why: &'a str,
}

#[derive(Serialize, Default)]
struct StepRecord<'a> {
    id: &'a str,
    status: &'static str,
    depends_on: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    waiting_for_cargo_lock_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signal: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped_because: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attempts: Option<u32>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    flaky: bool,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    outputs: serde_json::Map<String, serde_json::Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    artifacts: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    saved_ms: Option<u64>,
    /// `remote` for a cached step whose result came from the remote cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    restored_from: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ran_because: Vec<String>,
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn record<'a>(steps: &'a [StepInfo], i: usize, end: &'a StepEnd) -> StepRecord<'a> {
    let id = |d: usize| steps.get(d).map_or("?", |s| s.id.as_str());
    let mut r = StepRecord {
        id: id(i),
        status: "skipped",
        depends_on: steps
            .get(i)
            .map(|s| s.depends_on.iter().map(|&d| id(d)).collect())
            .unwrap_or_default(),
        ..StepRecord::default()
    };
    let o = match end {
        StepEnd::Ran(o) => o,
        StepEnd::Skipped(reason) => {
            r.skipped_because = Some(reason.describe(steps, i));
            return r;
        }
    };
    r.status = o.status.json();
    r.duration_ms = Some(millis(o.duration));
    r.waiting_for_cargo_lock_ms = (!o.blocked.is_zero()).then(|| millis(o.blocked));
    r.attempts = Some(o.attempts);
    r.flaky = o.is_flaky();
    r.outputs = o
        .outputs
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    r.artifacts = o
        .artifacts
        .iter()
        .map(|k| k.path.display().to_string())
        .collect();
    r.cache_key = o.key.clone();
    r.ran_because = o.why.clone();
    r.log = o.log.as_ref().map(|p| p.display().to_string());
    match &o.status {
        Status::Cached { saved, remote } => {
            r.saved_ms = Some(millis(*saved));
            r.restored_from = remote.then_some("remote");
        }
        Status::Failed { code } => r.exit_code = Some(*code),
        Status::Signaled { signal } => r.signal = Some(signal),
        _ => {}
    }
    r.message = match o.status.is_success() {
        true => o.note.clone(),
        false => Some(super::line::failure(o)),
    };
    r
}

impl JsonReport {
    fn write(&self, summary: &Summary) -> Result<(), ReportError> {
        let steps = &self.steps;
        let report = Report {
            version: REPORT_VERSION,
            workflow: &self.workflow,
            status: summary.status_word(),
            exit_code: summary.exit_code(),
            wall_ms: millis(summary.wall),
            step_time_ms: millis(summary.stats.busy),
            waiting_for_cargo_lock_ms: millis(summary.stats.blocked),
            critical_path: summary
                .critical_path
                .iter()
                .map(|&i| steps.get(i).map_or("?", |s| s.id.as_str()))
                .collect(),
            affected: self.affected.as_deref().map(|a| Affected {
                base: &a.base,
                packages: a
                    .packages
                    .iter()
                    .map(|(name, why)| AffectedPackage { name, why })
                    .collect(),
            }),
            steps: summary
                .steps
                .iter()
                .enumerate()
                .map(|(i, e)| record(steps, i, e))
                .collect(),
        };
        serde_json::to_vec_pretty(&report)
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                super::file::write_whole(&self.path, &bytes).map_err(|e| e.to_string())
            })
            .map_err(|e| {
                ReportError(format!(
                    "cannot write the report `{}`: {e}",
                    self.path.display()
                ))
            })
    }
}

impl Reporter for JsonReport {
    fn report(&mut self, event: &Event) -> Result<(), ReportError> {
        match &event.kind {
            EventKind::RunStarted {
                workflow,
                steps,
                affected,
                ..
            } => {
                self.workflow = workflow.clone();
                self.steps = Arc::clone(steps);
                self.affected = affected.clone();
                Ok(())
            }
            EventKind::RunFinished { summary } => self.write(summary),
            _ => Ok(()),
        }
    }
}
