#![no_main]
//! The YAML loader, end to end: parse, build the model, plan.

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::load_and_plan("fuzz.yaml", data));
