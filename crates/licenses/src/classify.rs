//! Telling which SPDX license a text is.

use std::collections::HashMap;

use spdx::detection::{Store, TextData};

/// Matches at or above this confidence are acted on (melange's threshold).
pub const CONFIDENT: f64 = 0.9;

/// Below this, a text is taken to hold no license at all.
const NO_LICENSE: f32 = 0.5;

/// A license found in a file.
#[derive(Clone, Debug, PartialEq)]
pub struct Detected {
    /// The SPDX id reported (`NOASSERTION` when no license was recognised).
    pub name: String,
    /// Every SPDX id with the same text (`GPL-2.0-only` and
    /// `GPL-2.0-or-later` share theirs): the recipe may name any of them.
    pub aliases: Vec<String>,
    /// 0 to 1.
    pub confidence: f64,
    /// The file, relative to the scanned directory.
    pub path: String,
}

impl Detected {
    /// Confident enough to act on.
    pub fn is_confident(&self) -> bool {
        self.confidence >= CONFIDENT
    }

    /// Whether `name` is this license (or one with the same text).
    pub fn is(&self, name: &str) -> bool {
        self.name == name || self.aliases.iter().any(|a| a == name)
    }
}

/// The id that replaced a deprecated one: `GPL-2.0+` is
/// `GPL-2.0-or-later`, `GPL-2.0` is `GPL-2.0-only`.
fn current(id: &str) -> String {
    if spdx::license_id(id).is_none_or(|l| !l.is_deprecated()) {
        return id.to_string();
    }
    let candidate = match id.strip_suffix('+') {
        Some(base) => format!("{base}-or-later"),
        None => format!("{id}-only"),
    };
    if spdx::license_id(&candidate).is_some_and(|l| !l.is_deprecated()) {
        candidate
    } else {
        id.to_string()
    }
}

/// The SPDX license list's texts, ready for matching.
pub struct Classifier {
    store: Store,
    aliases: HashMap<String, Vec<String>>,
}

impl Default for Classifier {
    fn default() -> Self {
        Self::new()
    }
}

impl Classifier {
    /// Prepares every license text of the SPDX list (identical texts once,
    /// under the first id that is not deprecated).
    pub fn new() -> Classifier {
        let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
        let mut by_text: HashMap<&str, usize> = HashMap::new();
        for (id, text) in spdx::text::LICENSE_TEXTS {
            match by_text.get(text) {
                Some(&i) => groups[i].1.push(id),
                None => {
                    by_text.insert(text, groups.len());
                    groups.push((text, vec![id]));
                }
            }
        }
        let mut store = Store::new();
        let mut aliases = HashMap::new();
        for (text, ids) in groups {
            let mut names: Vec<String> = ids.iter().map(|id| current(id)).collect();
            let name = names
                .iter()
                .find(|n| spdx::license_id(n).is_some_and(|l| !l.is_deprecated()))
                .unwrap_or(&names[0])
                .clone();
            names.extend(ids.iter().map(ToString::to_string));
            // A license text cannot say whether "or later" applies (the
            // notices in the sources do): either is this license.
            let siblings: Vec<String> = names
                .iter()
                .filter_map(|n| {
                    n.strip_suffix("-only")
                        .map(|b| format!("{b}-or-later"))
                        .or_else(|| n.strip_suffix("-or-later").map(|b| format!("{b}-only")))
                })
                .filter(|n| spdx::license_id(n).is_some())
                .collect();
            names.extend(siblings);
            names.sort();
            names.dedup();
            store.add_license(name.clone(), TextData::new(text).without_text());
            aliases.insert(name, names);
        }
        Classifier { store, aliases }
    }

    /// The license `text` (the content of `path`) is.
    pub fn identify(&self, text: &str, path: &str) -> Detected {
        let m = self.store.analyze(&TextData::new(text));
        if m.score < NO_LICENSE {
            return Detected {
                name: "NOASSERTION".into(),
                aliases: Vec::new(),
                confidence: 0.0,
                path: path.to_string(),
            };
        }
        Detected {
            name: m.name.to_string(),
            aliases: self.aliases.get(m.name).cloned().unwrap_or_default(),
            confidence: f64::from(m.score),
            path: path.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(id: &str) -> &'static str {
        spdx::text::LICENSE_TEXTS
            .iter()
            .find(|(i, _)| *i == id)
            .unwrap()
            .1
    }

    #[test]
    fn license_texts_are_recognised_under_current_ids() {
        let c = Classifier::new();
        let d = c.identify(text("Apache-2.0"), "LICENSE");
        assert_eq!(d.name, "Apache-2.0");
        assert!(d.is_confident(), "{d:?}");
        // The deprecated GPL-2.0 shares its text with the current ids.
        let d = c.identify(text("GPL-2.0"), "COPYING");
        assert_eq!(d.name, "GPL-2.0-only");
        assert!(d.is("GPL-2.0-or-later") && d.is("GPL-2.0"), "{d:?}");
        assert_eq!(current("GPL-2.0+"), "GPL-2.0-or-later");
        let d = c.identify("Just some words about the project.\n", "COPYRIGHT");
        assert_eq!((d.name.as_str(), d.confidence), ("NOASSERTION", 0.0));
    }
}
