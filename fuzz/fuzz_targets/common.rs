//! Shared by the fuzz targets: the whole loading pipeline on one text, which must end in a
//! plan or in diagnostics, never in a panic.

use std::path::Path;

use cargo_flow::diagnostic::Problems;
use cargo_flow::load::model::Origin;
use cargo_flow::load::{Project, build, node::Node};
use cargo_flow::plan::{self, PlanOptions};
use cargo_flow::source::{Source, SourceFile, Span};

pub fn source(name: &str, data: &[u8]) -> Option<Source> {
    let text = std::str::from_utf8(data).ok()?;
    Some(SourceFile::new(Path::new(name), text.to_string()))
}

pub fn build_and_plan(source: &Source, node: &Node) {
    let mut problems = Problems::new();
    let origin = Origin { source: source.clone(), span: Span::new(0, 0), base_dir: "/nonexistent".into(), package: None };
    let wf = build::workflow(source, node, "fuzz".into(), origin, &mut problems);
    let project = Project::plain(Path::new("/nonexistent"));
    let options = PlanOptions { context: vec![("target".into(), "x; y".into())], ..PlanOptions::default() };
    if let Ok(plan) = plan::plan(&wf, &project, &options) {
        // A plan is a DAG: its order covers every step once.
        assert_eq!(plan.order.len(), plan.steps.len());
    }
    // Every problem renders.
    for p in problems {
        let _ = p.to_string();
    }
}
