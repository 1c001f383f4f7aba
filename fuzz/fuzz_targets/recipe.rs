//! melange recipes: parsing and compiling (substitutions, var-transforms,
//! ranges, built-in pipelines) never panic; a recipe that compiles is
//! written as `.melange.yaml` text that parses again; a recipe that passes
//! the pre-build checks has a version that is safe in a file name and
//! one-line metadata (a trailing line break is dropped when packaging;
//! nothing can inject lines into `.PKGINFO`).
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use recipe::{BuildArch, CompileOptions, Compiler, Recipe, check_buildable};

fn compiler() -> &'static Compiler {
    static COMPILER: OnceLock<Compiler> = OnceLock::new();
    COMPILER.get_or_init(|| {
        Compiler::new(CompileOptions {
            arch: BuildArch::X86_64,
            ..CompileOptions::default()
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = Path::new("fuzz.yaml");
    let Ok(parsed) = Recipe::parse_str(text, file) else {
        return;
    };
    let Ok(compiled) = compiler().compile_recipe(&parsed, &file.into()) else {
        return;
    };
    match compiled.to_melange_yaml(None) {
        Ok(yaml) => {
            if let Err(e) = Recipe::parse_str(&yaml, "melange.yaml") {
                panic!(".melange.yaml does not parse: {e}\ninput: {text:?}\nwritten: {yaml:?}");
            }
        }
        Err(e) => panic!("compiled recipe cannot be written: {e}\ninput: {text:?}"),
    }
    if check_buildable(&compiled, file).is_ok() {
        let p = &compiled.package;
        assert!(
            apk_format::names::check_version(p.version.as_str()).is_ok(),
            "buildable version {:?} is not safe in a path",
            p.version
        );
        for value in [&p.description, &p.url, &p.commit] {
            let line = value.trim_end_matches(['\n', '\r']);
            assert!(
                !line.contains(['\n', '\r', '\0']),
                "line break in {value:?}"
            );
        }
    }
});
