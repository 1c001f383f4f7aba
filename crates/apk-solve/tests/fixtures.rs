//! Resolution over the real Alpine indexes in the fixtures.

mod common;

use apk_solve::{Exclusion, Packages, Problem, Repository, resolve, resolve_multi_arch};
use common::{labels, load, load_text, names, world};

const BASE_LIKE: &[&str] = &[
    "alpine-baselayout",
    "alpine-baselayout-data",
    "alpine-keys",
    "alpine-release",
    "apk-tools",
    "busybox",
    "busybox-binsh",
    "ca-certificates-bundle",
    "libc-utils",
    "libcrypto3",
    "libssl3",
    "musl",
    "musl-utils",
    "scanelf",
    "ssl_client",
    "zlib",
];

fn alpine_319() -> Vec<Repository> {
    vec![load("alpine-3.19/x86_64/APKINDEX.tar.gz")]
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn position(list: &[String], name: &str) -> usize {
    list.iter()
        .position(|n| n == name)
        .unwrap_or_else(|| panic!("{name} not in {list:?}"))
}

#[test]
fn alpine_base_closure() {
    let repos = alpine_319();
    let w = world("alpine-base");
    let r = resolve(&repos, &w).unwrap();
    let got = sorted(names(&repos, &r));
    // SOURCE.md: the base-like 16 plus openrc, alpine-conf,
    // busybox-openrc/-mdev-openrc/-suid, ifupdown-ng, libcap2, mdev-conf
    // (the 24 it counts), and alpine-base itself.
    let mut want: Vec<String> = BASE_LIKE.iter().map(|s| s.to_string()).collect();
    for extra in [
        "alpine-base",
        "alpine-conf",
        "busybox-mdev-openrc",
        "busybox-openrc",
        "busybox-suid",
        "ifupdown-ng",
        "libcap2",
        "mdev-conf",
        "openrc",
    ] {
        want.push(extra.to_string());
    }
    assert_eq!(got, sorted(want));
    assert_eq!(got.len(), 25);
    let order = names(&repos, &r);
    assert!(position(&order, "musl") < position(&order, "busybox"));
    assert!(position(&order, "busybox") < position(&order, "busybox-binsh"));
    assert!(position(&order, "openrc") < position(&order, "alpine-base"));
    // Deterministic.
    assert_eq!(resolve(&repos, &w).unwrap(), r);
}

#[test]
fn base_like_list_resolves_to_itself() {
    let repos = alpine_319();
    let w = world(&BASE_LIKE.join(" "));
    let r = resolve(&repos, &w).unwrap();
    let order = names(&repos, &r);
    assert_eq!(
        sorted(order.clone()),
        sorted(BASE_LIKE.iter().map(|s| s.to_string()).collect())
    );
    assert!(position(&order, "musl") < position(&order, "busybox"));
    assert!(position(&order, "libcrypto3") < position(&order, "libssl3"));
    assert!(position(&order, "alpine-baselayout-data") < position(&order, "alpine-baselayout"));
}

#[test]
fn bin_sh_goes_to_busybox_binsh() {
    let repos = alpine_319();
    let w = world("/bin/sh");
    let r = resolve(&repos, &w).unwrap();
    assert_eq!(
        labels(&repos, &r),
        [
            "musl-1.2.4_git20230717-r4",
            "busybox-1.36.1-r15",
            "busybox-binsh-1.36.1-r15"
        ]
    );
}

#[test]
fn ssl_client_comes_by_install_if() {
    let repos = alpine_319();
    let w = world("busybox libssl3");
    let r = resolve(&repos, &w).unwrap();
    let order = names(&repos, &r);
    assert_eq!(order.last().map(String::as_str), Some("ssl_client"));
    assert_eq!(order.len(), 5, "{order:?}"); // musl busybox libcrypto3 libssl3 ssl_client
    // Without libssl3 it does not trigger.
    let w = world("busybox");
    let order = names(&repos, &resolve(&repos, &w).unwrap());
    assert_eq!(order, ["musl", "busybox"]);
}

#[test]
fn missing_shared_library_explains_the_chain() {
    // Drop libssl3 from the repository: apk-tools needs it.
    let mut repos = alpine_319();
    let Packages::Records(records) = &mut repos[0].packages else {
        panic!("fixture repositories load as records")
    };
    records.retain(|p| p.name != "libssl3");
    let w = world("apk-tools");
    let e = resolve(&repos, &w).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot satisfy `apk-tools`: apk-tools-2.14.0-r5 depends on `so:libssl.so.3`, \
         which nothing in the repositories (alpine-3.19/x86_64) provides"
    );
    assert!(
        matches!(&*e.problem, Problem::NothingProvides { name, .. } if name == "so:libssl.so.3")
    );
}

/// The world of a realistic service image over Alpine 3.19 main+community
/// (shared with the benchmark).
const BIG_WORLD: &str = include_str!("data/big-world.txt");

#[test]
fn snapshot_big_world_is_deterministic() {
    let repos = vec![
        load("alpine-3.19-snapshot/main/x86_64/APKINDEX.tar.gz"),
        load("alpine-3.19-snapshot/community/x86_64/APKINDEX.tar.gz"),
    ];
    let w = world(BIG_WORLD);
    let r = resolve(&repos, &w).unwrap();
    assert!(
        r.packages.len() >= 150,
        "only {} packages",
        r.packages.len()
    );
    // Again, and with freshly loaded repositories: the same answer.
    assert_eq!(resolve(&repos, &w).unwrap(), r);
    let again = vec![
        load("alpine-3.19-snapshot/main/x86_64/APKINDEX.tar.gz"),
        load("alpine-3.19-snapshot/community/x86_64/APKINDEX.tar.gz"),
    ];
    assert_eq!(resolve(&again, &w).unwrap(), r);
    // Every world atom is in, once per name, dependencies first.
    let order = names(&repos, &r);
    let mut unique = order.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), order.len());
    assert!(position(&order, "musl") < position(&order, "python3"));
    assert!(position(&order, "python3") < position(&order, "py3-pip"));
}

/// Indexes kept as checked text (what image builds resolve over) and
/// parsed records give the same resolutions and the same failures.
#[test]
fn text_and_record_indexes_resolve_alike() {
    let paths = [
        "alpine-3.19-snapshot/main/x86_64/APKINDEX.tar.gz",
        "alpine-3.19-snapshot/community/x86_64/APKINDEX.tar.gz",
    ];
    let records: Vec<_> = paths.iter().map(|p| load(p)).collect();
    let text: Vec<_> = paths.iter().map(|p| load_text(p)).collect();
    for w in [
        BIG_WORLD,
        "alpine-base",
        "python3 py3-pip !py3-setuptools",
        "so:libssl.so.3 cmd:curl",
        "nginx>=99",
        "no-such-package",
        "busybox-binsh !busybox",
    ] {
        let w = world(w);
        let a = resolve(&records, &w);
        let b = resolve(&text, &w);
        assert_eq!(a, b, "{w:?}");
        if let Ok(r) = a {
            assert_eq!(
                r.records(&records),
                r.records(&text),
                "records of the resolution of {w:?}"
            );
        }
    }
}

#[test]
fn multi_arch_disqualifies_differing_versions() {
    let per_arch = vec![
        ("x86_64".to_string(), alpine_319()),
        (
            "aarch64".to_string(),
            vec![load("alpine-3.13-aarch64/aarch64/APKINDEX.tar.gz")],
        ),
    ];
    // busybox is 1.36.1-r15 on one and 1.32.1-r5 on the other.
    let e = resolve_multi_arch(&per_arch, &world("busybox")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "x86_64: cannot satisfy `busybox`, which no available package satisfies:\n  \
         busybox-1.36.1-r15 (alpine-3.19/x86_64): missing on arch aarch64"
    );
    assert_eq!(e.arch.as_deref(), Some("x86_64"));
    let Problem::NoCandidate { candidates } = &*e.problem else {
        panic!("{e:?}")
    };
    assert_eq!(
        candidates[0].reason,
        Exclusion::MissingOnArch {
            arch: "aarch64".to_string()
        }
    );
    // bonding-2.6-r5 is in both.
    let r = resolve_multi_arch(&per_arch, &world("bonding")).unwrap();
    assert_eq!(r.len(), 2);
    assert_eq!(labels(&per_arch[0].1, &r[0]), ["bonding-2.6-r5"]);
    assert_eq!(labels(&per_arch[1].1, &r[1]), ["bonding-2.6-r5"]);
    assert_eq!(r[0].records(&per_arch[0].1)[0].arch, "x86_64");
    assert_eq!(r[1].records(&per_arch[1].1)[0].arch, "aarch64");
    // Each architecture alone resolves busybox fine.
    assert!(resolve(&per_arch[1].1, &world("busybox")).is_ok());
}
