//! The slots of a GNU make jobserver that steps run in, as make itself holds them: cargo flow
//! owns one slot without asking (the one it was started with, or the first of the jobserver it
//! made), and takes a token from the jobserver for every other step it runs at once. A step's
//! nested `cargo`, `make` or `cc` take tokens from the same pool, so at most `-j` processes
//! work at once across the run. Tokens come through a helper thread, which turns a blocking
//! read of the pipe into a message to the scheduler; one not needed is given back at once, so
//! that nested jobs can have it.

use std::io;
use std::sync::mpsc;

use super::Message;

/// The tokens cargo flow holds, and the ones it asked for.
pub(super) struct Slots {
    client: jobserver::Client,
    helper: Option<jobserver::HelperThread>,
    tokens: Vec<jobserver::Acquired>,
    /// Tokens asked of the helper thread and not yet received.
    asked: usize,
}

impl Slots {
    pub(super) fn new(client: jobserver::Client) -> Self {
        Slots {
            client,
            helper: None,
            tokens: Vec::new(),
            asked: 0,
        }
    }

    /// Whether one more step may start while `running` steps run.
    pub(super) fn free(&self, running: usize) -> bool {
        running < 1 + self.tokens.len()
    }

    /// Asks for tokens until `wanted` steps could run at once, beside the `running` ones.
    pub(super) fn ask(
        &mut self,
        running: usize,
        wanted: usize,
        tx: &mpsc::SyncSender<Message>,
    ) -> io::Result<()> {
        let have = 1 + self.tokens.len() + self.asked;
        let missing = (running + wanted).saturating_sub(have);
        if missing == 0 {
            return Ok(());
        }
        if self.helper.is_none() {
            let tx = tx.clone();
            let helper = self.client.clone().into_helper_thread(move |token| {
                let _ = tx.send(Message::Token(token));
            })?;
            self.helper = Some(helper);
        }
        if let Some(helper) = &self.helper {
            for _ in 0..missing {
                helper.request_token();
            }
        }
        self.asked += missing;
        Ok(())
    }

    /// Takes a token the helper thread acquired.
    pub(super) fn received(&mut self, token: io::Result<jobserver::Acquired>) {
        self.asked = self.asked.saturating_sub(1);
        if let Ok(token) = token {
            self.tokens.push(token);
        }
    }

    /// Gives back the tokens that `running` steps do not need, unless more steps are about to
    /// start (`starting`).
    pub(super) fn give_back(&mut self, running: usize, starting: bool) {
        if starting {
            return;
        }
        // Dropping a token writes it back to the pipe.
        self.tokens.truncate(running.saturating_sub(1));
    }
}
