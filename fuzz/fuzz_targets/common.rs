//! Shared by the fuzz targets: the whole loading pipeline on one text, which must end in a
//! plan or in diagnostics, never in a panic.

use std::path::Path;

pub fn load_and_plan(name: &str, data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = Path::new("/nonexistent").join(name);
    match cargo_flow::parse(&path, text) {
        Ok(wf) => {
            let context = [("target".to_string(), "x; y".to_string())];
            match cargo_flow::plan(&wf, &context) {
                // A plan is a DAG: every step is planned once.
                Ok(plan) => assert!(plan.steps().iter().all(|s| s.deps().len() < plan.steps().len())),
                Err(problems) => problems.into_iter().for_each(|p| drop(p.to_string())),
            }
        }
        // Every problem renders.
        Err(problems) => problems.into_iter().for_each(|p| drop(p.to_string())),
    }
}
