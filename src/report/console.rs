//! What a person sees during a run: progress bars on a terminal, plain lines elsewhere,
//! `::group::` folds on GitHub Actions, and each step's output as `--output` asks.

use std::collections::HashMap;
use std::io::{self, Write};
use std::time::{Duration, Instant};

use console::style;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{line, output, summary};
use crate::load::duration::format_elapsed;
use crate::plan::Plan;
use crate::run::{Event, Outcome, Reporter};

/// When to show a step's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputMode {
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
pub struct ConsoleOptions {
    /// `--output`.
    pub output: OutputMode,
    /// `-v` count.
    pub verbose: u8,
    /// `-q`.
    pub quiet: bool,
    /// Draw progress bars (stderr is a terminal).
    pub bars: bool,
    /// Running on GitHub Actions: folds and annotations.
    pub github: bool,
    /// Print a "still running" line after this long without any other line.
    pub heartbeat: Duration,
    /// `--explain` (or `-v`): say why each cached step ran.
    pub explain: bool,
}

/// The human-facing reporter.
pub struct Console<'a> {
    plan: &'a Plan,
    options: ConsoleOptions,
    bars: Option<Bars>,
    started: HashMap<usize, Instant>,
    last_line: Instant,
    width: usize,
}

struct Bars {
    multi: MultiProgress,
    total: ProgressBar,
    steps: HashMap<usize, ProgressBar>,
}

impl<'a> Console<'a> {
    /// A reporter for `plan`.
    pub fn new(plan: &'a Plan, options: ConsoleOptions) -> Self {
        let width = plan
            .steps
            .iter()
            .map(|s| s.id.len())
            .max()
            .unwrap_or(4)
            .clamp(4, 40);
        Self {
            plan,
            options,
            bars: None,
            started: HashMap::new(),
            last_line: Instant::now(),
            width,
        }
    }

    /// Prints lines above the bars (or plainly), never interleaved with other output.
    fn print(&mut self, text: &str) {
        self.last_line = Instant::now();
        match &self.bars {
            Some(b) => b.multi.suspend(|| write_err(text)),
            None => write_err(text),
        }
    }

    fn start_bars(&mut self, total: usize) {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
        let bar = multi.add(ProgressBar::new(total as u64));
        let style =
            ProgressStyle::with_template("{prefix:>8.cyan.bold} [{bar:30}] {pos}/{len} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix("Running");
        bar.enable_steady_tick(Duration::from_millis(100));
        self.bars = Some(Bars {
            multi,
            total: bar,
            steps: HashMap::new(),
        });
    }

    fn show_output(&mut self, step: usize, outcome: &Outcome) {
        let Some(log) = &outcome.log else { return };
        let failed = !outcome.status.is_success();
        let whole = match self.options.output {
            OutputMode::None | OutputMode::Stream => return,
            OutputMode::Failed if !failed => return,
            OutputMode::Grouped if !failed && self.options.verbose == 0 => return,
            _ => !failed,
        };
        let id = &self.plan.steps[step].id;
        if whole {
            // The whole log goes to stderr as it is read, never held in memory.
            self.last_line = Instant::now();
            let (github, header) = (
                self.options.github,
                style(format!("── {id} ──")).dim().to_string(),
            );
            let copy = || {
                let mut err = io::stderr().lock();
                let _ = if github {
                    writeln!(err, "::group::{id} output")
                } else {
                    writeln!(err, "{header}")
                };
                let _ = output::copy_all(log, "  ", &mut err);
                if github {
                    let _ = writeln!(err, "::endgroup::");
                }
            };
            match &self.bars {
                Some(b) => b.multi.suspend(copy),
                None => copy(),
            }
            return;
        }
        let mut text = Vec::new();
        {
            let Ok((skipped, lines)) = output::tail(log, output::TAIL_LINES) else {
                return;
            };
            if skipped > 0 {
                let _ = writeln!(
                    text,
                    "  {}",
                    style(format!("… {skipped} earlier lines in the log")).dim()
                );
            }
            for l in &lines {
                let _ = writeln!(text, "  {l}");
            }
        }
        let body = String::from_utf8_lossy(&text).into_owned();
        let path = crate::source::display_path(log);
        let mut block = String::new();
        if self.options.github {
            block.push_str(&format!("::group::{} output\n", id));
            block.push_str(&body);
            block.push_str("::endgroup::\n");
        } else if !body.is_empty() {
            block.push_str(&format!("{}\n", style(format!("── {id} ──")).dim()));
            block.push_str(&body);
        }
        if failed {
            block.push_str(&format!("  {} {}\n", style("full log:").dim(), path));
        }
        if !block.is_empty() {
            self.print(block.trim_end_matches('\n'));
        }
    }
}

/// Writes a line to stderr in one `write`: stderr is unbuffered, and a line written in
/// pieces costs a system call (and a reader's wake-up) per piece.
fn write_err(text: &str) {
    let mut line = String::with_capacity(text.len() + 1);
    line.push_str(text);
    line.push('\n');
    let _ = io::stderr().lock().write_all(line.as_bytes());
}

/// Escapes text for a GitHub Actions workflow command.
fn gh_escape(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

impl Reporter for Console<'_> {
    fn event(&mut self, event: &Event) {
        match event {
            Event::RunStarted { total, parallel } => {
                if self.options.bars && !self.options.quiet {
                    self.start_bars(*total);
                } else if self.options.verbose > 0 {
                    self.print(&format!(
                        "{} {} steps of {}, {parallel} at a time",
                        style("Running").cyan().bold(),
                        total,
                        self.plan.workflow
                    ));
                }
            }
            Event::StepStarted { step } => {
                self.started.insert(*step, Instant::now());
                let id = self.plan.steps[*step].id.clone();
                if let Some(b) = &mut self.bars {
                    let pb = b.multi.add(ProgressBar::new_spinner());
                    pb.set_style(
                        ProgressStyle::with_template("{spinner:.cyan} {msg} {elapsed:.dim}")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    pb.set_message(id);
                    pb.enable_steady_tick(Duration::from_millis(120));
                    b.steps.insert(*step, pb);
                } else if self.options.verbose > 0 && !self.options.quiet {
                    self.print(&format!("{} {id}", style("▶").cyan()));
                }
            }
            Event::Output { step, line } => {
                if self.options.output == OutputMode::Stream {
                    let id = &self.plan.steps[*step].id;
                    let text = String::from_utf8_lossy(line);
                    self.print(&format!("{} {text}", style(format!("[{id}]")).cyan()));
                }
            }
            Event::StepRetrying {
                step,
                failed,
                next,
                of,
                delay,
            } => {
                if !self.options.quiet {
                    let text = line::retrying(self.plan, *step, failed, *next, *of, *delay);
                    self.print(&text);
                }
            }
            Event::StepFinished { step, outcome } => {
                self.started.remove(step);
                if let Some(b) = &mut self.bars {
                    if let Some(pb) = b.steps.remove(step) {
                        pb.finish_and_clear();
                        b.multi.remove(&pb);
                    }
                    b.total.inc(1);
                }
                let failed = !outcome.status.is_success();
                if !self.options.quiet || failed {
                    let text = line::finished(self.plan, *step, outcome);
                    self.print(&text);
                    if self.options.explain || self.options.verbose > 0 {
                        for why in line::explain(outcome) {
                            self.print(&why);
                        }
                    }
                }
                if failed && self.options.github {
                    let id = &self.plan.steps[*step].id;
                    let why = line::failure(&outcome.status, outcome.note.as_deref());
                    self.print(&format!(
                        "::error title=step {} failed::{}",
                        gh_escape(id),
                        gh_escape(&format!("{id}: {why}"))
                    ));
                }
                self.show_output(*step, outcome);
            }
            Event::StepSkipped { step, reason } => {
                if let Some(b) = &self.bars {
                    b.total.inc(1);
                }
                if !self.options.quiet {
                    let text = line::skipped(self.plan, *step, reason);
                    self.print(&text);
                }
            }
            Event::Interrupted { signal, forced } => {
                let name = crate::run::event::signal_name(*signal);
                let text = if *forced {
                    format!(
                        "{} {name} again: killing every step now",
                        style("Interrupted").yellow().bold()
                    )
                } else {
                    format!(
                        "{} by {name}: stopping running steps (again to kill at once)",
                        style("Interrupted").yellow().bold()
                    )
                };
                self.print(&text);
            }
            Event::Tick => {
                if self.bars.is_none()
                    && !self.started.is_empty()
                    && self.last_line.elapsed() >= self.options.heartbeat
                {
                    let mut running: Vec<(usize, Duration)> = self
                        .started
                        .iter()
                        .map(|(&i, t)| (i, t.elapsed()))
                        .collect();
                    running.sort_by_key(|&(i, d)| (std::cmp::Reverse(d), i));
                    let list: Vec<String> = running
                        .iter()
                        .take(8)
                        .map(|(i, d)| {
                            format!("{} ({})", self.plan.steps[*i].id, format_elapsed(*d))
                        })
                        .collect();
                    let more = if running.len() > 8 {
                        format!(" and {} more", running.len() - 8)
                    } else {
                        String::new()
                    };
                    self.print(&format!(
                        "{} {}{more}",
                        style("… still running:").dim(),
                        list.join(", ")
                    ));
                }
            }
            Event::RunFinished { summary } => {
                if let Some(b) = self.bars.take() {
                    for (_, pb) in b.steps {
                        pb.finish_and_clear();
                    }
                    b.total.finish_and_clear();
                    let _ = b.multi.clear();
                }
                let text = summary::render(self.plan, summary, self.width, self.options.quiet);
                self.print(text.trim_end_matches('\n'));
            }
        }
    }
}
