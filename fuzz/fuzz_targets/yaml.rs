#![no_main]
//! The YAML loader, end to end: parse, build the model, plan.

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some(source) = common::source("fuzz.yaml", data) else { return };
    if let Ok(node) = cargo_flow::load::yaml::parse(&source) {
        common::build_and_plan(&source, &node);
    }
});
