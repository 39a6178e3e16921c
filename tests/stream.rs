//! `--output stream`: each line behind its step's id, the ids padded to one width, and, when
//! cargo flow shows colours, steps asked for theirs.

mod common;

use common::Flow;

const WORKFLOW: &str = "name: ci\nsteps:\n  - id: a\n    run: echo \"one $CARGO_TERM_COLOR $CLICOLOR_FORCE\"\n  - id: a-long-name\n    depends_on: a\n    run: echo two\n  - id: own\n    env: {CARGO_TERM_COLOR: never}\n    run: echo \"three $CARGO_TERM_COLOR [$CLICOLOR_FORCE]\"\n";

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
        "[own]         three never []\n",
    ]);
}

#[test]
fn steps_are_asked_for_colours_when_cargo_flow_shows_them() {
    let ran = stream("always");
    // A step that chose for itself is asked for nothing.
    ran.stderr_has(&["one always 1\n", "three never []\n"]);
}

#[test]
fn on_a_terminal_a_running_steps_latest_line_is_beside_its_spinner() {
    // `script` gives cargo flow a terminal; without `-v` a success's output is not printed,
    // so the line can only come from the spinner's row.
    let ran = Flow::new()
        .file(
            ".flow.yaml",
            "name: ci\nsteps:\n  - id: slow\n    run: echo '   Compiling regex-automata v0.4.9'; sleep 1.5\n",
        )
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .after_shell("exec script -qec \"$0 $*\" /dev/null </dev/null; exit")
        .args(["ci"])
        .run()
        .success();
    let screen = ran.stdout().replace('\r', "\n");
    let row = screen
        .lines()
        .find(|l| l.contains("Compiling regex-automata"))
        .unwrap_or_default();
    assert!(
        row.contains("slow"),
        "no spinner row shows the line:\n{screen}"
    );
}
