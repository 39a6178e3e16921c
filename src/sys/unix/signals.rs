//! SIGINT, SIGTERM, SIGHUP and SIGQUIT to cargo flow are handed to the scheduler, which
//! stops every running step's process group and exits 128 + the signal (130 for Ctrl-C, 143
//! for SIGTERM, 129 when the terminal goes away).

use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};

/// Catches the signals from the start of a run and, once started, forwards them to the
/// scheduler from a thread of its own. The thread is started only for runs that last: a
/// thread costs a noticeable part of a short run's start-up.
pub(crate) struct SignalForwarder {
    signals: Option<Signals>,
    handle: Option<Handle>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SignalForwarder {
    /// Installs the handlers; signals that arrive are kept until [`Self::start`]. When the
    /// handlers cannot be installed, signals keep their default action, which still ends
    /// the run (but without the summary).
    pub(crate) fn install() -> Self {
        let signals = Signals::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT]).ok();
        Self {
            handle: signals.as_ref().map(Signals::handle),
            signals,
            thread: None,
        }
    }

    /// Hands every signal from now on, and those that came before, to `forward`, until it
    /// returns `false`.
    pub(crate) fn start(&mut self, mut forward: impl FnMut(i32) -> bool + Send + 'static) {
        let Some(mut signals) = self.signals.take() else {
            return;
        };
        self.thread = std::thread::Builder::new()
            .name("flow-signals".into())
            .spawn(move || {
                for sig in signals.forever() {
                    if !forward(sig) {
                        break;
                    }
                }
            })
            .ok();
    }

    /// A signal that arrived but was never forwarded, because the run ended first.
    pub(crate) fn unforwarded(&mut self) -> Option<i32> {
        self.signals.as_mut()?.pending().next()
    }
}

impl Drop for SignalForwarder {
    fn drop(&mut self) {
        if let Some(h) = &self.handle {
            h.close();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Names a signal for people: `SIGSEGV`.
/// The signal Ctrl-C sends: what `q` stops a watched run with.
pub(crate) const INTERRUPT: i32 = libc::SIGINT;

pub(crate) fn signal_name(signal: i32) -> String {
    signal_hook::low_level::signal_name(signal)
        .map_or_else(|| format!("signal {signal}"), str::to_string)
}
