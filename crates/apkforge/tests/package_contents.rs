//! Packages hold what the build made: file capabilities from `setcap:`,
//! extended attributes, hard links, owners, and the evaluated recipe
//! (`.melange.yaml`); apk-tools installs them as such, and so does
//! `image build`.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{apkforge, ok};
use testsupport::fixtures;

/// `security.capability` for `cap_net_raw+ep` (revision 2, effective).
const NET_RAW_EP: [u8; 20] = [
    1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

fn alpine_key() -> PathBuf {
    fixtures().join("alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub")
}

fn recipe() -> String {
    format!(
        r#"package:
  name: netprobe
  version: 1.0.0
  epoch: 0
  description: owners, links and capabilities
  copyright:
    - license: MIT
      attestation: Copyright 2024 Example
  cpe:
    vendor: example
    product: netprobe
  setcap:
    - path: /usr/bin/probe
      add:
        cap_net_raw: "+ep"
      reason: sends ICMP echo requests
environment:
  contents:
    keyring:
      - {key}
    repositories:
      - {repo}
    packages:
      - busybox
pipeline:
  - runs: |
      mkdir -p ${{{{targets.destdir}}}}/usr/bin ${{{{targets.destdir}}}}/var/lib/probe
      printf '#!/bin/sh\necho probe\n' > ${{{{targets.destdir}}}}/usr/bin/probe
      chmod 0755 ${{{{targets.destdir}}}}/usr/bin/probe
      ln ${{{{targets.destdir}}}}/usr/bin/probe ${{{{targets.destdir}}}}/usr/bin/probe-alias
      echo state > ${{{{targets.destdir}}}}/var/lib/probe/state
      chmod 0640 ${{{{targets.destdir}}}}/var/lib/probe/state
      chown 65532:65532 ${{{{targets.destdir}}}}/var/lib/probe/state
"#,
        key = alpine_key().display(),
        repo = fixtures().join("alpine-3.19").display(),
    )
}

/// The files of a package as `apk inspect --json` lists them, by path.
fn files(dir: &Path, apk: &str) -> BTreeMap<String, serde_json::Value> {
    let json = ok(&apkforge(&["apk", "inspect", "--json", apk], dir));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap().to_string(), f.clone()))
        .collect()
}

/// The layer tar (uncompressed) of the only image in an OCI layout.
fn layer(layout: &Path) -> Vec<u8> {
    let json = |p: PathBuf| -> serde_json::Value {
        serde_json::from_slice(&fs::read(p).unwrap()).unwrap()
    };
    let blob = |d: &serde_json::Value| {
        layout
            .join("blobs/sha256")
            .join(d.as_str().unwrap().trim_start_matches("sha256:"))
    };
    let mut index = json(layout.join("index.json"));
    while index["manifests"][0]["mediaType"] == "application/vnd.oci.image.index.v1+json" {
        index = json(blob(&index["manifests"][0]["digest"]));
    }
    let manifest = json(blob(&index["manifests"][0]["digest"]));
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(
        fs::File::open(blob(&manifest["layers"][0]["digest"])).unwrap(),
    )
    .read_to_end(&mut out)
    .unwrap();
    out
}

/// `a:` line of `path` in an installed database (`F:dir` … `R:name` `a:…`).
fn acl_line(db: &str, dir: &str, name: &str) -> Option<String> {
    let mut in_dir = false;
    let mut in_file = false;
    for line in db.lines() {
        if let Some(d) = line.strip_prefix("F:") {
            in_dir = d == dir;
            in_file = false;
        } else if let Some(r) = line.strip_prefix("R:") {
            in_file = in_dir && r == name;
        } else if in_file && line.starts_with("a:") {
            return Some(line.to_string());
        }
    }
    None
}

#[test]
fn capabilities_links_and_recipe_survive_into_apk_tools_and_images() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&apkforge(&["keygen", "test", "--bits", "2048"], d));
    fs::write(d.join("netprobe.yaml"), recipe()).unwrap();
    ok(&apkforge(
        &[
            "package",
            "build",
            "netprobe.yaml",
            "--signing-key",
            "test.rsa",
            "--out-dir",
            "packages",
            "--cache-dir",
            "cache",
        ],
        d,
    ));
    let apk = "packages/x86_64/netprobe-1.0.0-r0.apk";
    ok(&apkforge(&["apk", "verify", "-k", "test.rsa.pub", apk], d));

    // The package: the capability on the file and on its second name,
    // which is a hard link; modes as the step left them.
    let f = files(d, apk);
    let cap = hex_encode(&NET_RAW_EP);
    assert_eq!(f["usr/bin/probe"]["type"], "file");
    assert_eq!(f["usr/bin/probe"]["xattrs"]["security.capability"], cap);
    assert_eq!(f["usr/bin/probe-alias"]["type"], "hardlink");
    assert_eq!(f["usr/bin/probe-alias"]["target"], "usr/bin/probe");
    assert_eq!(
        f["usr/bin/probe-alias"]["xattrs"]["security.capability"],
        cap
    );
    // The owner a step gave a file; the build user's files are root's.
    let state = &f["var/lib/probe/state"];
    assert_eq!(state["mode"], "0640");
    assert_eq!(
        (&state["uid"], &state["gid"]),
        (&65532.into(), &65532.into())
    );
    assert!(
        state.get("uname").is_none(),
        "no such user in the build environment"
    );
    assert_eq!(
        (&f["usr/bin/probe"]["uid"], &f["usr/bin/probe"]["uname"]),
        (&0.into(), &"root".into())
    );

    // The evaluated recipe, with the environment locked to what was installed.
    fs::create_dir(d.join("control")).unwrap();
    common::untar(&d.join(apk), &d.join("control"), &[".melange.yaml"]);
    let yaml = fs::read_to_string(d.join("control/.melange.yaml")).unwrap();
    assert!(yaml.contains("- busybox=1.36.1-r15"), "{yaml}");
    assert!(yaml.contains("cap_net_raw: +ep"), "{yaml}");
    assert!(
        yaml.contains("ln /home/build/melange-out/netprobe/usr/bin/probe"),
        "substituted: {yaml}"
    );

    // Its SBOM says what melange's says: license, copyright, CPE, purl.
    let sbom_path = "var/lib/db/sbom/netprobe-1.0.0-r0.spdx.json";
    common::untar(&d.join(apk), &d.join("control"), &[sbom_path]);
    let sbom_file = d.join("control").join(sbom_path);
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(&sbom_file).unwrap()).unwrap();
    let pkg = &doc["packages"][1];
    assert_eq!(pkg["SPDXID"], "SPDXRef-Package-apk-netprobe-1.0.0-r0");
    assert_eq!(pkg["licenseDeclared"], "MIT");
    assert_eq!(pkg["copyrightText"], "Copyright 2024 Example\n");
    assert_eq!(pkg["supplier"], "Organization: Unknown");
    let refs: Vec<&str> = pkg["externalRefs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["referenceLocator"].as_str().unwrap())
        .collect();
    assert_eq!(
        refs,
        [
            "pkg:apk/unknown/netprobe@1.0.0-r0?arch=x86_64",
            "cpe:2.3:a:example:netprobe:1.0.0:*:*:*:*:*:*:*"
        ]
    );
    common::tool(Command::new("pyspdxtools").arg("-i").arg(&sbom_file));

    // melange's linters pass on it, reading the recipe it carries.
    let lint = apkforge(&["package", "lint", apk], d);
    ok(&lint);
    assert!(
        !String::from_utf8_lossy(&lint.stderr).contains(".melange.yaml"),
        "{}",
        String::from_utf8_lossy(&lint.stderr)
    );

    // apk-tools (Alpine's, from the fixtures) installs it: the capability
    // is on the file, the links share one inode, and `apk audit` finds the
    // files as the database describes them.
    let cfg = format!(
        "contents:\n  keyring:\n    - {key}\n  repositories:\n    - {repo}\n  packages:\n    - apk-tools\n    - busybox\narchs: [x86_64]\n",
        key = alpine_key().display(),
        repo = fixtures().join("alpine-3.19").display(),
    );
    fs::write(d.join("apk.yaml"), cfg).unwrap();
    ok(&apkforge(
        &[
            "image",
            "build-minirootfs",
            "apk.yaml",
            "apk.tar.gz",
            "--cache-dir",
            "cache",
        ],
        d,
    ));
    let root = d.join("root");
    fs::create_dir(&root).unwrap();
    common::untar(&d.join("apk.tar.gz"), &root, &[]);
    // From a signed repository, as images and users install packages
    // (Alpine 3.19's apk-tools 2.14.0 crashes in libcrypto on `apk add
    // FILE.apk` for any RSA-SHA256 signed package, melange's included).
    fs::create_dir_all(root.join("repo/x86_64")).unwrap();
    for f in ["netprobe-1.0.0-r0.apk", "APKINDEX.tar.gz"] {
        fs::copy(
            d.join("packages/x86_64").join(f),
            root.join("repo/x86_64").join(f),
        )
        .unwrap();
    }
    fs::write(root.join("etc/apk/repositories"), "/repo\n").unwrap();
    fs::copy(
        d.join("test.rsa.pub"),
        root.join("etc/apk/keys/test.rsa.pub"),
    )
    .unwrap();
    let in_root = |args: &[&str]| {
        common::tool(
            Command::new("bwrap")
                .args(["--unshare-pid", "--unshare-net", "--unshare-ipc", "--bind"])
                .arg(&root)
                .args([
                    "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--",
                ])
                .args(args),
        )
    };
    in_root(&["/sbin/apk", "add", "--no-network", "--no-cache", "netprobe"]);
    for name in ["probe", "probe-alias"] {
        let p = root.join("usr/bin").join(name);
        assert_eq!(
            xattr::get(&p, "security.capability").unwrap().as_deref(),
            Some(&NET_RAW_EP[..]),
            "{name}"
        );
    }
    let (a, b) = (
        fs::metadata(root.join("usr/bin/probe")).unwrap(),
        fs::metadata(root.join("usr/bin/probe-alias")).unwrap(),
    );
    assert_eq!(a.ino(), b.ino(), "one file, two names");
    assert_eq!(
        fs::metadata(root.join("var/lib/probe/state"))
            .unwrap()
            .mode()
            & 0o7777,
        0o640
    );
    let audit = in_root(&["/sbin/apk", "audit", "--system"]);
    assert!(audit.trim().is_empty(), "apk audit: {audit}");
    let apk_db = fs::read_to_string(root.join("lib/apk/db/installed")).unwrap();
    let apk_acl = acl_line(&apk_db, "usr/bin", "probe").expect("apk-tools records the attributes");

    // `image build` installs it the same way: the layer carries the
    // capability and the link, the database the same attribute checksum.
    fs::write(
        d.join("image.yaml"),
        format!(
            "contents:\n  keyring:\n    - {key}\n    - test.rsa.pub\n  repositories:\n    - {repo}\n    - packages\n  packages:\n    - netprobe\n    - busybox\narchs: [x86_64]\n",
            key = alpine_key().display(),
            repo = fixtures().join("alpine-3.19").display(),
        ),
    )
    .unwrap();
    fs::create_dir(d.join("layout")).unwrap();
    ok(&apkforge(
        &[
            "image",
            "build",
            "image.yaml",
            "netprobe:latest",
            "layout/",
            "--cache-dir",
            "cache",
            "--sbom=false",
        ],
        d,
    ));
    let tar_bytes = layer(&d.join("layout"));
    let mut ar = tar::Archive::new(&tar_bytes[..]);
    let mut seen = BTreeMap::new();
    let mut our_db = String::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().display().to_string();
        let mut xattrs = BTreeMap::new();
        if let Some(exts) = e.pax_extensions().unwrap() {
            for ext in exts {
                let ext = ext.unwrap();
                if let Some(n) = ext.key().unwrap().strip_prefix("SCHILY.xattr.") {
                    xattrs.insert(n.to_string(), ext.value_bytes().to_vec());
                }
            }
        }
        if path == "usr/lib/apk/db/installed" {
            e.read_to_string(&mut our_db).unwrap();
        }
        let owner = (e.header().uid().unwrap(), e.header().gid().unwrap());
        seen.insert(path, (e.header().entry_type(), xattrs, owner));
    }
    let probe = &seen["usr/bin/probe"];
    assert_eq!(probe.0, tar::EntryType::Regular);
    assert_eq!(probe.1["security.capability"], NET_RAW_EP);
    assert_eq!(
        seen["var/lib/probe/state"].2,
        (65532, 65532),
        "the package's owner"
    );
    assert_eq!(probe.2, (0, 0));
    let alias = &seen["usr/bin/probe-alias"];
    assert_eq!(alias.0, tar::EntryType::Link);
    assert_eq!(alias.1["security.capability"], NET_RAW_EP);
    let our_acl = acl_line(&our_db, "usr/bin", "probe").expect("the image database records it");
    let checksum = |l: &str| l.rsplit(':').next().unwrap().to_string();
    assert!(checksum(&apk_acl).starts_with("Q1"), "{apk_acl}");
    assert_eq!(
        checksum(&our_acl),
        checksum(&apk_acl),
        "{our_acl} vs {apk_acl}"
    );
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn bad_setcap_fails_clearly_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let build = |name: &str, text: String| {
        fs::write(d.join(format!("{name}.yaml")), text).unwrap();
        let err = common::fail(&apkforge(
            &[
                "package",
                "build",
                &format!("{name}.yaml"),
                "--out-dir",
                name,
                "--cache-dir",
                "cache",
            ],
            d,
        ));
        assert!(
            !d.join(name).join("x86_64/netprobe-1.0.0-r0.apk").exists(),
            "{name}: package left behind"
        );
        assert!(!d.join(name).join("x86_64/APKINDEX.tar.gz").exists());
        err
    };
    // A capability on a file the package does not have.
    let err = build(
        "missing",
        recipe().replace("path: /usr/bin/probe", "path: /usr/bin/nope"),
    );
    assert!(
        err.contains("/usr/bin/nope") && err.contains("not in the package"),
        "{err}"
    );
    // The same in a subpackage: the main package, written first, is not
    // left behind either.
    let sub = format!(
        "{}subpackages:\n  - name: netprobe-extra\n    setcap:\n      - path: /usr/bin/nope\n        add:\n          cap_net_raw: \"+ep\"\n        reason: none\n    pipeline:\n      - runs: mkdir -p ${{{{targets.subpkgdir}}}}/usr/bin\n",
        recipe()
    );
    let err = build("sub", sub);
    assert!(
        err.contains("netprobe-extra") && err.contains("/usr/bin/nope"),
        "{err}"
    );
    assert!(!d.join("sub/x86_64/netprobe-extra-1.0.0-r0.apk").exists());
    // An unknown capability name, at its line in the recipe.
    let err = build(
        "unknown",
        recipe().replace("cap_net_raw: ", "cap_net_rawx: "),
    );
    assert!(
        err.contains("unknown.yaml:15:") && err.contains("cap_net_rawx"),
        "{err}"
    );
}
