//! SIGINT, SIGTERM, SIGHUP and SIGQUIT to cargo flow become messages to the scheduler, which
//! stops every running step's process group and exits 128 + the signal (130 for Ctrl-C, 143
//! for SIGTERM, 129 when the terminal goes away).

use std::sync::mpsc::SyncSender;

use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};

use super::scheduler::Message;

/// Forwards SIGINT and SIGTERM to the scheduler while it lives.
pub struct SignalForwarder {
    handle: Option<Handle>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SignalForwarder {
    /// Starts forwarding to `tx`. When the handlers cannot be installed, signals keep their
    /// default action, which still ends the run (but without the summary).
    pub fn start(tx: SyncSender<Message>) -> Self {
        let Ok(mut signals) = Signals::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT]) else {
            return Self {
                handle: None,
                thread: None,
            };
        };
        let handle = signals.handle();
        let thread = std::thread::Builder::new()
            .name("flow-signals".into())
            .spawn(move || {
                for sig in signals.forever() {
                    if tx.send(Message::Signal(sig)).is_err() {
                        break;
                    }
                }
            })
            .ok();
        Self {
            handle: Some(handle),
            thread,
        }
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
