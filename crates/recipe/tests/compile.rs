//! Targeted tests of parsing and compiling.

use std::path::{Path, PathBuf};

use recipe::{
    BuildArch, CompileOptions, CompiledRecipe, CompiledStep, Compiler, Recipe, RecipeError,
    builtin_pipeline_names,
};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn compiler() -> Compiler {
    Compiler::new(CompileOptions {
        arch: BuildArch::X86_64,
        pipeline_dirs: vec![data().join("pipelines")],
        ..CompileOptions::default()
    })
}

fn compile(yaml: &str) -> Result<CompiledRecipe, RecipeError> {
    compiler().compile_str(yaml, "r.yaml")
}

fn header() -> &'static str {
    "package:\n  name: hello\n  version: 1.0.0\n  epoch: 0\n"
}

/// Every step with a script, depth first.
fn scripts(steps: &[CompiledStep]) -> Vec<&CompiledStep> {
    steps
        .iter()
        .flat_map(|s| s.enabled_steps())
        .filter(|s| !s.runs.is_empty())
        .collect()
}

#[test]
fn typo_key_is_reported_with_its_position() {
    let yaml = format!(
        "{}pipeline:\n  - runs: make\n    workingdirectory: src\n",
        header()
    );
    let err = compile(&yaml).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("r.yaml:7:5: "), "{msg}");
    assert!(msg.contains("workingdirectory"), "{msg}");

    let err = Recipe::parse_str("package:\n  name: a\n  verison: 1\n", "x.yaml").unwrap_err();
    assert!(err.to_string().starts_with("x.yaml:3:3: "), "{err}");
    assert!(err.to_string().contains("verison"), "{err}");
}

#[test]
fn unknown_variable_is_named_with_its_line() {
    let yaml = format!(
        "{}pipeline:\n  - runs: |\n      echo one\n      echo ${{{{vars.nope}}}}\n",
        header()
    );
    let err = compile(&yaml).unwrap_err();
    match &err {
        RecipeError::UnknownVariable { at, name } => {
            assert_eq!(name, "vars.nope");
            assert_eq!(at.line, 8);
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().starts_with("r.yaml:8:"), "{err}");
}

#[test]
fn unknown_variable_inside_a_pipeline_names_both_places() {
    let yaml = format!("{}pipeline:\n  - uses: local/broken\n", header());
    let err = compile(&yaml).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("r.yaml:6:11: in pipeline `local/broken`"),
        "{err}"
    );
    let inner = err.innermost();
    assert!(matches!(inner, RecipeError::UnknownVariable { name, .. } if name == "vars.missing"));
    let at = err.location().unwrap();
    assert!(at.file.ends_with("local/broken.yaml"), "{at}");
    assert_eq!(at.line, 3);
}

#[test]
fn unknown_with_input_is_named() {
    let yaml = format!(
        "{}pipeline:\n  - uses: autoconf/make\n    with:\n      dir: src\n      optz: -k\n",
        header()
    );
    let err = compile(&yaml).unwrap_err();
    match &err {
        RecipeError::UnknownInput {
            input,
            pipeline,
            known,
            at,
        } => {
            assert_eq!(input, "optz");
            assert_eq!(pipeline, "autoconf/make");
            assert!(known.contains(&"opts".to_string()));
            assert_eq!(at.line, 9);
        }
        other => panic!("{other}"),
    }
}

#[test]
fn required_input_and_checksums_are_checked() {
    let yaml = format!(
        "{}pipeline:\n  - uses: go/build\n    with:\n      output: x\n",
        header()
    );
    let err = compile(&yaml).unwrap_err();
    assert!(
        matches!(&err, RecipeError::MissingInput { input, .. } if input == "packages"),
        "{err}"
    );

    let yaml = format!(
        "{}pipeline:\n  - uses: fetch\n    with:\n      uri: https://x/y.tgz\n      expected-sha256: abc\n",
        header()
    );
    let builtin_only = Compiler::new(CompileOptions::default());
    let err = builtin_only.compile_str(&yaml, "r.yaml").unwrap_err();
    assert!(
        matches!(&err, RecipeError::InvalidInput { input, .. } if input == "expected-sha256"),
        "{err}"
    );
}

#[test]
fn pipeline_not_found_lists_where_it_looked() {
    let yaml = format!("{}pipeline:\n  - uses: no/such\n", header());
    let err = compile(&yaml).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("no/such.yaml"), "{msg}");
    assert!(msg.contains("<builtin>/no/such.yaml"), "{msg}");
    let yaml = format!("{}pipeline:\n  - uses: ../etc/passwd\n", header());
    assert!(compile(&yaml).is_err());
}

#[test]
fn var_transforms_use_go_replacement_syntax() {
    let yaml = format!(
        "{}vars:\n  base: v${{{{package.version}}}}\nvar-transforms:\n  - from: ${{{{package.version}}}}\n    match: ^(\\d+)\\.(\\d+)\\.(\\d+)$\n    replace: ${{1}}_$2-$3x$$\n    to: mangled\n  - from: ${{{{vars.mangled}}}}\n    match: _\n    replace: .\n    to: again\npipeline:\n  - runs: echo ${{{{vars.mangled}}}} ${{{{vars.again}}}} ${{{{vars.base}}}}\n",
        header()
    );
    let c = compile(&yaml).unwrap();
    // `$3x` names a group "3x", which does not exist: empty, as in Go.
    assert_eq!(c.vars["mangled"], "1_0-$");
    assert_eq!(c.vars["again"], "1.0-$");
    assert_eq!(c.vars["base"], "v1.0.0");
    assert_eq!(c.pipeline[0].runs, "echo 1_0-$ 1.0-$ v1.0.0");

    let bad = format!(
        "{}var-transforms:\n  - from: x\n    match: \"(\"\n    replace: y\n    to: z\n",
        header()
    );
    let err = compile(&bad).unwrap_err();
    assert!(err.to_string().contains("regular expression"), "{err}");
}

#[test]
fn ranges_expand_in_key_order() {
    let yaml = format!(
        "{}data:\n  - name: flavors\n    items:\n      b: second\n      a: first\n      '10': ten\nsubpackages:\n  - range: flavors\n    name: hello-${{{{range.key}}}}\n    description: the ${{{{range.value}}}} one\n    dependencies:\n      provider-priority: 5\n    pipeline:\n      - runs: echo ${{{{range.key}}}}=${{{{range.value}}}} ${{{{subpkg.name}}}} ${{{{targets.subpkgdir}}}} ${{{{targets.contextdir}}}}\n      - if: '\"${{{{range.key}}}}\" == \"a\"'\n        runs: only-a\n",
        header()
    );
    let c = compile(&yaml).unwrap();
    let names: Vec<&str> = c.subpackages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["hello-10", "hello-a", "hello-b"]);
    let a = &c.subpackages[1];
    assert_eq!(a.description, "the first one");
    assert_eq!(
        a.pipeline[0].runs,
        "echo a=first hello-a /home/build/melange-out/hello-a /home/build/melange-out/hello-a"
    );
    assert!(a.pipeline[1].enabled);
    assert!(!c.subpackages[2].pipeline[1].enabled);
    assert_eq!(
        a.range,
        Some(("flavors".to_string(), "a".to_string(), "first".to_string()))
    );

    let undefined = format!("{}subpackages:\n  - range: nope\n    name: x\n", header());
    assert!(
        compile(&undefined)
            .unwrap_err()
            .to_string()
            .contains("nope")
    );
    let dup = format!(
        "{}data:\n  - name: d\n    items:\n      a: 1\n      b: 2\nsubpackages:\n  - range: d\n    name: same\n",
        header()
    );
    assert!(compile(&dup).unwrap_err().to_string().contains("duplicate"));
}

#[test]
fn nested_uses_inherit_inputs_workdir_and_environment() {
    let yaml = format!(
        "{}pipeline:\n  - uses: local/outer\n    with:\n      message: hi\n    working-directory: top\n",
        header()
    );
    let c = compile(&yaml).unwrap();
    let steps = scripts(&c.pipeline);
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0].name, "outer plain");
    assert_eq!(steps[0].runs, "echo \"hi\"");
    assert_eq!(steps[0].working_directory, "top");
    assert_eq!(
        steps[1].runs,
        "echo \"hi (from outer)! in /home/build/melange-out/hello on x86_64\""
    );
    assert_eq!(steps[1].working_directory, "sub");
    assert_eq!(steps[1].environment["OUTER"], "1");
    assert_eq!(c.pipeline[0].with["message"], "hi");
    let pkgs: Vec<&str> = c
        .environment
        .contents
        .packages
        .iter()
        .map(|p| p.as_str())
        .collect();
    assert_eq!(pkgs, ["outer-tool-plain", "inner-tool"]);
}

#[test]
fn user_pipelines_hide_built_ins() {
    let yaml = format!(
        "{}pipeline:\n  - uses: fetch\n    with:\n      uri: u\n",
        header()
    );
    let c = compile(&yaml).unwrap();
    assert_eq!(scripts(&c.pipeline)[0].runs, "my-fetch 'u'");
}

#[test]
fn conditions_follow_melange() {
    let yaml = format!(
        "{}pipeline:\n  - if: ${{{{build.arch}}}} == 'aarch64'\n    needs:\n      packages: [arm-only]\n    runs: arm\n  - if: ${{{{build.arch}}}} != 'aarch64' && ${{{{build.arch}}}} != 'x86'\n    runs: not-arm\nsubpackages:\n  - name: hello-arm\n    if: ${{{{build.arch}}}} == 'aarch64'\n",
        header()
    );
    let c = compile(&yaml).unwrap();
    assert!(!c.pipeline[0].enabled);
    assert_eq!(c.pipeline[0].if_, "\"x86_64\" == 'aarch64'");
    assert!(c.pipeline[1].enabled);
    assert!(!c.subpackages[0].enabled);
    assert!(
        !c.environment
            .contents
            .packages
            .iter()
            .any(|p| p == "arm-only")
    );
    let bad = format!("{}pipeline:\n  - if: x == y\n    runs: a\n", header());
    assert!(matches!(
        compile(&bad).unwrap_err(),
        RecipeError::Condition { .. }
    ));
}

#[test]
fn scalars_keep_their_text() {
    let yaml = "package:\n  name: glpk\n  version: 5.0\n  epoch: 0\nvars:\n  n: 1.10\npipeline:\n  - uses: git-checkout\n    with:\n      repository: r\n      tag: v${{package.version}}\n      expected-commit: 0123456789abcdef0123456789abcdef01234567\n      depth: -1\n      recurse-submodules: true\nupdate:\n  enabled: true\n  github:\n    identifier: a/b\n    strip-prefix: n\n";
    let c = compile(yaml).unwrap();
    assert_eq!(c.package.version, "5.0");
    assert_eq!(c.vars["n"], "1.10");
    assert_eq!(c.pipeline[0].with["depth"], "-1");
    assert_eq!(c.pipeline[0].with["recurse-submodules"], "true");
    assert_eq!(c.update.github.as_ref().unwrap().strip_prefix, "n");
}

#[test]
fn structural_errors() {
    let both = format!("{}pipeline:\n  - uses: strip\n    runs: x\n", header());
    assert!(compile(&both).unwrap_err().to_string().contains("both"));
    let with = format!(
        "{}pipeline:\n  - with:\n      a: b\n    runs: x\n",
        header()
    );
    assert!(
        compile(&with)
            .unwrap_err()
            .to_string()
            .contains("no `uses`")
    );
    let prio = format!("{}  dependencies:\n    provider-priority: high\n", header());
    assert!(compile(&prio).unwrap_err().to_string().contains("integer"));
    let desc = format!("{}pipeline:\n  - runs: x\n    description: y\n", header());
    assert!(
        compile(&desc)
            .unwrap_err()
            .to_string()
            .contains("description")
    );
}

#[test]
fn every_builtin_pipeline_parses_and_the_example_compiles() {
    let compiler = Compiler::new(CompileOptions {
        arch: BuildArch::X86_64,
        ..CompileOptions::default()
    });
    // Each built-in is a valid definition.
    for name in builtin_pipeline_names() {
        let yaml = recipe::builtin_pipeline(name).unwrap();
        let step: Result<recipe::Step, _> = serde_saphyr::from_str(yaml);
        assert!(step.is_ok(), "{name}: {:?}", step.err());
    }
    let c = compiler.compile_file(data().join("builtins.yaml")).unwrap();
    assert_eq!(c.package.version, "1.10");
    for step in &c.pipeline {
        assert!(!step.uses.is_empty());
        assert!(
            !scripts(std::slice::from_ref(step)).is_empty(),
            "{}",
            step.uses
        );
    }
    let fetch = scripts(&c.pipeline[..1])[0];
    assert!(
        fetch
            .runs
            .contains("https://example.invalid/hello-1.10.tar.gz")
    );
    assert!(fetch.runs.contains("--strip-components=0"));
    let configure = scripts(&c.pipeline[4..5])[0];
    assert!(configure.runs.contains("--host='x86_64-pc-linux-gnu'"));
    assert!(configure.runs.contains("--enable-hello"));
    let install = scripts(&c.pipeline[6..7])[0];
    assert!(
        install
            .runs
            .contains("DESTDIR='/home/build/melange-out/hello'")
    );
    let strip = scripts(&c.pipeline[16..17])[0];
    assert_eq!(strip.working_directory, "/home/build/melange-out/hello");
    let dev = scripts(&c.subpackages[0].pipeline)[0];
    assert!(dev.runs.contains("dst='/home/build/melange-out/hello-dev'"));
    let pkgs: Vec<&str> = c
        .environment
        .contents
        .packages
        .iter()
        .map(|p| p.as_str())
        .collect();
    for need in ["busybox", "patch", "make", "cmake", "ninja", "meson", "go"] {
        assert!(pkgs.contains(&need), "{need} missing from {pkgs:?}");
    }
    // fetch and git-checkout run on the host: what they need is optional.
    for host in ["wget", "git"] {
        assert!(!pkgs.contains(&host), "{host} in {pkgs:?}");
        assert!(c.optional_packages.iter().any(|p| p == host), "{host}");
    }
    let test = c.test.as_ref().unwrap();
    let test_pkgs: Vec<&str> = test
        .environment
        .contents
        .packages
        .iter()
        .map(|p| p.as_str())
        .collect();
    assert_eq!(test_pkgs, ["hello"]);
    assert_eq!(c.environment.environment["HOME"], "/home/build");
    assert!(
        c.environment
            .accounts
            .users
            .iter()
            .any(|u| u.username == "build")
    );
    let json: serde_json::Value = serde_json::from_str(&c.to_json_pretty()).unwrap();
    assert_eq!(json["arch"], "x86_64");
    assert_eq!(json["subpackages"][1]["name"], "hello-doc");
}

#[test]
fn other_architectures_change_the_names() {
    let compiler = Compiler::new(CompileOptions {
        arch: BuildArch::Aarch64,
        ..CompileOptions::default()
    });
    let yaml = format!(
        "{}pipeline:\n  - runs: ${{{{build.arch}}}} ${{{{build.goarch}}}} ${{{{host.triplet.gnu}}}} ${{{{host.triplet.rust}}}} ${{{{cross.triplet.gnu.musl}}}}\n",
        header()
    );
    let c = compiler.compile_str(&yaml, "r.yaml").unwrap();
    assert_eq!(
        c.pipeline[0].runs,
        "aarch64 arm64 aarch64-unknown-linux-gnu aarch64-unknown-linux-gnu aarch64-unknown-linux-musl"
    );
}

#[test]
fn vars_overrides_and_build_options() {
    let yaml = format!(
        "{}vars:\n  v: recipe\nenvironment:\n  contents:\n    packages: [a, b]\noptions:\n  slim:\n    vars:\n      v: option\n    environment:\n      contents:\n        packages:\n          add: [c]\n          remove: [a]\npipeline:\n  - runs: ${{{{vars.v}}}} ${{{{options.slim.enabled}}}}\n",
        header()
    );
    let c = compile(&yaml).unwrap();
    assert_eq!(c.pipeline[0].runs, "recipe false");
    let compiler = Compiler::new(CompileOptions {
        arch: BuildArch::X86_64,
        build_options: vec!["slim".into()],
        ..CompileOptions::default()
    });
    let c = compiler.compile_str(&yaml, "r.yaml").unwrap();
    assert_eq!(c.pipeline[0].runs, "option true");
    let pkgs: Vec<&str> = c
        .environment
        .contents
        .packages
        .iter()
        .map(|p| p.as_str())
        .collect();
    assert_eq!(pkgs, ["b", "c"]);
    let compiler = Compiler::new(CompileOptions {
        vars: [("v".to_string(), "cli".to_string())].into(),
        ..CompileOptions::default()
    });
    assert_eq!(
        compiler.compile_str(&yaml, "r.yaml").unwrap().pipeline[0].runs,
        "cli false"
    );
}

#[test]
fn test_environment_is_sorted_and_keeps_positions() {
    let yaml = format!(
        "{}test:\n  environment:\n    contents:\n      packages:\n        - zlib\n        - busybox\n  pipeline:\n    - runs: true\n",
        header()
    );
    let c = compile(&yaml).unwrap();
    let pkgs = &c.test.unwrap().environment.contents.packages;
    let names: Vec<&str> = pkgs.iter().map(|p| p.as_str()).collect();
    assert_eq!(names, ["busybox", "hello", "zlib"]);
    // Written in the recipe: lines 10 and 9; added (the package under test): unknown.
    let lines: Vec<u64> = pkgs.iter().map(|p| p.line).collect();
    assert_eq!(lines, [10, 0, 9]);
}
