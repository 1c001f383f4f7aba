//! Version strings: validation and ordering never panic, and `compare` is a
//! total preorder (reflexive, antisymmetric, transitive) that `compare_fuzzy`
//! and `VersionOp::matches` agree with.
#![no_main]

use std::cmp::Ordering;

use apk_format::version::{VersionOp, compare, compare_fuzzy, is_valid};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let a = parts.next().unwrap_or_default();
    let b = parts.next().unwrap_or_default();
    let c = parts.next().unwrap_or_default();

    for s in [a, b, c] {
        if is_valid(s) {
            assert!(
                s.as_bytes()[0].is_ascii_digit(),
                "valid version {s:?} must start with a digit"
            );
        }
        assert_eq!(compare(s, s), Ordering::Equal, "compare({s:?}, itself)");
        assert_eq!(
            compare_fuzzy(s, s),
            Ordering::Equal,
            "compare_fuzzy({s:?}, itself)"
        );
    }

    let ab = compare(a, b);
    let ba = compare(b, a);
    assert_eq!(
        ab,
        ba.reverse(),
        "compare({a:?}, {b:?}) vs compare({b:?}, {a:?})"
    );

    // Fuzzy comparison only adds equalities (when b is a token prefix of a).
    let fuzzy = compare_fuzzy(a, b);
    if ab == Ordering::Equal || fuzzy != Ordering::Equal {
        assert_eq!(
            fuzzy, ab,
            "compare_fuzzy({a:?}, {b:?}) disagrees with compare"
        );
    }

    // Transitivity over three versions, so that sorting never sees an
    // inconsistent order (sort_by may panic on one).
    let bc = compare(b, c);
    let ac = compare(a, c);
    if ab != Ordering::Greater && bc != Ordering::Greater {
        assert_ne!(
            ac,
            Ordering::Greater,
            "{a:?} <= {b:?} <= {c:?} but {a:?} > {c:?}"
        );
    }
    if ab != Ordering::Less && bc != Ordering::Less {
        assert_ne!(
            ac,
            Ordering::Less,
            "{a:?} >= {b:?} >= {c:?} but {a:?} < {c:?}"
        );
    }
    if ab == Ordering::Equal {
        assert_eq!(
            ac, bc,
            "{a:?} == {b:?} but they compare differently with {c:?}"
        );
    }

    // The operators agree with the comparison they are built on.
    let checks = [
        (VersionOp::EQ, ab == Ordering::Equal),
        (VersionOp::LT, ab == Ordering::Less),
        (VersionOp::LE, ab != Ordering::Greater),
        (VersionOp::GT, ab == Ordering::Greater),
        (VersionOp::GE, ab != Ordering::Less),
        (VersionOp::FUZZY_EQ, fuzzy == Ordering::Equal),
        (VersionOp::FUZZY_LE, fuzzy != Ordering::Greater),
        (VersionOp::FUZZY_GE, fuzzy != Ordering::Less),
    ];
    for (op, want) in checks {
        assert_eq!(op.matches(a, b), want, "{a:?} {op} {b:?}");
    }

    // An operator spelled any accepted way reads back from its canonical form.
    let op_text: String = c.chars().take(4).collect();
    if let Some(op) = VersionOp::parse(&op_text) {
        assert_eq!(
            VersionOp::parse(op.as_str()),
            Some(op),
            "operator {op_text:?} -> {op}"
        );
    }
});
