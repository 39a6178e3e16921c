//! cargo flow: run workflows, DAGs of shell steps declared in `.flow.yaml` or Cargo.toml, in
//! parallel, with precise diagnostics and no process left behind.
//!
//! The code follows the way a workflow travels: [`load`] finds and parses workflows, [`plan`]
//! validates them into a [`plan::Plan`], [`run`] executes a plan and emits events, and
//! [`report`] turns those events into what a person or a machine reads. Each part uses only
//! the parts before it; [`cli`] wires them together.

pub mod cli;
pub mod diagnostic;
pub mod load;
pub mod plan;
pub mod report;
pub mod run;
pub mod source;
pub mod suggest;
