//! Package SBOMs against melange's golden documents
//! (`pkg/build/testdata/goldenfiles/sboms`): the same packages, ids,
//! licenses, purls, CPEs, sources and relationships. Only the creating
//! tool and the namespace URI differ (docs/PACKAGE-DIFFERENCES.md).

use std::path::PathBuf;

use recipe::{BuildArch, CompileOptions};

fn fixtures() -> PathBuf {
    std::env::var_os("APKFORGE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
        })
}

#[test]
fn documents_match_melanges_goldens() {
    let testdata = fixtures().join("melange-testdata/pkg/build/testdata");
    for (config, full) in [
        ("crane", "crane-0.20.2-r1"),
        ("7zip-two-fetches", "7zip-two-fetches-2301-r3"),
        ("sed", "sed-4.9-r8"),
    ] {
        let path = testdata.join(format!("build_configs/{config}.yaml"));
        let compiled = recipe::compile(
            &path,
            &CompileOptions {
                arch: BuildArch::X86_64,
                ..Default::default()
            },
        )
        .unwrap();
        let opts = pkgbuild::SbomOptions {
            namespace: "wolfi".into(),
            recipe: Some(sbom::melange::RecipeSource {
                path: format!("testdata/build_configs/{config}.yaml"),
                commit: "c0ffee".into(),
                repository: "https://github.com/wolfi-dev/os".into(),
                license: String::new(),
            }),
        };
        let ours = pkgbuild::package_sbom(
            &compiled,
            compiled.package.name.as_str(),
            "x86_64",
            &opts,
            "0001-01-01T00:00:00Z",
            &testdata,
        )
        .unwrap();
        let mut ours: serde_json::Value = serde_json::from_slice(&ours).unwrap();
        let golden = testdata.join(format!("goldenfiles/sboms/{full}.spdx.json"));
        let mut want: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&golden).unwrap()).unwrap();
        for doc in [&mut ours, &mut want] {
            doc["creationInfo"]["creators"] = serde_json::Value::Null;
            doc["documentNamespace"] = serde_json::Value::Null;
        }
        assert_eq!(
            serde_json::to_string_pretty(&ours).unwrap(),
            serde_json::to_string_pretty(&want).unwrap(),
            "{config}"
        );
    }
}
