//! Scenarios taken from apk-tools' solver tests (`test/solver/*.test`),
//! restated as fresh-install resolutions. Where apko's greedy resolver
//! answers differently from apk-tools, the test says so and expects apko's
//! answer (that is what images are built with).

mod common;

use apk_solve::{Repository, resolve};
use common::{labels, pinned, repo, world};

const BASIC: &str = "
    P:a
    V:1
    D:b

    P:a
    V:2
    D:b

    P:b
    V:1

    P:b
    V:2
";

const COMPLICATED: &str = "
    P:a
    V:2
    D:b c

    P:a
    V:3
    D:b c d>1.5

    P:b
    V:1
    D:c d<2.0

    P:c
    V:1
    D:d>1.0

    P:d
    V:1.0

    P:d
    V:1.5

    P:d
    V:2.0
";

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

/// basic1: the newest versions, dependencies first.
#[test]
fn basic1_newest_dependencies_first() {
    let repos = [repo("test", BASIC)];
    assert_eq!(ok(&repos, "a"), ["b-2", "a-2"]);
}

/// complicated2 / complicated3: version constraints down the tree.
#[test]
fn complicated2_and_3_follow_constraints() {
    let repos = [repo("test", COMPLICATED)];
    assert_eq!(ok(&repos, "b"), ["d-1.5", "c-1", "b-1"]);
    assert_eq!(ok(&repos, "c"), ["d-2.0", "c-1"]);
}

/// complicated1: apk-tools backtracks to a-2; apko takes the newest a-3,
/// whose `d>1.5` and b's `d<2.0` leave no d. The error shows who excluded
/// each version.
#[test]
fn complicated1_greedy_does_not_backtrack() {
    let repos = [repo("test", COMPLICATED)];
    assert_eq!(
        err(&repos, "a"),
        "cannot satisfy `a`: a-3 depends on `b`, b-1 depends on `d<2.0`, \
         which no available package satisfies:\n  \
         d-1.0 (test): does not satisfy `d>1.5` (required by a-3)\n  \
         d-1.5 (test): does not satisfy `d>1.5` (required by a-3)\n  \
         d-2.0 (test): does not satisfy `d<2.0` (required by b-1)"
    );
    // Asking for a=2 explicitly works.
    assert_eq!(ok(&repos, "a=2"), ["d-1.5", "c-1", "b-1", "a-2"]);
}

/// error1: `d>1.5` in the world clashes with b's `d<2.0`.
#[test]
fn error1_world_constraint_against_dependency() {
    let repos = [repo("test", COMPLICATED)];
    assert_eq!(
        err(&repos, "a d>1.5"),
        "cannot satisfy `a`: a-3 depends on `b`, b-1 depends on `d<2.0`, \
         which no available package satisfies:\n  \
         d-1.0 (test): does not satisfy `d>1.5` (required by the world)\n  \
         d-1.5 (test): does not satisfy `d>1.5` (required by the world)\n  \
         d-2.0 (test): does not satisfy `d<2.0` (required by b-1)"
    );
}

/// error2: `d<1.5` in the world clashes with a-3's `d>1.5`.
#[test]
fn error2_dependency_against_world_constraint() {
    let repos = [repo("test", COMPLICATED)];
    assert_eq!(
        err(&repos, "a d<1.5"),
        "cannot satisfy `a`: a-3 depends on `d>1.5`, \
         which no available package satisfies:\n  \
         d-1.0 (test): does not satisfy `d>1.5` (required by a-3)\n  \
         d-1.5 (test): does not satisfy `d<1.5` (required by the world)\n  \
         d-2.0 (test): does not satisfy `d<1.5` (required by the world)"
    );
}

/// error3: `!b` in the world.
#[test]
fn error3_world_conflict() {
    let repos = [repo("test", COMPLICATED)];
    assert_eq!(
        err(&repos, "a !b"),
        "cannot satisfy `a`: a-3 depends on `b`, which no available package satisfies:\n  \
         b-1 (test): excluded by `!b` of the world"
    );
}

/// error4: a name nothing provides.
#[test]
fn error4_no_such_package() {
    let repos = [repo("test", COMPLICATED)];
    assert_eq!(
        err(&repos, "a nonexistant"),
        "cannot satisfy `nonexistant`, which nothing in the repositories (test) provides"
    );
}

const FUZZY: &str = "
    P:a
    V:2.2

    P:a
    V:2.10
";

/// fuzzy1-3: `~` matches by version prefix, `>~` combines.
#[test]
fn fuzzy_versions() {
    let repos = [repo("test", FUZZY)];
    assert_eq!(ok(&repos, "a~2.2"), ["a-2.2"]);
    assert_eq!(
        err(&repos, "a~2.4"),
        "cannot satisfy `a~2.4`, which no available package satisfies:\n  \
         a-2.2 (test): does not satisfy `a~2.4` (required by the world)\n  \
         a-2.10 (test): does not satisfy `a~2.4` (required by the world)"
    );
    assert_eq!(ok(&repos, "a>~2.5"), ["a-2.10"]);
}

const CONFLICT: &str = "
    P:a
    V:1
    D:!b>1

    P:b
    V:1

    P:b
    V:2
";

/// conflict1: a's `!b>1` makes b resolve to b-1.
#[test]
fn conflict1_versioned_conflict_steers() {
    let repos = [repo("test", CONFLICT)];
    assert_eq!(ok(&repos, "a b"), ["a-1", "b-1"]);
}

/// conflict2: the world wants b>1, a forbids it.
#[test]
fn conflict2_versioned_conflict_fails() {
    let repos = [repo("test", CONFLICT)];
    assert_eq!(
        err(&repos, "a b>1"),
        "cannot satisfy `b>1`, which no available package satisfies:\n  \
         b-1 (test): does not satisfy `b>1` (required by the world)\n  \
         b-2 (test): excluded by `!b>1` of a-1"
    );
}

const PRIO: &str = "
    P:busybox-binsh
    V:1.37.0-r23
    p:/bin/sh cmd:sh=1.37.0-r23
    k:100

    P:dash-binsh
    V:0.5.12-r3
    p:/bin/sh cmd:sh=0.5.12-r3
    k:60

    P:yash-binsh
    V:2.59-r0
    D:/bin/sh cmd:sh=2.59-r0
    k:50
";

/// provides-prio1/2: the highest provider_priority wins unless a provider
/// is asked for by name.
#[test]
fn provider_priority() {
    let repos = [repo("test", PRIO)];
    assert_eq!(ok(&repos, "/bin/sh"), ["busybox-binsh-1.37.0-r23"]);
    assert_eq!(ok(&repos, "/bin/sh dash-binsh"), ["dash-binsh-0.5.12-r3"]);
}

const PROVIDES: &str = "
    P:libfoo
    V:1
    p:so:foo.so.1=1.0

    P:libfoo
    V:2
    p:so:foo.so.2=1.0

    P:app
    V:2
    D:so:foo.so.1

    P:app2
    V:2
    D:so:foo.so.2

    P:mymailreader
    V:1
    p:mail-reader
    k:1

    P:mailreadplus
    V:1
    p:mail-reader
    k:2

    P:mailreadsolo
    V:1
    D:!mail-reader
    p:mail-reader

    P:server-a
    V:1
    p:theservice=1

    P:server-b
    V:1
    p:theservice=2

    P:pulseaudio
    V:1
    k:10

    P:pulseaudio-alsa
    V:1
    k:10

    P:pipewire-pulse
    V:1
    k:1
    p:pulseaudio=1 pulseaudio-alsa=1
";

/// provides1/2/13/19: providers by so: name, by priority, real packages
/// over a versioned provider, and a package conflicting with a name it
/// provides itself.
#[test]
fn provides_choose() {
    let repos = [repo("test", PROVIDES)];
    assert_eq!(ok(&repos, "app"), ["libfoo-1", "app-2"]);
    assert_eq!(ok(&repos, "mail-reader"), ["mailreadplus-1"]);
    assert_eq!(
        ok(&repos, "pulseaudio pulseaudio-alsa"),
        ["pulseaudio-1", "pulseaudio-alsa-1"]
    );
    assert_eq!(ok(&repos, "mailreadsolo"), ["mailreadsolo-1"]);
}

/// provides5: two packages providing one name at different versions.
#[test]
fn provides5_versioned_provides_conflict() {
    let repos = [repo("test", PROVIDES)];
    assert_eq!(
        err(&repos, "server-a server-b"),
        "cannot satisfy `server-b`, which no available package satisfies:\n  \
         server-b-1 (test): conflicts with the already selected server-a-1, \
         which provides `theservice`"
    );
}

/// provides6: two versions of libfoo needed at once.
#[test]
fn provides6_two_versions_of_one_name() {
    let repos = [repo("test", PROVIDES)];
    assert_eq!(
        err(&repos, "app app2"),
        "cannot satisfy `app2`: libfoo-2 conflicts with the already selected libfoo-1 over `libfoo`"
    );
}

/// provides20: mailreadsolo conflicts with every other mail reader.
#[test]
fn provides20_conflict_with_provider() {
    let repos = [repo("test", PROVIDES)];
    assert_eq!(
        err(&repos, "mailreadsolo mailreadplus"),
        "cannot satisfy `mailreadplus`, which no available package satisfies:\n  \
         mailreadplus-1 (test): excluded by `!mail-reader` of mailreadsolo-1"
    );
}

const INSTALLIF: &str = "
    P:app
    V:1
    D:lib

    P:lib
    V:1

    P:foo
    V:1

    P:bar
    V:1

    P:libiif
    V:1
    i:lib foo

    P:appiif1
    V:1
    D:app
    i:app foo

    P:appiif2
    V:1
    D:app
    i:app bar

    P:dam
    V:1

    P:dam-babel
    V:1
    p:cmd:babel

    P:dam1-babel
    V:1
    i:dam dam-babel
    p:cmd:babel
";

/// installif1/2/5: install_if triggers on the selection, not on the world.
/// (apk-tools' expected output leaves `libiif` out of installif1; here
/// every package whose install_if atoms are all met is added, and `lib`
/// and `foo` are both selected.)
#[test]
fn install_if_triggers() {
    let repos = [repo("test", INSTALLIF)];
    assert_eq!(
        ok(&repos, "foo app"),
        ["foo-1", "lib-1", "app-1", "appiif1-1", "libiif-1"]
    );
    assert_eq!(
        ok(&repos, "foo app bar"),
        [
            "foo-1",
            "lib-1",
            "app-1",
            "bar-1",
            "appiif1-1",
            "appiif2-1",
            "libiif-1"
        ]
    );
    assert_eq!(
        ok(&repos, "dam dam-babel cmd:babel"),
        ["dam-1", "dam-babel-1", "dam1-babel-1"]
    );
}

const INSTALLIF6: &str = "
    P:qt5-qtbase
    V:1
    p:so:libQt5Core.so.5=1

    P:wayland-libs-client
    V:1
    p:so:libwayland-client.so.0=1

    P:peruse
    V:1
    D:so:libQt5Core.so.5

    P:sway
    V:1
    D:so:libwayland-client.so.0

    P:qt5-qtwayland
    V:1
    i:wayland-libs-client qt5-qtbase
";

/// installif6: triggers reached only through so: dependencies.
#[test]
fn install_if_through_dependencies() {
    let repos = [repo("test", INSTALLIF6)];
    assert_eq!(
        ok(&repos, "sway peruse"),
        [
            "wayland-libs-client-1",
            "sway-1",
            "qt5-qtbase-1",
            "peruse-1",
            "qt5-qtwayland-1"
        ]
    );
}

const INSTALLIF8: &str = "
    P:foo
    V:1
    i:bar=1 !baz !nonexistent

    P:bar
    V:1

    P:baz
    V:1
";

/// installif8/9: `!` atoms in install_if hold while nothing matches them.
#[test]
fn install_if_negated_atoms() {
    let repos = [repo("test", INSTALLIF8)];
    assert_eq!(ok(&repos, "bar"), ["bar-1", "foo-1"]);
    assert_eq!(ok(&repos, "bar baz"), ["bar-1", "baz-1"]);
}

const PIN_BASIC: &str = "
    P:a
    V:2
    D:b

    P:b
    V:2

    P:c
    V:2
    D:a>=2

    P:samever
    V:10
";

const PIN_OVERLAY: &str = "
    P:a
    V:3
    D:b

    P:b
    V:3

    P:c
    V:3
    D:a>=3

    P:samever
    V:10
";

const PIN_IIF: &str = "
    P:iif
    V:3
    D:a b
    i:a
";

fn pin_repos() -> Vec<Repository> {
    vec![
        repo("basic", PIN_BASIC),
        pinned("overlay", "testing", PIN_OVERLAY),
        pinned("overlay-iif", "testing", PIN_IIF),
    ]
}

/// pinning1-4, 12, 13: tagged repositories only serve what asks for the
/// tag; below a pinned atom untagged packages are still preferred.
#[test]
fn pinning() {
    let repos = pin_repos();
    assert_eq!(ok(&repos[..2], "a"), ["b-2", "a-2"]);
    assert_eq!(ok(&repos[..2], "a@testing"), ["b-2", "a-3"]);
    assert_eq!(ok(&repos[..2], "a@testing b@testing"), ["b-3", "a-3"]);
    assert_eq!(ok(&repos[..2], "c@testing"), ["b-2", "a-3", "c-3"]);
    assert_eq!(ok(&repos, "a@testing"), ["b-2", "a-3", "iif-3"]);
    assert_eq!(ok(&repos, "a"), ["b-2", "a-2"]);
    let r = resolve(&repos, &world("samever@testing")).unwrap();
    assert_eq!(r.packages[0].repo, 1);
}

/// pinning11 / pinning15: what only a tagged repository has, and a
/// tagged atom for a name nobody has.
#[test]
fn pinning_errors() {
    let repos = pin_repos();
    assert_eq!(
        err(&repos, "c>=3"),
        "cannot satisfy `c>=3`, which no available package satisfies:\n  \
         c-2 (basic): does not satisfy `c>=3` (required by the world)\n  \
         c-3 (overlay @testing): pinned to @testing, which was not requested"
    );
    assert_eq!(
        err(&repos, "missing@testing"),
        "cannot satisfy `missing@testing`, which nothing in the repositories \
         (basic, overlay, overlay-iif) provides"
    );
}
