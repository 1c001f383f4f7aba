//! Version ordering against apk-tools' own expected results.

use apk_format::version::{self, VersionOp};

#[test]
fn apk_tools_vectors() {
    let data = include_str!("data/version-vectors.tsv");
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in data.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 4, "malformed vector line `{line}`");
        let (left, rel, right, holds) = (cols[0], cols[1], cols[2], cols[3] == "yes");
        let got = if rel == "valid" {
            version::is_valid(left)
        } else {
            let op = VersionOp::parse(rel).unwrap_or_else(|| panic!("bad op in `{line}`"));
            op.matches(left, right)
        };
        if got != holds {
            failures.push(line.to_string());
        }
        checked += 1;
    }
    assert!(checked >= 300, "only {checked} vectors");
    assert!(
        failures.is_empty(),
        "{} failing vectors:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn ordering_is_antisymmetric_on_vectors() {
    let data = include_str!("data/version-vectors.tsv");
    for line in data.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols[1] == "valid" || cols[1].contains('~') {
            continue;
        }
        let (a, b) = (cols[0], cols[2]);
        assert_eq!(
            version::compare(a, b),
            version::compare(b, a).reverse(),
            "{a} vs {b}"
        );
    }
}
