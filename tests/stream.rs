//! `--output stream`: each line behind its step's id, the ids padded to one width, and, when
//! cargo flow shows colours, steps asked for theirs.

mod common;

use common::Flow;

const WORKFLOW: &str = "name: ci\nsteps:\n  - id: a\n    run: echo \"one $CARGO_TERM_COLOR $CLICOLOR_FORCE\"\n  - id: a-long-name\n    depends_on: a\n    run: echo two\n  - id: own\n    env: {CARGO_TERM_COLOR: never}\n    run: echo \"three $CARGO_TERM_COLOR\"\n";

fn stream(color: &str) -> common::Ran {
    Flow::new()
        .file(".flow.yaml", WORKFLOW)
        .args(["ci", "-j", "1", "--output", "stream", "--color", color])
        .run()
        .success()
}

#[test]
fn streamed_lines_start_in_one_column() {
    stream("never").stderr_has(&[
        "[a]           one  \n",
        "[a-long-name] two\n",
        "[own]         three never\n",
    ]);
}

#[test]
fn steps_are_asked_for_colours_when_cargo_flow_shows_them() {
    let ran = stream("always");
    ran.stderr_has(&["one always 1\n", "three never\n"]);
}
