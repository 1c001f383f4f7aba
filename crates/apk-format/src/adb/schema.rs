//! Schema IDs and object field numbers of apk-tools 3.

/// `indx`: a repository index.
pub const INDEX: u32 = 0x7864_6e69;
/// `pckg`: a package.
pub const PACKAGE: u32 = 0x676b_6370;
/// `idb`: an installed database.
pub const INSTALLED_DB: u32 = 0x0062_6469;

/// A readable name for a schema ID.
pub fn name(schema: u32) -> &'static str {
    match schema {
        INDEX => "index",
        PACKAGE => "package",
        INSTALLED_DB => "installed database",
        _ => "unknown",
    }
}

/// Fields of a package info object (in packages and indexes).
pub mod pkginfo {
    /// name
    pub const NAME: u32 = 1;
    /// version
    pub const VERSION: u32 = 2;
    /// hashes (identity)
    pub const HASHES: u32 = 3;
    /// description
    pub const DESCRIPTION: u32 = 4;
    /// arch
    pub const ARCH: u32 = 5;
    /// license
    pub const LICENSE: u32 = 6;
    /// origin
    pub const ORIGIN: u32 = 7;
    /// maintainer
    pub const MAINTAINER: u32 = 8;
    /// url
    pub const URL: u32 = 9;
    /// repo-commit (20-byte blob)
    pub const REPO_COMMIT: u32 = 10;
    /// build-time
    pub const BUILD_TIME: u32 = 11;
    /// installed-size
    pub const INSTALLED_SIZE: u32 = 12;
    /// file-size
    pub const FILE_SIZE: u32 = 13;
    /// provider-priority
    pub const PROVIDER_PRIORITY: u32 = 14;
    /// depends
    pub const DEPENDS: u32 = 15;
    /// provides
    pub const PROVIDES: u32 = 16;
    /// replaces
    pub const REPLACES: u32 = 17;
    /// install-if
    pub const INSTALL_IF: u32 = 18;
    /// recommends
    pub const RECOMMENDS: u32 = 19;
    /// layer
    pub const LAYER: u32 = 20;
    /// tags
    pub const TAGS: u32 = 21;
    /// One past the last field.
    pub const MAX: u32 = 22;
}

/// Fields of a dependency object.
pub mod dep {
    /// name
    pub const NAME: u32 = 1;
    /// version
    pub const VERSION: u32 = 2;
    /// match (operator bit mask; absent means `=` when a version is given)
    pub const MATCH: u32 = 3;
}

/// Fields of the package root object.
pub mod package {
    /// info
    pub const INFO: u32 = 1;
    /// paths
    pub const PATHS: u32 = 2;
    /// scripts
    pub const SCRIPTS: u32 = 3;
    /// triggers
    pub const TRIGGERS: u32 = 4;
    /// replaces-priority
    pub const REPLACES_PRIORITY: u32 = 5;
}

/// Fields of a directory object.
pub mod dir {
    /// name
    pub const NAME: u32 = 1;
    /// acl
    pub const ACL: u32 = 2;
    /// files
    pub const FILES: u32 = 3;
}

/// Fields of a file object.
pub mod file {
    /// name
    pub const NAME: u32 = 1;
    /// acl
    pub const ACL: u32 = 2;
    /// size
    pub const SIZE: u32 = 3;
    /// mtime
    pub const MTIME: u32 = 4;
    /// hash (SHA-256 of the content)
    pub const HASH: u32 = 5;
    /// target (le16 S_IFMT + link text or device number)
    pub const TARGET: u32 = 6;
}

/// Fields of an ACL object.
pub mod acl {
    /// mode
    pub const MODE: u32 = 1;
    /// user
    pub const USER: u32 = 2;
    /// group
    pub const GROUP: u32 = 3;
    /// xattrs
    pub const XATTRS: u32 = 4;
}

/// Script fields, in field order, with the v2 control file names.
pub const SCRIPTS: [(u32, &str, &str); 7] = [
    (1, "trigger", ".trigger"),
    (2, "pre-install", ".pre-install"),
    (3, "post-install", ".post-install"),
    (4, "pre-deinstall", ".pre-deinstall"),
    (5, "post-deinstall", ".post-deinstall"),
    (6, "pre-upgrade", ".pre-upgrade"),
    (7, "post-upgrade", ".post-upgrade"),
];

/// Fields of the index root object.
pub mod index {
    /// description
    pub const DESCRIPTION: u32 = 1;
    /// packages
    pub const PACKAGES: u32 = 2;
    /// pkgname-spec
    pub const PKGNAME_SPEC: u32 = 3;
}
