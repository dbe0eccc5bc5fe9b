//! SPDX 2.3 JSON: the image as the described package, the OS and every
//! package beside it, `CONTAINS` from the image, `DEPENDS_ON` between
//! packages, purls as `PACKAGE-MANAGER` external references.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::bom::{self, Entry, TOOL_VERSION};
use super::license;
use super::model::{Inventory, Subject};
use super::purl;

const NOASSERTION: &str = "NOASSERTION";
const IMAGE_ID: &str = "SPDXRef-Image";
const OS_ID: &str = "SPDXRef-OperatingSystem";
/// The SPDX License List version the license table follows.
const LICENSE_LIST_VERSION: &str = "3.28";

/// Renders the SPDX document. `created` is an RFC 3339 timestamp (printed
/// in UTC, whole seconds, as SPDX requires). `namespace_seed` ends the
/// `documentNamespace`, which otherwise derives from the image name and
/// digest: pass the run's UUID for a namespace unique per document, as
/// SPDX asks, or a fixed string for reproducible output. Same arguments,
/// same bytes.
pub fn spdx(subject: &Subject, inv: &Inventory, created: &str, namespace_seed: &str) -> String {
    let entries = bom::entries(inv, &[]);
    let ids = spdx_ids(&entries);
    let image_purl = purl::image(subject);

    let mut image = Map::new();
    image.insert("SPDXID".into(), json!(IMAGE_ID));
    image.insert("name".into(), json!(subject.name));
    image.insert("versionInfo".into(), json!(subject.digest));
    image.insert("primaryPackagePurpose".into(), json!("CONTAINER"));
    if let Some(hex) = subject.digest.strip_prefix("sha256:") {
        if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            image.insert(
                "checksums".into(),
                json!([{"algorithm": "SHA256", "checksumValue": hex.to_ascii_lowercase()}]),
            );
        }
    }
    image.insert("externalRefs".into(), json!([purl_ref(&image_purl)]));
    unasserted(&mut image);
    let mut packages = vec![Value::Object(image)];

    let mut relationships = vec![relationship("SPDXRef-DOCUMENT", "DESCRIBES", IMAGE_ID)];

    if let Some(distro) = &inv.distro {
        let mut os = Map::new();
        os.insert("SPDXID".into(), json!(OS_ID));
        os.insert("name".into(), json!(distro.id));
        if let Some(v) = distro.version_id.as_deref().filter(|v| !v.is_empty()) {
            os.insert("versionInfo".into(), json!(v));
        }
        if let Some(pretty) = &distro.pretty_name {
            os.insert("description".into(), json!(pretty));
        }
        os.insert("primaryPackagePurpose".into(), json!("OPERATING-SYSTEM"));
        unasserted(&mut os);
        packages.push(Value::Object(os));
        relationships.push(relationship(IMAGE_ID, "CONTAINS", OS_ID));
    }

    for (entry, id) in entries.iter().zip(&ids) {
        packages.push(package(subject, entry, id));
        relationships.push(relationship(IMAGE_ID, "CONTAINS", id));
    }
    for (entry, id) in entries.iter().zip(&ids) {
        for &dep in &entry.depends_on {
            relationships.push(relationship(id, "DEPENDS_ON", &ids[dep]));
        }
    }

    let doc = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": format!("{}@{}", subject.name, subject.digest),
        "documentNamespace": namespace(subject, namespace_seed),
        "creationInfo": {
            "created": bom::timestamp(created),
            "creators": [format!("Tool: wharf-{TOOL_VERSION}")],
            "licenseListVersion": LICENSE_LIST_VERSION,
        },
        "packages": packages,
        "relationships": relationships,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

/// `https://wharf.dev/spdx/<name>@<alg>-<hex>[/<seed>]`, every part
/// reduced to URI-safe characters.
fn namespace(subject: &Subject, seed: &str) -> String {
    let mut out = format!(
        "https://wharf.dev/spdx/{}@{}",
        uri_safe(subject.name.trim_start_matches("oci:")),
        uri_safe(&subject.digest.replace(':', "-"))
    );
    let seed = seed.trim_start_matches("urn:uuid:");
    if !seed.is_empty() {
        out.push('/');
        out.push_str(&uri_safe(seed));
    }
    out
}

fn uri_safe(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '~' | '/') {
                c
            } else {
                '-'
            }
        })
        .collect();
    cleaned.trim_matches('/').to_string()
}

/// `SPDXRef-Package-<ecosystem>-<name>-<version>`, reduced to the allowed
/// characters (`[A-Za-z0-9.-]`), numbered when two reduce alike.
fn spdx_ids(entries: &[Entry<'_>]) -> Vec<String> {
    let mut taken: BTreeSet<String> = [IMAGE_ID, OS_ID].iter().map(|s| s.to_string()).collect();
    entries
        .iter()
        .map(|e| {
            let p = e.package;
            let ecosystem = serde_json::to_value(p.ecosystem)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let base = format!(
                "SPDXRef-Package-{}-{}-{}",
                id_safe(&ecosystem),
                id_safe(&p.name),
                id_safe(&p.version)
            );
            let mut id = base.clone();
            let mut n = 1;
            while taken.contains(&id) {
                n += 1;
                id = format!("{base}-{n}");
            }
            taken.insert(id.clone());
            id
        })
        .collect()
}

fn id_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn package(subject: &Subject, entry: &Entry<'_>, id: &str) -> Value {
    let p = entry.package;
    let mut m = Map::new();
    m.insert("SPDXID".into(), json!(id));
    m.insert("name".into(), json!(p.name));
    if !p.version.is_empty() {
        m.insert("versionInfo".into(), json!(p.version));
    }
    if let Some(purl) = &entry.purl {
        m.insert("externalRefs".into(), json!([purl_ref(purl)]));
    }
    let layer = match bom::layer_digest(subject, p.layer) {
        Some(digest) => format!("layer {} ({digest})", p.layer),
        None => format!("layer {}", p.layer),
    };
    m.insert(
        "sourceInfo".into(),
        json!(format!(
            "acquired package info from {} in {layer}",
            p.found_at
        )),
    );
    unasserted(&mut m);
    // Only a valid SPDX expression of listed identifiers may be declared;
    // anything else stays NOASSERTION and is kept, as written, in a comment.
    let declared: Vec<&str> = p
        .licenses
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    match license::combined_expression(&p.licenses) {
        Some(expression) => {
            m.insert("licenseDeclared".into(), json!(expression));
        }
        None if !declared.is_empty() => {
            m.insert(
                "licenseComments".into(),
                json!(format!("declared as: {}", declared.join("; "))),
            );
        }
        None => {}
    }
    Value::Object(m)
}

/// The fields SPDX requires that wharf cannot assert.
fn unasserted(m: &mut Map<String, Value>) {
    m.insert("downloadLocation".into(), json!(NOASSERTION));
    m.insert("filesAnalyzed".into(), json!(false));
    m.insert("licenseConcluded".into(), json!(NOASSERTION));
    m.entry("licenseDeclared")
        .or_insert_with(|| json!(NOASSERTION));
    m.insert("copyrightText".into(), json!(NOASSERTION));
    m.insert("supplier".into(), json!(NOASSERTION));
}

fn purl_ref(purl: &str) -> Value {
    json!({
        "referenceCategory": "PACKAGE-MANAGER",
        "referenceType": "purl",
        "referenceLocator": purl,
    })
}

fn relationship(from: &str, kind: &str, to: &str) -> Value {
    json!({
        "spdxElementId": from,
        "relationshipType": kind,
        "relatedSpdxElement": to,
    })
}
