//! Running a plan: the scheduler, the processes, and the events that tell the outside world
//! what happened.

pub mod artifacts;
pub mod cache;
pub mod contents;
pub mod event;
pub mod files;
pub mod lock;
mod offer;
pub mod outputs;
pub mod process;
pub mod scheduler;
pub mod signals;
pub mod spawn;
pub mod sys;

pub use event::{Event, Outcome, Reporter, SkipReason, Status, StepEnd, Summary};
pub use scheduler::{Executor, RunOptions};
