//! The `cargo-flow` binary; cargo runs it as `cargo-flow flow ...`.

fn main() {
    std::process::exit(cargo_flow::main());
}
