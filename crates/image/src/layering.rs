//! apko's `origin` layering: packages grouped by origin (groups joined by
//! `replaces`), the largest groups get layers of their own, the rest share
//! one overflow layer.

use std::collections::BTreeMap;

use apk_format::record::PackageRecord;

/// Default budget when the config gives none.
pub const DEFAULT_BUDGET: usize = 10;

/// Groups of installed-package indexes, largest first. Keeps `budget - 1`
/// groups and merges the rest into one overflow group.
pub fn origin_groups(installed: &[PackageRecord], budget: usize) -> Vec<Vec<u32>> {
    let budget = if budget == 0 { DEFAULT_BUDGET } else { budget };
    // Union-find over packages: same origin, or one replaces the other.
    let mut parent: Vec<usize> = (0..installed.len()).collect();
    fn find(parent: &mut [usize], i: usize) -> usize {
        let mut r = i;
        while parent[r] != r {
            r = parent[r];
        }
        let mut i = i;
        while parent[i] != r {
            let next = parent[i];
            parent[i] = r;
            i = next;
        }
        r
    }
    let mut by_origin: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, p) in installed.iter().enumerate() {
        let origin = p.origin.as_deref().unwrap_or(&p.name);
        if let Some(&j) = by_origin.get(origin) {
            let (a, b) = (find(&mut parent, i), find(&mut parent, j));
            parent[a] = b;
        } else {
            by_origin.insert(origin, i);
        }
    }
    for (i, p) in installed.iter().enumerate() {
        for r in &p.replaces {
            if let Some(j) = installed
                .iter()
                .position(|q| q.name == r.name && r.matches_version(Some(&q.version)))
            {
                let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                parent[a] = b;
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
    for i in 0..installed.len() {
        let root = find(&mut parent, i);
        groups.entry(root).or_default().push(i as u32);
    }
    let size = |g: &[u32]| {
        g.iter()
            .map(|&i| installed[i as usize].installed_size)
            .sum::<u64>()
    };
    let max_name = |g: &[u32]| {
        g.iter()
            .map(|&i| installed[i as usize].name.clone())
            .max()
            .unwrap_or_default()
    };
    let mut groups: Vec<Vec<u32>> = groups.into_values().collect();
    groups.sort_by(|a, b| {
        size(b)
            .cmp(&size(a))
            .then_with(|| max_name(a).cmp(&max_name(b)))
    });
    let keep = budget.saturating_sub(1).max(1);
    if groups.len() > keep {
        let overflow: Vec<u32> = groups.drain(keep..).flatten().collect();
        groups.push(overflow);
    }
    for g in &mut groups {
        g.sort_by(|&a, &b| installed[a as usize].name.cmp(&installed[b as usize].name));
    }
    groups
}

/// Per group, its packages' records of the tree's installed database, in
/// group order (apko's partial databases for per-layer scanners). The
/// database holds one record per installed package, in install order, each
/// ending with an empty line.
pub fn partial_databases(tree: &rootfs::Tree, groups: &[Vec<u32>]) -> Vec<Vec<u8>> {
    let db = rootfs::layer::read_small(tree, rootfs::layer::INSTALLED_DB).unwrap_or_default();
    let text = String::from_utf8_lossy(&db);
    let records: Vec<&str> = text
        .split_inclusive("\n\n")
        .filter(|r| !r.trim().is_empty())
        .collect();
    groups
        .iter()
        .map(|g| {
            g.iter()
                .filter_map(|&i| records.get(i as usize))
                .flat_map(|r| r.as_bytes().iter().copied())
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(name: &str, origin: &str, size: u64) -> PackageRecord {
        PackageRecord {
            name: name.into(),
            version: "1".into(),
            origin: Some(origin.into()),
            installed_size: size,
            ..Default::default()
        }
    }

    #[test]
    fn groups_by_origin_largest_first_with_overflow() {
        let pkgs = vec![
            pkg("a", "a", 10),
            pkg("b1", "b", 50),
            pkg("b2", "b", 60),
            pkg("c", "c", 5),
            pkg("d", "d", 1),
        ];
        let g = origin_groups(&pkgs, 3);
        assert_eq!(g, vec![vec![1, 2], vec![0], vec![3, 4]]);
        assert_eq!(origin_groups(&pkgs, 10).len(), 4);
    }
}
