//! `/etc/apko.json`: the configuration as Go's `json.Encoder` writes it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::types::{Config, LayeringStrategy};

impl Config {
    /// The configuration as apko writes it to `/etc/apko.json`: Go's
    /// `encoding/json` over apko's struct tags, byte for byte.
    ///
    /// That means struct field order; `omitempty` fields left out when
    /// empty, but `contents`, `entrypoint` and `accounts` always present
    /// (Go ignores `omitempty` on structs, hence `"accounts":{}`); map keys
    /// sorted; `<`, `>`, `&`, U+2028 and U+2029 escaped as `\u003c` etc.;
    /// and a trailing newline.
    pub fn to_apko_json(&self) -> String {
        let mut o = Obj::new();
        o.raw("contents", contents(self));
        o.raw("entrypoint", entrypoint(self));
        o.str("cmd", &self.cmd);
        o.str("stop-signal", &self.stop_signal);
        o.str("work-dir", &self.work_dir);
        o.raw("accounts", accounts(self));
        let archs: Vec<&str> = self.archs.iter().map(|a| a.oci_name()).collect();
        o.strs("archs", &archs);
        o.map("environment", &self.environment);
        if !self.paths.is_empty() {
            let paths: Vec<String> = self
                .paths
                .iter()
                .map(|p| {
                    let mut m = Obj::new();
                    m.str("path", &p.path);
                    m.str("type", p.r#type.as_str());
                    m.opt_u32("uid", p.uid);
                    m.opt_u32("gid", p.gid);
                    m.u32("permissions", p.permissions);
                    m.str("source", &p.source);
                    if p.recursive {
                        m.raw("recursive", "true".to_string());
                    }
                    m.finish()
                })
                .collect();
            o.raw("paths", array(&paths));
        }
        o.str("vcs-url", &self.vcs_url);
        o.map("annotations", &self.annotations);
        o.str("include", &self.include);
        o.strs("volumes", &self.volumes);
        if let Some(layering) = &self.layering {
            let mut m = Obj::new();
            if let Some(LayeringStrategy::Origin) = layering.strategy {
                m.str("strategy", "origin");
            }
            if layering.budget != 0 {
                m.raw("budget", layering.budget.to_string());
            }
            o.raw("layering", m.finish());
        }
        if let Some(format) = self.format {
            o.str("format", format.as_str());
        }
        if let Some(certs) = &self.certificates {
            let mut m = Obj::new();
            if !certs.additional.is_empty() {
                let entries: Vec<String> = certs
                    .additional
                    .iter()
                    .map(|c| name_content(&c.name, &c.content))
                    .collect();
                m.raw("additional", array(&entries));
            }
            m.strs("providers", &certs.providers);
            o.raw("certificates", m.finish());
        }
        let mut out = o.finish();
        out.push('\n');
        out
    }
}

fn contents(config: &Config) -> String {
    let c = &config.contents;
    let mut o = Obj::new();
    o.strs("build_repositories", &c.build_repositories);
    o.strs("runtime_repositories", &c.runtime_repositories);
    o.strs("repositories", &c.repositories);
    o.strs("keyring", &c.keyring);
    if !c.runtime_keyring.is_empty() {
        let keys: Vec<String> = c
            .runtime_keyring
            .iter()
            .map(|k| name_content(&k.name, &k.content))
            .collect();
        o.raw("runtime_keyring", array(&keys));
    }
    o.strs("packages", &c.packages);
    if let Some(base) = &c.baseimage {
        let mut m = Obj::new();
        m.str("image", &base.image);
        m.str("apkindex", &base.apkindex);
        o.raw("baseimage", m.finish());
    }
    o.finish()
}

fn entrypoint(config: &Config) -> String {
    let e = &config.entrypoint;
    let mut o = Obj::new();
    if let Some(t) = e.r#type {
        o.str("type", t.as_str());
    }
    o.str("command", &e.command);
    o.str("shell-fragment", &e.shell_fragment);
    o.map("services", &e.services);
    o.finish()
}

fn accounts(config: &Config) -> String {
    let a = &config.accounts;
    let mut o = Obj::new();
    o.str("run-as", &a.run_as);
    if !a.users.is_empty() {
        let users: Vec<String> = a
            .users
            .iter()
            .map(|u| {
                let mut m = Obj::new();
                m.str("username", &u.username);
                m.u32("uid", u.uid);
                m.opt_u32("gid", u.gid);
                m.str("shell", &u.shell);
                m.str("homedir", &u.homedir);
                m.finish()
            })
            .collect();
        o.raw("users", array(&users));
    }
    if !a.groups.is_empty() {
        let groups: Vec<String> = a
            .groups
            .iter()
            .map(|g| {
                let mut m = Obj::new();
                m.str("groupname", &g.groupname);
                m.u32("gid", g.gid);
                m.strs("members", &g.members);
                m.finish()
            })
            .collect();
        o.raw("groups", array(&groups));
    }
    o.finish()
}

fn name_content(name: &str, content: &str) -> String {
    let mut m = Obj::new();
    m.str("name", name);
    m.str("content", content);
    m.finish()
}

fn array(items: &[String]) -> String {
    format!("[{}]", items.join(","))
}

/// A JSON object under construction; the `str`/`strs`/`map`/`u32` adders
/// skip empty values (`omitempty`), `raw` always adds.
struct Obj(Vec<String>);

impl Obj {
    fn new() -> Self {
        Obj(Vec::new())
    }

    fn raw(&mut self, key: &str, value: String) {
        self.0.push(format!("{}:{value}", quote(key)));
    }

    fn str(&mut self, key: &str, value: &str) {
        if !value.is_empty() {
            self.raw(key, quote(value));
        }
    }

    fn strs<S: AsRef<str>>(&mut self, key: &str, values: &[S]) {
        if !values.is_empty() {
            let items: Vec<String> = values.iter().map(|v| quote(v.as_ref())).collect();
            self.raw(key, array(&items));
        }
    }

    fn map(&mut self, key: &str, map: &BTreeMap<String, String>) {
        if !map.is_empty() {
            // Go sorts map keys by their bytes, as BTreeMap<String> does.
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}:{}", quote(k), quote(v)))
                .collect();
            self.raw(key, format!("{{{}}}", items.join(",")));
        }
    }

    fn u32(&mut self, key: &str, value: u32) {
        if value != 0 {
            self.raw(key, value.to_string());
        }
    }

    /// A pointer field: present (even when 0) unless nil.
    fn opt_u32(&mut self, key: &str, value: Option<u32>) {
        if let Some(v) = value {
            self.raw(key, v.to_string());
        }
    }

    fn finish(self) -> String {
        format!("{{{}}}", self.0.join(","))
    }
}

/// A JSON string as Go's encoder (with HTML escaping on) writes it.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_string_escapes() {
        assert_eq!(quote("a<b>&c"), r#""a\u003cb\u003e\u0026c""#);
        assert_eq!(
            quote("q\"\\\n\t\u{1}\u{8}\u{c}"),
            r#""q\"\\\n\t\u0001\b\f""#
        );
        assert_eq!(quote("\u{2028}é"), "\"\\u2028é\"");
    }

    #[test]
    fn empty_config() {
        assert_eq!(
            Config::default().to_apko_json(),
            "{\"contents\":{},\"entrypoint\":{},\"accounts\":{}}\n"
        );
    }
}
