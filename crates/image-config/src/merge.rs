//! apko's `MergeInto`: how an included (base) configuration combines with
//! the configuration that includes it.

use crate::types::Config;

impl Config {
    /// Merges `base` under `self`, as apko merges an included file into the
    /// file including it (`ImageConfiguration.MergeInto` with `self` as the
    /// target):
    ///
    /// - scalars and whole objects set in `self` win: `entrypoint` (taken
    ///   from `base` only when `self`'s is entirely empty), `cmd`,
    ///   `stop-signal`, `work-dir`, `layering`, `format`, `certificates`,
    ///   `archs` (as a whole list), `accounts.run-as`, `contents.baseimage`;
    /// - lists are concatenated, `base` first: `paths`, `volumes`, users,
    ///   groups, and every `contents` list (repositories, keyrings, packages);
    /// - maps are unioned, `self` winning per key: `environment`,
    ///   `annotations`.
    ///
    /// `include` and `vcs-url` stay `self`'s: apko does not merge them.
    pub fn merge_base(&mut self, base: Config) {
        let Config {
            contents: base_contents,
            entrypoint,
            cmd,
            stop_signal,
            work_dir,
            accounts: base_accounts,
            archs,
            environment,
            paths,
            vcs_url: _,
            annotations,
            include: _,
            volumes,
            layering,
            format,
            certificates,
        } = base;

        if self.entrypoint.is_empty() {
            self.entrypoint = entrypoint;
        }
        if self.cmd.is_empty() {
            self.cmd = cmd;
        }
        if self.stop_signal.is_empty() {
            self.stop_signal = stop_signal;
        }
        if self.work_dir.is_empty() {
            self.work_dir = work_dir;
        }
        if self.layering.is_none() {
            self.layering = layering;
        }
        if self.format.is_none() {
            self.format = format;
        }
        if self.certificates.is_none() {
            self.certificates = certificates;
        }
        if self.archs.is_empty() {
            self.archs = archs;
        }

        if self.accounts.run_as.is_empty() {
            self.accounts.run_as = base_accounts.run_as;
        }
        prepend(&mut self.accounts.users, base_accounts.users);
        prepend(&mut self.accounts.groups, base_accounts.groups);

        for (k, v) in environment {
            self.environment.entry(k).or_insert(v);
        }
        prepend(&mut self.paths, paths);
        for (k, v) in annotations {
            self.annotations.entry(k).or_insert(v);
        }
        prepend(&mut self.volumes, volumes);

        let contents = &mut self.contents;
        prepend(&mut contents.keyring, base_contents.keyring);
        prepend(&mut contents.runtime_keyring, base_contents.runtime_keyring);
        prepend(
            &mut contents.build_repositories,
            base_contents.build_repositories,
        );
        prepend(
            &mut contents.runtime_repositories,
            base_contents.runtime_repositories,
        );
        prepend(&mut contents.repositories, base_contents.repositories);
        prepend(&mut contents.packages, base_contents.packages);
        if contents.baseimage.is_none() {
            contents.baseimage = base_contents.baseimage;
        }
    }
}

/// `target = base ++ target`.
fn prepend<T>(target: &mut Vec<T>, mut base: Vec<T>) {
    base.append(target);
    *target = base;
}
