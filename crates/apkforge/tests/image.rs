//! End-to-end image builds through the binary: fixtures served over
//! loopback HTTP, images run with umoci + runc, read by skopeo, SBOMs
//! checked by the SPDX validator.

mod common;

use common::{apkforge, fail, ok, run_image, tool};

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};
use testsupport::{FileServer, ServerOptions, fixtures};

fn alpine_config(server: &FileServer, packages: &[&str], extra: &str) -> String {
    let pkgs: String = packages.iter().map(|p| format!("    - {p}\n")).collect();
    format!(
        "contents:\n  keyring:\n    - {url}/alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub\n  repositories:\n    - {url}/alpine-3.19\n  packages:\n{pkgs}entrypoint:\n  command: /bin/sh -c \"echo ok\"\narchs:\n  - x86_64\n{extra}",
        url = server.url
    )
}

const BASE: &[&str] = &[
    "alpine-baselayout",
    "alpine-keys",
    "busybox",
    "busybox-binsh",
    "ca-certificates-bundle",
    "musl-utils",
];

#[test]
fn alpine_image_runs_loads_and_is_reproducible() {
    let fx = fixtures();
    let server = FileServer::start(&fx, ServerOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(
        d.join("apko.yaml"),
        alpine_config(
            &server,
            BASE,
            "accounts:\n  users:\n    - username: app\n      uid: 1234\n  run-as: app\n",
        ),
    )
    .unwrap();
    for out in ["one", "two"] {
        fs::create_dir(d.join(out)).unwrap();
    }
    let build = |out: &str| {
        ok(&apkforge(
            &[
                "image",
                "build",
                "apko.yaml",
                "test:latest",
                out,
                "--cache-dir",
                "cache",
            ],
            d,
        ))
    };
    let stdout = build("one/");
    assert!(stdout.contains("wrote one/ (sha256:"), "{stdout}");
    build("two/");
    build("one.tar");
    build("two.tar");
    // Byte-identical outputs, layout and tar.
    common::assert_same_file(&d.join("one.tar"), &d.join("two.tar"));
    let files = |root: &Path| {
        let mut v: Vec<(String, Vec<u8>)> = walk(root)
            .into_iter()
            .map(|p| {
                (
                    p.strip_prefix(root).unwrap().display().to_string(),
                    fs::read(&p).unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(files(&d.join("one")), files(&d.join("two")));
    // Every blob is named by its digest.
    for blob in walk(&d.join("one/blobs/sha256")) {
        let digest = hex_sha256(&fs::read(&blob).unwrap());
        assert_eq!(blob.file_name().unwrap().to_string_lossy(), digest);
    }
    // skopeo reads both outputs; the layout's digest matches what we printed.
    let inspect = tool(
        Command::new("skopeo")
            .arg("inspect")
            .arg(format!("oci:{}:latest", d.join("one").display())),
    );
    assert!(inspect.contains("\"Architecture\": \"amd64\""), "{inspect}");
    let copy = d.join("from-tar");
    tool(
        Command::new("skopeo")
            .args(["copy", "-q"])
            .arg(format!("docker-archive:{}", d.join("one.tar").display()))
            .arg(format!("oci:{}:t", copy.display())),
    );
    // podman loads the docker tar and runs it.
    tool(
        common::podman(d)
            .args(["load", "-q", "-i"])
            .arg(d.join("one.tar")),
    );
    let out = tool(
        common::podman(d)
            .args(common::PODMAN_RUN)
            .arg("localhost/test:latest"),
    );
    assert_eq!(out.trim(), "ok");
    let _ = common::podman(d).args(["rmi", "-a", "-f"]).output();
    // The image runs: as the configured user, with the shell and applets.
    let out = run_image(&d.join("one"), "latest", d, None);
    assert_eq!(out.trim(), "ok");
    let out = run_image(
        &d.join("one"),
        "latest",
        d,
        Some(&[
            "/bin/sh",
            "-c",
            "id -u; test -x /usr/bin/env && echo env; cd /etc/ssl/certs && sha256sum -c .ca-certificates.crt.sha256",
        ]),
    );
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        vec!["1234", "env", "ca-certificates.crt:", "OK"]
    );
    let out = run_image(&copy, "t", d, Some(&["/bin/sh", "-c", "echo from tar"]));
    assert_eq!(out.trim(), "from tar");
    // The SBOM passes the official validator and lists exactly the installed packages.
    let sbom = d.join("one/sbom-x86_64.spdx.json");
    tool(Command::new("pyspdxtools").arg("-i").arg(&sbom));
    tool(
        Command::new("pyspdxtools")
            .arg("-i")
            .arg(d.join("one/sbom-index.spdx.json")),
    );
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(&sbom).unwrap()).unwrap();
    let mut in_sbom: Vec<String> = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["externalRefs"].as_array())
        .flatten()
        .filter_map(|r| r["referenceLocator"].as_str())
        .filter(|l| l.starts_with("pkg:apk/"))
        .map(|l| {
            l.trim_start_matches("pkg:apk/alpine/")
                .split('@')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    in_sbom.sort();
    let installed = run_image(
        &d.join("one"),
        "latest",
        d,
        Some(&[
            "/bin/sh",
            "-c",
            "sed -n 's/^P://p' /usr/lib/apk/db/installed",
        ]),
    );
    let mut installed: Vec<String> = installed.lines().map(str::to_string).collect();
    installed.sort();
    assert_eq!(in_sbom, installed);
    assert!(installed.contains(&"musl".to_string()));
}

/// One layer entry as the comparison with apko's golden image sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    kind: char,
    mode: u32,
    uid: u64,
    gid: u64,
    size: u64,
    sha256: String,
    link: String,
}

fn layer_entries(blob: &Path) -> std::collections::BTreeMap<String, Entry> {
    use std::io::Read;
    let mut out = std::collections::BTreeMap::new();
    let gz = flate2::read::MultiGzDecoder::new(fs::File::open(blob).unwrap());
    let mut ar = tar::Archive::new(gz);
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e
            .path()
            .unwrap()
            .display()
            .to_string()
            .trim_end_matches('/')
            .to_string();
        let h = e.header().clone();
        let link = e
            .link_name()
            .unwrap()
            .map(|l| l.display().to_string())
            .unwrap_or_default();
        let mut content = Vec::new();
        e.read_to_end(&mut content).unwrap();
        out.insert(
            path,
            Entry {
                kind: h.entry_type().as_byte() as char,
                mode: h.mode().unwrap() & 0o7777,
                uid: h.uid().unwrap(),
                gid: h.gid().unwrap(),
                size: content.len() as u64,
                sha256: hex_sha256(&content),
                link,
            },
        );
    }
    out
}

/// Layer blob of the image for `arch` (OCI name) in a layout.
fn layer_of(layout: &Path, arch: &str) -> PathBuf {
    let blob = |d: &str| {
        layout
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let json = |p: PathBuf| -> serde_json::Value {
        serde_json::from_slice(&fs::read(p).unwrap()).unwrap()
    };
    let mut index = json(layout.join("index.json"));
    // Follow a nested index (ours stores the image index as a blob).
    while index["manifests"][0]["mediaType"] == "application/vnd.oci.image.index.v1+json" {
        index = json(blob(index["manifests"][0]["digest"].as_str().unwrap()));
    }
    let m = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["platform"]["architecture"] == arch)
        .unwrap_or_else(|| panic!("no {arch} manifest"));
    let manifest = json(blob(m["digest"].as_str().unwrap()));
    blob(manifest["layers"][0]["digest"].as_str().unwrap())
}

/// Paths in apko's layer that we write differently on purpose; each is
/// explained in docs/IMAGE-DIFFERENCES.md.
const JUSTIFIED: &[&str] = &["etc/apko.json", "usr/lib/apk/db/installed"];

/// Files whose package gives them an owner other than root: apko writes
/// them as 0:0, apkforge (like apk-tools) with the package's owner
/// (docs/IMAGE-DIFFERENCES.md). The test package `replayout` was built on
/// a Mac and carries the builder's ids.
const OWNED_BY_PACKAGE: &[(&str, u64, u64)] = &[("etc/os-release", 501, 20)];

#[test]
fn apko_golden_case_matches_file_by_file() {
    let fx = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    // apko's test runs from internal/cli with paths relative to it.
    let cli = fx.join("apko-testdata/internal/cli");
    let output = Command::new(env!("CARGO_BIN_EXE_apkforge"))
        .args(["image", "build", "testdata/apko.yaml", "golden:latest"])
        .arg(&out)
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .args(["--sbom=false"])
        .current_dir(&cli)
        .env("SOURCE_DATE_EPOCH", "0")
        .output()
        .unwrap();
    ok(&output);
    let golden = cli.join("testdata/golden");
    // Two architectures: an index with two manifests.
    let index = layer_of(&out, "amd64");
    assert!(index.is_file());
    let mut differences = Vec::new();
    for arch in ["amd64", "arm64"] {
        let want = layer_entries(&layer_of(&golden, arch));
        let got = layer_entries(&layer_of(&out, arch));
        assert!(
            want.len() > 30 && got.len() > 30,
            "{arch}: {} vs {} entries",
            want.len(),
            got.len()
        );
        for (path, w) in &want {
            if JUSTIFIED.contains(&path.as_str()) {
                continue;
            }
            let mut w = w.clone();
            if let Some((_, uid, gid)) = OWNED_BY_PACKAGE.iter().find(|o| o.0 == path) {
                assert_eq!((w.uid, w.gid), (0, 0), "apko writes {path} as root's");
                (w.uid, w.gid) = (*uid, *gid);
            }
            let w = &w;
            match got.get(path) {
                None => differences.push(format!("{arch}: {path} missing")),
                Some(g) if g != w => {
                    differences.push(format!("{arch}: {path}: ours {g:?}, apko {w:?}"))
                }
                _ => {}
            }
        }
        for path in got.keys().filter(|p| !want.contains_key(*p)) {
            differences.push(format!("{arch}: {path} extra"));
        }
    }
    assert!(
        differences.is_empty(),
        "{} differences:\n{}",
        differences.len(),
        differences.join("\n")
    );
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        for e in fs::read_dir(&p).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Builds a signed package whose data tar holds `../escape` (which our own
/// writer refuses to produce) and a signed index for it, in `repo/x86_64`.
fn evil_repo(repo: &Path, key: &apk_format::signing::SigningKey) {
    use apk_format::package_write::{gzip_encoder, signature_member};
    use apk_format::tar_write::{TarHeader, TarKind, TarWriter};
    use std::io::Write;
    let arch_dir = repo.join("x86_64");
    fs::create_dir_all(&arch_dir).unwrap();
    let mut data = TarWriter::new(gzip_encoder(Vec::new(), flate2::Compression::new(6)));
    let mut h = TarHeader::new("../escape", TarKind::File, 0o644);
    h.size = 4;
    data.append(&h, &mut &b"evil"[..]).unwrap();
    data.finish().unwrap();
    let data = data.into_inner().finish().unwrap();
    let pkginfo = format!(
        "pkgname = evil\npkgver = 1.0-r0\narch = x86_64\nsize = 4\norigin = evil\npkgdesc = escapes\nurl = \ncommit = \nlicense = MIT\ndatahash = {}\n",
        hex_sha256(&data)
    );
    let mut control = TarWriter::new(gzip_encoder(Vec::new(), flate2::Compression::new(6)));
    let mut h = TarHeader::new(".PKGINFO", TarKind::File, 0o644);
    h.size = pkginfo.len() as u64;
    control.append(&h, &mut pkginfo.as_bytes()).unwrap();
    let control = control.into_inner().finish().unwrap();
    let sig = key.sign_sha256_digest(&Sha256::digest(&control)).unwrap();
    let mut apk = signature_member(".SIGN.RSA256.", &sig.key_name, &sig.bytes, 0).unwrap();
    apk.extend_from_slice(&control);
    apk.extend_from_slice(&data);
    let mut f = fs::File::create(arch_dir.join("evil-1.0-r0.apk")).unwrap();
    f.write_all(&apk).unwrap();
}

#[test]
fn bad_inputs_fail_precisely_and_leave_nothing_behind() {
    let fx = fixtures();
    let server = FileServer::start(&fx, ServerOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let attempt = |name: &str, config: &str| -> String {
        fs::write(d.join(format!("{name}.yaml")), config).unwrap();
        let out = d.join(format!("{name}.tar"));
        let err = fail(&apkforge(
            &[
                "image",
                "build",
                &format!("{name}.yaml"),
                "x:1",
                out.to_str().unwrap(),
                "--cache-dir",
                "cache",
            ],
            d,
        ));
        assert!(!out.exists(), "{name}: output left behind");
        assert!(
            !d.join("sbom-x86_64.spdx.json").exists(),
            "{name}: SBOM left behind"
        );
        assert!(!err.contains("panicked"), "{err}");
        err
    };
    // Unsatisfiable: nothing provides the package; the error names it.
    let err = attempt(
        "unsat",
        &alpine_config(&server, &["busybox", "no-such-package"], ""),
    );
    assert!(err.contains("no-such-package"), "{err}");
    // Version conflict: explained.
    let err = attempt("version", &alpine_config(&server, &["busybox>=9"], ""));
    assert!(
        err.contains("busybox") && err.contains("1.36.1-r15"),
        "{err}"
    );
    // Missing key: the index is rejected, naming it.
    let cfg = alpine_config(&server, BASE, "").replace("6165ee59", "4a6a0840");
    let err = attempt("wrongkey", &cfg);
    assert!(
        err.contains("alpine-3.19/x86_64/APKINDEX.tar.gz") && err.contains("signature"),
        "{err}"
    );
    let cfg = alpine_config(&server, BASE, "").replace("6165ee59.rsa.pub", "missing.rsa.pub");
    let err = attempt("nokey", &cfg);
    assert!(
        err.contains("missing.rsa.pub") && err.contains("404"),
        "{err}"
    );
    // Tampered index: same content, different signed bytes.
    let repo = d.join("tampered/x86_64");
    fs::create_dir_all(&repo).unwrap();
    let orig = fs::read(fx.join("alpine-3.19/x86_64/APKINDEX.tar.gz")).unwrap();
    let signed = apk_format::index_archive::strip_signature(&orig).unwrap();
    let mut tar = Vec::new();
    std::io::copy(&mut flate2::read::GzDecoder::new(signed), &mut tar).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(1));
    std::io::Write::write_all(&mut enc, &tar).unwrap();
    let mut tampered = orig[..orig.len() - signed.len()].to_vec();
    tampered.extend(enc.finish().unwrap());
    fs::write(repo.join("APKINDEX.tar.gz"), tampered).unwrap();
    let cfg = format!(
        "contents:\n  keyring:\n    - {}\n  repositories:\n    - {}\n  packages:\n    - busybox\narchs: [x86_64]\n",
        fx.join("alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub")
            .display(),
        d.join("tampered").display()
    );
    let err = attempt("tampered", &cfg);
    assert!(
        err.contains("tampered/x86_64/APKINDEX.tar.gz") && err.contains("signature does not match"),
        "{err}"
    );
    // A package escaping the root fails naming package and path.
    let key = apk_format::signing::SigningKey::generate("evil.rsa.pub", 2048).unwrap();
    fs::write(d.join("evil.rsa.pub"), key.public_pem().unwrap()).unwrap();
    evil_repo(&d.join("evilrepo"), &key);
    let apk = d.join("evilrepo/x86_64/evil-1.0-r0.apk");
    let pem = d.join("evil.rsa");
    fs::write(&pem, key.private_pem().unwrap()).unwrap();
    ok(&apkforge(
        &[
            "index",
            "-o",
            "evilrepo/x86_64/APKINDEX.tar.gz",
            "--signing-key",
            "evil.rsa",
            apk.to_str().unwrap(),
        ],
        d,
    ));
    let cfg = "contents:\n  keyring:\n    - evil.rsa.pub\n  repositories:\n    - evilrepo\n  packages:\n    - evil\narchs: [x86_64]\n";
    let err = attempt("evil", cfg);
    assert!(
        err.contains("evil-1.0-r0") && err.contains("../escape"),
        "{err}"
    );
    // A typo in the config: file, line and column.
    let err = attempt("typo", "contents:\n  pakages:\n    - busybox\n");
    assert!(
        err.contains("typo.yaml:2:3") && err.contains("pakages"),
        "{err}"
    );
}
