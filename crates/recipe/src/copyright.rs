//! `license-check --fix`: a recipe's `package.copyright` replaced by
//! editing its text (everything else stays as written).

/// One new `copyright:` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyrightEntry {
    /// The license expression.
    pub license: String,
    /// `license-path`, when there is one.
    pub license_path: Option<String>,
}

/// Why the copyright could not be replaced.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CopyrightEditError(String);

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim_start();
    t.is_empty() || t.starts_with('#')
}

/// A scalar as YAML reads it back unchanged: plain when it is simple,
/// double-quoted otherwise.
fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/+-() ".contains(c))
        && !s.starts_with([' ', '-'])
        && !s.ends_with(' ');
    if plain {
        s.to_string()
    } else {
        format!("{s:?}")
    }
}

/// `text` with `package.copyright` replaced by `entries` (added at the end
/// of `package:` when it has none).
pub fn replace_copyright(
    text: &str,
    entries: &[CopyrightEntry],
) -> Result<String, CopyrightEditError> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let package = lines
        .iter()
        .position(|l| l.trim_end() == "package:" || l.starts_with("package: "))
        .ok_or_else(|| CopyrightEditError("no top-level `package:` block".into()))?;
    // The package block: until the next line at column 0.
    let end = (package + 1..lines.len())
        .find(|&i| !is_blank_or_comment(lines[i]) && indent(lines[i]) == 0)
        .unwrap_or(lines.len());
    let child = (package + 1..end)
        .find(|&i| !is_blank_or_comment(lines[i]))
        .map(|i| indent(lines[i]))
        .ok_or_else(|| CopyrightEditError("`package:` is empty".into()))?;
    let key = (package + 1..end)
        .find(|&i| indent(lines[i]) == child && lines[i].trim_start().starts_with("copyright:"));
    let pad = " ".repeat(child);
    let mut block = format!("{pad}copyright:\n");
    for e in entries {
        block.push_str(&format!("{pad}  - license: {}\n", scalar(&e.license)));
        if let Some(p) = &e.license_path {
            block.push_str(&format!("{pad}    license-path: {}\n", scalar(p)));
        }
    }
    let (from, to) = match key {
        Some(k) => {
            // The value: deeper lines, or a sequence at the key's own indent.
            let mut to = k + 1;
            while to < end {
                let l = lines[to];
                let deeper = indent(l) > child
                    || (indent(l) == child && l.trim_start().starts_with('-'))
                    || l.trim().is_empty();
                if !deeper {
                    break;
                }
                to += 1;
            }
            // Blank lines after the block stay where they are.
            while to > k + 1 && lines[to - 1].trim().is_empty() {
                to -= 1;
            }
            (k, to)
        }
        None => {
            let mut at = end;
            while at > package + 1 && is_blank_or_comment(lines[at - 1]) {
                at -= 1;
            }
            (at, at)
        }
    };
    let mut out: String = lines[..from].concat();
    if !out.ends_with('\n') && !out.is_empty() {
        out.push('\n');
    }
    out.push_str(&block);
    out.push_str(&lines[to..].concat());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(l: &str, p: Option<&str>) -> CopyrightEntry {
        CopyrightEntry {
            license: l.into(),
            license_path: p.map(Into::into),
        }
    }

    #[test]
    fn the_copyright_block_is_replaced_and_the_rest_kept() {
        let text = "package:\n  name: x # the name\n  copyright:\n    - license: MIT\n\n      license-path: COPYING\n  dependencies:\n    runtime: []\n\npipeline:\n  - runs: true\n";
        let fixed = replace_copyright(
            text,
            &[
                entry("Apache-2.0", Some("LICENSE")),
                entry("BSD-3-Clause", Some("a b/COPYING: x")),
            ],
        )
        .unwrap();
        assert_eq!(
            fixed,
            "package:\n  name: x # the name\n  copyright:\n    - license: Apache-2.0\n      license-path: LICENSE\n    - license: BSD-3-Clause\n      license-path: \"a b/COPYING: x\"\n  dependencies:\n    runtime: []\n\npipeline:\n  - runs: true\n"
        );
        // A sequence at the key's indentation; one entry without a path.
        let text = "package:\n  name: x\n  copyright:\n  - license: MIT\n  version: 1\n";
        assert_eq!(
            replace_copyright(text, &[entry("ISC AND MIT", None)]).unwrap(),
            "package:\n  name: x\n  copyright:\n    - license: ISC AND MIT\n  version: 1\n"
        );
        // None yet: added at the end of the package block.
        let text = "package:\n  name: x\n\n# c\nenvironment: {}\n";
        assert_eq!(
            replace_copyright(text, &[entry("MIT", None)]).unwrap(),
            "package:\n  name: x\n  copyright:\n    - license: MIT\n\n# c\nenvironment: {}\n"
        );
        assert!(replace_copyright("pipeline: []\n", &[]).is_err());
    }
}
