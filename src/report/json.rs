//! `--report json=PATH`: a machine-readable record of the run.

use std::path::PathBuf;

use serde::Serialize;

use super::line;
use crate::plan::Plan;
use crate::run::event::signal_name;
use crate::run::{Event, Reporter, SkipReason, Status, StepEnd, Summary};

/// The version of the report's format; raised on any incompatible change.
pub const REPORT_VERSION: u32 = 1;

/// Writes the JSON report when the run ends.
pub struct JsonReport<'a> {
    plan: &'a Plan,
    path: PathBuf,
    /// Set when the report could not be written.
    pub error: Option<String>,
}

impl<'a> JsonReport<'a> {
    /// A reporter writing to `path`.
    pub fn new(plan: &'a Plan, path: PathBuf) -> Self {
        Self {
            plan,
            path,
            error: None,
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
    critical_path: Vec<&'a str>,
    steps: Vec<StepRecord<'a>>,
}

#[derive(Serialize)]
struct StepRecord<'a> {
    id: &'a str,
    status: &'static str,
    depends_on: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signal: Option<String>,
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ran_because: Vec<String>,
}

fn record<'a>(plan: &'a Plan, i: usize, end: &StepEnd) -> StepRecord<'a> {
    let step = &plan.steps[i];
    let mut r = StepRecord {
        id: &step.id,
        status: "skipped",
        depends_on: step
            .deps
            .iter()
            .map(|&d| plan.steps[d].id.as_str())
            .collect(),
        duration_ms: None,
        exit_code: None,
        signal: None,
        message: None,
        skipped_because: None,
        log: None,
        attempts: None,
        flaky: false,
        outputs: serde_json::Map::new(),
        artifacts: Vec::new(),
        cache_key: None,
        saved_ms: None,
        ran_because: Vec::new(),
    };
    match end {
        StepEnd::Ran(o) => {
            r.duration_ms = Some(o.duration.as_millis() as u64);
            r.attempts = Some(o.attempts);
            r.outputs = o
                .outputs
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect();
            r.flaky = o.is_flaky();
            r.artifacts = o
                .artifacts
                .iter()
                .map(|k| k.path.display().to_string())
                .collect();
            r.cache_key = o.key.clone();
            r.ran_because = o.why.clone();
            r.log = o.log.as_ref().map(|p| p.display().to_string());
            r.status = match &o.status {
                Status::Success => "success",
                Status::Cached { saved } => {
                    r.saved_ms = Some(saved.as_millis() as u64);
                    "cached"
                }
                Status::Failed { code } => {
                    r.exit_code = Some(*code);
                    "failed"
                }
                Status::Signaled { signal } => {
                    r.signal = Some(signal_name(*signal));
                    "failed"
                }
                Status::TimedOut { .. } => "timed_out",
                Status::Errored { .. } => "failed",
                Status::Interrupted => "interrupted",
            };
            if !o.status.is_success() {
                r.message = Some(line::failure(&o.status, o.note.as_deref()));
            } else {
                r.message = o.note.clone();
            }
        }
        StepEnd::Skipped(reason) => {
            r.skipped_because = Some(line::skip_reason(plan, i, reason));
            if let SkipReason::Interrupted = reason {
                r.status = "skipped";
            }
        }
    }
    r
}

impl JsonReport<'_> {
    fn write(&mut self, summary: &Summary) {
        let code = summary.exit_code();
        let report = Report {
            version: REPORT_VERSION,
            workflow: &self.plan.workflow,
            status: match code {
                0 => "success",
                1 => "failed",
                _ => "interrupted",
            },
            exit_code: code,
            wall_ms: summary.wall.as_millis() as u64,
            step_time_ms: summary.busy().as_millis() as u64,
            critical_path: summary
                .critical_path
                .iter()
                .map(|&i| self.plan.steps[i].id.as_str())
                .collect(),
            steps: summary
                .steps
                .iter()
                .enumerate()
                .map(|(i, e)| record(self.plan, i, e))
                .collect(),
        };
        let result = serde_json::to_vec_pretty(&report)
            .map_err(|e| e.to_string())
            .and_then(|bytes| write_whole(&self.path, &bytes).map_err(|e| e.to_string()));
        if let Err(e) = result {
            self.error = Some(format!(
                "cannot write the report `{}`: {e}",
                self.path.display()
            ));
        }
    }
}

/// Writes a file whole or not at all: into a temporary file beside it, renamed over it, so
/// that a reader never sees half a report.
fn write_whole(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

impl Reporter for JsonReport<'_> {
    fn event(&mut self, event: &Event) {
        if let Event::RunFinished { summary } = event {
            self.write(summary);
        }
    }
}
