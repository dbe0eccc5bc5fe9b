//! npm packages: the `package.json` at the root of each package directory
//! under a `node_modules` (`node_modules/<name>/` or
//! `node_modules/@scope/<name>/`, nested `node_modules` too). A
//! `package.json` deeper inside a package (`node_modules/x/test/`) is a
//! fixture or a sub-module, not an installed package.

use serde_json::Value;

use crate::sbom::files::{Extracted, Found};
use crate::sbom::model::{Ecosystem, Package};

pub(super) fn wants(path: &str) -> bool {
    let mut parts = path.rsplit('/');
    if parts.next() != Some("package.json") {
        return false;
    }
    let (Some(name), Some(above)) = (parts.next(), parts.next()) else {
        return false;
    };
    if name.is_empty() || name.starts_with('@') || name == "node_modules" {
        return false;
    }
    if above == "node_modules" {
        return true;
    }
    above.len() > 1 && above.starts_with('@') && parts.next() == Some("node_modules")
}

pub(super) fn package(found: &Found<'_>) -> Option<Package> {
    let Extracted::Bytes(bytes) = found.data else {
        return None;
    };
    let json: Value = serde_json::from_slice(bytes).ok()?;
    let string = |key| {
        json.get(key)?
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let full_name = string("name")?;
    let version = string("version")?;
    let (namespace, name) = match full_name.strip_prefix('@').and_then(|n| n.split_once('/')) {
        Some((scope, name)) if !scope.is_empty() && !name.is_empty() => (Some(scope), name),
        _ => (None, full_name),
    };
    let mut package = Package::new(Ecosystem::Npm, name, version, found.path, found.layer);
    package.namespace = namespace.map(str::to_string);
    package.licenses = licenses(&json);
    Some(package)
}

/// `"license": "MIT"`, `"license": {"type": "MIT"}`, or the old
/// `"licenses": [{"type": "MIT"}, "BSD"]`.
fn licenses(json: &Value) -> Vec<String> {
    let one = |v: &Value| -> Option<String> {
        let s = match v {
            Value::String(s) => s.as_str(),
            Value::Object(o) => o.get("type")?.as_str()?,
            _ => return None,
        };
        let s = s.trim();
        (!s.is_empty()).then(|| s.to_string())
    };
    if let Some(license) = json.get("license").and_then(one) {
        return vec![license];
    }
    match json.get("licenses") {
        Some(Value::Array(all)) => all.iter().filter_map(one).collect(),
        Some(other) => one(other).into_iter().collect(),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sbom::catalog::catalog;
    use crate::sbom::files::MemFiles;

    #[test]
    fn package_roots_only() {
        for path in [
            "/app/node_modules/lodash/package.json",
            "/app/node_modules/@babel/core/package.json",
            "/app/node_modules/a/node_modules/b/package.json",
            "/app/node_modules/.pnpm/x@1.0.0/node_modules/x/package.json",
            "/node_modules/a/package.json",
        ] {
            assert!(wants(path), "{path}");
        }
        for path in [
            "/app/package.json",
            "/app/node_modules/package.json",
            "/app/node_modules/@babel/package.json",
            "/app/node_modules/x/test/package.json",
            "/app/node_modules/x/@fake/y/package.json",
            "/app/node_modules/@/y/package.json",
            "/app/node_modules/x/package.json.bak",
            "package.json",
        ] {
            assert!(!wants(path), "{path}");
        }
    }

    #[test]
    fn names_scopes_versions_licenses() {
        let mut files = MemFiles::default();
        files
            .add(
                "/app/node_modules/@babel/core/package.json",
                2,
                Extracted::Bytes(
                    br#"{"name":"@babel/core","version":"7.24.0","license":{"type":"MIT","url":"x"}}"#
                        .to_vec(),
                ),
            )
            .add_bytes(
                "/app/node_modules/lodash/package.json",
                br#"{"name":"lodash","version":"4.17.21","license":"MIT"}"#,
            )
            .add_bytes(
                "/app/node_modules/lodash/node_modules/old/package.json",
                br#"{"name":"old","version":"0.1.0","licenses":[{"type":"BSD"},"MIT",3]}"#,
            )
            .add_bytes(
                "/app/node_modules/lodash/fixtures/package.json",
                br#"{"name":"fixture","version":"9.9.9"}"#,
            )
            .add_bytes("/app/node_modules/noversion/package.json", br#"{"name":"noversion"}"#)
            .add_bytes("/app/node_modules/array/package.json", b"[1,2]")
            .add_bytes("/app/node_modules/broken/package.json", b"{\"name\":");
        let packages = catalog(&files).packages;
        type Row<'a> = (
            Option<&'a str>,
            &'a str,
            &'a str,
            Vec<&'a str>,
            &'a str,
            usize,
        );
        let summary: Vec<Row<'_>> = packages
            .iter()
            .map(|p| {
                (
                    p.namespace.as_deref(),
                    p.name.as_str(),
                    p.version.as_str(),
                    p.licenses.iter().map(String::as_str).collect(),
                    p.found_at.as_str(),
                    p.layer,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    Some("babel"),
                    "core",
                    "7.24.0",
                    vec!["MIT"],
                    "/app/node_modules/@babel/core/package.json",
                    2
                ),
                (
                    None,
                    "lodash",
                    "4.17.21",
                    vec!["MIT"],
                    "/app/node_modules/lodash/package.json",
                    0
                ),
                (
                    None,
                    "old",
                    "0.1.0",
                    vec!["BSD", "MIT"],
                    "/app/node_modules/lodash/node_modules/old/package.json",
                    0
                ),
            ]
        );
    }
}
