//! Steps stopped on their own while the run goes on (`--watch`, when a file they read
//! changes): the process group each runs in, so that it can be signalled, and the steps asked
//! to stop, so that one about to start does not.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::sys::{self, Stop};

#[derive(Default)]
pub(super) struct Halts(Mutex<Inner>);

#[derive(Default)]
struct Inner {
    asked: HashSet<usize>,
    /// The process group of each running step.
    groups: HashMap<usize, u32>,
}

impl Halts {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stops `steps`: those running are signalled, the others will not start.
    pub(super) fn ask(&self, steps: &[usize], how: Stop) {
        let mut inner = self.lock();
        for &step in steps {
            inner.asked.insert(step);
            if let Some(&group) = inner.groups.get(&step) {
                sys::stop_group(group, how);
            }
        }
    }

    /// Whether `step` was asked to stop.
    pub(super) fn asked(&self, step: usize) -> bool {
        self.lock().asked.contains(&step)
    }

    /// `step` started in `group`; signalled at once when it was asked to stop meanwhile.
    pub(super) fn started(&self, step: usize, group: u32) {
        let mut inner = self.lock();
        if inner.asked.contains(&step) {
            sys::stop_group(group, Stop::Term);
        }
        inner.groups.insert(step, group);
    }

    /// `step`'s process is about to be reaped: its group is no longer to be signalled.
    pub(super) fn ended(&self, step: usize) {
        self.lock().groups.remove(&step);
    }
}
