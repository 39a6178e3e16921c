//! `exclusive:` steps sharing a group never run at once, while others run beside them.

mod common;

#[test]
fn steps_of_one_group_take_turns_and_others_run_beside_them() {
    // Each holds the "port" (a folder only one can make) for a moment; one of them at a time
    // can. `free` must meet `p1` running, to show that the group held no one else back.
    let hold = |id: &str| {
        format!(
            "  - id: {id}\n    exclusive: port\n    run: mkdir port.lock && touch {id}.ran && sleep 0.3 && rmdir port.lock\n"
        )
    };
    let yaml = format!(
        "name: x\nsteps:\n{}{}{}{}  - id: free\n    run: for i in $(seq 100); do [ -e p1.ran ] && exit 0; sleep 0.05; done; exit 1\n",
        hold("p1"),
        hold("p2"),
        hold("p3"),
        "  - id: other\n    exclusive: [disk, port]\n    run: mkdir port.lock && sleep 0.1 && rmdir port.lock\n",
    );
    let ran = common::Flow::new()
        .workflow(&yaml)
        .args(["run", "wf.yaml", "-j", "4"])
        .run()
        .success();
    ran.stderr_has(&["5 succeeded"]);
}

#[test]
fn a_group_is_a_name_or_a_list_of_names() {
    common::run_workflow("name: x\nsteps:\n  - id: a\n    exclusive: {x: 1}\n    run: 'true'\n")
        .code(2)
        .stderr_has(&["`exclusive`"]);
}
