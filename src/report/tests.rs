//! Every line a person reads, rendered from recorded event streams and pinned by snapshots:
//! each status, retries and flaky steps, cache hits and reasons, skips, interrupts, the
//! heartbeat, GitHub Actions' folds and annotations, with colours and without.

use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use super::console::{Console, ConsoleOptions, OutputMode};
use super::json::JsonReport;
use super::junit::JunitReport;
use crate::run::artifacts::Kept;
use crate::run::stats::RunStats;
use crate::run::{
    Event, EventKind, Outcome, Reporter, Signal, SkipReason, Status, StepEnd, StepError, StepInfo,
    Summary,
};

/// Lines written by a console, kept for the test.
#[derive(Clone, Default)]
struct Buffer(Rc<RefCell<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn info(id: &str, depends_on: &[usize], attempts: u32) -> StepInfo {
    StepInfo {
        id: id.to_string(),
        depends_on: depends_on.to_vec(),
        condition: (id == "deploy").then(|| "env == 'prod'".to_string()),
        attempts,
        artifact_dir: PathBuf::from(format!("/p/target/flow/artifacts/ci/{id}")),
    }
}

fn outcome(status: Status, duration: u64) -> Outcome {
    Outcome {
        duration: ms(duration),
        ..Outcome::of(status)
    }
}

/// A run of every kind of step: it succeeds, is flaky, is cached, fails each way, is skipped
/// each way; `logs` holds the logs of the failures.
/// The outcomes of [`stream`]'s steps: it succeeds, fails an attempt, is flaky, is cached,
/// fails, crashes, times out, is not found.
fn outcomes(logs: &Path) -> [Outcome; 8] {
    let log = |name: &str, text: &str| {
        let path = logs.join(format!("{name}.log"));
        let _ = std::fs::write(&path, text);
        Some(path)
    };
    let build = Outcome {
        artifacts: vec![Kept {
            path: PathBuf::from("/p/target/flow/artifacts/ci/build/app"),
            size: 3,
            hash: "h".into(),
        }],
        log: log("build", "Compiling app\nFinished\n"),
        ..outcome(Status::Success, 1234)
    };
    let failed_attempt = Outcome {
        log: log("test", "test a ... FAILED\n"),
        ..outcome(Status::Failed { code: 101 }, 800)
    };
    let flaky = Outcome {
        attempts: 2,
        note: None,
        blocked: ms(400),
        ..outcome(Status::Success, 900)
    };
    let cached = Outcome {
        key: Some("k".into()),
        ..outcome(
            Status::Cached {
                saved: ms(41_200),
                remote: false,
            },
            0,
        )
    };
    let lint = Outcome {
        why: vec![
            "input `src/lib.rs` was edited".into(),
            "dependency `build` changed".into(),
        ],
        log: log("lint", "warning: unused\n"),
        ..outcome(Status::Failed { code: 1 }, 2100)
    };
    let crash = Outcome {
        log: log("crash", "before\n"),
        note: Some("processes it left running held its output open; they were killed".into()),
        ..outcome(
            Status::Signaled {
                signal: "SIGSEGV".into(),
            },
            50,
        )
    };
    let slow = Outcome {
        log: log("slow", "waiting\n"),
        ..outcome(
            Status::TimedOut {
                after: ms(300_000),
                quiet: true,
            },
            300_000,
        )
    };
    let missing = outcome(
        Status::Errored(StepError::NotFound {
            program: "carg".into(),
        }),
        1,
    );
    [
        build,
        failed_attempt,
        flaky,
        cached,
        lint,
        crash,
        slow,
        missing,
    ]
}

fn stream(logs: &Path) -> Vec<Event> {
    let steps: Arc<[StepInfo]> = [
        info("build", &[], 1),
        info("test", &[0], 3),
        info("lint", &[], 1),
        info("fmt", &[], 1),
        info("crash", &[], 1),
        info("slow", &[], 1),
        info("missing", &[], 1),
        info("deploy", &[1], 1),
        info("docs", &[4], 1),
        info("after", &[7], 1),
    ]
    .into();
    let [build, failed, flaky, cached, lint, crash, slow, missing] = outcomes(logs);
    let skips = [
        SkipReason::ConditionFalse,
        SkipReason::DependencyFailed(4),
        SkipReason::DependencySkipped(7),
    ];
    let ran = [build.clone(), flaky, lint, cached, crash, slow, missing];
    let ends = (ran.iter().cloned().map(StepEnd::Ran))
        .chain(skips.iter().cloned().map(StepEnd::Skipped))
        .collect();
    let mut kinds = vec![
        EventKind::RunStarted {
            workflow: "ci".into(),
            steps,
            parallel: 2,
            affected: None,
        },
        EventKind::StepStarted { step: 0 },
        EventKind::StepStarted { step: 2 },
        EventKind::Output {
            step: 0,
            line: b"Compiling app".to_vec(),
        },
        EventKind::StepFinished {
            step: 0,
            outcome: build,
        },
        EventKind::StepStarted { step: 1 },
        EventKind::StepRetrying {
            step: 1,
            failed,
            delay: ms(2000),
        },
        EventKind::Tick,
    ];
    let finished = ran.into_iter().enumerate().skip(1);
    kinds.extend(finished.map(|(step, outcome)| EventKind::StepFinished { step, outcome }));
    let skipped = skips.into_iter().enumerate();
    kinds.extend(skipped.map(|(i, reason)| EventKind::StepSkipped {
        step: 7 + i,
        reason,
    }));
    timed(kinds, ends)
}

/// [`stream`]'s events with their times, and the summary that ends them.
fn timed(kinds: Vec<EventKind>, ends: Vec<StepEnd>) -> Vec<Event> {
    let mut stats = RunStats::default();
    for k in &kinds {
        stats.observe(k);
    }
    let summary = Summary {
        steps: ends,
        wall: ms(305_000),
        critical_path: vec![0, 1],
        interrupted: None,
        stats,
    };
    let mut events: Vec<Event> = kinds
        .into_iter()
        .enumerate()
        .map(|(i, kind)| Event {
            // The tick comes after a minute of silence.
            elapsed: ms(if i >= 7 {
                61_000 + i as u64
            } else {
                i as u64 * 100
            }),
            kind,
        })
        .collect();
    events.push(Event {
        elapsed: ms(305_000),
        kind: EventKind::RunFinished { summary },
    });
    events
}

/// An interrupted run: a step stopped, one never started, a second signal.
fn interrupted_stream() -> Vec<Event> {
    let steps: Arc<[StepInfo]> = [info("serve", &[], 1), info("later", &[0], 1)].into();
    let stopped = outcome(Status::Interrupted, 1500);
    let mut stats = RunStats::default();
    let kinds = vec![
        EventKind::RunStarted {
            workflow: "dev".into(),
            steps,
            parallel: 1,
            affected: None,
        },
        EventKind::StepStarted { step: 0 },
        EventKind::Interrupted {
            signal: "SIGINT".into(),
            forced: false,
        },
        EventKind::Interrupted {
            signal: "SIGINT".into(),
            forced: true,
        },
        EventKind::StepFinished {
            step: 0,
            outcome: stopped.clone(),
        },
        EventKind::StepSkipped {
            step: 1,
            reason: SkipReason::Interrupted,
        },
    ];
    for k in &kinds {
        stats.observe(k);
    }
    let summary = Summary {
        steps: vec![
            StepEnd::Ran(stopped),
            StepEnd::Skipped(SkipReason::Interrupted),
        ],
        wall: ms(1600),
        critical_path: vec![0],
        interrupted: Some(Signal {
            number: 2,
            name: "SIGINT".into(),
        }),
        stats,
    };
    let mut events: Vec<Event> = kinds
        .into_iter()
        .map(|kind| Event {
            elapsed: ms(100),
            kind,
        })
        .collect();
    events.push(Event {
        elapsed: ms(1600),
        kind: EventKind::RunFinished { summary },
    });
    events
}

fn options(output: OutputMode, verbose: u8, github: bool) -> ConsoleOptions {
    ConsoleOptions {
        output,
        verbose,
        quiet: false,
        bars: false,
        github,
        heartbeat: Duration::from_secs(30),
        explain: true,
    }
}

/// What a console prints for `events`, the logs' folder written as `LOGS`.
fn render(options: ConsoleOptions, events: &[Event], logs: &Path) -> String {
    let buffer = Buffer::default();
    let mut console = Console::to(options, Box::new(buffer.clone()));
    for e in events {
        assert_eq!(console.report(e), Ok(()));
    }
    let text = String::from_utf8_lossy(&buffer.0.borrow()).into_owned();
    text.replace(&logs.display().to_string(), "LOGS")
}

#[test]
fn every_line_a_person_reads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let events = stream(dir.path());
    let interrupted = interrupted_stream();
    // Colours are a global setting: every rendering is made here, one after the other.
    for colour in [false, true] {
        console::set_colors_enabled(colour);
        let suffix = if colour { "terminal" } else { "plain" };
        let cases = [
            ("grouped", options(OutputMode::Grouped, 0, false)),
            ("verbose", options(OutputMode::Grouped, 1, false)),
            ("stream", options(OutputMode::Stream, 0, false)),
            ("github", options(OutputMode::Failed, 0, true)),
        ];
        for (name, opts) in cases {
            let text = render(opts, &events, dir.path());
            insta::assert_snapshot!(format!("console_{name}_{suffix}"), text);
        }
        let text = render(
            options(OutputMode::None, 0, false),
            &interrupted,
            dir.path(),
        );
        insta::assert_snapshot!(format!("console_interrupted_{suffix}"), text);
    }
    console::set_colors_enabled(false);
}

#[test]
fn the_json_report_of_a_recorded_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("report.json");
    let mut json = JsonReport::new(path.clone());
    for e in stream(dir.path()) {
        assert_eq!(json.report(&e), Ok(()));
    }
    let text = std::fs::read_to_string(&path).expect("written");
    insta::assert_snapshot!(text.replace(&dir.path().display().to_string(), "LOGS"));
}

#[test]
fn the_junit_report_of_recorded_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("junit.xml");
    for (name, events) in [
        ("junit_report", stream(dir.path())),
        ("junit_interrupted", interrupted_stream()),
    ] {
        let mut junit = JunitReport::new(path.clone());
        for e in events {
            assert_eq!(junit.report(&e), Ok(()));
        }
        let text = std::fs::read_to_string(&path).expect("written");
        insta::assert_snapshot!(
            name,
            text.replace(&dir.path().display().to_string(), "LOGS")
        );
    }
}

#[test]
fn a_report_that_cannot_be_written_is_an_error() {
    let mut json = JsonReport::new(PathBuf::from("/nonexistent/folder/report.json"));
    let mut result = Ok(());
    for e in interrupted_stream() {
        result = result.and(json.report(&e));
    }
    let e = result.expect_err("cannot be written");
    assert!(e.0.contains("cannot write the report"), "{e}");
}
