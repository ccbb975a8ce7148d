//! The message table in docs/messages.md is generated from the code: every number of every
//! crate appears once, in its crate's range, and the document matches the code exactly.
//! Run with `UPDATE_MESSAGES=1` to rewrite the document's table.

use std::collections::BTreeMap;
use std::path::PathBuf;

const MARKER: &str = "<!-- generated from the code by crates/cli/tests/messages.rs -->";

fn doc_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/messages.md")
}

fn table() -> String {
    let mut s = String::from("| number | crate | meaning |\n|---:|---|---|\n");
    for (number, krate, text) in cli::all_messages() {
        s.push_str(&format!("| {number} | {krate} | {text} |\n"));
    }
    s
}

#[test]
fn numbers_are_unique_and_in_their_ranges() {
    let mut seen = BTreeMap::new();
    for (number, krate, _) in cli::all_messages() {
        if let Some(other) = seen.insert(number, krate) {
            // Two variants of one crate may share a number only if they are the same condition;
            // two crates never share one.
            assert_eq!(
                other, krate,
                "message {number} is used by both {other} and {krate}"
            );
        }
        let own_range = match krate {
            "masterblock" => 90100..=90199,
            "structure" => 90200..=90299,
            "aiextent" => 90300..=90399,
            "btree" => 90400..=90499,
            "engine" => 90500..=90699,
            "workload" => 90800..=90849,
            "backup" => 90900..=90999,
            "rollforward" => 91000..=91099,
            "server" => 91100..=91199,
            "aiarchiver" => 91200..=91299,
            "cli" => 90700..=90799,
            other => panic!("unknown crate {other}"),
        };
        // Numbers below 90000 are OpenEdge's own, kept where the seeds or the docs give them.
        assert!(
            number < 90000 || own_range.contains(&number),
            "{krate} uses {number}"
        );
    }
}

#[test]
fn document_matches_the_code() {
    let path = doc_path();
    let doc = std::fs::read_to_string(&path).expect("docs/messages.md exists");
    let head = doc
        .split(MARKER)
        .next()
        .expect("split yields at least one part");
    let expected = format!("{head}{MARKER}\n\n{}", table());
    if std::env::var_os("UPDATE_MESSAGES").is_some() {
        std::fs::write(&path, &expected).expect("docs/messages.md is writable");
        return;
    }
    assert!(
        doc == expected,
        "docs/messages.md is out of date: run `UPDATE_MESSAGES=1 cargo test -p cli --test messages`"
    );
}
