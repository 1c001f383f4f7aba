//! Which licenses a source tree carries, and whether a recipe's
//! `copyright:` says the same: melange's `license-check`.
//!
//! - [`find_license_files`] picks the files whose names say they hold a
//!   license (melange's patterns and weights, from licensee), the top
//!   directory and one level below unless `deep`.
//! - [`Classifier`] tells which SPDX license a text is, by comparing its
//!   word pairs with the SPDX license list's texts (askalono's method, as
//!   the `spdx` crate carries it); matches below [`CONFIDENT`] are reported
//!   as such and not acted on.
//! - [`differences`] compares what was detected with what a recipe
//!   declares, melange's rules: a license file named by a `license-path`
//!   must hold that entry's license (unless `detection-override` names what
//!   is detected), any other detected license must appear in some entry.

mod classify;
mod files;

pub use classify::{CONFIDENT, Classifier, Detected};
pub use files::{LicenseFile, find_license_files, license_file_weight};

/// One `copyright:` entry of a recipe, split at `AND`/`OR`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Declared {
    /// One SPDX license id.
    pub name: String,
    /// The entry's `license-path` (empty when none).
    pub path: String,
    /// The entry's `detection-override` (empty when none).
    pub detection_override: String,
}

impl Declared {
    /// The entries of a `copyright:` list given as `(license, license-path,
    /// detection-override)`, each license expression split at `AND`/`OR`.
    pub fn from_copyright<'a>(
        entries: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
    ) -> Vec<Declared> {
        let split = regex::Regex::new(r"\s+(?:AND|OR)\s+").expect("valid pattern");
        let mut out = Vec::new();
        for (license, path, detection_override) in entries {
            for name in split.split(license) {
                out.push(Declared {
                    name: name.to_string(),
                    path: path.to_string(),
                    detection_override: detection_override.to_string(),
                });
            }
        }
        out
    }
}

/// A detected license the recipe does not declare (or declares otherwise).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// The license file.
    pub path: String,
    /// What the recipe says for that file (empty: nothing).
    pub declared: String,
    /// What was detected.
    pub detected: String,
    /// The entry's `detection-override`, when it names another license.
    pub detection_override: String,
}

/// Compares confidently detected licenses with the declared ones.
pub fn differences(detected: &[Detected], declared: &[Declared]) -> Vec<Difference> {
    let mut out = Vec::new();
    for d in detected.iter().filter(|d| d.is_confident()) {
        let mut found = false;
        for m in declared {
            if m.path == d.path {
                found = true;
                if !d.is(&m.name) && m.detection_override != d.name {
                    out.push(Difference {
                        path: d.path.clone(),
                        declared: m.name.clone(),
                        detected: d.name.clone(),
                        detection_override: m.detection_override.clone(),
                    });
                }
                break;
            } else if m.path.is_empty() && d.is(&m.name) {
                found = true;
            }
        }
        if !found {
            out.push(Difference {
                path: d.path.clone(),
                declared: String::new(),
                detected: d.name.clone(),
                detection_override: String::new(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detected(name: &str, path: &str) -> Detected {
        Detected {
            name: name.into(),
            aliases: vec![name.into(), format!("{name}-only")],
            confidence: 0.99,
            path: path.into(),
        }
    }

    #[test]
    fn detected_licenses_are_compared_with_the_copyright_entries() {
        let declared = Declared::from_copyright([
            ("MIT OR Apache-2.0", "", ""),
            ("BSD-3-Clause", "COPYING", "BSD-2-Clause"),
        ]);
        assert_eq!(declared.len(), 3);
        // Anywhere, as an alias, or overridden: no difference.
        assert!(differences(&[detected("MIT", "LICENSE")], &declared).is_empty());
        assert!(
            differences(&[detected("GPL-2.0", "x/LICENSE")], &declared[..1])
                .first()
                .is_some_and(|d| d.declared.is_empty() && d.detected == "GPL-2.0")
        );
        let only = Declared::from_copyright([("GPL-2.0-only", "", "")]);
        assert!(differences(&[detected("GPL-2.0", "COPYING")], &only).is_empty());
        assert!(differences(&[detected("BSD-2-Clause", "COPYING")], &declared).is_empty());
        // The file a license-path names holds another license.
        let d = differences(&[detected("ISC", "COPYING")], &declared);
        assert_eq!(
            d,
            [Difference {
                path: "COPYING".into(),
                declared: "BSD-3-Clause".into(),
                detected: "ISC".into(),
                detection_override: "BSD-2-Clause".into(),
            }]
        );
        // Unconfident matches are not acted on.
        let mut weak = detected("ISC", "COPYING");
        weak.confidence = 0.5;
        assert!(differences(&[weak], &declared).is_empty());
    }
}
