//! Small synthetic repositories exercising one rule each.

mod common;

use apk_solve::{Problem, Repository, Root, resolve, resolve_multi_arch};
use common::{labels, repo, world};

fn ok(repos: &[Repository], w: &str) -> Vec<String> {
    let w = world(w);
    let r = resolve(repos, &w).unwrap_or_else(|e| panic!("{e}"));
    labels(repos, &r)
}

fn err(repos: &[Repository], w: &str) -> String {
    let w = world(w);
    match resolve(repos, &w) {
        Ok(r) => panic!("resolved to {:?}", labels(repos, &r)),
        Err(e) => e.to_string(),
    }
}

#[test]
fn version_operators() {
    let repos = [repo(
        "r",
        "
        P:v
        V:1.0-r0

        P:v
        V:1.2-r0

        P:v
        V:2.0_rc1-r0

        P:v
        V:2.0-r1
        ",
    )];
    assert_eq!(ok(&repos, "v"), ["v-2.0-r1"]);
    // 2.0_rc1 is above 2 (more components) but below 2.0 (pre-release).
    assert_eq!(ok(&repos, "v<2"), ["v-1.2-r0"]);
    assert_eq!(ok(&repos, "v<2.0"), ["v-2.0_rc1-r0"]);
    assert_eq!(ok(&repos, "v<=1.2-r0"), ["v-1.2-r0"]);
    assert_eq!(ok(&repos, "v=1.0-r0"), ["v-1.0-r0"]);
    assert_eq!(ok(&repos, "v>1.0-r0"), ["v-2.0-r1"]);
    assert_eq!(ok(&repos, "v~1"), ["v-1.2-r0"]);
    assert_eq!(ok(&repos, "v~2.0_rc"), ["v-2.0_rc1-r0"]);
}

#[test]
fn checksum_pin_selects_one_build() {
    let repos = [repo(
        "r",
        "
        C:Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=
        P:b
        V:1

        C:Q1BBBBBBBBBBBBBBBBBBBBBBBBBBB=
        P:b
        V:2
        ",
    )];
    assert_eq!(ok(&repos, "b><Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA="), ["b-1"]);
    assert_eq!(
        err(&repos, "b><Q1CCCCCCCCCCCCCCCCCCCCCCCCCCC="),
        "cannot satisfy `b><Q1CCCCCCCCCCCCCCCCCCCCCCCCCCC=`, which no available package satisfies:\n  \
         b-1 (r): does not satisfy `b><Q1CCCCCCCCCCCCCCCCCCCCCCCCCCC=` (required by the world)\n  \
         b-2 (r): does not satisfy `b><Q1CCCCCCCCCCCCCCCCCCCCCCCCCCC=` (required by the world)"
    );
}

/// apko rewrites `so:X=V` without `-rN` to `0.V`, on both sides: such
/// versions sort below any version carrying `-rN`.
#[test]
fn so_versions_follow_apkos_rewrite() {
    let repos = [repo(
        "r",
        "
        P:libfoo
        V:1.2-r0
        p:so:libfoo.so.1=1.2

        P:libbar
        V:2.0-r1
        p:so:libbar.so.1=2.0-r1

        P:app
        V:1
        D:so:libfoo.so.1>=1.1

        P:app2
        V:1
        D:so:libfoo.so.1>=1.3

        P:app3
        V:1
        D:so:libbar.so.1<=3
        ",
    )];
    assert_eq!(ok(&repos, "app"), ["libfoo-1.2-r0", "app-1"]);
    assert_eq!(
        err(&repos, "app2"),
        "cannot satisfy `app2`: app2-1 depends on `so:libfoo.so.1>=1.3`, \
         which no available package satisfies:\n  \
         libfoo-1.2-r0 (r) providing `so:libfoo.so.1=1.2`: \
         does not satisfy `so:libfoo.so.1>=1.3` (required by app2-1)"
    );
    // `<=3` reads as `<=0.3`, which 2.0-r1 (kept as is) does not meet.
    assert!(err(&repos, "app3").contains("libbar-2.0-r1 (r) providing `so:libbar.so.1=2.0-r1`"));
}

#[test]
fn newest_version_of_the_requested_name_wins() {
    let repos = [repo(
        "r",
        "
        P:old-impl
        V:5
        p:pc:foo=1.0

        P:new-impl
        V:1
        p:pc:foo=2.0

        P:plain
        V:9
        p:foo-virtual
        ",
    )];
    assert_eq!(ok(&repos, "pc:foo"), ["new-impl-1"]);
    assert_eq!(ok(&repos, "pc:foo<2"), ["old-impl-5"]);
    // An unversioned provide meets a versioned atom only through the
    // package's own version (as in apko).
    assert_eq!(ok(&repos, "foo-virtual>=1"), ["plain-9"]);
    assert_eq!(
        err(&repos, "foo-virtual>=10"),
        "cannot satisfy `foo-virtual>=10`, which no available package satisfies:\n  \
         plain-9 (r) providing `foo-virtual`: does not satisfy `foo-virtual>=10` (required by the world)"
    );
}

/// Subpackages of an origin already pulled in stay at its version, even
/// over a higher provider_priority (apko's candidate order).
#[test]
fn origin_keeps_subpackages_together() {
    let repos = [repo(
        "r",
        "
        P:foo
        V:1
        o:foo

        P:foo
        V:2
        o:foo

        P:foo-libs
        V:1
        o:foo

        P:foo-libs
        V:2
        o:foo

        P:app
        V:1
        D:foo-libs

        P:busybox
        V:1
        o:busybox
        D:musl

        P:busybox-ifupdown
        V:1
        o:busybox
        k:200
        p:ifupdown-any

        P:ifupdown-ng
        V:1
        o:ifupdown-ng
        k:900
        p:ifupdown-any

        P:musl
        V:1

        P:busybox-binsh
        V:1
        o:busybox
        D:busybox
        p:/bin/sh

        P:openrc
        V:1
        D:/bin/sh ifupdown-any
        ",
    )];
    assert_eq!(ok(&repos, "foo=1 app"), ["foo-1", "foo-libs-1", "app-1"]);
    assert_eq!(ok(&repos, "app"), ["foo-libs-2", "app-1"]);
    assert_eq!(ok(&repos, "ifupdown-any"), ["ifupdown-ng-1"]);
    assert_eq!(
        ok(&repos, "openrc"),
        [
            "musl-1",
            "busybox-1",
            "busybox-binsh-1",
            "busybox-ifupdown-1",
            "openrc-1"
        ]
    );
}

#[test]
fn dependency_cycles_terminate() {
    let repos = [repo(
        "r",
        "
        P:a
        V:1
        D:b

        P:b
        V:1
        D:c

        P:c
        V:1
        D:a
        ",
    )];
    assert_eq!(ok(&repos, "a"), ["c-1", "b-1", "a-1"]);
    assert_eq!(ok(&repos, "b a"), ["a-1", "c-1", "b-1"]);
}

#[test]
fn deep_missing_dependency_names_the_chain() {
    let repos = [
        repo(
            "https://example.test/main",
            "
            P:x
            V:1
            D:y>=2

            P:y
            V:2.1
            D:so:libz.so.9
            ",
        ),
        repo("local", ""),
    ];
    let e = resolve(&repos, &world("x")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot satisfy `x`: x-1 depends on `y>=2`, y-2.1 depends on `so:libz.so.9`, \
         which nothing in the repositories (https://example.test/main, local) provides"
    );
    assert_eq!(*e.root, Root::World(world("x").remove(0)));
    assert_eq!(e.chain.len(), 2);
    assert_eq!(e.chain[1].package, "y-2.1");
    assert!(matches!(&*e.problem, Problem::NothingProvides { name, .. } if name == "so:libz.so.9"));
}

#[test]
fn selected_package_that_no_longer_fits() {
    let repos = [repo(
        "r",
        "
        P:x
        V:1
        D:y z

        P:y
        V:1
        D:w<2

        P:z
        V:1
        D:w>=2

        P:w
        V:1
        D:q

        P:w
        V:2
        D:q

        P:q
        V:1
        ",
    )];
    assert_eq!(
        err(&repos, "x"),
        "cannot satisfy `x`: x-1 depends on `z`, z-1 depends on `w>=2`, \
         which the already selected w-1 does not satisfy"
    );
}

/// The greedy order matters: with `b` first, b-2 is installed before a's
/// `!b>1` is known; the final check catches it.
#[test]
fn late_conflict_is_caught() {
    let repos = [repo(
        "r",
        "
        P:a
        V:1
        D:!b>1

        P:b
        V:1

        P:b
        V:2
        ",
    )];
    assert_eq!(ok(&repos, "a b"), ["a-1", "b-1"]);
    assert_eq!(
        err(&repos, "b a"),
        "inconsistent selection: a-1 forbids `b>1`, but b-2 is selected"
    );
}

#[test]
fn repository_order_and_duplicates() {
    let older = repo("older", "P:p\nV:1\n\nP:q\nV:3\n");
    let newer = repo("newer", "P:p\nV:2\n\nP:q\nV:3\n");
    // The newest build wins whichever repository has it.
    let repos = [older.clone(), newer.clone()];
    assert_eq!(ok(&repos, "p"), ["p-2"]);
    // The same name and version in two repositories: the first one.
    let r = resolve(&repos, &world("q")).unwrap();
    assert_eq!(r.packages[0].repo, 0);
    let repos = [newer, older];
    let r = resolve(&repos, &world("q")).unwrap();
    assert_eq!(r.packages[0].repo, 0);
}

#[test]
fn world_conflict_and_duplicates() {
    let repos = [repo(
        "r",
        "
        P:sh-a
        V:1
        p:/bin/sh

        P:sh-b
        V:1
        p:/bin/sh

        P:tool
        V:1
        D:/bin/sh
        ",
    )];
    // Name order breaks the tie between equal providers.
    assert_eq!(ok(&repos, "tool"), ["sh-a-1", "tool-1"]);
    assert_eq!(ok(&repos, "tool !sh-a"), ["sh-b-1", "tool-1"]);
    assert_eq!(ok(&repos, "tool tool sh-b"), ["sh-b-1", "tool-1"]);
    assert_eq!(
        err(&repos, "tool !/bin/sh"),
        "cannot satisfy `tool`: tool-1 depends on `/bin/sh`, which no available package satisfies:\n  \
         sh-a-1 (r) providing `/bin/sh`: excluded by `!/bin/sh` of the world\n  \
         sh-b-1 (r) providing `/bin/sh`: excluded by `!/bin/sh` of the world"
    );
}

#[test]
fn install_if_failure_names_its_trigger() {
    let repos = [repo(
        "r",
        "
        P:base
        V:1

        P:extra
        V:1

        P:base-extra
        V:1
        D:missing-lib
        i:base extra
        ",
    )];
    assert_eq!(ok(&repos, "base"), ["base-1"]);
    assert_eq!(
        err(&repos, "base extra"),
        "cannot add base-extra-1 (its install_if `base extra` is satisfied): \
         base-extra-1 depends on `missing-lib`, which nothing in the repositories (r) provides"
    );
}

#[test]
fn install_if_chains_to_a_fixed_point() {
    let repos = [repo(
        "r",
        "
        P:python3
        V:3.11
        o:python3

        P:pyc
        V:3.11
        o:python3

        P:python3-pyc
        V:3.11
        o:python3
        D:pyc
        i:python3=3.11

        P:py3-foo
        V:1
        D:python3

        P:py3-foo-pyc
        V:1
        i:py3-foo=1 pyc

        P:python3-pyc
        V:3.10
        i:python3=3.10
        ",
    )];
    assert_eq!(
        ok(&repos, "py3-foo"),
        [
            "python3-3.11",
            "py3-foo-1",
            "pyc-3.11",
            "python3-pyc-3.11",
            "py3-foo-pyc-1"
        ]
    );
}

#[test]
fn multi_arch_keeps_one_version() {
    let x86 = vec![repo(
        "x86_64",
        "
        P:foo
        V:1
        D:bar

        P:foo
        V:2
        D:bar

        P:bar
        V:1

        P:only-x86
        V:1
        ",
    )];
    let arm = vec![repo(
        "aarch64",
        "
        P:foo
        V:1
        D:bar

        P:bar
        V:1
        ",
    )];
    let per_arch = vec![("x86_64".to_string(), x86), ("aarch64".to_string(), arm)];
    let r = resolve_multi_arch(&per_arch, &world("foo")).unwrap();
    assert_eq!(labels(&per_arch[0].1, &r[0]), ["bar-1", "foo-1"]);
    assert_eq!(labels(&per_arch[1].1, &r[1]), ["bar-1", "foo-1"]);
    // Alone, x86_64 would take foo-2.
    assert_eq!(ok(&per_arch[0].1, "foo"), ["bar-1", "foo-2"]);
    let e = resolve_multi_arch(&per_arch, &world("foo=2")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "x86_64: cannot satisfy `foo=2`, which no available package satisfies:\n  \
         foo-1 (x86_64): does not satisfy `foo=2` (required by the world)\n  \
         foo-2 (x86_64): missing on arch aarch64"
    );
    let e = resolve_multi_arch(&per_arch, &world("only-x86")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "x86_64: cannot satisfy `only-x86`, which no available package satisfies:\n  \
         only-x86-1 (x86_64): missing on arch aarch64"
    );
}

#[test]
fn empty_world_and_empty_repositories() {
    assert!(ok(&[], "").is_empty());
    assert_eq!(
        err(&[], "a"),
        "cannot satisfy `a`, which nothing in the repositories () provides"
    );
}

/// A chain of `n` packages, each depending on the next.
fn chain_repo(n: usize) -> Repository {
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!("P:p{i}\nV:1\nD:p{}\n\n", i + 1));
    }
    text.push_str(&format!("P:p{n}\nV:1\n"));
    repo("chain", &text)
}

#[test]
fn long_chains_resolve_and_endless_ones_stop() {
    let repos = [chain_repo(990)];
    let r = resolve(&repos, &world("p0")).unwrap();
    assert_eq!(r.packages.len(), 991);
    assert_eq!(labels(&repos, &r)[0], "p990-1");
    let repos = [chain_repo(5000)];
    let e = resolve(&repos, &world("p0")).unwrap_err();
    assert_eq!(e.chain.len(), 1000);
    assert!(
        e.to_string()
            .ends_with("p999-1 depends on `p1000`: the dependency chain is longer than 1000 links"),
        "{e}"
    );
}

/// Each level reaches the next through two unversioned virtual names;
/// walking a finished package again would take 2^40 steps.
#[test]
fn shared_subtrees_are_walked_once() {
    let mut text = String::new();
    for i in 0..40 {
        text.push_str(&format!(
            "P:n{i}\nV:1\nD:x{j} y{j}\np:x{i} y{i}\n\n",
            j = i + 1
        ));
    }
    text.push_str("P:n40\nV:1\np:x40 y40\n");
    let repos = [repo("diamond", &text)];
    let r = resolve(&repos, &world("n0")).unwrap();
    assert_eq!(r.packages.len(), 41);
}
