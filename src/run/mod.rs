//! Running a plan: the scheduler, the processes, and the events that tell the outside world
//! what happened.

pub(crate) mod artifacts;
pub(crate) mod cache;
pub(crate) mod contents;
pub(crate) mod event;
pub(crate) mod files;
pub(crate) mod lock;
pub(crate) mod outputs;
pub(crate) mod process;
pub(crate) mod remote;
pub(crate) mod scheduler;
pub(crate) mod stats;
pub(crate) mod status;
pub(crate) mod walk;

pub use crate::sys::Stop;
pub use event::{
    CargoLock, Event, EventKind, Outcome, ReportError, Reporter, Selection, Signal, SkipReason,
    StepEnd, StepInfo, Summary,
};
pub use status::{Status, StepError};
