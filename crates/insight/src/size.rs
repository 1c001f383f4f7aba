//! `image size`: what each package costs.

use serde::Serialize;

use crate::inventory::Inventory;
use crate::units::human;

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PackageSize {
    /// Package name (or `(not from a package)` for generated files).
    pub name: String,
    /// Version (empty for generated files).
    pub version: String,
    /// Bytes of its regular files in the image.
    pub bytes: u64,
    /// Its files and links in the image.
    pub files: u64,
    /// `bytes` as a share of all file bytes, in percent.
    pub share: f64,
}

/// The whole report for one architecture.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SizeReport {
    /// Architecture.
    pub arch: String,
    /// Largest first (ties by name); generated files last.
    pub packages: Vec<PackageSize>,
    /// Number of installed packages.
    pub package_count: usize,
    /// Bytes of all regular files.
    pub installed_bytes: u64,
    /// All files, links and directories.
    pub file_count: u64,
    /// Compressed size of the layers.
    pub compressed_bytes: Option<u64>,
}

/// What owns the files no package does.
pub const GENERATED: &str = "(not from a package)";

/// Builds the report; `None` when the inventory has no files (a lock).
pub fn report(inv: &Inventory) -> Option<SizeReport> {
    let files = inv.files.as_ref()?;
    let total = inv.total_bytes().unwrap_or(0);
    let share = |b: u64| {
        if total == 0 {
            0.0
        } else {
            (b as f64 * 1000.0 / total as f64).round() / 10.0
        }
    };
    let mut packages: Vec<PackageSize> = inv
        .packages
        .iter()
        .map(|p| PackageSize {
            name: p.name.clone(),
            version: p.version.clone(),
            bytes: p.bytes.unwrap_or(0),
            files: p.files.unwrap_or(0),
            share: share(p.bytes.unwrap_or(0)),
        })
        .collect();
    packages.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name)));
    if let Some((bytes, count)) = inv.unowned_bytes()
        && count > 0
    {
        packages.push(PackageSize {
            name: GENERATED.to_string(),
            version: String::new(),
            bytes,
            files: count,
            share: share(bytes),
        });
    }
    Some(SizeReport {
        arch: inv.arch.clone(),
        packages,
        package_count: inv.packages.len(),
        installed_bytes: total,
        file_count: files.len() as u64,
        compressed_bytes: inv.compressed_size,
    })
}

/// The report as a table.
pub fn render(r: &SizeReport) -> String {
    let name_w = r
        .packages
        .iter()
        .map(|p| p.name.len() + p.version.len() + 1)
        .max()
        .unwrap_or(7)
        .max(7);
    let mut out = format!(
        "{:<name_w$}  {:>10}  {:>6}  {:>6}\n",
        "PACKAGE", "SIZE", "FILES", "SHARE"
    );
    for p in &r.packages {
        let label = if p.version.is_empty() {
            p.name.clone()
        } else {
            format!("{} {}", p.name, p.version)
        };
        out.push_str(&format!(
            "{label:<name_w$}  {:>10}  {:>6}  {:>5.1}%\n",
            human(p.bytes),
            p.files,
            p.share
        ));
    }
    out.push_str(&format!(
        "{}: {} packages, {} installed in {} files",
        r.arch,
        r.package_count,
        human(r.installed_bytes),
        r.file_count
    ));
    if let Some(c) = r.compressed_bytes {
        out.push_str(&format!(", {} compressed", human(c)));
    }
    out.push('\n');
    out
}
