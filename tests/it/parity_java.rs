//! Parity with Syft on Java and Go (issue 20), on a layout of real parts:
//! jars fetched from Maven Central (old ones without pom.properties, newer
//! ones with it, a Spring-Boot-style fat jar) and module-built Go binaries
//! (cosign, crane and a small program), made by `scripts/java-layout.sh`
//! (`.ci/run` builds it; a test builds it when missing, cached under
//! `~/.cache/wharf-java-layout`).
//!
//! What is judged: every jar in the layout is listed; every (artifact,
//! version) Syft lists, wharf lists (a difference by design is a named rule
//! that is checked for the package); every purl wharf writes is valid for
//! its type; wharf's Go modules are exactly what `go version -m` reads.
//! Where wharf and Syft name a jar's group differently, the test says which
//! group the jar's own evidence supports (its pom.properties, a manifest
//! field, its class packages, or nothing), and what Maven Central publishes
//! it under. The group wharf writes must be supported by the evidence its
//! `maven.group_from` names, and must be right as often as Syft's.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use crate::common::sigstore::peer;
use crate::common::{fixture_or_skip, output_of, percent_decode, scripted_fixture, wharf};
use crate::parity::{components, go_build_info, of_type, read_json, test_name, Key};

/// The built layout: `root/` (its file system), `layout/` (the OCI layout,
/// tag `java`) and `coordinates.tsv` (each jar's path and Maven Central
/// coordinates).
struct JavaLayout {
    dir: PathBuf,
}

impl JavaLayout {
    fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    fn layout(&self) -> PathBuf {
        self.dir.join("layout")
    }

    /// path in the image (`/opt/app/app.jar!/BOOT-INF/lib/x.jar` for a
    /// nested one) → `group:artifact:version`.
    fn coordinates(&self) -> BTreeMap<String, String> {
        let text =
            std::fs::read_to_string(self.dir.join("coordinates.tsv")).expect("coordinates.tsv");
        text.lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(p, c)| (p.to_string(), c.to_string()))
            .collect()
    }
}

/// The layout, built by `scripts/java-layout.sh` when missing (once per
/// test process; the script holds a lock), or `None` with the reason
/// printed — a failure in CI, where `.ci/run` has built it.
fn java_layout(test: &str) -> Option<&'static JavaLayout> {
    static LAYOUT: OnceLock<Result<JavaLayout, String>> = OnceLock::new();
    let layout = LAYOUT.get_or_init(|| {
        scripted_fixture(
            "java-layout.sh",
            "layout",
            "mvn, Go, Maven Central and the Go module proxy, and cosign and crane from scripts/peers.sh",
        )
        .map(|dir| JavaLayout { dir })
    });
    fixture_or_skip(test, "Java parity test", layout)
}

/// A component's property.
fn property<'a>(c: &'a Value, name: &str) -> Option<&'a str> {
    c["properties"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)?["value"]
        .as_str()
}

/// A Maven purl's (group, artifact, version), decoded.
fn maven(purl: &str) -> Option<(String, String, String)> {
    let rest = purl.strip_prefix("pkg:maven/")?;
    let rest = rest.split(['?', '#']).next()?;
    let (path, version) = rest.rsplit_once('@').unwrap_or((rest, ""));
    let (group, artifact) = path.rsplit_once('/').unwrap_or(("", path));
    Some((
        percent_decode(group),
        percent_decode(artifact),
        percent_decode(version),
    ))
}

/// Why a purl is not valid for its type (the rules of the purl spec's type
/// definitions wharf writes), checked apart from wharf's own builder.
fn invalid(purl: &str) -> Option<String> {
    let Some(rest) = purl.strip_prefix("pkg:") else {
        return Some("no pkg: scheme".into());
    };
    let rest = rest.split('#').next().unwrap_or(rest);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (path, version) = path.rsplit_once('@').unwrap_or((path, ""));
    let mut segments: Vec<String> = path.split('/').map(percent_decode).collect();
    let kind = segments.remove(0);
    let name = segments.pop().unwrap_or_default();
    let mut parts = vec![name.clone(), percent_decode(version)];
    parts.extend(segments.iter().cloned());
    parts.extend(
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(_, v)| percent_decode(v)),
    );
    if name.is_empty() {
        return Some("no name".into());
    }
    if let Some(p) = parts
        .iter()
        .find(|p| p.contains('"') || p.trim() != p.as_str())
    {
        return Some(format!("{p:?} keeps quotes or whitespace"));
    }
    let maven_id = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    };
    match kind.as_str() {
        "maven" if segments.len() != 1 => Some("maven needs one namespace, the group".into()),
        "maven" if !maven_id(&segments[0]) || !maven_id(&name) => {
            Some("not a Maven groupId or artifactId".into())
        }
        "deb" | "apk" | "rpm" if segments.is_empty() => Some("no vendor namespace".into()),
        "pypi" | "cargo" | "oci" if !segments.is_empty() => {
            Some("a namespace the type prohibits".into())
        }
        _ => None,
    }
}

/// A jar's bytes, from the root or from inside the jar around it.
fn jar_bytes(root: &Path, path: &str) -> Vec<u8> {
    let mut parts = path.split("!/");
    let outer = parts.next().expect("path");
    let mut bytes = std::fs::read(root.join(outer.trim_start_matches('/'))).expect("jar");
    for inner in parts {
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("zip");
        let mut entry = zip.by_name(inner).expect("nested jar");
        let mut next = Vec::new();
        entry.read_to_end(&mut next).expect("read nested");
        bytes = next;
    }
    bytes
}

/// Where in a jar a group is stated: its pom.properties, a manifest field
/// (the group, or a name it begins), its class packages, or only as the
/// artifactId; `None` when nothing in the jar names it.
fn evidence_for(bytes: &[u8], group: &str, artifact: &str) -> Option<String> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let names: Vec<String> = zip.file_names().map(str::to_string).collect();
    if names
        .iter()
        .any(|n| n.starts_with(&format!("META-INF/maven/{group}/{artifact}/")))
    {
        return Some("pom.properties".into());
    }
    if let Ok(mut manifest) = zip.by_name("META-INF/MANIFEST.MF") {
        let mut text = String::new();
        let _ = manifest.read_to_string(&mut text);
        let mut fields: Vec<(String, String)> = Vec::new();
        // Every section: a group named anywhere in the manifest counts.
        for line in text.lines().map(|l| l.trim_end_matches('\r')) {
            match line.strip_prefix(' ') {
                Some(more) => {
                    if let Some(last) = fields.last_mut() {
                        last.1.push_str(more);
                    }
                }
                None => {
                    if let Some((k, v)) = line.split_once(':') {
                        fields.push((k.trim().into(), v.trim().into()));
                    }
                }
            }
        }
        for (field, value) in &fields {
            let value = value
                .split(';')
                .next()
                .unwrap_or_default()
                .trim_matches('"');
            if value == group
                || value.starts_with(&format!("{group}."))
                || value.starts_with(&format!("{group}#"))
            {
                return Some(format!("manifest {field}: {value}"));
            }
        }
    }
    let dir = format!("{}/", group.replace('.', "/"));
    if names
        .iter()
        .any(|n| n.ends_with(".class") && n.starts_with(&dir))
    {
        return Some(format!("class packages {dir}"));
    }
    (group == artifact).then(|| "the artifactId only".to_string())
}

#[test]
fn syft_finds_no_jar_or_go_module_wharf_misses_and_every_purl_is_valid() {
    let test = test_name();
    require_peers!("syft");
    let Some(layout) = java_layout(&test) else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let reference = format!("oci:{}:java", layout.layout().display());
    let wharf_path = work.path().join("wharf.cdx.json");
    wharf()
        .args(["sbom", &reference, "-o"])
        .arg(&wharf_path)
        .run()
        .assert_ok();
    let wharf_bom = read_json(&wharf_path);
    let syft_path = work.path().join("syft.cdx.json");
    let out = output_of(
        Command::new(peer("syft"))
            .args(["scan", &format!("oci-dir:{}", layout.layout().display())])
            .arg("-o")
            .arg(format!("cyclonedx-json={}", syft_path.display()))
            .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
            .env("HOME", work.path()),
    );
    out.assert_ok();
    let syft_bom = read_json(&syft_path);
    let ours = components(&wharf_bom);
    let theirs = components(&syft_bom);
    let flat = |all: &BTreeMap<Key, Vec<Value>>| -> Vec<Value> {
        all.values().flatten().cloned().collect::<Vec<_>>()
    };
    let (ours_flat, theirs_flat) = (flat(&ours), flat(&theirs));

    // Every purl wharf writes is valid for its type; Syft's, counted.
    let bad: Vec<String> = ours_flat
        .iter()
        .filter_map(|c| c["purl"].as_str())
        .filter_map(|p| invalid(p).map(|why| format!("{p}: {why}")))
        .collect();
    let syft_bad: Vec<String> = theirs_flat
        .iter()
        .filter_map(|c| c["purl"].as_str())
        .filter(|p| p.starts_with("pkg:maven/") || p.starts_with("pkg:golang/"))
        .filter_map(|p| invalid(p).map(|why| format!("{p}: {why}")))
        .collect();
    println!(
        "{test}: invalid purls: wharf {}, Syft {}",
        bad.len(),
        syft_bad.len()
    );
    for b in &syft_bad {
        println!("  Syft: {b}");
    }
    assert!(
        bad.is_empty(),
        "wharf wrote invalid purls:\n  {}",
        bad.join("\n  ")
    );

    // Every jar in the layout is listed, at its path.
    let coordinates = layout.coordinates();
    let mut on_disk = BTreeSet::new();
    for entry in walkdir::WalkDir::new(layout.root()) {
        let entry = entry.expect("walk the root");
        if entry.file_name().to_string_lossy().ends_with(".jar") {
            let in_image = format!(
                "/{}",
                entry.path().strip_prefix(layout.root()).unwrap().display()
            );
            on_disk.insert(in_image);
        }
    }
    for path in &on_disk {
        assert!(
            coordinates.contains_key(path),
            "{path} is not in coordinates.tsv"
        );
    }
    let maven_ours: Vec<&Value> = ours_flat
        .iter()
        .filter(|c| {
            c["purl"]
                .as_str()
                .is_some_and(|p| p.starts_with("pkg:maven/"))
        })
        .collect();
    let at = |path: &str| -> Vec<&Value> {
        maven_ours
            .iter()
            .copied()
            .filter(|c| property(c, "wharf:package:found_at") == Some(path))
            .collect()
    };
    let unlisted: Vec<&String> = coordinates.keys().filter(|p| at(p).is_empty()).collect();
    assert!(
        unlisted.is_empty(),
        "jars wharf does not list: {unlisted:?}"
    );

    // Every (artifact, version) Syft lists, wharf lists; a Syft extra is
    // explained by a rule that holds for it, or the test fails.
    let pairs = |list: &[Value]| -> BTreeMap<(String, String), Vec<Value>> {
        let mut out: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
        for c in list {
            if let Some((_, a, v)) = c["purl"].as_str().and_then(maven) {
                out.entry((a, v)).or_default().push(c.clone());
            }
        }
        out
    };
    let (our_pairs, their_pairs) = (pairs(&ours_flat), pairs(&theirs_flat));
    let mut unexplained = Vec::new();
    for ((artifact, version), found) in &their_pairs {
        if our_pairs.contains_key(&(artifact.clone(), version.clone())) {
            continue;
        }
        // Syft also lists an archive under its file name, with no version,
        // when its pom.properties names another artifact (the fat jar's
        // `app`, grouped by its Main-Class): wharf lists the jar once, as
        // its pom.properties says.
        let named_by_pom = version.is_empty()
            && found.iter().all(|c| {
                property(c, "syft:location:0:path").is_some_and(|p| {
                    at(p).iter().any(|ours| {
                        property(ours, "wharf:package:maven.group_from") == Some("pom.properties")
                    })
                })
            });
        if named_by_pom {
            println!(
                "  Syft only, archive-file-name (the jar's pom.properties names it otherwise): \
                 {artifact} (no version)"
            );
        } else {
            unexplained.push(format!("{artifact}@{version}"));
        }
    }
    assert!(
        unexplained.is_empty(),
        "Syft lists jars wharf does not, and no rule explains them: {unexplained:?}"
    );

    // Groups: what each tool names each jar's group, which one the jar's
    // own evidence supports, and what Maven Central publishes it under.
    let mut right = (0, 0);
    let mut mislabelled = Vec::new();
    println!("  groups where wharf and Syft differ (jar: wharf / Syft / Maven Central):");
    for (path, gav) in &coordinates {
        let truth = gav.rsplit_once(':').map_or("", |x| x.0).to_string();
        let (_, artifact, version) = {
            let mut it = gav.split(':');
            (
                it.next(),
                it.next().unwrap_or_default(),
                it.next().unwrap_or_default(),
            )
        };
        let Some(ours) = at(path).into_iter().find(|c| {
            c["purl"]
                .as_str()
                .and_then(maven)
                .is_some_and(|(_, a, _)| a == artifact)
        }) else {
            continue;
        };
        let (our_group, _, _) = ours["purl"].as_str().and_then(maven).unwrap_or_default();
        let from = property(ours, "wharf:package:maven.group_from").unwrap_or("-");
        let outer = path.split("!/").next().unwrap_or(path);
        let their_group = their_pairs
            .get(&(artifact.to_string(), version.to_string()))
            .into_iter()
            .flatten()
            .find(|c| property(c, "syft:location:0:path") == Some(outer))
            .and_then(|c| c["purl"].as_str().and_then(maven))
            .map(|(g, _, _)| g);
        right.0 += usize::from(format!("{our_group}:{artifact}") == truth);
        right.1 += usize::from(
            their_group.as_ref().map(|g| format!("{g}:{artifact}")) == Some(truth.clone()),
        );
        let bytes = jar_bytes(&layout.root(), path);
        let our_evidence = evidence_for(&bytes, &our_group, artifact);
        // What wharf says the group came from is where the jar says it.
        let consistent = match from {
            "pom.properties" => our_evidence.as_deref() == Some("pom.properties"),
            "artifact-id" => our_group == artifact,
            f if f.starts_with("manifest:") => our_evidence
                .as_deref()
                .is_some_and(|e| e.starts_with("manifest")),
            "class-packages" => our_evidence
                .as_deref()
                .is_some_and(|e| e.starts_with("class packages")),
            _ => false,
        };
        if !consistent {
            mislabelled.push(format!(
                "{path}: {our_group} from {from}, the jar: {our_evidence:?}"
            ));
        }
        let Some(their_group) = their_group.filter(|g| *g != our_group) else {
            continue;
        };
        let their_evidence = evidence_for(&bytes, &their_group, artifact);
        let says = |e: &Option<String>| e.clone().unwrap_or_else(|| "nothing in the jar".into());
        // The artifactId standing in for a group is no evidence of one.
        let stated = |e: &Option<String>| {
            e.as_deref()
                .is_some_and(|e| !e.starts_with("the artifactId"))
        };
        let supported = match (stated(&our_evidence), stated(&their_evidence)) {
            (true, false) => "wharf's",
            (false, true) => "Syft's",
            (true, true) => "both",
            (false, false) => "neither (nothing in the jar names a group)",
        };
        println!(
            "    {artifact}@{version}: {our_group} ({}) / {their_group} ({}) / {truth}: the \
             jar's evidence supports {supported}",
            says(&our_evidence),
            says(&their_evidence)
        );
    }
    println!(
        "  groups as Maven Central publishes them: wharf {} of {n}, Syft {} of {n}",
        right.0,
        right.1,
        n = coordinates.len()
    );
    assert!(
        mislabelled.is_empty(),
        "wharf's maven.group_from names evidence the jar does not hold:\n  {}",
        mislabelled.join("\n  ")
    );
    // Every jar with pom.properties has exactly its stated group.
    for (path, gav) in &coordinates {
        let artifact = gav.split(':').nth(1).unwrap_or_default();
        if evidence_for(
            &jar_bytes(&layout.root(), path),
            gav.split(':').next().unwrap_or_default(),
            artifact,
        )
        .as_deref()
            == Some("pom.properties")
        {
            assert!(
                at(path)
                    .iter()
                    .any(|c| c["purl"]
                        .as_str()
                        .and_then(maven)
                        .is_some_and(|(g, a, _)| format!("{g}:{a}")
                            == gav.rsplit_once(':').map_or("", |x| x.0))),
                "{path}: not listed as {gav}"
            );
        }
    }
    assert!(
        right.0 >= right.1,
        "wharf names fewer groups as Maven Central does than Syft ({} < {})",
        right.0,
        right.1
    );

    // Go: wharf's modules are exactly what the binaries' build info lists,
    // and Syft finds none wharf misses.
    let our_keys: BTreeSet<Key> = ours.keys().cloned().collect();
    let their_keys: BTreeSet<Key> = theirs.keys().cloned().collect();
    let (our_go, their_go) = (of_type(&our_keys, "golang"), of_type(&their_keys, "golang"));
    let missed: Vec<&Key> = their_go.difference(&our_go).collect();
    println!(
        "  golang: wharf {}, Syft {}; maven: wharf {} jars ({} artifacts), Syft {} artifacts",
        our_go.len(),
        their_go.len(),
        maven_ours.len(),
        our_pairs.len(),
        their_pairs.len()
    );
    assert!(
        missed.is_empty(),
        "Syft lists Go modules wharf does not: {missed:?}"
    );
    if let Some(truth) = go_build_info(&layout.root(), &BTreeSet::new()) {
        assert_eq!(
            our_go,
            truth,
            "wharf's Go modules are not the binaries': missing {:?}, extra {:?}",
            truth.difference(&our_go).collect::<Vec<_>>(),
            our_go.difference(&truth).collect::<Vec<_>>()
        );
    }
    // Sanity: the comparison compared something.
    assert!(our_go.len() > 250, "only {} Go modules", our_go.len());
}
