//! `--report junit=PATH`: the run as JUnit XML, which CI systems show as test results. The
//! workflow is the suite and each step a test case: its time, how it failed with the tail of
//! its log, the failed attempts of a retried step, and why a skipped step did not run.

use std::path::PathBuf;
use std::sync::Arc;

use quick_junit::{
    FlakyOrRerun, NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestRerun, TestSuite,
};

use super::line::failure;
use super::output::tail;
use crate::run::{
    Event, EventKind, Outcome, ReportError, Reporter, Status, StepEnd, StepInfo, Summary,
};

/// How many lines of a failed step's log its test case carries.
const LOG_TAIL_LINES: usize = 100;

/// Writes the JUnit report when the run ends.
pub(crate) struct JunitReport {
    path: PathBuf,
    workflow: String,
    steps: Arc<[StepInfo]>,
    /// The failed attempts of each step that was retried, in order.
    attempts: Vec<Vec<Outcome>>,
}

impl JunitReport {
    /// A reporter writing to `path`.
    pub(crate) fn new(path: PathBuf) -> Self {
        Self {
            path,
            workflow: String::new(),
            steps: Arc::from([]),
            attempts: Vec::new(),
        }
    }

    fn write(&self, summary: &Summary) -> Result<(), ReportError> {
        let mut suite = TestSuite::new(self.workflow.as_str());
        suite.set_time(summary.wall);
        for (i, end) in summary.steps.iter().enumerate() {
            suite.add_test_case(self.case(i, end));
        }
        if let Some(signal) = &summary.interrupted {
            suite.add_property(Property::new("interrupted", signal.name.as_str()));
        }
        let mut report = Report::new("cargo flow");
        report.set_time(summary.wall).add_test_suite(suite);
        let bytes = report.to_string().map_err(|e| e.to_string());
        bytes
            .and_then(|xml| {
                super::file::write_whole(&self.path, xml.as_bytes()).map_err(|e| e.to_string())
            })
            .map_err(|e| {
                ReportError(format!(
                    "cannot write the report `{}`: {e}",
                    self.path.display()
                ))
            })
    }

    /// The test case of step `i`.
    fn case(&self, i: usize, end: &StepEnd) -> TestCase {
        let id = self.steps.get(i).map_or("?", |s| s.id.as_str());
        let o = match end {
            StepEnd::Ran(o) => o,
            StepEnd::Skipped(reason) => {
                let mut status = TestCaseStatus::skipped();
                status.set_message(reason.describe(&self.steps, i));
                return self.named(id, status);
            }
        };
        let reruns = self.attempts.get(i).map_or(&[][..], Vec::as_slice);
        let status = match non_success(&o.status) {
            None => TestCaseStatus::Success {
                flaky_runs: reruns.iter().map(rerun).collect(),
            },
            Some((kind, ty)) => {
                let mut status = TestCaseStatus::non_success(kind);
                status.set_message(failure(o)).set_type(ty);
                if let Some(log) = log_tail(o) {
                    status.set_description(log);
                }
                status.add_reruns(reruns.iter().map(rerun));
                status.set_rerun_kind(FlakyOrRerun::Rerun);
                status
            }
        };
        let mut case = self.named(id, status);
        case.set_time(o.duration);
        if let Status::Cached { .. } = o.status {
            case.add_property(Property::new("cached", "true"));
        }
        if let Some(log) = &o.log {
            case.add_property(Property::new("log", log.display().to_string()));
        }
        case
    }

    /// A test case of this workflow named for its step.
    fn named(&self, id: &str, status: TestCaseStatus) -> TestCase {
        let mut case = TestCase::new(id, status);
        case.set_classname(self.workflow.as_str());
        case
    }
}

/// How a status that is not a success reads in JUnit: a failure of the step's own, or an error
/// of running it (it could not start, or was interrupted), and the type of either.
fn non_success(status: &Status) -> Option<(NonSuccessKind, &'static str)> {
    let failure = NonSuccessKind::Failure;
    match status {
        Status::Success | Status::Cached { .. } => None,
        Status::Failed { .. } => Some((failure, "exit code")),
        Status::Signaled { .. } => Some((failure, "signal")),
        Status::TimedOut { .. } => Some((failure, "timeout")),
        Status::Errored(_) => Some((NonSuccessKind::Error, "error")),
        Status::Interrupted => Some((NonSuccessKind::Error, "interrupted")),
    }
}

/// A failed attempt of a step that was tried again.
fn rerun(attempt: &Outcome) -> TestRerun {
    let kind = non_success(&attempt.status).map_or(NonSuccessKind::Failure, |(kind, _)| kind);
    let mut rerun = TestRerun::new(kind);
    rerun
        .set_message(failure(attempt))
        .set_time(attempt.duration);
    rerun
}

/// The last lines of a step's log, saying how many came before them.
fn log_tail(o: &Outcome) -> Option<String> {
    let (skipped, lines) = tail(o.log.as_deref()?, LOG_TAIL_LINES).ok()?;
    let mut text = String::new();
    if skipped > 0 {
        text.push_str(&format!("… {skipped} earlier lines in the log\n"));
    }
    for line in lines {
        // XML 1.0 has no place for these two; other control characters are dropped by the
        // writer.
        text.extend(
            line.chars()
                .filter(|c| !matches!(c, '\u{FFFE}' | '\u{FFFF}')),
        );
        text.push('\n');
    }
    Some(text)
}

impl Reporter for JunitReport {
    fn report(&mut self, event: &Event) -> Result<(), ReportError> {
        match &event.kind {
            EventKind::RunStarted {
                workflow, steps, ..
            } => {
                self.workflow = workflow.clone();
                self.steps = Arc::clone(steps);
                self.attempts = vec![Vec::new(); steps.len()];
                Ok(())
            }
            EventKind::StepRetrying { step, failed, .. } => {
                if let Some(attempts) = self.attempts.get_mut(*step) {
                    attempts.push(failed.clone());
                }
                Ok(())
            }
            EventKind::RunFinished { summary } => self.write(summary),
            _ => Ok(()),
        }
    }
}
