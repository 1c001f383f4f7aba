//! `apkforge apk ...` and the repository commands (`index`, `sign`, `keygen`, `login`).

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// Package and index format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// apk-tools 2: gzip'd tar packages, `APKINDEX.tar.gz`.
    #[default]
    V2,
    /// apk-tools 3: ADB packages, `Packages.adb`.
    V3,
}

/// `apkforge apk ...`
#[derive(Debug, Subcommand)]
pub enum ApkCommand {
    /// Show a package's metadata, scripts, files and signature.
    Inspect(InspectArgs),
    /// Verify packages (signature, datahash, per-file checksums) or signed indexes.
    Verify(VerifyArgs),
    /// Compare two versions; prints `<`, `=` or `>` (like `apk version -t`).
    Version(VersionArgs),
    /// Pack a directory into a (signed) package, deterministic under SOURCE_DATE_EPOCH.
    Pack(Box<PackArgs>),
}

/// `apk pack`
#[derive(Debug, Args)]
pub struct PackArgs {
    /// Directory whose contents become the package's files.
    pub dir: PathBuf,
    /// Output file.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Package name.
    #[arg(long)]
    pub name: String,
    /// Full version, e.g. `1.2.3-r0`.
    #[arg(long)]
    pub version: String,
    /// Architecture.
    #[arg(long)]
    pub arch: String,
    /// One-line description.
    #[arg(long, default_value = "")]
    pub description: String,
    /// Project URL.
    #[arg(long, default_value = "")]
    pub url: String,
    /// SPDX license expression.
    #[arg(long, default_value = "")]
    pub license: String,
    /// Origin (source package) name; defaults to the package name.
    #[arg(long)]
    pub origin: Option<String>,
    /// Runtime dependency atom (repeatable).
    #[arg(long = "depend", value_name = "ATOM")]
    pub depends: Vec<String>,
    /// Provided name (repeatable), e.g. `cmd:hello=1.0-r0`.
    #[arg(long = "provides", value_name = "ATOM")]
    pub provides: Vec<String>,
    /// Install automatically once all of these are installed (repeatable),
    /// e.g. `hello=1.0-r0` and `docs`.
    #[arg(long = "install-if", value_name = "ATOM")]
    pub install_if: Vec<String>,
    /// Control script as NAME=FILE, e.g. `.post-install=./post.sh` (repeatable).
    #[arg(long = "script", value_name = "NAME=FILE")]
    pub scripts: Vec<String>,
    /// Sign with this RSA private key.
    #[arg(long, value_name = "KEY")]
    pub signing_key: Option<PathBuf>,
    /// Package format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// v3 compression: `deflate` (default), `deflate:LEVEL` or `none`.
    #[arg(long, value_name = "SPEC")]
    pub compression: Option<String>,
}

/// Keys to trust.
#[derive(Debug, Args, Clone, Default)]
pub struct KeyringArgs {
    /// Directory of trusted public keys, or a single key file (repeatable).
    #[arg(short = 'k', long = "keyring", value_name = "DIR|FILE")]
    pub keyring: Vec<PathBuf>,
}

/// `apk inspect`
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The package.
    pub file: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Keys used to check the signature (without, the signature is listed unchecked).
    #[command(flatten)]
    pub keys: KeyringArgs,
}

/// `apk verify`
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Packages (or APKINDEX.tar.gz indexes) to verify.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Trusted keys.
    #[command(flatten)]
    pub keys: KeyringArgs,
    /// Accept unsigned packages (their hashes are still checked).
    #[arg(long)]
    pub allow_unsigned: bool,
}

/// `apk version`
#[derive(Debug, Args)]
pub struct VersionArgs {
    /// First version.
    pub a: String,
    /// Second version.
    pub b: String,
}

/// `index`
#[derive(Debug, Args)]
pub struct IndexArgs {
    /// Where to write the index.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Packages to index.
    #[arg(required = true)]
    pub packages: Vec<PathBuf>,
    /// Sign the index with this RSA private key.
    #[arg(long, value_name = "KEY")]
    pub signing_key: Option<PathBuf>,
    /// An existing index whose entries are kept unless a package replaces them.
    #[arg(short, long, value_name = "FILE")]
    pub merge: Option<PathBuf>,
    /// Index DESCRIPTION text.
    #[arg(short, long, default_value = "")]
    pub description: String,
    /// Record every package under this architecture (as `apk index --rewrite-arch`).
    #[arg(long, value_name = "ARCH")]
    pub rewrite_arch: Option<String>,
    /// Index format: `v2` writes APKINDEX.tar.gz, `v3` Packages.adb (as `apk mkndx`).
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// v3: where packages are, relative to the index's directory, e.g.
    /// `${arch}/${name}-${version}.apk` (as `apk mkndx --pkgname-spec`).
    #[arg(long, value_name = "SPEC")]
    pub pkgname_spec: Option<String>,
    /// v3 compression: `deflate` (default), `deflate:LEVEL` or `none`.
    #[arg(long, value_name = "SPEC")]
    pub compression: Option<String>,
}

/// `sign`
#[derive(Debug, Args)]
pub struct SignArgs {
    /// RSA private key (PEM). Signatures name the public key `<key file name>.pub`.
    #[arg(long, value_name = "KEY")]
    pub signing_key: PathBuf,
    /// Packages (.apk) or indexes (APKINDEX.tar.gz) to sign in place.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// `keygen`
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Key name: writes NAME.rsa and NAME.rsa.pub.
    #[arg(default_value = "apkforge")]
    pub name: String,
    /// Key size in bits.
    #[arg(long, default_value_t = 4096)]
    pub bits: usize,
}

/// `login`
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Registry host (with port), e.g. `registry.example.com` or `127.0.0.1:5000`.
    pub registry: String,
    /// User name.
    #[arg(short, long)]
    pub username: String,
    /// Read the password from standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// Password (prefer --password-stdin).
    #[arg(short, long)]
    pub password: Option<String>,
    /// Allow plain HTTP to this registry (loopback hosts always may).
    #[arg(long = "insecure-registry")]
    pub insecure_registries: Vec<String>,
}
