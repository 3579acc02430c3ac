//! The documentation stays true: docs/compatibility.md lists as implemented
//! exactly the commands the server's COMMAND LIST reports.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

#[test]
fn compatibility_matrix_matches_command_list() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/compatibility.md"
    ))
    .unwrap();
    let mut documented = BTreeSet::new();
    for line in doc.lines() {
        let Some(rest) = line.strip_prefix("| `") else {
            continue;
        };
        let Some((name, rest)) = rest.split_once("` |") else {
            continue;
        };
        if rest.trim_start().starts_with('✅') {
            documented.insert(name.replace("\\|", "|"));
        }
    }
    let server = common::shoal().start();
    let list = server.client().call(["COMMAND", "LIST"]).unwrap();
    let actual: BTreeSet<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_text().unwrap())
        .collect();
    let missing: Vec<_> = actual.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&actual).collect();
    assert!(
        missing.is_empty(),
        "implemented but not marked in docs/compatibility.md: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "marked implemented in docs/compatibility.md but missing: {extra:?}"
    );
}
