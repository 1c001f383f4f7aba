//! `apkforge login REGISTRY -u USER --password-stdin`: checks the
//! credentials against the registry's `/v2/` (answering its Basic or
//! Bearer challenge), then saves them where docker would: the responsible
//! credential helper, else `auths` in `$DOCKER_CONFIG/config.json` or
//! `~/.docker/config.json`.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use oci::registry::{
    Client, ClientOptions, Credentials, DockerConfig, StaticKeychain, StoredIn, normalize_registry,
};

use crate::cli::LoginArgs;

pub fn run(args: &LoginArgs) -> Result<ExitCode> {
    let password = match (args.password_stdin, &args.password) {
        (true, Some(_)) => bail!("--password and --password-stdin are mutually exclusive"),
        (true, None) => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("reading the password from standard input")?;
            s.trim_end_matches(['\n', '\r']).to_string()
        }
        (false, Some(p)) => {
            eprintln!("warning: --password is visible to other users; use --password-stdin");
            p.clone()
        }
        (false, None) => bail!("give the password with --password-stdin"),
    };
    if args.username.is_empty() {
        bail!("the user name is empty");
    }
    if password.is_empty() {
        bail!("the password is empty");
    }
    let registry = normalize_registry(&args.registry);
    if registry.is_empty() || registry.contains('/') {
        bail!("`{}` is not a registry host", args.registry);
    }
    let credentials = Credentials::basic(&args.username, &password);
    // Fail on a corrupt config before talking to the registry.
    let config = DockerConfig::load_default()?;
    let client = Client::new(
        ClientOptions {
            insecure_registries: args.insecure_registries.clone(),
            ..crate::commands::registry_options()
        },
        Box::new(StaticKeychain::single(&registry, credentials.clone())),
    );
    client
        .authenticate(&registry, &[])
        .with_context(|| format!("logging in to {registry}"))?;
    match config.store_credentials(&registry, &credentials)? {
        StoredIn::ConfigFile(path) => eprintln!("credentials saved in {}", path.display()),
        StoredIn::Helper(h) => eprintln!("credentials saved with docker-credential-{h}"),
    }
    println!("Login Succeeded");
    Ok(ExitCode::SUCCESS)
}
