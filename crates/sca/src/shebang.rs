//! Shebang lines, read as melange's `getShbang` reads them.

use std::io::{self, Read};

/// How many bytes of a file melange looks at: longer `#!` lines are cut.
pub const SHEBANG_PREFIX: usize = 80;

/// Interpreters for which melange generates no dependency: `python3`,
/// `python` and `sh` are symlinks no `cmd:` provide satisfies, `awk` comes
/// from several providers and `luajit` exists in incompatible variants.
pub const IGNORED_INTERPRETERS: [&str; 5] = ["python3", "python", "sh", "awk", "luajit"];

/// A `#!` line melange refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShebangError {
    /// `#!/usr/bin/env` with nothing after it.
    #[error("a shbang of only '/usr/bin/env'")]
    EnvAlone,
    /// `#!/usr/bin/env a b ...` without `-S`.
    #[error("a shbang of only '/usr/bin/env' with multiple arguments ({0})")]
    EnvArguments(String),
}

/// Reads the first [`SHEBANG_PREFIX`] bytes of `reader` and returns the
/// interpreter its `#!` line names (see [`parse_shebang`]).
pub fn read_shebang<R: Read>(reader: R) -> io::Result<Result<Option<String>, ShebangError>> {
    let mut head = Vec::with_capacity(SHEBANG_PREFIX);
    reader.take(SHEBANG_PREFIX as u64).read_to_end(&mut head)?;
    Ok(parse_shebang(&head))
}

/// The interpreter named by the `#!` line at the start of `head` (of which
/// only the first [`SHEBANG_PREFIX`] bytes count): the first word, or the
/// program `/usr/bin/env` runs (`env X`, `env -S X ...`). `None` when there
/// is no `#!`, the line is blank, or the interpreter's base name is one of
/// [`IGNORED_INTERPRETERS`]. The result is kept as written (`/bin/bash`,
/// `bash`); the dependency is on its base name.
pub fn parse_shebang(head: &[u8]) -> Result<Option<String>, ShebangError> {
    let head = &head[..head.len().min(SHEBANG_PREFIX)];
    let Some(rest) = head.strip_prefix(b"#!") else {
        return Ok(None);
    };
    let line = match rest.iter().position(|&b| b == b'\n') {
        Some(end) => &rest[..end],
        None => rest,
    };
    let line = String::from_utf8_lossy(line);
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let Some(&first) = tokens.first() else {
        return Ok(None);
    };
    let mut bin = first;
    if bin == "/usr/bin/env" {
        bin = match tokens.as_slice() {
            [_] => return Err(ShebangError::EnvAlone),
            [_, program] => program,
            [_, "-S", program, ..] if !program.starts_with('-') => program,
            _ => {
                return Err(ShebangError::EnvArguments(format!(
                    "{} {}",
                    tokens.len(),
                    tokens.join(" ")
                )));
            }
        };
    }
    if IGNORED_INTERPRETERS.contains(&base_name(bin)) {
        return Ok(None);
    }
    Ok(Some(bin.to_string()))
}

/// `filepath.Base` for interpreter paths.
pub(crate) fn base_name(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return if path.is_empty() { "." } else { "/" };
    }
    match trimmed.rsplit_once('/') {
        Some((_, base)) => base,
        None => trimmed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Option<String> {
        parse_shebang(s.as_bytes()).unwrap()
    }

    /// melange's `TestGetShbang` table, plus more.
    #[test]
    fn melange_cases() {
        assert_eq!(ok("#!/usr/bin/env bash\n").as_deref(), Some("bash"));
        assert_eq!(
            ok("#!/usr/bin/env python3.12\nwith open...\n").as_deref(),
            Some("python3.12")
        );
        assert_eq!(ok("#!/bin/sh\necho hi world\n"), None);
        assert_eq!(ok("#!/bin/dash\necho hi\n").as_deref(), Some("/bin/dash"));
        assert_eq!(
            ok("#!/usr/bin/env -S bash -x\necho hi\n").as_deref(),
            Some("bash")
        );
        assert!(matches!(
            parse_shebang(b"#!/usr/bin/env bash -x\necho hi\n"),
            Err(ShebangError::EnvArguments(_))
        ));
        assert_eq!(ok("cs101 assignment"), None);
        assert_eq!(ok("#!/usr/bin/perl").as_deref(), Some("/usr/bin/perl"));
        assert_eq!(ok("#!   \n"), None);
        assert_eq!(ok("#!\t\n"), None);
        assert_eq!(ok("#!\n"), None);
    }

    #[test]
    fn more_cases() {
        assert_eq!(
            parse_shebang(b"#!/usr/bin/env\n"),
            Err(ShebangError::EnvAlone)
        );
        // `-S` followed by an option is refused.
        assert!(parse_shebang(b"#!/usr/bin/env -S -i bash\n").is_err());
        // Ignored by base name, wherever they live.
        for s in [
            "#!/usr/bin/python3",
            "#!/usr/bin/env awk -f",
            "#! /bin/sh -e",
        ] {
            assert_eq!(parse_shebang(s.as_bytes()).ok().flatten(), None, "{s}");
        }
        assert_eq!(ok("#!/usr/bin/env luajit\n"), None);
        // No leading whitespace or BOM allowed before `#!`.
        assert_eq!(ok(" #!/bin/bash\n"), None);
        assert_eq!(ok("\u{feff}#!/bin/bash\n"), None);
        // Carriage returns are whitespace.
        assert_eq!(ok("#!/bin/bash\r\n").as_deref(), Some("/bin/bash"));
        // Only 80 bytes are read: a long interpreter path is cut.
        let long = format!("#!/{}/bash\n", "x".repeat(100));
        assert_eq!(ok(&long).unwrap().len(), SHEBANG_PREFIX - 2);
        // `env` elsewhere is not special.
        assert_eq!(ok("#!/bin/env bash\n").as_deref(), Some("/bin/env"));
        // Invalid UTF-8 does not break parsing.
        assert_eq!(
            parse_shebang(b"#!/usr/bin/\xffx\n").unwrap().as_deref(),
            Some("/usr/bin/\u{fffd}x")
        );
    }

    #[test]
    fn reads_only_the_prefix() {
        let data = format!("#!/usr/bin/env bash\n{}", "y".repeat(10_000));
        let got = read_shebang(data.as_bytes()).unwrap().unwrap();
        assert_eq!(got.as_deref(), Some("bash"));
        assert_eq!(read_shebang(&b""[..]).unwrap(), Ok(None));
        assert_eq!(read_shebang(&b"#"[..]).unwrap(), Ok(None));
    }

    #[test]
    fn base_names() {
        assert_eq!(base_name("/usr/bin/bash"), "bash");
        assert_eq!(base_name("bash"), "bash");
        assert_eq!(base_name("/usr/bin/"), "bin");
        assert_eq!(base_name("/"), "/");
    }
}
