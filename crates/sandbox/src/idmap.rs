//! User namespace id maps.
//!
//! When apkforge runs as root, the sandbox's user namespace maps every id
//! to itself except that `id` and 0 trade places: the sandboxed process
//! (host root) appears as `id`, files it creates belong to host root, and a
//! `chown 65532:65532` inside is a real `chown` to 65532 on disk. Files a
//! step gives to root inside belong to `id` on disk, which is how melange
//! treats the build user (its files are packaged as root's).

/// The `uid_map`/`gid_map` text under which host id 0 appears as `id` and
/// every other id as itself (except `id`, which appears as 0).
pub fn swap_map(id: u32) -> String {
    const MAX: u64 = u32::MAX as u64; // ids 0..MAX are mappable
    if id == 0 {
        return format!("0 0 {MAX}\n");
    }
    let id = u64::from(id);
    let mut out = format!("{id} 0 1\n0 {id} 1\n");
    if id > 1 {
        out.push_str(&format!("1 1 {}\n", id - 1));
    }
    if id + 1 < MAX {
        out.push_str(&format!("{} {} {}\n", id + 1, id + 1, MAX - id - 1));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_cover_every_id_once() {
        assert_eq!(swap_map(0), "0 0 4294967295\n");
        assert_eq!(
            swap_map(1000),
            "1000 0 1\n0 1000 1\n1 1 999\n1001 1001 4294966294\n"
        );
        assert_eq!(swap_map(1), "1 0 1\n0 1 1\n2 2 4294967293\n");
        for id in [1u32, 2, 1000, 65532] {
            let total: u64 = swap_map(id)
                .lines()
                .map(|l| l.split(' ').nth(2).unwrap().parse::<u64>().unwrap())
                .sum();
            assert_eq!(total, u64::from(u32::MAX), "{id}");
        }
    }
}
