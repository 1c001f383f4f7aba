//! Hostile packages in a signed local repository: data swapped after
//! indexing, decompression bombs, writes through symlinks, device nodes,
//! and hostile indexes. Each package is crafted member by member here.

mod common;

use common::{apkforge, fail, ok};

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use apk_format::index_archive::read_index_archive;
use apk_format::package_write::{gzip_encoder, signature_member};
use apk_format::signing::SigningKey;
use apk_format::tar_write::{TarHeader, TarKind, TarWriter};
use flate2::Compression;
use sha2::{Digest, Sha256};

/// A data entry: header and content.
fn file(path: &str, content: &[u8]) -> (TarHeader, Vec<u8>) {
    let mut h = TarHeader::new(path, TarKind::File, 0o644);
    h.size = content.len() as u64;
    (h, content.to_vec())
}

fn dir(path: &str) -> (TarHeader, Vec<u8>) {
    (TarHeader::new(path, TarKind::Directory, 0o755), Vec::new())
}

fn symlink(path: &str, target: &str) -> (TarHeader, Vec<u8>) {
    let mut h = TarHeader::new(path, TarKind::Symlink, 0o777);
    h.link = target.into();
    (h, Vec::new())
}

/// One gzip member holding a tar of `entries` (terminated when `end`).
fn member(entries: &[(TarHeader, Vec<u8>)], end: bool) -> Vec<u8> {
    let mut tar = TarWriter::new(gzip_encoder(Vec::new(), Compression::new(6)));
    for (h, content) in entries {
        tar.append(h, &mut &content[..]).unwrap();
    }
    if end {
        tar.finish().unwrap();
    }
    tar.into_inner().finish().unwrap()
}

/// An unsigned package: control member (`.PKGINFO` declaring `size`, and
/// `datahash` when asked) followed by `data` (a gzip member).
fn package(name: &str, size: u64, data: &[u8], datahash: bool) -> Vec<u8> {
    let mut pkginfo = format!(
        "pkgname = {name}\npkgver = 1.0-r0\narch = x86_64\nsize = {size}\norigin = {name}\npkgdesc = test\nurl = \nlicense = MIT\n"
    );
    if datahash {
        pkginfo.push_str(&format!(
            "datahash = {}\n",
            hex::encode(Sha256::digest(data))
        ));
    }
    let mut apk = member(&[file(".PKGINFO", pkginfo.as_bytes())], false);
    apk.extend_from_slice(data);
    apk
}

/// A work directory with a key (`k.rsa`) and a repository `repo/x86_64/`.
struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        ok(&apkforge(&["keygen", "k", "--bits", "2048"], dir.path()));
        fs::create_dir_all(dir.path().join("repo/x86_64")).unwrap();
        Repo { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn apk_path(&self, name: &str) -> PathBuf {
        self.path().join(format!("repo/x86_64/{name}-1.0-r0.apk"))
    }

    /// Writes packages and indexes them all with `apkforge index`, signed.
    fn publish(&self, packages: &[(&str, Vec<u8>)]) {
        for (name, bytes) in packages {
            fs::write(self.apk_path(name), bytes).unwrap();
        }
        self.index(&self.path().join("repo/x86_64/APKINDEX.tar.gz"));
    }

    /// `apkforge index` over every package of the repository into `out`.
    fn index(&self, out: &Path) {
        let mut apks: Vec<String> = fs::read_dir(self.path().join("repo/x86_64"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "apk"))
            .map(|p| p.display().to_string())
            .collect();
        apks.sort();
        let mut args = vec![
            "index",
            "-o",
            out.to_str().unwrap(),
            "--signing-key",
            "k.rsa",
        ];
        args.extend(apks.iter().map(String::as_str));
        ok(&apkforge(&args, self.path()));
    }

    fn config(&self, packages: &[&str]) -> PathBuf {
        let pkgs: String = packages.iter().map(|p| format!("    - {p}\n")).collect();
        let path = self.path().join("image.yaml");
        fs::write(
            &path,
            format!(
                "contents:\n  keyring:\n    - {d}/k.rsa.pub\n  repositories:\n    - {d}/repo\n  packages:\n{pkgs}archs: [x86_64]\n",
                d = self.path().display()
            ),
        )
        .unwrap();
        path
    }

    /// `image build` of `packages` into `out.tar` with the cache in `cache/`.
    fn build(&self, packages: &[&str]) -> std::process::Output {
        let config = self.config(packages);
        apkforge(
            &[
                "image",
                "build",
                config.to_str().unwrap(),
                "x:1",
                "out.tar",
                "--cache-dir",
                "cache",
            ],
            self.path(),
        )
    }

    /// `image build-minirootfs` of `packages` into `rootfs.tar`.
    fn minirootfs(&self, packages: &[&str]) -> std::process::Output {
        let config = self.config(packages);
        apkforge(
            &[
                "image",
                "build-minirootfs",
                config.to_str().unwrap(),
                "rootfs.tar",
                "--cache-dir",
                "cache",
            ],
            self.path(),
        )
    }
}

/// Every path of a gzipped tar file.
fn tar_gz_paths(path: &Path) -> Vec<String> {
    let gz = flate2::read::GzDecoder::new(fs::File::open(path).unwrap());
    let mut archive = tar::Archive::new(gz);
    archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect()
}

#[test]
fn data_swapped_in_a_package_without_datahash_is_refused() {
    let repo = Repo::new();
    let good = member(&[dir("etc"), file("etc/motd", b"hello\n")], true);
    let evil = member(&[dir("etc"), file("etc/motd", b"owned\n")], true);
    // Signed as apk-tools 2 signs a package without datahash: over control
    // and data together.
    let key = SigningKey::from_pem("k.rsa", &fs::read(repo.path().join("k.rsa")).unwrap()).unwrap();
    let unsigned = package("old", 6, &good, false);
    let sig = key.sign_sha256_digest(&Sha256::digest(&unsigned)).unwrap();
    let sig_member =
        signature_member(sig.algorithm.entry_prefix(), &sig.key_name, &sig.bytes, 0).unwrap();
    repo.publish(&[("old", [sig_member.clone(), unsigned].concat())]);
    let verify = || {
        apkforge(
            &[
                "apk",
                "verify",
                "-k",
                "k.rsa.pub",
                repo.apk_path("old").to_str().unwrap(),
            ],
            repo.path(),
        )
    };
    // The genuine package verifies: its signature covers the data.
    let out = ok(&verify());
    assert!(out.starts_with("OK: "), "{out}");
    let inspect = || {
        let out = ok(&apkforge(
            &[
                "apk",
                "inspect",
                "--json",
                "-k",
                "k.rsa.pub",
                repo.apk_path("old").to_str().unwrap(),
            ],
            repo.path(),
        ));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["signature"]["status"].as_str().unwrap().to_string()
    };
    assert_eq!(inspect(), "valid");
    let indexed = repo.path().join("repo/x86_64/APKINDEX.tar.gz");
    let checksum_of = |index: &Path| {
        let archive = read_index_archive(std::io::BufReader::new(fs::File::open(index).unwrap()));
        archive.unwrap().entries[0]
            .package
            .checksum
            .clone()
            .unwrap()
    };
    let genuine = checksum_of(&indexed);
    // The genuine package builds.
    ok(&repo.build(&["old"]));
    // Its data member swapped (the control member, and so any signature
    // over it, unchanged): `index` gives it another checksum, as apk-tools 2
    // does for packages without datahash...
    fs::write(
        repo.apk_path("old"),
        [sig_member, package("old", 6, &evil, false)].concat(),
    )
    .unwrap();
    let reindexed = repo.path().join("other-index.tar.gz");
    repo.index(&reindexed);
    assert_ne!(checksum_of(&reindexed), genuine);
    // ...and `image build` against the signed index refuses it, naming it.
    fs::remove_dir_all(repo.path().join("cache")).unwrap();
    let err = fail(&repo.build(&["old"]));
    assert!(
        err.contains("old-1.0-r0") && err.contains("does not match the index"),
        "{err}"
    );
    // `apk verify`: the signature no longer matches either (and there is
    // no datahash to check the data by).
    let err = fail(&verify());
    assert!(
        err.contains("signature check failed") && !err.contains("datahash"),
        "{err}"
    );
    assert_eq!(inspect(), "invalid");
}

#[test]
fn a_data_section_expanding_past_its_declared_size_is_refused() {
    let repo = Repo::new();
    // 80 MiB of zeros (about 80 KiB compressed) in a package declaring
    // 4 bytes: the limit is 2 x 4 bytes + 64 MiB.
    let mut h = TarHeader::new("bomb", TarKind::File, 0o644);
    let len = 80u64 << 20;
    h.size = len;
    let mut tar = TarWriter::new(gzip_encoder(Vec::new(), Compression::new(9)));
    tar.append(&h, &mut std::io::repeat(0).take_exact(len))
        .unwrap();
    tar.finish().unwrap();
    let bomb = tar.into_inner().finish().unwrap();
    assert!(bomb.len() < 1 << 20);
    repo.publish(&[("bomb", package("bomb", 4, &bomb, true))]);
    let err = fail(&repo.build(&["bomb"]));
    assert!(
        err.contains("bomb-1.0-r0") && err.contains("expands past 67108872 bytes"),
        "{err}"
    );
    // Nothing of it stays in the cache.
    let cached: u64 = walk(&repo.path().join("cache"))
        .iter()
        .map(|p| p.symlink_metadata().unwrap().len())
        .sum();
    assert!(cached < 4 << 20, "{cached} bytes left in the cache");
    // `apk verify` stops at the same limit.
    let err = fail(&apkforge(
        &[
            "apk",
            "verify",
            "-k",
            "k.rsa.pub",
            repo.apk_path("bomb").to_str().unwrap(),
        ],
        repo.path(),
    ));
    assert!(err.contains("expands past"), "{err}");
}

/// `std::io::repeat(..).take(n)` spelled for the test.
trait TakeExact: std::io::Read + Sized {
    fn take_exact(self, n: u64) -> std::io::Take<Self> {
        self.take(n)
    }
}
impl<R: std::io::Read> TakeExact for R {}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() && !p.is_symlink() {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    out
}

#[test]
fn nothing_is_written_through_a_symlink() {
    let repo = Repo::new();
    let absolute = member(
        &[
            dir("etc"),
            symlink("etc/evil", "/tmp/x"),
            file("etc/evil/file", b"x"),
        ],
        true,
    );
    let relative = member(
        &[
            dir("etc"),
            symlink("etc/evil", "../tmp/x"),
            file("etc/evil/file", b"x"),
        ],
        true,
    );
    // A link planted by one package, written through by another.
    let planter = member(&[dir("etc"), symlink("etc/evil", "/tmp/x")], true);
    let writer = member(
        &[dir("etc"), dir("etc/evil"), file("etc/evil/file", b"x")],
        true,
    );
    // Directories still follow links inside the root, as Alpine's
    // `var/run -> /run` needs (ppp-daemon ships `var/run/ppp/`).
    let run = member(&[dir("var"), symlink("var/run", "/run"), dir("run")], true);
    let ppp = member(&[dir("var"), dir("var/run"), dir("var/run/ppp")], true);
    repo.publish(&[
        ("absolute", package("absolute", 1, &absolute, true)),
        ("relative", package("relative", 1, &relative, true)),
        ("planter", package("planter", 1, &planter, true)),
        ("writer", package("writer", 1, &writer, true)),
        ("run", package("run", 1, &run, true)),
        ("ppp", package("ppp", 1, &ppp, true)),
    ]);
    for (packages, culprit) in [
        (&["absolute"][..], "absolute-1.0-r0"),
        (&["relative"][..], "relative-1.0-r0"),
        (&["planter", "writer"][..], "writer-1.0-r0"),
    ] {
        for out in [repo.build(packages), repo.minirootfs(packages)] {
            let err = fail(&out);
            assert!(
                err.contains(culprit)
                    && err.contains("etc/evil/file")
                    && err.contains("passes through the symlink `etc/evil`"),
                "{packages:?}: {err}"
            );
        }
        assert!(!repo.path().join("out.tar").exists());
        assert!(!repo.path().join("rootfs.tar").exists());
    }
    ok(&repo.minirootfs(&["run", "ppp"]));
    let paths = tar_gz_paths(&repo.path().join("rootfs.tar"));
    assert!(
        paths.iter().any(|p| p.trim_end_matches('/') == "run/ppp"),
        "{paths:?}"
    );
}

#[test]
fn device_nodes_and_fifos_in_packages_are_refused() {
    let repo = Repo::new();
    let mut packages = Vec::new();
    for (name, kind) in [
        ("chardev", TarKind::CharDevice),
        ("blockdev", TarKind::BlockDevice),
        ("fifo", TarKind::Fifo),
    ] {
        let mut h = TarHeader::new("dev/thing", kind, 0o666);
        h.dev_major = 1;
        h.dev_minor = 3;
        let data = member(&[dir("dev"), (h, Vec::new())], true);
        packages.push((name, package(name, 0, &data, true)));
    }
    repo.publish(&packages);
    for (name, what) in [
        ("chardev", "a character device"),
        ("blockdev", "a block device"),
        ("fifo", "a FIFO"),
    ] {
        let err = fail(&repo.build(&[name]));
        assert!(
            err.contains(&format!("{name}-1.0-r0"))
                && err.contains(&format!("`dev/thing`, {what}")),
            "{err}"
        );
    }
    // `apk inspect` still shows them for what they are.
    let out = ok(&apkforge(
        &["apk", "inspect", repo.apk_path("fifo").to_str().unwrap()],
        repo.path(),
    ));
    assert!(out.contains("fifo"), "{out}");
}

#[test]
fn index_limits_apply_while_streaming() {
    let repo = Repo::new();
    let data = member(&[dir("etc")], true);
    let many: Vec<(String, Vec<u8>)> = (0..30)
        .map(|i| {
            let name = format!("p{i}");
            let apk = package(&name, 0, &data, true);
            (name, apk)
        })
        .collect();
    let refs: Vec<(&str, Vec<u8>)> = many.iter().map(|(n, a)| (n.as_str(), a.clone())).collect();
    repo.publish(&refs);
    let config = repo.config(&["p1"]);
    let build = |envs: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_apkforge"));
        cmd.args([
            "image",
            "build",
            config.to_str().unwrap(),
            "x:1",
            "out.tar",
            "--cache-dir",
            "cache",
        ])
        .current_dir(repo.path())
        .env("SOURCE_DATE_EPOCH", "1700000000");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let err = fail(&build(&[("APKFORGE_INDEX_MAX_ENTRIES", "20")]));
    assert!(
        err.contains("APKINDEX.tar.gz") && err.contains("more than 20 entries"),
        "{err}"
    );
    let err = fail(&build(&[("APKFORGE_INDEX_MAX_BYTES", "4096")]));
    assert!(err.contains("expands past 4096 bytes"), "{err}");
    let err = fail(&build(&[("APKFORGE_INDEX_MAX_ENTRIES", "many")]));
    assert!(err.contains("APKFORGE_INDEX_MAX_ENTRIES=`many`"), "{err}");
    ok(&build(&[("APKFORGE_INDEX_MAX_ENTRIES", "30")]));

    // A gzip bomb as the index: 300 MiB of line breaks (300 KiB compressed),
    // refused at the default 256 MiB without holding more than that.
    let mut tar = TarWriter::new(gzip_encoder(Vec::new(), Compression::new(9)));
    let mut h = TarHeader::new("APKINDEX", TarKind::File, 0o644);
    h.size = 300 << 20;
    tar.append(&h, &mut std::io::repeat(b'\n').take_exact(300 << 20))
        .unwrap();
    tar.finish().unwrap();
    let bomb = tar.into_inner().finish().unwrap();
    fs::File::create(repo.path().join("repo/x86_64/APKINDEX.tar.gz"))
        .unwrap()
        .write_all(&bomb)
        .unwrap();
    let err = fail(&build(&[]));
    assert!(err.contains("expands past 268435456 bytes"), "{err}");
}

#[test]
fn package_build_environments_follow_the_same_rules() {
    use std::os::unix::fs::FileTypeExt;
    let repo = Repo::new();
    let planter = member(&[dir("etc"), symlink("etc/evil", "/tmp/x")], true);
    let writer = member(
        &[dir("etc"), dir("etc/evil"), file("etc/evil/file", b"x")],
        true,
    );
    let mut h = TarHeader::new("dev/pipe", TarKind::Fifo, 0o666);
    h.size = 0;
    let fifo = member(&[dir("dev"), (h, Vec::new())], true);
    repo.publish(&[
        ("planter", package("planter", 1, &planter, true)),
        ("writer", package("writer", 1, &writer, true)),
        ("fifo", package("fifo", 0, &fifo, true)),
    ]);
    for (packages, want) in [
        ("[planter, writer]", "passes through the symlink `etc/evil`"),
        ("[fifo]", "`dev/pipe`, a FIFO"),
    ] {
        let recipe = repo.path().join("r.yaml");
        fs::write(
            &recipe,
            format!(
                "package:\n  name: hello\n  version: 1.0\n  epoch: 0\n  description: test\n  copyright:\n    - license: MIT\nenvironment:\n  contents:\n    keyring:\n      - {d}/k.rsa.pub\n    repositories:\n      - {d}/repo\n    packages: {packages}\npipeline:\n  - runs: echo hi\n",
                d = repo.path().display()
            ),
        )
        .unwrap();
        let err = fail(&apkforge(
            &[
                "package",
                "build",
                "r.yaml",
                "--signing-key",
                "k.rsa",
                "--out-dir",
                "packages",
                "--cache-dir",
                "cache",
                "--apk-cache-dir",
                "apk-cache",
            ],
            repo.path(),
        ));
        assert!(err.contains(want), "{packages}: {err}");
        // Nothing of the environment reached the host: no FIFO, no link.
        for p in walk(repo.path()) {
            let t = p.symlink_metadata().unwrap().file_type();
            assert!(!t.is_fifo() && !t.is_symlink(), "{}", p.display());
        }
    }
}
