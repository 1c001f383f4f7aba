//! Package builds for other architectures: `--arch x86_64,aarch64` builds
//! once per architecture into `packages/<arch>/`, the aarch64 steps under
//! QEMU's user-mode emulation (registered by scripts/test.sh), and the
//! aarch64 package installs into an aarch64 image that runs under runc.
//! A machine that cannot run an architecture says so before building.

mod common;

use common::{apkforge, fail, ok};

use std::fs;
use std::path::Path;

use testsupport::fixtures;

const KEY_319: &str = "alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub";
const KEY_313: &str = "alpine-keys/alpine-devel@lists.alpinelinux.org-58199dcc.rsa.pub";

/// A repository directory with Alpine 3.19's x86_64 packages and Alpine
/// 3.13's aarch64 ones, and a recipe over it that records where its step
/// ran and packages the environment's busybox.
fn setup(d: &Path) {
    let fx = fixtures();
    fs::create_dir(d.join("repo")).unwrap();
    std::os::unix::fs::symlink(fx.join("alpine-3.19/x86_64"), d.join("repo/x86_64")).unwrap();
    std::os::unix::fs::symlink(
        fx.join("alpine-3.13-aarch64/aarch64"),
        d.join("repo/aarch64"),
    )
    .unwrap();
    ok(&apkforge(&["keygen", "test", "--bits", "2048"], d));
    let recipe = format!(
        "package:\n  name: hello-arch\n  version: 1.0.0\n  epoch: 0\n  description: busybox, built anywhere\n  copyright:\n    - license: GPL-2.0-only\nenvironment:\n  contents:\n    keyring:\n      - {fx}/{KEY_319}\n      - {fx}/{KEY_313}\n    repositories:\n      - {repo}\n    packages:\n      - busybox\npipeline:\n  - runs: |\n      d=${{{{targets.destdir}}}}\n      mkdir -p $d/usr/bin $d/usr/share/hello-arch\n      uname -m > $d/usr/share/hello-arch/built-on\n      echo ${{{{build.arch}}}} > $d/usr/share/hello-arch/build-arch\n      cp /bin/busybox $d/usr/bin/busybox-hello\n",
        fx = fx.display(),
        repo = d.join("repo").display()
    );
    fs::create_dir(d.join("recipe")).unwrap();
    fs::write(d.join("recipe/hello-arch.yaml"), recipe).unwrap();
}

/// `.PKGINFO`'s `arch`, the machine (`e_machine`) of the packaged busybox
/// and what the step saw, from `packages/<arch>/hello-arch-1.0.0-r0.apk`.
fn inspect(d: &Path, arch: &str) -> (String, u16, String, String) {
    let apk = d.join(format!("packages/{arch}/hello-arch-1.0.0-r0.apk"));
    let dest = d.join(format!("unpacked-{arch}"));
    fs::create_dir_all(&dest).unwrap();
    common::untar(
        &apk,
        &dest,
        &[
            ".PKGINFO",
            "usr/bin/busybox-hello",
            "usr/share/hello-arch/built-on",
            "usr/share/hello-arch/build-arch",
        ],
    );
    let pkginfo = fs::read_to_string(dest.join(".PKGINFO")).unwrap();
    let pkg_arch = pkginfo
        .lines()
        .find_map(|l| l.strip_prefix("arch = "))
        .unwrap_or_default()
        .to_string();
    let elf = fs::read(dest.join("usr/bin/busybox-hello")).unwrap();
    assert_eq!(&elf[..4], b"\x7fELF");
    let machine = u16::from_le_bytes([elf[18], elf[19]]);
    let read = |p: &str| fs::read_to_string(dest.join(p)).unwrap().trim().to_string();
    (
        pkg_arch,
        machine,
        read("usr/share/hello-arch/built-on"),
        read("usr/share/hello-arch/build-arch"),
    )
}

#[test]
fn builds_for_each_arch_and_the_aarch64_package_runs_in_an_aarch64_image() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    setup(d);
    let out = ok(&apkforge(
        &[
            "package",
            "build",
            "recipe/hello-arch.yaml",
            "--arch",
            "x86_64,aarch64",
            "--signing-key",
            "test.rsa",
            "--out-dir",
            "packages",
            "--apk-cache-dir",
            "cache",
        ],
        d,
    ));
    for arch in ["x86_64", "aarch64"] {
        assert!(
            out.contains(&format!("packages/{arch}/hello-arch-1.0.0-r0.apk")),
            "{out}"
        );
        assert!(
            d.join(format!("packages/{arch}/APKINDEX.tar.gz")).is_file(),
            "{arch}: no index"
        );
    }
    // Each build ran in its own architecture's environment.
    assert_eq!(
        inspect(d, "x86_64"),
        ("x86_64".into(), 62, "x86_64".into(), "x86_64".into())
    );
    assert_eq!(
        inspect(d, "aarch64"),
        ("aarch64".into(), 183, "aarch64".into(), "aarch64".into())
    );
    // The aarch64 package's automatic depends name aarch64's libc.
    let info = ok(&apkforge(
        &["apk", "inspect", "packages/aarch64/hello-arch-1.0.0-r0.apk"],
        d,
    ));
    assert!(info.contains("so:libc.musl-aarch64.so.1"), "{info}");

    // Installed in an aarch64 image, it runs under runc with emulation.
    let fx = fixtures();
    let cfg = format!(
        "contents:\n  keyring:\n    - {fx}/{KEY_313}\n    - test.rsa.pub\n  repositories:\n    - {fx}/alpine-3.13-aarch64\n    - packages\n  packages:\n    - hello-arch\nentrypoint:\n  command: /usr/bin/busybox-hello uname -m\n",
        fx = fx.display()
    );
    fs::write(d.join("image.yaml"), cfg).unwrap();
    fs::create_dir(d.join("layout")).unwrap();
    ok(&apkforge(
        &[
            "image",
            "build",
            "image.yaml",
            "hello-arch:latest",
            "layout/",
            "--arch",
            "aarch64",
            "--cache-dir",
            "cache",
            "--sbom=false",
        ],
        d,
    ));
    let ran = common::run_image(&d.join("layout"), "latest", d, None);
    assert_eq!(ran.trim(), "aarch64");
}

#[test]
fn architectures_that_cannot_run_here_fail_before_anything_is_built() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    setup(d);
    let build = |arch: &str| {
        apkforge(
            &[
                "package",
                "build",
                "recipe/hello-arch.yaml",
                "--arch",
                arch,
                "--out-dir",
                "packages",
                "--apk-cache-dir",
                "cache",
            ],
            d,
        )
    };
    // An architecture no emulator is registered for (scripts/test.sh
    // registers aarch64 only): the error names the package and the
    // registration, and the x86_64 build listed first has not started.
    let (arch, qemu) = [
        ("s390x", "s390x"),
        ("riscv64", "riscv64"),
        ("ppc64le", "ppc64le"),
        ("armv7", "arm"),
    ]
    .into_iter()
    .find(|(_, q)| !Path::new(&format!("/proc/sys/fs/binfmt_misc/qemu-{q}")).exists())
    .expect("every emulator is registered here: unregister one to run this test");
    let err = fail(&build(&format!("x86_64,{arch}")));
    assert!(err.contains(&format!("cannot build for {arch}")), "{err}");
    assert!(err.contains("apt-get install qemu-user-static"), "{err}");
    assert!(
        err.contains(&format!("/usr/bin/qemu-{qemu}-static:F")),
        "{err}"
    );
    assert!(!d.join("packages").exists(), "{err}");
    let err = fail(&build("aarch64,sparc"));
    assert!(
        err.contains("--arch `sparc` is not an architecture"),
        "{err}"
    );
    assert!(!d.join("packages").exists(), "{err}");
    // The repositories lack x86_64: refused before the aarch64 build.
    fs::remove_file(d.join("repo/x86_64")).unwrap();
    let err = fail(&build("aarch64,x86_64"));
    assert!(
        err.contains("cannot build `recipe/hello-arch.yaml` for x86_64"),
        "{err}"
    );
    assert!(
        err.contains("none of the repositories has an index for this architecture"),
        "{err}"
    );
    assert!(!d.join("packages").exists(), "{err}");
}

#[test]
fn an_elf_of_another_machine_in_a_package_is_a_lint_error() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let fx = fixtures();
    fs::create_dir_all(d.join("x86/bin")).unwrap();
    fs::create_dir_all(d.join("arm/bin")).unwrap();
    common::untar(
        &fx.join("alpine-3.19/x86_64/busybox-1.36.1-r15.apk"),
        &d.join("x86"),
        &["bin/busybox"],
    );
    common::untar(
        &fx.join("alpine-3.13-aarch64/aarch64/busybox-1.32.1-r5.apk"),
        &d.join("arm"),
        &["bin/busybox"],
    );
    let pack = |dir: &str, arch: &str, out: &str| {
        ok(&apkforge(
            &[
                "apk",
                "pack",
                dir,
                "-o",
                out,
                "--name",
                "bb",
                "--version",
                "1.0-r0",
                "--arch",
                arch,
            ],
            d,
        ))
    };
    // An x86_64 busybox in an aarch64 package: the required `elfmachine`
    // linter fails it, naming the file and its machine.
    pack("x86", "aarch64", "wrong.apk");
    let out = apkforge(&["package", "lint", "wrong.apk"], d);
    let err = fail(&out);
    let all = format!("{}{err}", String::from_utf8_lossy(&out.stdout));
    assert!(all.contains("elfmachine"), "{all}");
    assert!(
        all.contains("bb is built for aarch64 but contains 1 ELF file for another machine"),
        "{all}"
    );
    assert!(all.contains("bin/busybox"), "{all}");
    // The same file in an x86_64 package, and aarch64's in an aarch64 one,
    // pass it.
    pack("x86", "x86_64", "right.apk");
    pack("arm", "aarch64", "right-arm.apk");
    let out = ok(&apkforge(
        &[
            "package",
            "lint",
            "right.apk",
            "right-arm.apk",
            "--lint-require",
            "elfmachine",
        ],
        d,
    ));
    assert!(out.contains("right-arm.apk: ok"), "{out}");

    // A build for aarch64 that packages the x86_64 busybox is refused
    // before anything is written.
    setup(d);
    fs::copy(d.join("x86/bin/busybox"), d.join("recipe/x86-busybox")).unwrap();
    let recipe = fs::read_to_string(d.join("recipe/hello-arch.yaml"))
        .unwrap()
        .replace("cp /bin/busybox", "cp x86-busybox");
    fs::write(d.join("recipe/hello-arch.yaml"), recipe).unwrap();
    let err = fail(&apkforge(
        &[
            "package",
            "build",
            "recipe/hello-arch.yaml",
            "--arch",
            "aarch64",
            "--out-dir",
            "packages",
            "--apk-cache-dir",
            "cache",
        ],
        d,
    ));
    assert!(err.contains("elfmachine"), "{err}");
    assert!(
        !d.join("packages/aarch64/hello-arch-1.0.0-r0.apk").exists(),
        "{err}"
    );
}

#[test]
fn a_tree_builds_for_aarch64_under_emulation() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    setup(d);
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tree/good");
    fs::create_dir(d.join("tree")).unwrap();
    for e in fs::read_dir(&data).unwrap() {
        let p = e.unwrap().path();
        fs::copy(&p, d.join("tree").join(p.file_name().unwrap())).unwrap();
    }
    let fx = fixtures();
    let (repo, key) = (d.join("repo"), fx.join(KEY_313));
    ok(&apkforge(
        &[
            "package",
            "build-tree",
            "tree",
            "--arch",
            "aarch64",
            "--signing-key",
            "test.rsa",
            "-r",
            repo.to_str().unwrap(),
            "-k",
            key.to_str().unwrap(),
            "--apk-cache-dir",
            "cache",
        ],
        d,
    ));
    let built: Vec<String> = fs::read_dir(d.join("packages/aarch64"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".apk"))
        .collect();
    assert_eq!(built.len(), 9, "{built:?}");
    let info = ok(&apkforge(
        &["apk", "inspect", "packages/aarch64/app-1.0.0-r0.apk"],
        d,
    ));
    assert!(info.contains("aarch64"), "{info}");
    assert!(!d.join("packages/x86_64").exists());
}
