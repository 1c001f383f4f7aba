//! Scenarios from apko's own resolver tests (`pkg/apk/apk/repo_test.go`),
//! restated: the same packages and worlds, the answers apko expects.

mod common;

use apk_solve::{Repository, resolve, resolve_multi_arch};
use common::{labels, names, repo, world};

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

/// apko's `testGetPackagesAndIndex` tree.
const TREE: &str = "
    P:package1
    V:1.0.0
    D:dep1 dep2 dep3

    P:dep1
    V:1.0.0
    D:dep4 dep5

    P:dep2
    V:1.0.0
    D:dep3 /bin/sh

    P:dep3
    V:1.0.0
    D:dep6 cmd:/bin/foo so:libq.so.1

    P:dep4
    V:1.0.0

    P:dep5
    V:1.0.0

    P:dep6
    V:1.0.0

    P:dep7
    V:1.0.0

    P:dep8
    V:1.0.0
    D:dep8

    P:libq
    V:1.0.0
    p:so:libq.so.1

    P:foo
    V:1.0.0
    p:cmd:/bin/foo

    P:busybox
    V:1.0.0
    p:/bin/sh

    P:unused
    V:1.0.0

    P:package2
    V:1.0.0
    D:dep2 dep7

    P:package3
    V:1.0.0
    D:dep8

    P:package5
    V:1.0.0

    P:package5
    V:1.5.0

    P:package5
    V:1.5.1

    P:package5
    V:2.0.0

    P:package5-special
    V:1.2.0
    p:package5

    P:package5-conflict
    V:1.2.0
    p:package5=1.2.0

    P:package5-noconflict
    V:1.2.0
    p:package5

    P:package9
    V:2.0.0
    D:package5

    P:abc9
    V:2.0.0
    D:package5

    P:locked-dep
    V:2.0.0
    D:package5=1.5.1
";

fn tree() -> Vec<Repository> {
    vec![repo("tree", TREE)]
}

/// TestGetPackagesWithDependences/names only: the exact install order.
#[test]
fn install_order_matches_apko() {
    let repos = tree();
    let r = resolve(&repos, &world("package1 package2")).unwrap();
    assert_eq!(
        names(&repos, &r),
        [
            "dep4", "dep5", "dep1", "busybox", "foo", "dep6", "libq", "dep3", "dep2", "package1",
            "dep7", "package2"
        ]
    );
    // A package depending on itself.
    assert_eq!(ok(&repos, "package3"), ["dep8-1.0.0", "package3-1.0.0"]);
}

/// TestGetPackagesWithDependences/dependency in world.
#[test]
fn world_choice_overrides_dependencies() {
    let repos = tree();
    assert_eq!(
        ok(&repos, "abc9 package5"),
        ["package5-2.0.0", "abc9-2.0.0"]
    );
    assert_eq!(
        ok(&repos, "abc9 package5=1.5.1"),
        ["package5-1.5.1", "abc9-2.0.0"]
    );
    assert_eq!(
        ok(&repos, "abc9 package5-special"),
        ["package5-special-1.2.0", "abc9-2.0.0"]
    );
    // package9 alone takes the newest package5.
    assert_eq!(ok(&repos, "package9"), ["package5-2.0.0", "package9-2.0.0"]);
}

/// TestGetPackagesWithDependences/conflicting (same) provides.
#[test]
fn versioned_provides_conflict_unversioned_do_not() {
    let repos = tree();
    assert_eq!(
        ok(&repos, "abc9 package5-noconflict package5-special").len(),
        3
    );
    assert_eq!(
        err(&repos, "abc9 package5-conflict package5-special"),
        "cannot satisfy `package5-special`, which no available package satisfies:\n  \
         package5-special-1.2.0 (tree): conflicts with the already selected \
         package5-conflict-1.2.0, which provides `package5`"
    );
}

/// TestGetPackagesWithDependences: locked versions, stricter requirement,
/// conflicting requirements.
#[test]
fn world_version_requirements() {
    let repos = tree();
    assert_eq!(
        ok(&repos, "locked-dep package5"),
        ["package5-1.5.1", "locked-dep-2.0.0"]
    );
    assert_eq!(
        ok(&repos, "package5=1.5.1 package5>1.0.0"),
        ["package5-1.5.1"]
    );
    assert!(err(&repos, "package5=1.0.0 package5=1.5.1").starts_with(
        "cannot satisfy `package5=1.0.0`, which no available package satisfies:\n  \
         package5-1.0.0 (tree): does not satisfy `package5=1.5.1` (required by the world)"
    ));
}

/// TestExcludedDeps: `!musl` steers a so: dependency to ld-linux.
#[test]
fn excluded_dependency() {
    let repos = [repo(
        "r",
        "
        P:musl
        V:1.23-r4
        p:so:ld-linux-aarch64.so.1

        P:ld-linux
        V:2.38-r10
        p:so:ld-linux-aarch64.so.1

        P:glibc
        V:2.38-r10
        D:!musl so:ld-linux-aarch64.so.1
        ",
    )];
    assert_eq!(ok(&repos, "glibc"), ["ld-linux-2.38-r10", "glibc-2.38-r10"]);
}

/// TestSameProvidedVersion / TestHigherProvidedVersion.
#[test]
fn provided_version_then_package_version() {
    let same = [repo(
        "r",
        "
        P:ld-linux
        V:2.38-r10
        p:so:ld-linux-aarch64.so.1=1.0

        P:ld-linux
        V:2.38-r11
        p:so:ld-linux-aarch64.so.1=1.0

        P:glibc
        V:2.38-r10
        D:so:ld-linux-aarch64.so.1
        ",
    )];
    assert_eq!(ok(&same, "glibc"), ["ld-linux-2.38-r11", "glibc-2.38-r10"]);
    let higher = [repo(
        "r",
        "
        P:ld-linux
        V:2.38-r10
        p:so:ld-linux-aarch64.so.1=1.1

        P:ld-linux
        V:2.38-r11
        p:so:ld-linux-aarch64.so.1=1.0

        P:glibc
        V:2.38-r10
        D:so:ld-linux-aarch64.so.1
        ",
    )];
    assert_eq!(
        ok(&higher, "glibc"),
        ["ld-linux-2.38-r10", "glibc-2.38-r10"]
    );
}

/// TestDepWithProvidesOfDiffVersion: a provide versioned differently from
/// its package satisfies a later `name=version` through the selection.
#[test]
fn provide_with_its_own_version() {
    let repos = [repo(
        "r",
        "
        P:libcurl-openssl4
        V:8.12.1-r1
        D:foo
        p:libcurl-abi=8.12.1 so:libcurl.so.4=4

        P:foo
        V:1

        P:curl
        V:8.12.1-r1
        D:libcurl-abi=8.12.1 so:libcurl.so.4

        P:curl-dev
        V:8.12.1-r1
        D:so:libcurl.so.4
        ",
    )];
    assert_eq!(
        ok(&repos, "curl-dev curl"),
        [
            "foo-1",
            "libcurl-openssl4-8.12.1-r1",
            "curl-dev-8.12.1-r1",
            "curl-8.12.1-r1"
        ]
    );
}

/// TestProviderAcrossOriginVersionBump: the origin heuristic needs the
/// same version, so a stale subpackage of an old origin build loses.
#[test]
fn stale_origin_subpackage_loses() {
    let repos = [repo(
        "r",
        "
        P:glibc
        V:1
        o:glibc

        P:libcrypt1
        V:1
        o:glibc
        p:so:libcrypt.so.1=1

        P:glibc
        V:2
        o:glibc

        P:libxcrypt
        V:2
        o:libxcrypt
        p:so:libcrypt.so.1=1

        P:consumer
        V:1
        D:so:libcrypt.so.1
        ",
    )];
    assert_eq!(
        ok(&repos, "consumer glibc=2"),
        ["libxcrypt-2", "consumer-1", "glibc-2"]
    );
}

const PYBIND: &str = "
    P:py3.10-pybind11
    V:2.13.6-r1
    o:py3-pybind11
    p:py3-pybind11 py3-pybind11-dev
    k:312

    P:py3.10-pybind11
    V:3.0.4-r0
    o:py3-pybind11
    p:py3-pybind11 py3-pybind11-dev
    k:310
";

/// TestSameOriginVersionBeatsStaleProviderPriority and
/// TestDirectDependencyPrefersVersionOverProviderPriority.
#[test]
fn stale_higher_priority_build_loses() {
    let meta = format!(
        "{PYBIND}\nP:py3-supported-pybind11\nV:3.0.4-r0\no:py3-pybind11\nD:py3.10-pybind11\n"
    );
    let repos = [repo("r", &meta)];
    assert_eq!(
        ok(&repos, "py3-supported-pybind11"),
        [
            "py3.10-pybind11-3.0.4-r0",
            "py3-supported-pybind11-3.0.4-r0"
        ]
    );
    let repos = [repo("r", PYBIND)];
    assert_eq!(ok(&repos, "py3.10-pybind11"), ["py3.10-pybind11-3.0.4-r0"]);
}

/// TestUnversionedProvideDoesNotDisqualifyAgainstVersionedConstraint and
/// TestUnversionedProvideVersionMismatchDivergesFromApk: a lock file pins
/// every name; an unversioned provider meets the pin by its own version.
#[test]
fn pinned_closure_through_unversioned_provide() {
    let repos = [repo(
        "r",
        "
        P:unbound-config
        V:1.25.1-r2
        o:unbound

        P:unbound-mailcow-compat
        V:1.25.1-r2
        o:unbound
        p:unbound-config
        ",
    )];
    assert_eq!(
        ok(
            &repos,
            "unbound-mailcow-compat=1.25.1-r2 unbound-config=1.25.1-r2"
        ),
        ["unbound-mailcow-compat-1.25.1-r2"]
    );
    let repos = [repo(
        "r",
        "
        P:unbound-mailcow-compat
        V:9.9.9-r9
        o:unbound
        p:unbound-config
        ",
    )];
    assert!(err(&repos, "unbound-config=1.25.1-r2").contains("unbound-config=1.25.1-r2"));
}

/// TestProviderPriorityArbitratesVirtualProvides,
/// TestVersionedProvideBeatsProviderPriority,
/// TestHigherVersionBreaksProviderTieAcrossRepositories.
#[test]
fn provider_order() {
    let repos = [repo(
        "r",
        "
        P:py3.10-pybind11
        V:3.0.4-r0
        p:py3-pybind11-dev
        k:310

        P:py3.13-pybind11
        V:3.0.4-r0
        p:py3-pybind11-dev
        k:313

        P:prov-a
        V:1.0-r0
        p:virt=2.0
        k:1

        P:prov-b
        V:9.0-r0
        p:virt=1.0
        k:999
        ",
    )];
    assert_eq!(ok(&repos, "py3-pybind11-dev"), ["py3.13-pybind11-3.0.4-r0"]);
    assert_eq!(ok(&repos, "virt"), ["prov-a-1.0-r0"]);
    let repos = [
        repo("a", "P:prov-variant\nV:1.0-r1\np:so:libprov.so.12=12\n"),
        repo("b", "P:prov\nV:1.0-r2\np:so:libprov.so.12=12\n"),
    ];
    assert_eq!(ok(&repos, "so:libprov.so.12"), ["prov-1.0-r2"]);
}

/// TestConstrains: a world `~` constraint steers what another package
/// gets for the same so: name.
#[test]
fn world_constraint_steers_shared_dependency() {
    let repos = [repo(
        "r",
        "
        P:ld-linux
        V:2.38-r10
        p:so:ld-linux-aarch64.so.1=1.0

        P:ld-linux
        V:2.38-r11
        p:so:ld-linux-aarch64.so.1=1.1

        P:glibc
        V:2.38-r10
        D:so:ld-linux-aarch64.so.1=1.0

        P:glibc
        V:2.39-r0
        D:so:ld-linux-aarch64.so.1

        P:foo
        V:1.23-r4
        D:so:ld-linux-aarch64.so.1
        ",
    )];
    assert_eq!(
        ok(&repos, "glibc~2.38 foo"),
        ["ld-linux-2.38-r10", "glibc-2.38-r10", "foo-1.23-r4"]
    );
}

/// TestSortPackages: an invalid version sorts last; equal versions by name.
#[test]
fn candidate_order_basics() {
    let repos = [repo(
        "r",
        "
        P:package1
        V:1.0.0

        P:package1
        V:2.0.1

        P:package1
        V:1.2.0abc

        P:package1
        V:1.2.0
        ",
    )];
    assert_eq!(ok(&repos, "package1"), ["package1-2.0.1"]);
    assert_eq!(ok(&repos, "package1<2"), ["package1-1.2.0"]);
}

/// TestDisqualifyingOtherArchitectures.
#[test]
fn package_only_on_one_arch() {
    let x86 = tree();
    let mut arm = tree();
    arm.push(repo("arm-extra", "P:onlyinarm64\nV:1.0.0\n"));
    let per_arch = vec![("aarch64".to_string(), arm), ("x86_64".to_string(), x86)];
    let e = resolve_multi_arch(&per_arch, &world("package1 package2 onlyinarm64")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "aarch64: cannot satisfy `onlyinarm64`, which no available package satisfies:\n  \
         onlyinarm64-1.0.0 (arm-extra): missing on arch x86_64"
    );
    let r = resolve_multi_arch(&per_arch, &world("package1 package2")).unwrap();
    assert_eq!(names(&per_arch[0].1, &r[0]), names(&per_arch[1].1, &r[1]));
}
