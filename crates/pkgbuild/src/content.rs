//! What a package holds: the files a build left in `melange-out/<name>`,
//! with the owners, modes, extended attributes and hard links the steps
//! gave them, plus the recipe's `setcap:` capabilities.

use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use apk_format::package_read::EntryKind;
use apk_format::package_write::{Content, TreeEntry};

/// Extended attributes that describe the build host rather than the
/// package (melange's ignore list): they are never packaged.
const HOST_XATTRS: &[&str] = &[
    "com.apple.provenance",
    "security.csm",
    "security.selinux",
    "com.docker.grpcfuse.ownership",
    "trusted.SGI_ACL_FILE",
    "trusted.SGI_ACL_DEFAULT",
];

/// How owners on disk become owners in the package.
///
/// The ids in `root_uids`/`root_gids` become 0: the build user (files a
/// step creates belong to it, and melange packages them as root's), the id
/// the sandbox runs steps as, and the id apkforge itself runs as (files
/// fetched or copied on the host). Every other id is kept: `chown
/// 65532:65532` in a step gives the package a file owned by 65532.
#[derive(Clone, Debug, Default)]
pub(crate) struct Owners {
    pub root_uids: Vec<u32>,
    pub root_gids: Vec<u32>,
    /// Names of users in the build environment (`/etc/passwd`).
    pub users: BTreeMap<u32, String>,
    /// Names of groups in the build environment (`/etc/group`).
    pub groups: BTreeMap<u32, String>,
}

impl Owners {
    /// Owners for a build whose steps ran as `step_uid:step_gid` (the build
    /// user by default), named from the build environment at `root`.
    pub fn new(root: &Path, build_ids: &[(u32, u32)]) -> Owners {
        let me = std::fs::metadata("/proc/self").map(|m| (m.uid(), m.gid()));
        let mut o = Owners {
            root_uids: vec![0],
            root_gids: vec![0],
            users: names(&root.join("etc/passwd")),
            groups: names(&root.join("etc/group")),
        };
        for &(u, g) in build_ids.iter().chain(me.as_ref().ok()) {
            o.root_uids.push(u);
            o.root_gids.push(g);
        }
        o.users.entry(0).or_insert_with(|| "root".into());
        o.groups.entry(0).or_insert_with(|| "root".into());
        o
    }

    fn uid(&self, uid: u32) -> u32 {
        if self.root_uids.contains(&uid) {
            0
        } else {
            uid
        }
    }

    fn gid(&self, gid: u32) -> u32 {
        if self.root_gids.contains(&gid) {
            0
        } else {
            gid
        }
    }
}

/// `name:x:id:...` lines of a passwd or group file, first name per id.
fn names(file: &Path) -> BTreeMap<u32, String> {
    let mut out = BTreeMap::new();
    if let Ok(text) = std::fs::read_to_string(file) {
        for line in text.lines() {
            let mut f = line.split(':');
            if let (Some(name), Some(_), Some(id)) = (f.next(), f.next(), f.next())
                && let Ok(id) = id.parse::<u32>()
            {
                out.entry(id).or_insert_with(|| name.to_string());
            }
        }
    }
    out
}

/// The `security.capability` value of a `setcap:` entry: Linux's
/// `vfs_cap_data` revision 2, the effective flag set when any capability
/// is effective. (melange writes revision 3 with root id 0, which the
/// kernel stores as revision 2, so `apk audit` reports melange's files as
/// changed; revision 2 is what ends up on disk.)
pub(crate) fn capability_xattr(add: &[(String, String)]) -> Result<Vec<u8>, String> {
    let (mut effective, mut permitted, mut inheritable) = (0u64, 0u64, 0u64);
    for (names, flags) in add {
        for name in names.split(',') {
            let bit = capability_number(name.trim())
                .ok_or_else(|| format!("unknown capability `{name}`"))?;
            for c in flags.chars() {
                match c {
                    'e' => effective |= 1 << bit,
                    'p' => permitted |= 1 << bit,
                    'i' => inheritable |= 1 << bit,
                    '+' | '=' => {}
                    other => {
                        return Err(format!(
                            "capability flags `{flags}`: `{other}` is not one of e, i, p"
                        ));
                    }
                }
            }
        }
    }
    let magic: u32 = 0x0200_0000 | u32::from(effective != 0);
    let mut out = Vec::with_capacity(20);
    out.extend_from_slice(&magic.to_le_bytes());
    for word in [0, 32] {
        out.extend_from_slice(&((permitted >> word) as u32).to_le_bytes());
        out.extend_from_slice(&((inheritable >> word) as u32).to_le_bytes());
    }
    Ok(out)
}

/// Linux capability numbers (`include/uapi/linux/capability.h`).
fn capability_number(name: &str) -> Option<u32> {
    const NAMES: [&str; 41] = [
        "chown",
        "dac_override",
        "dac_read_search",
        "fowner",
        "fsetid",
        "kill",
        "setgid",
        "setuid",
        "setpcap",
        "linux_immutable",
        "net_bind_service",
        "net_broadcast",
        "net_admin",
        "net_raw",
        "ipc_lock",
        "ipc_owner",
        "sys_module",
        "sys_rawio",
        "sys_chroot",
        "sys_ptrace",
        "sys_pacct",
        "sys_admin",
        "sys_boot",
        "sys_nice",
        "sys_resource",
        "sys_time",
        "sys_tty_config",
        "mknod",
        "lease",
        "audit_write",
        "audit_control",
        "setfcap",
        "mac_override",
        "mac_admin",
        "syslog",
        "wake_alarm",
        "block_suspend",
        "audit_read",
        "perfmon",
        "bpf",
        "checkpoint_restore",
    ];
    let lower = name.to_ascii_lowercase();
    let short = lower.strip_prefix("cap_").unwrap_or(&lower);
    NAMES.iter().position(|n| *n == short).map(|i| i as u32)
}

/// Lists the package's entries below `dir`: owners mapped by `owners`,
/// extended attributes (minus host ones) with `capabilities` (path →
/// `security.capability` value) on top, and every further path of a file
/// with several links written as a hard link to the first in walk order.
/// Sockets are skipped (a package cannot hold them).
pub(crate) fn package_tree(
    dir: &Path,
    owners: &Owners,
    capabilities: &BTreeMap<String, Vec<u8>>,
) -> Result<Vec<TreeEntry>, String> {
    let err = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for item in std::fs::read_dir(&d).map_err(|e| err(&d, e))? {
            let path = item.map_err(|e| err(&d, e))?.path();
            let meta = std::fs::symlink_metadata(&path).map_err(|e| err(&path, e))?;
            let rel = path
                .strip_prefix(dir)
                .ok()
                .and_then(Path::to_str)
                .ok_or_else(|| format!("{}: path is not UTF-8", path.display()))?
                .to_string();
            let ft = meta.file_type();
            let (kind, content) = if ft.is_dir() {
                stack.push(path.clone());
                (EntryKind::Directory, Content::None)
            } else if ft.is_symlink() {
                let target = std::fs::read_link(&path).map_err(|e| err(&path, e))?;
                let target = target
                    .to_str()
                    .ok_or_else(|| format!("{}: link target is not UTF-8", path.display()))?;
                (EntryKind::Symlink(target.to_string()), Content::None)
            } else if ft.is_file() {
                (EntryKind::File, Content::Path(path.clone()))
            } else if ft.is_fifo() {
                (EntryKind::Fifo, Content::None)
            } else if ft.is_char_device() || ft.is_block_device() {
                let (major, minor) = device_numbers(meta.rdev());
                if ft.is_char_device() {
                    (EntryKind::CharDevice { major, minor }, Content::None)
                } else {
                    (EntryKind::BlockDevice { major, minor }, Content::None)
                }
            } else {
                continue;
            };
            let mut xattrs = Vec::new();
            if matches!(kind, EntryKind::File | EntryKind::Directory) {
                for name in xattr::list(&path).map_err(|e| err(&path, e))? {
                    let Some(name) = name.to_str() else { continue };
                    if HOST_XATTRS.contains(&name) {
                        continue;
                    }
                    if let Some(value) = xattr::get(&path, name).map_err(|e| err(&path, e))? {
                        xattrs.push((name.to_string(), value));
                    }
                }
            }
            if capabilities.contains_key(&rel) && kind != EntryKind::File {
                return Err(format!(
                    "setcap: `/{rel}` is not a regular file of the package"
                ));
            }
            xattrs.sort();
            out.push((
                (meta.dev(), meta.ino(), meta.nlink()),
                TreeEntry {
                    path: rel,
                    kind,
                    mode: meta.mode() & 0o7777,
                    uid: owners.uid(meta.uid()),
                    gid: owners.gid(meta.gid()),
                    xattrs,
                    content,
                },
            ));
        }
    }
    // A capability belongs to the file, so to every path linked to it.
    let mut caps_by_inode: HashMap<(u64, u64), &Vec<u8>> = HashMap::new();
    for (path, cap) in capabilities {
        let Some(((dev, ino, _), _)) = out.iter().find(|(_, e)| &e.path == path) else {
            return Err(format!("setcap: `/{path}` is not in the package"));
        };
        caps_by_inode.insert((*dev, *ino), cap);
    }
    // Directory-walk order, so the first path of each inode is the file.
    out.sort_by(|a, b| a.1.path.split('/').cmp(b.1.path.split('/')));
    let mut first: HashMap<(u64, u64), String> = HashMap::new();
    Ok(out
        .into_iter()
        .map(|((dev, ino, nlink), mut e)| {
            if e.kind != EntryKind::File {
                return e;
            }
            if let Some(cap) = caps_by_inode.get(&(dev, ino)) {
                e.xattrs.retain(|(n, _)| n != "security.capability");
                e.xattrs.push(("security.capability".into(), cap.to_vec()));
                e.xattrs.sort();
            }
            if nlink > 1 {
                // The link keeps the attributes too: apk-tools sets a link's
                // owner (which clears `security.capability` on the shared
                // file) and then its attributes.
                match first.get(&(dev, ino)) {
                    Some(target) => {
                        e.kind = EntryKind::Hardlink(target.clone());
                        e.content = Content::None;
                    }
                    None => {
                        first.insert((dev, ino), e.path.clone());
                    }
                }
            }
            e
        })
        .collect())
}

/// glibc's `major()`/`minor()` of a `dev_t`.
fn device_numbers(dev: u64) -> (u32, u32) {
    let major = ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0x0000_0fff);
    let minor = ((dev >> 12) & 0xffff_ff00) | (dev & 0x0000_00ff);
    (major as u32, minor as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn capabilities_encode_as_melange_does() {
        let v = capability_xattr(&[("cap_net_bind_service".into(), "+ep".into())]).unwrap();
        assert_eq!(
            v,
            [
                1, 0, 0, 2, // revision 2, effective
                0, 4, 0, 0, // permitted: bit 10
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
            ]
        );
        let v = capability_xattr(&[("cap_net_raw,cap_net_admin".into(), "+p".into())]).unwrap();
        assert_eq!(&v[..8], &[0, 0, 0, 2, 0, 0x30, 0, 0]);
        assert!(capability_xattr(&[("cap_nope".into(), "+ep".into())]).is_err());
        assert!(capability_xattr(&[("cap_chown".into(), "+x".into())]).is_err());
    }

    #[test]
    fn owners_xattrs_and_hard_links_are_read_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("usr/bin")).unwrap();
        std::fs::create_dir_all(d.join("var/lib/app")).unwrap();
        std::fs::write(d.join("usr/bin/tool"), b"x").unwrap();
        std::fs::hard_link(d.join("usr/bin/tool"), d.join("usr/bin/alias")).unwrap();
        std::fs::write(d.join("var/lib/app/data"), b"y").unwrap();
        std::fs::set_permissions(d.join("var/lib/app/data"), PermissionsExt::from_mode(0o640))
            .unwrap();
        xattr::set(d.join("var/lib/app/data"), "user.origin", b"build").unwrap();
        let me = std::fs::metadata("/proc/self").unwrap();
        let owners = Owners {
            root_uids: vec![0, me.uid()],
            root_gids: vec![0, me.gid()],
            users: [(0, "root".to_string())].into(),
            groups: [(0, "root".to_string())].into(),
        };
        let caps = BTreeMap::from([(
            "usr/bin/tool".to_string(),
            capability_xattr(&[("cap_net_raw".into(), "+ep".into())]).unwrap(),
        )]);
        let tree = package_tree(d, &owners, &caps).unwrap();
        let get = |p: &str| tree.iter().find(|e| e.path == p).unwrap();
        assert_eq!(
            get("usr/bin/alias").kind,
            EntryKind::File,
            "first in walk order"
        );
        assert_eq!(
            get("usr/bin/tool").kind,
            EntryKind::Hardlink("usr/bin/alias".into())
        );
        let data = get("var/lib/app/data");
        assert_eq!((data.uid, data.gid, data.mode), (0, 0, 0o640));
        assert_eq!(
            data.xattrs,
            [("user.origin".to_string(), b"build".to_vec())]
        );
        assert_eq!(get("usr/bin/tool").xattrs[0].0, "security.capability");
        assert_eq!(
            get("usr/bin/alias").xattrs,
            get("usr/bin/tool").xattrs,
            "a capability belongs to every link of the file"
        );
        let missing = BTreeMap::from([("usr/bin/none".to_string(), vec![0u8; 20])]);
        let e = package_tree(d, &owners, &missing).unwrap_err();
        assert!(e.contains("/usr/bin/none"), "{e}");
    }

    #[test]
    fn names_come_from_passwd_and_group() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(
            dir.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnonroot:x:65532:65532::/home/nonroot:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("etc/group"),
            "root:x:0:\nbuild:x:1000:build\n",
        )
        .unwrap();
        let o = Owners::new(dir.path(), &[(1000, 1000)]);
        assert_eq!(o.users.get(&65532).map(String::as_str), Some("nonroot"));
        assert_eq!(o.groups.get(&1000).map(String::as_str), Some("build"));
        assert_eq!((o.uid(1000), o.gid(1000), o.uid(65532)), (0, 0, 65532));
    }
}
