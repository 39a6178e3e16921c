//! What a person sees during a run: progress bars on a terminal, plain lines elsewhere,
//! `::group::` folds on GitHub Actions, and each step's output as `--output` asks. It knows
//! the run only from its events.

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::Arc;
use std::time::Duration;

use console::style;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{line, output, summary};
use crate::load::duration::format_elapsed;
use crate::run::{Event, EventKind, Outcome, ReportError, Reporter, StepInfo, Summary};

/// When to show a step's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputMode {
    /// A step's output as one block when it ends: the tail of a failure always, a success's
    /// whole output with `-v`.
    Grouped,
    /// Live, each line prefixed with the step id.
    Stream,
    /// Only failed steps' output.
    Failed,
    /// No step output; the log files still have it.
    None,
}

/// How the console reporter behaves.
#[derive(Debug, Clone)]
pub(crate) struct ConsoleOptions {
    /// `--output`.
    pub output: OutputMode,
    /// `-v` count.
    pub verbose: u8,
    /// `-q`.
    pub quiet: bool,
    /// Draw progress bars (stderr is a terminal, not in CI).
    pub bars: bool,
    /// Running on GitHub Actions: folds and annotations.
    pub github: bool,
    /// Print a "still running" line after this long without any other line.
    pub heartbeat: Duration,
    /// `--explain` (or `-v`): say why each cached step ran.
    pub explain: bool,
}

/// Where a run's lines go: whether to draw progress bars (on a terminal, not in CI) and
/// whether to speak GitHub Actions' workflow commands.
pub(crate) fn surroundings() -> (bool, bool) {
    use std::io::IsTerminal;
    let github = std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true");
    let bars = io::stderr().is_terminal() && !github && std::env::var_os("CI").is_none();
    (bars, github)
}

/// The human-facing reporter.
pub(crate) struct Console {
    options: ConsoleOptions,
    workflow: String,
    steps: Arc<[StepInfo]>,
    bars: Option<Bars>,
    /// When each running step started, as time into the run.
    started: HashMap<usize, Duration>,
    /// When the last line was printed, as time into the run.
    last_line: Duration,
    /// The time into the run of the event being handled.
    now: Duration,
    /// Where lines go; stderr, or a buffer in tests.
    out: Box<dyn Write>,
    /// The width of the longest step id (at most 40), that streamed lines are aligned to.
    id_width: usize,
}

struct Bars {
    multi: MultiProgress,
    total: ProgressBar,
    steps: HashMap<usize, ProgressBar>,
}

impl Console {
    /// A reporter writing to stderr.
    pub(crate) fn new(options: ConsoleOptions) -> Self {
        Self::to(options, Box::new(io::stderr()))
    }

    /// A reporter writing to `out`, without bars (for tests).
    pub(crate) fn to(options: ConsoleOptions, out: Box<dyn Write>) -> Self {
        Self {
            options,
            workflow: String::new(),
            steps: Arc::from([]),
            bars: None,
            started: HashMap::new(),
            last_line: Duration::ZERO,
            now: Duration::ZERO,
            out,
            id_width: 0,
        }
    }

    fn id(&self, step: usize) -> &str {
        self.steps.get(step).map_or("?", |s| s.id.as_str())
    }

    /// Prints text above the bars (or plainly), never interleaved with other output, in one
    /// write: a line written in pieces costs a system call (and a reader's wake-up) a piece.
    fn print(&mut self, text: &str) {
        self.last_line = self.now;
        let mut line = String::with_capacity(text.len() + 1);
        line.push_str(text);
        line.push('\n');
        let out = &mut self.out;
        match &self.bars {
            Some(b) => b.multi.suspend(|| out.write_all(line.as_bytes())),
            None => out.write_all(line.as_bytes()),
        }
        .ok();
    }

    fn run_started(&mut self, workflow: &str, steps: &Arc<[StepInfo]>, parallel: usize) {
        self.workflow = workflow.to_string();
        self.steps = Arc::clone(steps);
        self.id_width = steps.iter().map(|s| s.id.len()).max().unwrap_or(0).min(40);
        if self.options.bars && !self.options.quiet {
            self.bars = Some(Bars::new(steps.len()));
        } else if self.options.verbose > 0 {
            let n = steps.len();
            let s = if n == 1 { "" } else { "s" };
            self.print(&format!(
                "{} {n} step{s} of {workflow}, {parallel} at a time",
                style("Running").cyan().bold(),
            ));
        }
    }

    fn step_started(&mut self, step: usize) {
        self.started.insert(step, self.now);
        let id = self.id(step).to_string();
        if let Some(b) = &mut self.bars {
            b.start(step, id);
        } else if self.options.verbose > 0 && !self.options.quiet {
            self.print(&format!("{} {id}", style("▶").cyan()));
        }
    }

    fn step_finished(&mut self, step: usize, outcome: &Outcome) {
        self.started.remove(&step);
        if let Some(b) = &mut self.bars {
            b.end(step);
        }
        let failed = !outcome.status.is_success();
        if !self.options.quiet || failed {
            let text = line::finished(&self.steps, step, outcome);
            self.print(&text);
            if self.options.explain || self.options.verbose > 0 {
                for why in line::explain(outcome) {
                    self.print(&why);
                }
            }
        }
        if failed && self.options.github {
            let id = self.id(step);
            let why = line::failure(outcome);
            let text = format!(
                "::error title=step {} failed::{}",
                gh_escape(id),
                gh_escape(&format!("{id}: {why}"))
            );
            self.print(&text);
        }
        self.show_output(step, outcome);
    }

    fn tick(&mut self) {
        if self.bars.is_some()
            || self.started.is_empty()
            || self.now.saturating_sub(self.last_line) < self.options.heartbeat
        {
            return;
        }
        let mut running: Vec<(usize, Duration)> = self
            .started
            .iter()
            .map(|(&i, &t)| (i, self.now.saturating_sub(t)))
            .collect();
        running.sort_by_key(|&(i, d)| (std::cmp::Reverse(d), i));
        let list: Vec<String> = running
            .iter()
            .take(8)
            .map(|(i, d)| format!("{} ({})", self.id(*i), format_elapsed(*d)))
            .collect();
        let more = match running.len() {
            n if n > 8 => format!(" and {} more", n - 8),
            _ => String::new(),
        };
        let text = format!(
            "{} {}{more}",
            style("… still running:").dim(),
            list.join(", ")
        );
        self.print(&text);
    }

    fn run_finished(&mut self, summary: &Summary) {
        if let Some(b) = self.bars.take() {
            b.clear();
        }
        let text = summary::render(&self.workflow, &self.steps, summary, self.options.quiet);
        self.print(text.trim_end_matches('\n'));
    }

    /// A step's output as `--output` asks: its whole log, or its tail and where the log is.
    fn show_output(&mut self, step: usize, outcome: &Outcome) {
        let Some(log) = &outcome.log else { return };
        let failed = !outcome.status.is_success();
        let whole = match self.options.output {
            OutputMode::None | OutputMode::Stream => return,
            OutputMode::Failed if !failed => return,
            OutputMode::Grouped if !failed && self.options.verbose == 0 => return,
            _ => !failed,
        };
        let id = self.id(step).to_string();
        if whole {
            self.copy_log(&id, log);
            return;
        }
        let block = output::failure_block(&id, log, self.options.github);
        if !block.is_empty() {
            self.print(block.trim_end_matches('\n'));
        }
    }

    /// The whole log, as it is read, never held in memory.
    fn copy_log(&mut self, id: &str, log: &std::path::Path) {
        self.last_line = self.now;
        let (github, header) = (
            self.options.github,
            style(format!("── {id} ──")).dim().to_string(),
        );
        let out = &mut self.out;
        let mut copy = || {
            let _ = if github {
                writeln!(out, "::group::{id} output")
            } else {
                writeln!(out, "{header}")
            };
            let _ = output::copy_all(log, "  ", out);
            if github {
                let _ = writeln!(out, "::endgroup::");
            }
        };
        match &self.bars {
            Some(b) => b.multi.suspend(copy),
            None => copy(),
        }
    }
}

impl Bars {
    fn new(total: usize) -> Self {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
        let bar = multi.add(ProgressBar::new(total as u64));
        let style =
            ProgressStyle::with_template("{prefix:>8.cyan.bold} [{bar:30}] {pos}/{len} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix("Running");
        bar.enable_steady_tick(Duration::from_millis(100));
        Bars {
            multi,
            total: bar,
            steps: HashMap::new(),
        }
    }

    fn start(&mut self, step: usize, id: String) {
        let pb = self.multi.add(ProgressBar::new_spinner());
        // The step's latest output line fills what is left of the row, cut to fit.
        pb.set_style(
            ProgressStyle::with_template("{spinner:.cyan} {prefix} {elapsed:.dim} {wide_msg:.dim}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        pb.set_prefix(id);
        pb.enable_steady_tick(Duration::from_millis(120));
        self.steps.insert(step, pb);
    }

    fn end(&mut self, step: usize) {
        if let Some(pb) = self.steps.remove(&step) {
            pb.finish_and_clear();
            self.multi.remove(&pb);
        }
        self.total.inc(1);
    }

    fn clear(self) {
        for (_, pb) in self.steps {
            pb.finish_and_clear();
        }
        self.total.finish_and_clear();
        let _ = self.multi.clear();
    }
}

/// Escapes text for a GitHub Actions workflow command.
fn gh_escape(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

impl Reporter for Console {
    fn report(&mut self, event: &Event) -> Result<(), ReportError> {
        self.now = event.elapsed;
        match &event.kind {
            EventKind::RunStarted {
                workflow,
                steps,
                parallel,
                ..
            } => self.run_started(workflow, steps, *parallel),
            EventKind::StepStarted { step } => self.step_started(*step),
            EventKind::Output { step, line } => {
                if self.options.output == OutputMode::Stream {
                    // Prefixes padded to the longest id, so that the lines start in one column.
                    let prefix = format!("[{}]", self.id(*step));
                    let pad = " ".repeat(self.id_width.saturating_sub(prefix.len() - 2));
                    let text = format!(
                        "{}{pad} {}",
                        style(prefix).cyan(),
                        String::from_utf8_lossy(line)
                    );
                    self.print(&text);
                }
            }
            EventKind::StepLine { step, line } => {
                if let Some(pb) = self.bars.as_ref().and_then(|b| b.steps.get(step)) {
                    pb.set_message(line.clone());
                }
            }
            EventKind::StepCargo { .. } => {}
            EventKind::StepRetrying {
                step,
                failed,
                delay,
            } => {
                if !self.options.quiet {
                    let text = line::retrying(&self.steps, *step, failed, *delay);
                    self.print(&text);
                }
            }
            EventKind::StepFinished { step, outcome } => self.step_finished(*step, outcome),
            EventKind::StepSkipped { step, reason } => {
                if let Some(b) = &mut self.bars {
                    b.total.inc(1);
                }
                if !self.options.quiet {
                    let text = line::skipped(&self.steps, *step, reason);
                    self.print(&text);
                }
            }
            EventKind::Interrupted { signal, forced } => {
                let text = line::interrupted(signal, *forced);
                self.print(&text);
            }
            EventKind::Restarting { path, stopped } => {
                let text = line::restarting(&self.steps, path, stopped.as_deref());
                self.print(&text);
            }
            EventKind::Warning { step, message } => {
                let text = line::warning(&self.steps, *step, message);
                self.print(&text);
            }
            EventKind::Tick => self.tick(),
            EventKind::RunFinished { summary } => self.run_finished(summary),
        }
        Ok(())
    }
}
