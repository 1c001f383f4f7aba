//! Every apko config in the fixtures loads, validates, and has the values
//! apko would see.

mod common;

use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use common::fixtures;
use image_config::{
    Arch, Config, EntrypointType, LayerFormat, Layering, LayeringStrategy, LoadOptions,
    LoadedConfig, PathType,
};

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            // melange recipes live beside the apko configs.
            name.ends_with(".yaml") && !name.ends_with(".melange.yaml")
        })
        .collect();
    files.sort();
    files
}

/// The examples include `examples/alpine-base.yaml`, relative to the root of
/// apko's repository: give them a directory where `examples/` is our copy.
fn examples_root() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        fixtures().join("apko-examples"),
        root.path().join("examples"),
    )
    .unwrap();
    root
}

fn load_example(root: &Path, name: &str) -> LoadedConfig {
    let path = fixtures().join("apko-examples").join(name);
    Config::load(
        &path,
        &LoadOptions {
            cwd: None,
            include_paths: vec![root.to_path_buf()],
        },
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_example_loads_and_validates() {
    let root = examples_root();
    let files = yaml_files(&fixtures().join("apko-examples"));
    assert!(files.len() >= 19, "{files:?}");
    for file in files {
        let name = file.file_name().unwrap().to_str().unwrap();
        let mut loaded = load_example(root.path(), name);
        loaded
            .config
            .validate()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!loaded.config.contents.packages.is_empty(), "{name}");
    }
}

#[test]
fn every_cli_testdata_config_loads_and_validates() {
    let dir = fixtures().join("apko-testdata/internal/cli/testdata");
    let files = yaml_files(&dir);
    assert_eq!(files.len(), 7, "{files:?}");
    for file in files {
        let mut loaded = Config::load(&file, &LoadOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        loaded
            .config
            .validate()
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(
            loaded.config.archs,
            [Arch::X86_64, Arch::Aarch64],
            "{}",
            file.display()
        );
    }
}

#[test]
fn include_example_resolves_through_the_include_paths() {
    let root = examples_root();
    let base = load_example(root.path(), "alpine-base.yaml");
    let include = load_example(root.path(), "include.yaml");
    assert_eq!(include.files.len(), 2);
    assert_eq!(
        include.files[1],
        root.path().join("examples/alpine-base.yaml")
    );
    // Everything comes from the base; `include` itself is kept.
    let mut expected = base.config.clone();
    expected.include = "examples/alpine-base.yaml".into();
    assert_eq!(include.config, expected);

    let overlay = load_example(root.path(), "overlay.yaml");
    assert_eq!(overlay.config.contents.packages, ["alpine-base", "nano"]);
    assert_eq!(overlay.config.archs, [Arch::X86_64, Arch::Aarch64]);
    assert_eq!(overlay.config.cmd, "/bin/sh -l");

    // Without the search path the include is not found, and the error says
    // where the include was written.
    let err = Config::load(
        fixtures().join("apko-examples/include.yaml"),
        &LoadOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("apko-examples/include.yaml:1:10: examples/alpine-base.yaml: not found"),
        "{err}"
    );
}

#[test]
fn types_testdata_like_apkos_own_tests() {
    let cwd = fixtures().join("apko-testdata/pkg/build/types");
    // TestOverlayWithEmptyContents: the top file is found through the
    // include path, its include relative to the working directory.
    let loaded = Config::load(
        "overlay/overlay.apko.yaml",
        &LoadOptions {
            cwd: Some(cwd.clone()),
            include_paths: vec!["testdata".into()],
        },
    )
    .unwrap();
    let c = &loaded.config.contents;
    assert_eq!(c.build_repositories, ["secret repository"]);
    assert_eq!(c.runtime_repositories, ["runtime repository"]);
    assert_eq!(c.repositories, ["repository"]);
    assert_eq!(c.keyring, ["key"]);
    assert_eq!(c.packages, ["package"]);
    assert_eq!(
        loaded.files,
        [
            PathBuf::from("testdata/overlay/overlay.apko.yaml"),
            PathBuf::from("testdata/overlay/base.apko.yaml")
        ]
    );

    // TestOverlayWithAdditionalPackages: two levels of include.
    let cwd_opts = LoadOptions {
        cwd: Some(cwd.clone()),
        include_paths: Vec::new(),
    };
    let loaded =
        Config::load("testdata/overlay/overlay_with_package.apko.yaml", &cwd_opts).unwrap();
    let c = &loaded.config.contents;
    assert_eq!(
        c.build_repositories,
        ["secret repository", "other_secret repository"]
    );
    assert_eq!(
        c.runtime_repositories,
        ["runtime repository", "other runtime repository"]
    );
    assert_eq!(c.packages, ["package", "other_package"]);
    assert_eq!(loaded.files.len(), 3);

    // TestUserContents: default home directories come from validation.
    let mut users = Config::load("testdata/users.apko.yaml", &cwd_opts)
        .unwrap()
        .config;
    users.validate().unwrap();
    let u = &users.accounts.users;
    assert_eq!(u[0].homedir, "/not/home");
    assert_eq!(u[0].gid, Some(1));
    assert_eq!(u[0].uid, 2);
    assert_eq!(u[1].homedir, "/home/user");
    assert_eq!(u[1].gid, None);
    assert_eq!(u[1].effective_gid(), 3);
    assert_eq!(u[1].effective_shell(), "/bin/sh");
}

#[test]
fn example_values() {
    let root = examples_root();
    let nginx = load_example(root.path(), "nginx.yaml").config;
    assert_eq!(
        nginx.contents.keyring,
        ["https://packages.wolfi.dev/os/wolfi-signing.rsa.pub"]
    );
    assert_eq!(
        nginx.contents.repositories,
        ["https://packages.wolfi.dev/os"]
    );
    assert_eq!(nginx.contents.packages, ["wolfi-baselayout", "nginx"]);
    assert_eq!(nginx.entrypoint.r#type, Some(EntrypointType::ServiceBundle));
    assert_eq!(
        nginx.entrypoint.services["nginx"],
        "/usr/sbin/nginx -c /etc/nginx/nginx.conf -g \"daemon off;\""
    );
    assert_eq!(nginx.work_dir, "/usr/share/nginx");
    assert_eq!(nginx.annotations["foo"], "bar");
    assert_eq!(nginx.accounts.groups[0].groupname, "nginx");
    assert_eq!(nginx.accounts.groups[0].gid, 10000);
    assert_eq!(nginx.accounts.users[0].uid, 10000);
    assert_eq!(nginx.paths.len(), 2);
    let run = &nginx.paths[0];
    assert_eq!(run.path, "/run/nginx");
    assert_eq!(run.r#type, PathType::Directory);
    assert_eq!((run.uid, run.gid), (Some(10000), Some(10000)));
    assert_eq!(run.permissions, 0o755);
    assert_eq!(nginx.paths[1].r#type, PathType::Hardlink);
    assert_eq!(nginx.paths[1].source, "/etc/nginx/nginx.conf.default");
    assert_eq!(nginx.paths[1].permissions, 0o644);
    // The origin of each item is recorded.
    let pos = run.origin.pos().unwrap();
    assert!(pos.file.ends_with("apko-examples/nginx.yaml"));
    assert_eq!((pos.line, pos.column), (30, 5));

    // Validation turns the service bundle into s6.
    let mut validated = nginx.clone();
    validated.validate().unwrap();
    assert_eq!(validated.entrypoint.command, "/bin/s6-svscan /sv");
    assert_eq!(
        validated.contents.packages,
        ["wolfi-baselayout", "nginx", "s6"]
    );
    assert_eq!(
        validated.entrypoint_argv().unwrap(),
        ["/bin/s6-svscan", "/sv"]
    );

    let rootless = load_example(root.path(), "alpine-base-rootless.yaml").config;
    assert_eq!(rootless.accounts.run_as, "nonroot");
    assert_eq!(rootless.cmd_argv().unwrap(), ["/bin/sh", "-l"]);
    assert_eq!(
        rootless.environment_with_defaults(),
        [
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/bin:/usr/sbin:/sbin:/bin",
            "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"
        ]
    );

    let certs = load_example(root.path(), "certificates.yaml").config;
    let additional = &certs.certificates.as_ref().unwrap().additional;
    assert_eq!(additional.len(), 2);
    assert_eq!(additional[0].name, "pretend-pear-x1");
    assert!(
        additional[0]
            .content
            .starts_with("-----BEGIN CERTIFICATE-----\nMIIFmDCC")
    );
    assert!(
        additional[1]
            .content
            .ends_with("-----END CERTIFICATE-----\n")
    );
    assert_eq!(certs.entrypoint_argv().unwrap(), ["/bin/sh", "-c"]);

    let pkg_certs = load_example(root.path(), "package-certificates.yaml").config;
    assert_eq!(
        pkg_certs.certificates.unwrap().providers,
        ["custom-ca-certificates"]
    );

    let keyring = load_example(root.path(), "runtime-keyring.yaml").config;
    assert_eq!(
        keyring.contents.runtime_repositories,
        ["https://packages.example.com/os"]
    );
    assert_eq!(
        keyring.contents.runtime_keyring[0].name,
        "example-mirror.rsa.pub"
    );
    assert!(
        keyring.contents.runtime_keyring[0]
            .content
            .contains("BEGIN PUBLIC KEY")
    );

    let old = load_example(root.path(), "old-glibc.yaml").config;
    assert_eq!(old.contents.packages[0], "glibc=2.36-r3");

    let go = load_example(root.path(), "wolfi-go.yaml").config;
    assert_eq!(go.archs, [Arch::X86_64, Arch::Aarch64]);
    let abseil = load_example(root.path(), "abseil-regression.yaml").config;
    assert_eq!(abseil.archs, [Arch::Aarch64]);
}

#[test]
fn cli_testdata_values() {
    let dir = fixtures().join("apko-testdata/internal/cli/testdata");
    let load = |name: &str| {
        Config::load(dir.join(name), &LoadOptions::default())
            .unwrap()
            .config
    };

    let layering = load("layering.yaml");
    assert_eq!(
        layering.layering,
        Some(Layering {
            strategy: Some(LayeringStrategy::Origin),
            budget: 2
        })
    );
    assert!(layering.layering_enabled().is_some());
    assert_eq!(layering.contents.build_repositories, ["./packages"]);
    assert_eq!(
        layering.contents.runtime_repositories,
        ["apk.cgr.dev/runtime-only-repo"]
    );

    let empty = load("empty-layering.yaml");
    assert_eq!(empty.layering, Some(Layering::default()));
    assert!(empty.layering_enabled().is_none());
    assert_eq!(empty.format, None);

    let on_top = load("image_on_top.apko.yaml");
    let base = on_top.contents.baseimage.unwrap();
    assert_eq!(base.image, "./testdata/base_image/");
    assert_eq!(base.apkindex, "./testdata/base_image/metadata/");

    let apko = load("apko.yaml");
    assert_eq!(apko.contents.keyring, ["./testdata/melange.rsa.pub"]);
    assert_eq!(apko.contents.repositories, ["./testdata/packages"]);
    assert_eq!(apko.entrypoint.command, "/bin/sh -l");
    assert_eq!(apko.format.unwrap_or(LayerFormat::Tar), LayerFormat::Tar);
}

/// The locked per-arch config apko built the golden image from, rendered as
/// `/etc/apko.json`, is byte for byte the file in the golden layer.
#[test]
fn apko_json_matches_golden_layer() {
    let dir = fixtures().join("apko-testdata/internal/cli/testdata");
    let mut config = Config::load(dir.join("apko.yaml"), &LoadOptions::default())
        .unwrap()
        .config;
    config.validate().unwrap();
    config.contents.packages = vec![
        "pretend-baselayout=1.0.0-r0".into(),
        "replayout=1.0.0-r0".into(),
    ];
    config
        .annotations
        .insert("org.opencontainers.image.title".into(), "Title".into());
    config
        .annotations
        .insert("org.opencontainers.image.vendor".into(), "Vendor".into());

    let mut goldens = Vec::new();
    for entry in fs::read_dir(dir.join("golden/blobs/sha256")).unwrap() {
        let bytes = fs::read(entry.unwrap().path()).unwrap();
        if !bytes.starts_with(&[0x1f, 0x8b]) {
            continue;
        }
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
        for file in archive.entries().unwrap() {
            let mut file = file.unwrap();
            if file.path().unwrap() == Path::new("etc/apko.json") {
                let mut text = String::new();
                file.read_to_string(&mut text).unwrap();
                goldens.push(text);
            }
        }
    }
    assert_eq!(goldens.len(), 2);
    for golden in goldens {
        let arch = if golden.contains("\"amd64\"") {
            Arch::X86_64
        } else {
            Arch::Aarch64
        };
        config.archs = vec![arch];
        assert_eq!(config.to_apko_json(), golden);
    }
}
