//! A recipe as the data of `melange query` templates: melange's
//! `Configuration` with Go's field names (`.Package.Name`,
//! `.Package.Dependencies.Runtime`, `.Subpackages`, `.Environment.Contents.Packages`,
//! `.Vars`, …). Maps of user keys (vars, `with:`, environment variables,
//! annotations, build options) keep their keys.

use serde_json::{Map, Value};

use crate::compiled::CompiledRecipe;
use crate::types::Recipe;

/// Go's name of a recipe key (`target-architecture` → `TargetArchitecture`).
fn go_name(key: &str) -> String {
    match key {
        "url" => return "URL".into(),
        "cpe" => return "CPE".into(),
        "uid" => return "UID".into(),
        "gid" => return "GID".into(),
        "cpu" => return "CPU".into(),
        "cpumodel" => return "CPUModel".into(),
        "setcap" => return "SetCap".into(),
        "working-directory" => return "WorkDir".into(),
        "username" => return "UserName".into(),
        "groupname" => return "GroupName".into(),
        "homedir" => return "HomeDir".into(),
        "github" => return "GitHubMonitor".into(),
        "git" => return "GitMonitor".into(),
        "oci" => return "OCIMonitor".into(),
        "vcs-url" => return "VCSUrl".into(),
        "sw-edition" => return "SWEdition".into(),
        "target-sw" => return "TargetSW".into(),
        "target-hw" => return "TargetHW".into(),
        "use-tag" => return "UseTags".into(),
        _ => {}
    }
    key.split(['-', '_'])
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

/// Keys whose value is a map of the user's own keys.
fn user_keyed(key: &str, value: &Value) -> bool {
    match key {
        "vars" | "with" | "annotations" | "services" | "add" | "data" => true,
        // Variables (a map of strings), not the build environment object.
        "environment" => value
            .as_object()
            .is_some_and(|o| o.values().all(Value::is_string)),
        _ => false,
    }
}

fn convert(value: Value, top: bool) -> Value {
    match value {
        Value::Object(o) => {
            let mut out = Map::new();
            for (k, v) in o {
                if top && k == "arch" {
                    continue;
                }
                let v = if user_keyed(&k, &v) {
                    v
                } else if top && k == "options" {
                    // Build options: names are the user's, contents are ours.
                    match v {
                        Value::Object(opts) => Value::Object(
                            opts.into_iter()
                                .map(|(n, o)| (n, convert(o, false)))
                                .collect(),
                        ),
                        other => other,
                    }
                } else if k == "range" {
                    // melange keeps the name of the `data:` entry.
                    v.get(0).cloned().unwrap_or(v)
                } else {
                    convert(v, false)
                };
                out.insert(go_name(&k), v);
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.into_iter().map(|v| convert(v, false)).collect()),
        other => other,
    }
}

impl Recipe {
    /// The recipe as written, as `melange query` templates see it.
    pub fn query_value(&self) -> Value {
        convert(serde_json::to_value(self).unwrap_or(Value::Null), true)
    }
}

impl CompiledRecipe {
    /// The evaluated recipe with Go's field names.
    pub fn query_value(&self) -> Value {
        convert(serde_json::to_value(self).unwrap_or(Value::Null), true)
    }
}
