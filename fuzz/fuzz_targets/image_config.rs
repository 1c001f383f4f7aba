//! apko image configs: parsing, validation, `show-config` and the
//! `/etc/apko.json` rendering never panic; what `show-config` prints
//! parses back to an equal config (unless a password was redacted), and
//! printing that again gives the same text; `/etc/apko.json` is JSON.
#![no_main]

use image_config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = Config::parse_str(text, "fuzz.yaml") else {
        return;
    };
    if let Ok(shown) = config.to_yaml() {
        if !shown.contains("xxxxx") {
            let again = match Config::parse_str(&shown, "shown.yaml") {
                Ok(again) => again,
                Err(e) => panic!(
                    "show-config output does not parse: {e}\ninput: {text:?}\nshown: {shown:?}"
                ),
            };
            assert_eq!(config, again, "input: {text:?}\nshown: {shown:?}");
            assert_eq!(
                again.to_yaml().ok().as_deref(),
                Some(shown.as_str()),
                "second print differs"
            );
        }
    }
    let mut validated = config.clone();
    if validated.validate().is_ok() {
        let json = validated.to_apko_json();
        if let Err(e) = serde_json::from_str::<serde_json::Value>(&json) {
            panic!("/etc/apko.json is not JSON: {e}\ninput: {text:?}\njson: {json:?}");
        }
        let _ = validated.effective_archs(&[]);
        let _ = validated.entrypoint_argv();
        let _ = validated.cmd_argv();
        let _ = validated.environment_with_defaults();
    }
});
