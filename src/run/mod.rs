//! Running a plan: the scheduler, the processes, and the events that tell the outside world
//! what happened.

pub mod artifacts;
pub mod cache;
pub mod contents;
pub mod event;
pub mod files;
pub mod lock;
pub mod outputs;
pub mod process;
pub mod scheduler;
pub mod stats;
pub mod status;
pub mod sys;

pub use event::{
    Event, EventKind, Outcome, ReportError, Reporter, Signal, SkipReason, StepEnd, StepInfo,
    Summary,
};
pub use scheduler::{Executor, RunOptions};
pub use status::{Status, StepError};
pub use sys::Stop;
