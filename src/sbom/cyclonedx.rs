//! CycloneDX 1.6 JSON: the image as `metadata.component`, the OS and every
//! package as components, and a dependency graph whose every reference
//! names a component of this document.

use serde_json::{json, Map, Value};

use super::bom::{self, Entry, TOOL_VERSION};
use super::license::{self, License};
use super::model::{Distro, Ecosystem, Inventory, Subject};
use super::purl;

/// Renders the CycloneDX document. `created` is an RFC 3339 timestamp and
/// `serial` a `urn:uuid:` URN, both chosen by the caller (which honours
/// `SOURCE_DATE_EPOCH`); the same arguments give the same bytes.
pub fn cyclonedx(subject: &Subject, inv: &Inventory, created: &str, serial: &str) -> String {
    let image_ref = purl::image(subject);
    let os_ref = inv.distro.as_ref().map(os_reference);
    let mut reserved = vec![image_ref.as_str()];
    reserved.extend(os_ref.as_deref());
    let entries = bom::entries(inv, &reserved);

    let mut components = Vec::new();
    if let (Some(distro), Some(reference)) = (&inv.distro, &os_ref) {
        components.push(os_component(distro, reference));
    }
    components.extend(entries.iter().map(|e| component(subject, e)));

    let mut image_depends: Vec<&str> = os_ref.iter().map(String::as_str).collect();
    image_depends.extend(entries.iter().map(|e| e.reference.as_str()));
    image_depends.sort_unstable();
    let mut dependencies = vec![json!({"ref": image_ref, "dependsOn": image_depends})];
    for entry in entries.iter().filter(|e| !e.depends_on.is_empty()) {
        let mut refs: Vec<&str> = entry
            .depends_on
            .iter()
            .map(|&i| entries[i].reference.as_str())
            .collect();
        refs.sort_unstable();
        refs.dedup();
        dependencies.push(json!({"ref": entry.reference, "dependsOn": refs}));
    }

    let mut image_properties = vec![property("wharf:image:platform", &subject.platform)];
    if subject.manifest_digest != subject.digest {
        image_properties.push(property(
            "wharf:image:manifest_digest",
            &subject.manifest_digest,
        ));
    }
    if let Some(tag) = &subject.tag {
        image_properties.push(property("wharf:image:tag", tag));
    }
    for (i, layer) in subject.layers.iter().enumerate() {
        image_properties.push(property(&format!("wharf:image:layer:{i}"), layer));
    }

    let doc = json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": serial,
        "version": 1,
        "metadata": {
            "timestamp": bom::timestamp(created),
            "tools": {
                "components": [{
                    "type": "application",
                    "name": "wharf",
                    "version": TOOL_VERSION,
                }],
            },
            "component": {
                "type": "container",
                "bom-ref": image_ref,
                "name": subject.name,
                "version": subject.digest,
                "purl": image_ref,
                "properties": image_properties,
            },
        },
        "components": components,
        "dependencies": dependencies,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

fn os_reference(distro: &Distro) -> String {
    match distro.version_id.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => format!("os:{}@{v}", distro.id),
        None => format!("os:{}", distro.id),
    }
}

fn os_component(distro: &Distro, reference: &str) -> Value {
    let mut c = Map::new();
    c.insert("type".into(), json!("operating-system"));
    c.insert("bom-ref".into(), json!(reference));
    c.insert("name".into(), json!(distro.id));
    if let Some(v) = distro.version_id.as_deref().filter(|v| !v.is_empty()) {
        c.insert("version".into(), json!(v));
    }
    if let Some(pretty) = &distro.pretty_name {
        c.insert("description".into(), json!(pretty));
    }
    let mut properties = Vec::new();
    if let Some(codename) = &distro.codename {
        properties.push(property("wharf:distro:codename", codename));
    }
    if !distro.id_like.is_empty() {
        properties.push(property("wharf:distro:id_like", &distro.id_like.join(" ")));
    }
    if !properties.is_empty() {
        c.insert("properties".into(), Value::Array(properties));
    }
    Value::Object(c)
}

fn component(subject: &Subject, entry: &Entry<'_>) -> Value {
    let p = entry.package;
    let mut c = Map::new();
    c.insert("type".into(), json!("library"));
    c.insert("bom-ref".into(), json!(entry.reference));
    // Group and name as the ecosystem splits them; purl has the rest.
    let group = match p.ecosystem {
        Ecosystem::Maven => p.namespace.clone(),
        Ecosystem::Npm => p
            .namespace
            .as_deref()
            .map(|s| format!("@{}", s.trim_start_matches('@'))),
        _ => None,
    };
    if let Some(group) = group.filter(|g| !g.is_empty()) {
        c.insert("group".into(), json!(group));
    }
    c.insert("name".into(), json!(p.name));
    if !p.version.is_empty() {
        c.insert("version".into(), json!(p.version));
    }
    if let Some(purl) = &entry.purl {
        c.insert("purl".into(), json!(purl));
    }
    if let Some(licenses) = licenses(&p.licenses) {
        c.insert("licenses".into(), licenses);
    }

    let mut properties = vec![
        property("wharf:package:found_at", &p.found_at),
        property("wharf:package:layer_index", &p.layer.to_string()),
    ];
    if let Some(digest) = bom::layer_digest(subject, p.layer) {
        properties.push(property("wharf:package:layer_digest", digest));
    }
    if let Some(source) = &p.source_name {
        properties.push(property("wharf:package:source_name", source));
    }
    if let Some(version) = &p.source_version {
        properties.push(property("wharf:package:source_version", version));
    }
    for (key, value) in &p.properties {
        properties.push(property(&format!("wharf:package:{key}"), value));
    }
    properties.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    c.insert("properties".into(), Value::Array(properties));
    Value::Object(c)
}

fn property(name: &str, value: &str) -> Value {
    json!({"name": name, "value": value})
}

/// The schema allows either license objects (each an SPDX `id` from its
/// enum, or a free `name`) or exactly one `expression`, never a mix. All
/// valid with a compound among them → one expression; otherwise one
/// object per license, ids where they are ids.
fn licenses(declared: &[String]) -> Option<Value> {
    let mut unique: Vec<&String> = Vec::new();
    for l in declared.iter().filter(|l| !l.trim().is_empty()) {
        if !unique.contains(&l) {
            unique.push(l);
        }
    }
    if unique.is_empty() {
        return None;
    }
    let classified: Vec<License> = unique.iter().map(|l| license::classify(l)).collect();
    let any_compound = classified
        .iter()
        .any(|l| matches!(l, License::Expression(_)));
    if any_compound {
        let owned: Vec<String> = unique.iter().map(|s| s.to_string()).collect();
        if let Some(expression) = license::combined_expression(&owned) {
            return Some(json!([{"expression": expression}]));
        }
    }
    let mut objects: Vec<Value> = Vec::new();
    for l in classified {
        let object = match l {
            License::Id(id) => json!({"license": {"id": id}}),
            License::Expression(e) | License::Name(e) => json!({"license": {"name": e}}),
        };
        if !objects.contains(&object) {
            objects.push(object);
        }
    }
    Some(Value::Array(objects))
}
