//! `image diff`: what changed between two builds.

use std::collections::BTreeMap;

use apk_format::version::compare;
use serde::Serialize;

use crate::inventory::{FileInfo, Inventory};
use crate::units::{human, human_delta};

/// How a package changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// Only in B.
    Added,
    /// Only in A.
    Removed,
    /// Newer version in B.
    Upgraded,
    /// Older version in B.
    Downgraded,
    /// Same version, different size (a rebuild).
    Resized,
}

/// One changed package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PackageChange {
    /// Name.
    pub name: String,
    /// What happened.
    pub change: Change,
    /// Version in A.
    pub from: Option<String>,
    /// Version in B.
    pub to: Option<String>,
    /// Size in B minus size in A (bytes), when both are known.
    pub size_delta: Option<i128>,
}

/// How a file changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileChange {
    /// Path (no leading `/`).
    pub path: String,
    /// `added`, `removed` or `changed`.
    pub change: &'static str,
    /// Size in B minus size in A.
    pub size_delta: i128,
}

/// The comparison of A and B.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diff {
    /// Changed packages, by name.
    pub packages: Vec<PackageChange>,
    /// Package counts of A and B.
    pub package_counts: (usize, usize),
    /// Installed bytes of A and B, when known.
    pub installed_bytes: (Option<u64>, Option<u64>),
    /// Compressed sizes of A and B, when known.
    pub compressed_bytes: (Option<u64>, Option<u64>),
    /// Changed files (when asked for and both sides have files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<FileChange>>,
}

fn different(a: &FileInfo, b: &FileInfo) -> bool {
    a.kind != b.kind
        || a.mode != b.mode
        || a.size != b.size
        || a.link != b.link
        || a.sha256 != b.sha256
}

/// Compares two inventories; `files` asks for the file changes too.
pub fn diff(a: &Inventory, b: &Inventory, files: bool) -> Diff {
    let index = |inv: &Inventory| -> BTreeMap<String, (String, Option<u64>)> {
        inv.packages
            .iter()
            .map(|p| (p.name.clone(), (p.version.clone(), p.bytes)))
            .collect()
    };
    let (ia, ib) = (index(a), index(b));
    let mut names: Vec<&String> = ia.keys().chain(ib.keys()).collect();
    names.sort();
    names.dedup();
    let delta = |x: Option<u64>, y: Option<u64>| Some(i128::from(y?) - i128::from(x?));
    let mut packages = Vec::new();
    for name in names {
        let change = match (ia.get(name), ib.get(name)) {
            (Some((va, sa)), Some((vb, sb))) => {
                let kind = match compare(vb, va) {
                    std::cmp::Ordering::Greater => Change::Upgraded,
                    std::cmp::Ordering::Less => Change::Downgraded,
                    std::cmp::Ordering::Equal if va != vb => Change::Upgraded,
                    std::cmp::Ordering::Equal => {
                        if delta(*sa, *sb).is_some_and(|d| d != 0) {
                            Change::Resized
                        } else {
                            continue;
                        }
                    }
                };
                PackageChange {
                    name: name.clone(),
                    change: kind,
                    from: Some(va.clone()),
                    to: Some(vb.clone()),
                    size_delta: delta(*sa, *sb),
                }
            }
            (Some((va, sa)), None) => PackageChange {
                name: name.clone(),
                change: Change::Removed,
                from: Some(va.clone()),
                to: None,
                size_delta: sa.map(|s| -i128::from(s)),
            },
            (None, Some((vb, sb))) => PackageChange {
                name: name.clone(),
                change: Change::Added,
                from: None,
                to: Some(vb.clone()),
                size_delta: sb.map(i128::from),
            },
            (None, None) => continue,
        };
        packages.push(change);
    }
    let file_changes = match (files, &a.files, &b.files) {
        (true, Some(fa), Some(fb)) => {
            let mut out = Vec::new();
            for (path, x) in fa {
                match fb.get(path) {
                    None => out.push(FileChange {
                        path: path.clone(),
                        change: "removed",
                        size_delta: -i128::from(x.size),
                    }),
                    Some(y) if different(x, y) => out.push(FileChange {
                        path: path.clone(),
                        change: "changed",
                        size_delta: i128::from(y.size) - i128::from(x.size),
                    }),
                    Some(_) => {}
                }
            }
            for (path, y) in fb {
                if !fa.contains_key(path) {
                    out.push(FileChange {
                        path: path.clone(),
                        change: "added",
                        size_delta: i128::from(y.size),
                    });
                }
            }
            out.sort_by(|x, y| x.path.cmp(&y.path));
            Some(out)
        }
        _ => None,
    };
    Diff {
        packages,
        package_counts: (a.packages.len(), b.packages.len()),
        installed_bytes: (a.total_bytes(), b.total_bytes()),
        compressed_bytes: (a.compressed_size, b.compressed_size),
        files: file_changes,
    }
}

/// The comparison as text.
pub fn render(d: &Diff) -> String {
    let mut out = String::new();
    if d.packages.is_empty() {
        out.push_str("packages: no changes\n");
    } else {
        out.push_str("packages:\n");
    }
    for p in &d.packages {
        let (mark, versions) = match p.change {
            Change::Added => ("+", p.to.clone().unwrap_or_default()),
            Change::Removed => ("-", p.from.clone().unwrap_or_default()),
            Change::Upgraded | Change::Downgraded => (
                if p.change == Change::Upgraded {
                    "^"
                } else {
                    "v"
                },
                format!(
                    "{} -> {}",
                    p.from.as_deref().unwrap_or(""),
                    p.to.as_deref().unwrap_or("")
                ),
            ),
            Change::Resized => ("~", p.to.clone().unwrap_or_default()),
        };
        let word = match p.change {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Upgraded => "upgraded",
            Change::Downgraded => "downgraded",
            Change::Resized => "rebuilt",
        };
        let size = p.size_delta.map(human_delta).unwrap_or_default();
        out.push_str(&format!(
            "  {mark} {} {versions}  ({word}{}{size})\n",
            p.name,
            if size.is_empty() { "" } else { ", " }
        ));
    }
    let (ca, cb) = d.package_counts;
    out.push_str(&format!("total: {ca} -> {cb} packages"));
    if let (Some(a), Some(b)) = d.installed_bytes {
        out.push_str(&format!(
            ", {} -> {} installed ({})",
            human(a),
            human(b),
            human_delta(i128::from(b) - i128::from(a))
        ));
    }
    if let (Some(a), Some(b)) = d.compressed_bytes {
        out.push_str(&format!(
            ", {} -> {} compressed ({})",
            human(a),
            human(b),
            human_delta(i128::from(b) - i128::from(a))
        ));
    }
    out.push('\n');
    if let Some(files) = &d.files {
        out.push_str(&format!("files: {} changed\n", files.len()));
        for f in files {
            let mark = match f.change {
                "added" => "+",
                "removed" => "-",
                _ => "M",
            };
            out.push_str(&format!(
                "  {mark} /{} ({})\n",
                f.path,
                human_delta(f.size_delta)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::PackageInfo;

    fn inv(pkgs: &[(&str, &str, u64)]) -> Inventory {
        Inventory {
            arch: "x86_64".into(),
            packages: pkgs
                .iter()
                .map(|(n, v, s)| PackageInfo {
                    name: n.to_string(),
                    version: v.to_string(),
                    bytes: Some(*s),
                    files: Some(1),
                })
                .collect(),
            files: None,
            compressed_size: None,
        }
    }

    #[test]
    fn classifies_every_kind_of_change() {
        let a = inv(&[
            ("a", "1.0-r0", 10),
            ("b", "2.0-r0", 20),
            ("c", "1.0-r0", 5),
            ("d", "1-r0", 7),
        ]);
        let b = inv(&[
            ("a", "1.1-r0", 15),
            ("b", "1.9-r0", 20),
            ("e", "1-r0", 3),
            ("d", "1-r0", 9),
        ]);
        let d = diff(&a, &b, false);
        let got: Vec<(&str, Change, Option<i128>)> = d
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.change, p.size_delta))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a", Change::Upgraded, Some(5)),
                ("b", Change::Downgraded, Some(0)),
                ("c", Change::Removed, Some(-5)),
                ("d", Change::Resized, Some(2)),
                ("e", Change::Added, Some(3)),
            ]
        );
        let text = render(&d);
        assert!(
            text.contains("  ^ a 1.0-r0 -> 1.1-r0  (upgraded, +5 B)"),
            "{text}"
        );
        assert!(text.contains("  - c 1.0-r0  (removed, -5 B)"), "{text}");
    }
}
