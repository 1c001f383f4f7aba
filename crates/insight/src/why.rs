//! `image why`: the dependency chains that bring a package into an image.

use std::collections::{BTreeSet, HashMap, HashSet};

use apk_format::Dependency;
use apk_format::record::PackageRecord;

/// At most this many chains are listed (the longest lists are of little
/// use, and dense graphs have very many).
pub const MAX_CHAINS: usize = 100;

/// The chains to one package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chains {
    /// The installed package the question resolved to (the name asked
    /// for, or the package providing it).
    pub package: String,
    /// Its version.
    pub version: String,
    /// Each chain: a world name first, then every step (a dependency name
    /// that is not the providing package's own name is a step too; an
    /// `install_if` step ends in ` (install_if)`). Shortest first.
    pub chains: Vec<Vec<String>>,
    /// True when more chains exist than are listed.
    pub truncated: bool,
}

/// Does installed package `p` satisfy the name `name`?
fn provides(p: &PackageRecord, name: &str) -> bool {
    p.name == name || p.provides.iter().any(|d| d.name == name)
}

/// Every chain from `world` (the config's package atoms) to the installed
/// package named or providing `target`, over the installed `packages`;
/// `None` when no installed package is or provides it.
pub fn chains(world: &[String], packages: &[PackageRecord], target: &str) -> Option<Chains> {
    let goal = packages
        .iter()
        .position(|p| p.name == target)
        .or_else(|| packages.iter().position(|p| provides(p, target)))?;
    // Edges p -> (q, label): p depends on `label`, which q satisfies; and
    // q's install_if names -> q.
    let mut edges: Vec<Vec<(usize, String)>> = vec![Vec::new(); packages.len()];
    for (i, p) in packages.iter().enumerate() {
        for d in p.depends.iter().filter(|d| !d.conflict) {
            for (j, q) in packages.iter().enumerate() {
                if j != i && provides(q, &d.name) {
                    edges[i].push((j, d.name.clone()));
                }
            }
        }
        for cond in &p.install_if {
            for (j, q) in packages.iter().enumerate() {
                if j != i && provides(q, &cond.name) {
                    edges[j].push((i, "install_if".to_string()));
                }
            }
        }
    }
    // Only nodes that can reach the goal are worth walking.
    let mut reverse: Vec<Vec<usize>> = vec![Vec::new(); packages.len()];
    for (i, out) in edges.iter().enumerate() {
        for (j, _) in out {
            reverse[*j].push(i);
        }
    }
    let mut useful: HashSet<usize> = HashSet::from([goal]);
    let mut stack = vec![goal];
    while let Some(n) = stack.pop() {
        for &m in &reverse[n] {
            if useful.insert(m) {
                stack.push(m);
            }
        }
    }
    let mut found: BTreeSet<(usize, Vec<String>)> = BTreeSet::new();
    let mut truncated = false;
    let mut budget = 200_000usize;
    for atom in world {
        let name = Dependency::parse(atom).map_or_else(|_| atom.clone(), |d| d.name);
        for (root, q) in packages.iter().enumerate() {
            if !provides(q, &name) || !useful.contains(&root) {
                continue;
            }
            let mut chain = vec![name.clone()];
            if q.name != name {
                chain.push(q.name.clone());
            }
            let mut on_path = HashSet::from([root]);
            walk(
                root,
                goal,
                &edges,
                &useful,
                packages,
                &mut chain,
                &mut on_path,
                &mut found,
                &mut budget,
                &mut truncated,
            );
        }
    }
    let mut chains: Vec<Vec<String>> = found.into_iter().map(|(_, c)| c).collect();
    if chains.len() > MAX_CHAINS {
        chains.truncate(MAX_CHAINS);
        truncated = true;
    }
    Some(Chains {
        package: packages[goal].name.clone(),
        version: packages[goal].version.clone(),
        chains,
        truncated,
    })
}

#[allow(clippy::too_many_arguments)]
fn walk(
    at: usize,
    goal: usize,
    edges: &[Vec<(usize, String)>],
    useful: &HashSet<usize>,
    packages: &[PackageRecord],
    chain: &mut Vec<String>,
    on_path: &mut HashSet<usize>,
    found: &mut BTreeSet<(usize, Vec<String>)>,
    budget: &mut usize,
    truncated: &mut bool,
) {
    if at == goal {
        found.insert((chain.len(), chain.clone()));
        if found.len() > MAX_CHAINS * 4 {
            *truncated = true;
        }
        return;
    }
    if *budget == 0 || found.len() > MAX_CHAINS * 4 {
        *truncated = true;
        return;
    }
    *budget -= 1;
    // One edge per neighbour and label.
    let mut seen: HashMap<(usize, &str), ()> = HashMap::new();
    for (next, label) in &edges[at] {
        if !useful.contains(next)
            || on_path.contains(next)
            || seen.insert((*next, label), ()).is_some()
        {
            continue;
        }
        let before = chain.len();
        let q = &packages[*next];
        if label == "install_if" {
            chain.push(format!("{} (install_if)", q.name));
        } else {
            if *label != q.name {
                chain.push(label.clone());
            }
            chain.push(q.name.clone());
        }
        on_path.insert(*next);
        walk(
            *next, goal, edges, useful, packages, chain, on_path, found, budget, truncated,
        );
        on_path.remove(next);
        chain.truncate(before);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(name: &str, deps: &[&str], provides: &[&str]) -> PackageRecord {
        PackageRecord {
            name: name.into(),
            version: "1-r0".into(),
            depends: deps.iter().map(|d| Dependency::parse(d).unwrap()).collect(),
            provides: provides
                .iter()
                .map(|d| Dependency::parse(d).unwrap())
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn chains_go_through_virtual_names() {
        let pkgs = vec![
            pkg("ifupdown-ng", &[], &["ifupdown-any"]),
            pkg("openrc", &["ifupdown-any"], &[]),
            pkg("alpine-base", &["openrc", "busybox"], &[]),
            pkg("busybox", &[], &["cmd:sh"]),
        ];
        let world = vec!["alpine-base".to_string(), "busybox".to_string()];
        let c = chains(&world, &pkgs, "ifupdown-ng").unwrap();
        assert_eq!(
            c.chains,
            vec![vec!["alpine-base", "openrc", "ifupdown-any", "ifupdown-ng"]]
        );
        let c = chains(&world, &pkgs, "busybox").unwrap();
        assert_eq!(
            c.chains,
            vec![vec!["busybox"], vec!["alpine-base", "busybox"]]
        );
        // A provided name resolves to its provider.
        assert_eq!(chains(&world, &pkgs, "cmd:sh").unwrap().package, "busybox");
        assert!(chains(&world, &pkgs, "nope").is_none());
    }
}
