//! `package license-check`: melange's `license-check` on a source
//! directory, on a recipe whose sources come from a git server on loopback,
//! and on a built package's recipe: licenses detected against the SPDX
//! list, compared with `copyright:`, `--fix` in both formats,
//! `--scan-type deep`, `--workdir`.

mod common;

use std::fs;
use std::path::Path;

use common::{apkforge, fail, ok};
use testsupport::fixtures;
use testsupport::git::{GitServer, Repo};

const MIT: &str = "MIT License

Copyright (c) 2024 Demo Authors

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the \"Software\"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
";

const BSD2: &str = "Copyright (c) 2024 Demo Authors

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this
   list of conditions and the following disclaimer.

2. Redistributions in binary form must reproduce the above copyright notice,
   this list of conditions and the following disclaimer in the documentation
   and/or other materials provided with the distribution.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS \"AS IS\"
AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE
FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY,
OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
";

const ISC: &str = "ISC License

Copyright (c) 2024 Demo Authors

Permission to use, copy, modify, and/or distribute this software for any
purpose with or without fee is hereby granted, provided that the above
copyright notice and this permission notice appear in all copies.

THE SOFTWARE IS PROVIDED \"AS IS\" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
";

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The `copyright:` block of a recipe's text.
fn copyright(recipe: &Path) -> String {
    let text = fs::read_to_string(recipe).unwrap();
    let start = text.find("  copyright:\n").unwrap();
    let rest = &text[start..];
    let end = rest.find("environment:").unwrap_or(rest.len());
    rest[..end].to_string()
}

#[test]
fn a_source_directory_shallow_and_deep() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let src = d.join("src");
    for (path, text) in [
        ("LICENSE", MIT),
        ("lib/COPYING", BSD2),
        ("lib/vendored/dep/LICENSE.txt", ISC),
        ("README", "not a license\n"),
        ("NOTICE-LICENSE", "Some words that are no license at all.\n"),
    ] {
        let p = src.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
    let out = apkforge(&["package", "license-check", "src"], d);
    ok(&out);
    let err = stderr(&out);
    assert!(err.contains("  LICENSE: MIT ("), "{err}");
    assert!(err.contains("  lib/COPYING: BSD-2-Clause ("), "{err}");
    assert!(
        err.contains("  NOTICE-LICENSE: NOASSERTION (0.000000"),
        "{err}"
    );
    assert!(!err.contains("ISC"), "shallow: {err}");
    // Best-named files first: LICENSE at the top before lib/COPYING.
    assert!(err.find("LICENSE: MIT").unwrap() < err.find("lib/COPYING").unwrap());
    let deep = stderr(&apkforge(
        &["package", "license-check", "src", "--scan-type", "deep"],
        d,
    ));
    assert!(
        deep.contains("  lib/vendored/dep/LICENSE.txt: ISC ("),
        "{deep}"
    );
    // --fix needs a recipe; an unknown scan type is refused.
    let err = fail(&apkforge(&["package", "license-check", "src", "--fix"], d));
    assert!(err.contains("--fix rewrites a recipe"), "{err}");
    fail(&apkforge(
        &["package", "license-check", "src", "--scan-type", "wide"],
        d,
    ));
}

#[test]
fn a_recipe_and_its_package_are_checked_and_fixed() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let repos = d.join("repos");
    fs::create_dir(&repos).unwrap();
    let repo = Repo::new(&repos, "demo");
    let commit = repo.commit(
        "sources",
        &[
            ("LICENSE", MIT),
            ("sub/COPYING", BSD2),
            ("main.c", "int main(){}\n"),
        ],
    );
    let server = GitServer::start(&repos);
    let fx = fixtures();
    let recipe = format!(
        "package:
  name: demo
  version: 1.0.0
  epoch: 0
  description: test
  copyright:
    - license: Apache-2.0
      license-path: LICENSE
environment:
  contents:
    keyring:
      - {fx}/alpine-keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub
    repositories:
      - {fx}/alpine-3.19
    packages:
      - busybox
pipeline:
  - uses: git-checkout
    with:
      repository: {url}/demo.git
      branch: main
      expected-commit: {commit}
  - runs: mkdir -p ${{{{targets.destdir}}}}/usr/share/demo && cp LICENSE ${{{{targets.destdir}}}}/usr/share/demo/
",
        fx = fx.display(),
        url = server.url
    );
    fs::write(d.join("demo.yaml"), &recipe).unwrap();

    // The recipe says Apache-2.0 for LICENSE, which holds MIT; sub/COPYING
    // is not declared at all. Differences do not fail the command.
    let out = apkforge(
        &["package", "license-check", "demo.yaml", "--workdir", "wd"],
        d,
    );
    ok(&out);
    let err = stderr(&out);
    assert!(err.contains("  LICENSE: MIT != Apache-2.0"), "{err}");
    assert!(
        err.contains("  sub/COPYING: BSD-2-Clause not found"),
        "{err}"
    );
    assert!(
        d.join("wd/main.c").is_file(),
        "sources fetched into --workdir"
    );
    assert_eq!(fs::read_to_string(d.join("demo.yaml")).unwrap(), recipe);

    // --fix --format simple: one entry, the licenses joined.
    ok(&apkforge(
        &[
            "package",
            "license-check",
            "demo.yaml",
            "--fix",
            "--format",
            "simple",
        ],
        d,
    ));
    assert_eq!(
        copyright(&d.join("demo.yaml")),
        "  copyright:\n    - license: BSD-2-Clause AND MIT\n"
    );
    let err = stderr(&apkforge(&["package", "license-check", "demo.yaml"], d));
    assert!(err.contains("no license differences detected"), "{err}");

    // --fix (flat): one entry per license file.
    fs::write(d.join("demo.yaml"), &recipe).unwrap();
    ok(&apkforge(
        &["package", "license-check", "demo.yaml", "--fix"],
        d,
    ));
    assert_eq!(
        copyright(&d.join("demo.yaml")),
        "  copyright:\n    - license: MIT\n      license-path: LICENSE\n    - license: BSD-2-Clause\n      license-path: sub/COPYING\n"
    );
    // Everything but the copyright stays as written.
    let fixed = fs::read_to_string(d.join("demo.yaml")).unwrap();
    assert_eq!(
        fixed.split("  copyright:").next(),
        recipe.split("  copyright:").next()
    );
    assert_eq!(
        fixed.split("environment:").nth(1),
        recipe.split("environment:").nth(1)
    );
    let err = stderr(&apkforge(&["package", "license-check", "demo.yaml"], d));
    assert!(err.contains("no license differences detected"), "{err}");

    // Patches from the directory named after the recipe are applied (here
    // one adding an ISC license file).
    let patched = recipe.replace("name: demo\n", "name: patched\n").replace(
        "  - runs: mkdir",
        "  - uses: patch\n    with:\n      patches: add-isc.patch\n  - runs: mkdir",
    );
    fs::write(d.join("patched.yaml"), patched).unwrap();
    fs::create_dir(d.join("patched")).unwrap();
    let mut diff = format!(
        "--- /dev/null\n+++ b/LICENSE-ISC\n@@ -0,0 +1,{} @@\n",
        ISC.lines().count()
    );
    for l in ISC.lines() {
        diff.push_str(&format!("+{l}\n"));
    }
    fs::write(d.join("patched/add-isc.patch"), diff).unwrap();
    let err = stderr(&apkforge(&["package", "license-check", "patched.yaml"], d));
    assert!(err.contains("  LICENSE-ISC: ISC ("), "{err}");
    assert!(err.contains("  LICENSE-ISC: ISC not found"), "{err}");
    // A patch that does not apply is an error naming it.
    fs::write(
        d.join("patched/add-isc.patch"),
        "--- a/LICENSE\n+++ b/LICENSE\n@@ -1,1 +1,1 @@\n-no such line\n+x\n",
    )
    .unwrap();
    let err = fail(&apkforge(&["package", "license-check", "patched.yaml"], d));
    assert!(err.contains("add-isc.patch does not apply"), "{err}");

    // A built package: the sources of its .melange.yaml are fetched again.
    ok(&apkforge(
        &[
            "package",
            "build",
            "demo.yaml",
            "--apk-cache-dir",
            "apkcache",
        ],
        d,
    ));
    let out = apkforge(
        &[
            "package",
            "license-check",
            "packages/x86_64/demo-1.0.0-r0.apk",
        ],
        d,
    );
    ok(&out);
    let err = stderr(&out);
    assert!(err.contains("  LICENSE: MIT ("), "{err}");
    assert!(err.contains("no license differences detected"), "{err}");
}

#[test]
fn the_recipe_directory_is_never_copied_into_a_fifo() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::write(d.join("r.yaml"), "package:\n  name: r\n").unwrap();
    fs::create_dir(d.join("r")).unwrap();
    fs::write(d.join("r/fix.patch"), "patch\n").unwrap();
    fs::create_dir(d.join("wd")).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(d.join("wd/fix.patch"))
        .status()
        .unwrap();
    assert!(status.success());
    let err = fail(&apkforge(
        &["package", "license-check", "r.yaml", "--workdir", "wd"],
        d,
    ));
    assert!(err.contains("fix.patch") && err.contains("FIFO"), "{err}");
    use std::os::unix::fs::FileTypeExt;
    assert!(
        fs::symlink_metadata(d.join("wd/fix.patch"))
            .unwrap()
            .file_type()
            .is_fifo()
    );
}
