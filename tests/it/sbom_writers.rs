//! The SBOM writers against their peers: cyclonedx-python-lib's strict
//! CycloneDX 1.6 schema validation and `pyspdxtools`, on an inventory with
//! every ecosystem and the awkward cases (epochs, `+` in versions, odd
//! PyPI names, npm scopes, the same package in two places, licenses that
//! are ids, expressions and neither, dependencies that resolve to nothing).
//! Plus our own checks: unique references, no dangling ones, same bytes
//! for the same inventory in any order.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use wharf::sbom::model::{Distro, Ecosystem, Inventory, Package, Subject};
use wharf::sbom::{cyclonedx, spdx};

const CREATED: &str = "2024-06-01T12:34:56.789+02:00";
const SERIAL: &str = "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79";

fn subject() -> Subject {
    Subject {
        name: "registry.example.com:5000/team/app".into(),
        tag: Some("1.0".into()),
        digest: format!("sha256:{}", "ab".repeat(32)),
        manifest_digest: format!("sha256:{}", "cd".repeat(32)),
        platform: "linux/amd64".into(),
        layers: vec![
            format!("sha256:{}", "01".repeat(32)),
            format!("sha256:{}", "02".repeat(32)),
        ],
    }
}

fn pkg(eco: Ecosystem, name: &str, version: &str, found_at: &str) -> Package {
    Package::new(eco, name, version, found_at, 0)
}

fn inventory() -> Inventory {
    let status = "/var/lib/dpkg/status";
    let mut packages = Vec::new();

    let mut bash = pkg(Ecosystem::Deb, "bash", "5.2.15-2+b8", status);
    bash.arch = Some("amd64".into());
    bash.source_name = Some("bash".into());
    bash.source_version = Some("5.2.15-2".into());
    bash.licenses = vec!["GPL-3.0-or-later".into(), "GPL-3.0-or-later".into()];
    bash.depends_on = vec![
        "base-files (>= 2.1.12)".into(),
        "libc6 (>= 2.36)".into(),
        "libtinfo6:any".into(),
        "not-installed".into(),
    ];
    packages.push(bash);
    let mut libc = pkg(Ecosystem::Deb, "libc6", "2.36-9+deb12u7", status);
    libc.arch = Some("amd64".into());
    libc.source_name = Some("glibc".into());
    libc.licenses = vec!["LGPL-2.1".into(), "GPL-2+".into()];
    packages.push(libc);
    let mut attr = pkg(Ecosystem::Deb, "attr", "1:2.5.1-4", status);
    attr.arch = Some("amd64".into());
    attr.licenses = vec!["BSD-3-clause".into(), "Artistic".into()];
    packages.push(attr);
    let mut tinfo = pkg(Ecosystem::Deb, "libtinfo6", "6.4-4", status);
    tinfo.arch = Some("amd64".into());
    tinfo.layer = 1;
    packages.push(tinfo);
    let mut base = pkg(Ecosystem::Deb, "base-files", "12.4+deb12u6", status);
    base.arch = Some("amd64".into());
    packages.push(base);

    let mut musl = pkg(Ecosystem::Apk, "musl", "1.2.5-r0", "/lib/apk/db/installed");
    musl.arch = Some("x86_64".into());
    musl.licenses = vec!["MIT".into()];
    packages.push(musl);
    let mut nm = pkg(
        Ecosystem::Rpm,
        "NetworkManager",
        "1.46.0-8.el9",
        "/var/lib/rpm/rpmdb.sqlite",
    );
    nm.arch = Some("x86_64".into());
    nm.epoch = Some(1);
    nm.licenses = vec!["GPLv2+ and LGPLv2+".into()];
    packages.push(nm);

    let site = "/usr/lib/python3/dist-packages";
    let mut zope = pkg(
        Ecosystem::PyPI,
        "Zope.Interface",
        "6.4",
        &format!("{site}/zope.interface-6.4.dist-info/METADATA"),
    );
    zope.licenses = vec!["ZPL-2.1".into()];
    packages.push(zope);
    let mut te = pkg(
        Ecosystem::PyPI,
        "typing_extensions",
        "4.12.2",
        &format!("{site}/typing_extensions-4.12.2.dist-info/METADATA"),
    );
    te.licenses = vec!["PSF-2.0".into()];
    packages.push(te);
    let mut req = pkg(
        Ecosystem::PyPI,
        "requests",
        "2.32.3",
        &format!("{site}/requests-2.32.3.dist-info/METADATA"),
    );
    req.licenses = vec!["Apache-2.0 OR MIT".into()];
    req.depends_on = vec![
        "Typing-Extensions".into(),
        "zope.interface".into(),
        "urllib3".into(),
    ];
    packages.push(req);
    let mut cafe = pkg(
        Ecosystem::PyPI,
        "café_Lib",
        "",
        &format!("{site}/café_lib.dist-info/METADATA"),
    );
    cafe.licenses = vec!["(MIT".into()];
    packages.push(cafe);

    for root in [
        "/app/node_modules",
        "/usr/lib/node_modules/npm/node_modules",
    ] {
        let mut core = pkg(
            Ecosystem::Npm,
            "core",
            "7.24.0",
            &format!("{root}/@babel/core/package.json"),
        );
        core.namespace = Some("babel".into());
        core.licenses = vec!["MIT".into()];
        core.depends_on = vec!["@babel/types".into(), "semver".into()];
        core.layer = 1;
        packages.push(core);
        let mut types = pkg(
            Ecosystem::Npm,
            "types",
            "7.24.0",
            &format!("{root}/@babel/types/package.json"),
        );
        types.namespace = Some("babel".into());
        types.layer = 1;
        packages.push(types);
    }
    let mut odd = pkg(
        Ecosystem::Npm,
        "odd",
        "1.0.0-beta+exp.sha.5114f85",
        "/app/node_modules/odd/package.json",
    );
    odd.licenses = vec!["LicenseRef-Proprietary".into(), "Public Domain".into()];
    packages.push(odd);

    let bin = "/usr/local/bin/tool";
    let mut app = pkg(Ecosystem::Cargo, "tool", "0.1.0", bin);
    app.depends_on = vec!["serde@1.0.200".into(), "syn@2.0.60".into()];
    app.licenses = vec![
        "MIT OR Apache-2.0".into(),
        "GPL-2.0-or-later WITH Classpath-exception-2.0".into(),
    ];
    packages.push(app);
    packages.push(pkg(Ecosystem::Cargo, "serde", "1.0.200", bin));
    packages.push(pkg(Ecosystem::Cargo, "syn", "1.0.109", bin));
    packages.push(pkg(Ecosystem::Cargo, "syn", "2.0.60", bin));

    let gobin = "/usr/bin/registry";
    let mut main = pkg(
        Ecosystem::Golang,
        "github.com/distribution/distribution/v3",
        "(devel)",
        gobin,
    );
    main.depends_on = vec![
        "github.com/BurntSushi/toml@v1.3.2".into(),
        "stdlib@1.22.5".into(),
    ];
    main.properties
        .insert("go.version".into(), "go1.22.5".into());
    packages.push(main);
    packages.push(pkg(
        Ecosystem::Golang,
        "github.com/BurntSushi/toml",
        "v1.3.2",
        gobin,
    ));
    packages.push(pkg(Ecosystem::Golang, "stdlib", "1.22.5", gobin));

    let mut jackson = pkg(
        Ecosystem::Maven,
        "jackson-databind",
        "2.17.0",
        "/app/lib/app.jar",
    );
    jackson.namespace = Some("com.fasterxml.jackson.core".into());
    jackson.licenses = vec!["Apache-2.0".into()];
    packages.push(jackson);

    Inventory {
        distro: Some(Distro {
            id: "debian".into(),
            version_id: Some("12".into()),
            codename: Some("bookworm".into()),
            pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()),
            id_like: vec![],
        }),
        packages,
        notes: vec![],
    }
}

pub(crate) use crate::common::python_with;

pub(crate) const CYCLONEDX_CHECK: &str = "import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read())
if errors:
    print(errors)
    sys.exit(1)
";

pub(crate) const SPDX_CHECK: &str = "import sys
from spdx_tools.spdx.clitools.pyspdxtools import main
sys.argv = ['pyspdxtools', '-i', sys.argv[1]]
main()
";

/// Runs a peer check script on `path`; its output when it fails.
pub(crate) fn peer_check(python: &Path, script: &str, path: &Path) -> Result<(), String> {
    let out = Command::new(python)
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("run python");
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() && !output.contains("invalid") {
        Ok(())
    } else {
        Err(output)
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write document");
    path
}

fn references(doc: &Value) -> Vec<String> {
    let mut refs = vec![doc["metadata"]["component"]["bom-ref"]
        .as_str()
        .expect("image bom-ref")
        .to_string()];
    for c in doc["components"].as_array().expect("components") {
        refs.push(c["bom-ref"].as_str().expect("bom-ref").to_string());
    }
    refs
}

fn component<'a>(doc: &'a Value, purl: &str) -> &'a Value {
    doc["components"]
        .as_array()
        .expect("components")
        .iter()
        .find(|c| c["purl"] == purl)
        .unwrap_or_else(|| panic!("no component {purl}"))
}

fn depends_on<'a>(doc: &'a Value, reference: &str) -> Vec<&'a str> {
    doc["dependencies"]
        .as_array()
        .expect("dependencies")
        .iter()
        .find(|d| d["ref"] == reference)
        .map(|d| {
            d["dependsOn"]
                .as_array()
                .expect("dependsOn")
                .iter()
                .map(|r| r.as_str().expect("ref"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn cyclonedx_references_are_unique_and_none_dangles() {
    let text = cyclonedx(&subject(), &inventory(), CREATED, SERIAL);
    let doc: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(doc["specVersion"], "1.6");
    assert_eq!(doc["serialNumber"], SERIAL);
    assert_eq!(doc["metadata"]["timestamp"], "2024-06-01T10:34:56Z");
    let image = &doc["metadata"]["component"];
    assert_eq!(image["type"], "container");
    assert_eq!(image["version"], subject().digest);
    assert_eq!(
        image["purl"],
        format!(
            "pkg:oci/app@sha256:{}?repository_url=registry.example.com:5000%2Fteam%2Fapp&tag=1.0",
            "ab".repeat(32)
        )
    );

    let refs = references(&doc);
    let unique: BTreeSet<&String> = refs.iter().collect();
    assert_eq!(unique.len(), refs.len(), "duplicate bom-ref in {refs:#?}");
    let mut seen = BTreeSet::new();
    for d in doc["dependencies"].as_array().expect("dependencies") {
        let r = d["ref"].as_str().expect("ref");
        assert!(seen.insert(r), "two dependency entries for {r}");
        assert!(unique.contains(&r.to_string()), "dangling ref {r}");
        for on in d["dependsOn"].as_array().expect("dependsOn") {
            assert!(
                unique.contains(&on.as_str().expect("ref").to_string()),
                "dangling dependsOn {on}"
            );
        }
    }
    // The image depends on every component.
    assert_eq!(
        depends_on(&doc, image["bom-ref"].as_str().expect("ref")).len(),
        refs.len() - 1
    );

    // Purls, including the spec's unencoded epoch colon.
    let bash = component(
        &doc,
        "pkg:deb/debian/bash@5.2.15-2%2Bb8?arch=amd64&distro=debian-12",
    );
    component(
        &doc,
        "pkg:deb/debian/attr@1:2.5.1-4?arch=amd64&distro=debian-12",
    );
    component(&doc, "pkg:pypi/zope-interface@6.4");
    component(&doc, "pkg:golang/github.com/BurntSushi/toml@v1.3.2");
    component(
        &doc,
        "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.17.0",
    );
    component(
        &doc,
        "pkg:rpm/debian/NetworkManager@1.46.0-8.el9?arch=x86_64&distro=debian-12&epoch=1",
    );
    component(&doc, "pkg:npm/odd@1.0.0-beta%2Bexp.sha.5114f85");
    component(&doc, "pkg:pypi/caf%C3%A9-lib");

    // Dependencies resolve by name within the ecosystem; unknown names drop.
    let bash_ref = bash["bom-ref"].as_str().expect("ref");
    assert_eq!(
        depends_on(&doc, bash_ref),
        [
            "pkg:deb/debian/base-files@12.4%2Bdeb12u6?arch=amd64&distro=debian-12",
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u7?arch=amd64&distro=debian-12",
            "pkg:deb/debian/libtinfo6@6.4-4?arch=amd64&distro=debian-12",
        ]
    );
    // Pinned versions pick the right one of two `syn`s.
    assert_eq!(
        depends_on(&doc, "pkg:cargo/tool@0.1.0"),
        ["pkg:cargo/serde@1.0.200", "pkg:cargo/syn@2.0.60"]
    );
    // The same npm package in two places: two components, each depending
    // on the copy beside it.
    let cores: Vec<&Value> = doc["components"]
        .as_array()
        .expect("components")
        .iter()
        .filter(|c| c["purl"] == "pkg:npm/%40babel/core@7.24.0")
        .collect();
    assert_eq!(cores.len(), 2);
    for core in cores {
        let found_at = core["properties"]
            .as_array()
            .expect("properties")
            .iter()
            .find(|p| p["name"] == "wharf:package:found_at")
            .expect("found_at")["value"]
            .as_str()
            .expect("value")
            .to_string();
        let deps = depends_on(&doc, core["bom-ref"].as_str().expect("ref"));
        assert_eq!(deps.len(), 1);
        let root = found_at.trim_end_matches("/@babel/core/package.json");
        assert_eq!(
            deps[0],
            format!("pkg:npm/%40babel/types@7.24.0|{root}/@babel/types/package.json")
        );
        assert_eq!(core["group"], "@babel");
    }

    // Licenses: ids, one expression, or names — never a mix.
    assert_eq!(
        bash["licenses"],
        serde_json::json!([{"license": {"id": "GPL-3.0-or-later"}}])
    );
    assert_eq!(
        component(
            &doc,
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u7?arch=amd64&distro=debian-12"
        )["licenses"],
        serde_json::json!([{"license": {"id": "LGPL-2.1"}}, {"license": {"name": "GPL-2+"}}])
    );
    assert_eq!(
        component(&doc, "pkg:cargo/tool@0.1.0")["licenses"],
        serde_json::json!([{"expression": "(MIT OR Apache-2.0) AND (GPL-2.0-or-later WITH Classpath-exception-2.0)"}])
    );
}

#[test]
fn same_inventory_in_any_order_prints_the_same_bytes() {
    let inv = inventory();
    let mut reversed = inv.clone();
    reversed.packages.reverse();
    let mut rotated = inv.clone();
    rotated.packages.rotate_left(7);
    let c = cyclonedx(&subject(), &inv, CREATED, SERIAL);
    let s = spdx(&subject(), &inv, CREATED, "seed");
    for other in [&inv, &reversed, &rotated] {
        assert_eq!(cyclonedx(&subject(), other, CREATED, SERIAL), c);
        assert_eq!(spdx(&subject(), other, CREATED, "seed"), s);
    }
}

#[test]
fn spdx_ids_are_valid_unique_and_every_relationship_resolves() {
    let text = spdx(&subject(), &inventory(), CREATED, SERIAL);
    let doc: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    assert_eq!(doc["creationInfo"]["created"], "2024-06-01T10:34:56Z");
    assert_eq!(
        doc["documentNamespace"],
        format!(
            "https://wharf.dev/spdx/registry.example.com-5000/team/app@sha256-{}/3e671687-395b-41f5-a30f-a58921a69b79",
            "ab".repeat(32)
        )
    );
    let mut ids = BTreeSet::new();
    for p in doc["packages"].as_array().expect("packages") {
        let id = p["SPDXID"].as_str().expect("SPDXID");
        assert!(
            id.strip_prefix("SPDXRef-")
                .is_some_and(|rest| !rest.is_empty()
                    && rest
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')),
            "bad SPDXID {id}"
        );
        assert!(ids.insert(id), "duplicate SPDXID {id}");
    }
    ids.insert("SPDXRef-DOCUMENT");
    let relationships = doc["relationships"].as_array().expect("relationships");
    for r in relationships {
        for side in ["spdxElementId", "relatedSpdxElement"] {
            assert!(ids.contains(r[side].as_str().expect("id")), "dangling {r}");
        }
    }
    let count = |kind: &str| {
        relationships
            .iter()
            .filter(|r| r["relationshipType"] == kind)
            .count()
    };
    assert_eq!(count("DESCRIBES"), 1);
    assert_eq!(
        count("CONTAINS"),
        doc["packages"].as_array().expect("packages").len() - 1
    );
    assert!(count("DEPENDS_ON") >= 8);

    let declared = |name: &str| -> Vec<String> {
        doc["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .filter(|p| p["name"] == name)
            .map(|p| {
                p["licenseDeclared"]
                    .as_str()
                    .expect("licenseDeclared")
                    .to_string()
            })
            .collect()
    };
    assert_eq!(declared("bash"), ["GPL-3.0-or-later"]);
    assert_eq!(declared("libc6"), ["NOASSERTION"]);
    assert_eq!(declared("attr"), ["NOASSERTION"]);
    assert_eq!(declared("requests"), ["Apache-2.0 OR MIT"]);
    assert_eq!(declared("zope.interface"), Vec::<String>::new());
    assert_eq!(declared("Zope.Interface"), ["ZPL-2.1"]);
}

#[test]
fn cyclonedx_python_lib_strictly_validates_the_cyclonedx() {
    let Some(python) = python_with(
        "cyclonedx_python_lib_strictly_validates_the_cyclonedx",
        "cyclonedx.validation.json",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = Inventory::default();
    let documents = [
        cyclonedx(&subject(), &inventory(), CREATED, SERIAL),
        cyclonedx(&subject(), &empty, CREATED, SERIAL),
    ];
    for (i, text) in documents.iter().enumerate() {
        let path = write(dir.path(), &format!("bom{i}.cdx.json"), text);
        if let Err(output) = peer_check(&python, CYCLONEDX_CHECK, &path) {
            panic!(
                "CycloneDX {i} rejected:
{output}"
            );
        }
    }
}

#[test]
fn pyspdxtools_accepts_the_spdx() {
    let Some(python) = python_with(
        "pyspdxtools_accepts_the_spdx",
        "spdx_tools.spdx.clitools.pyspdxtools",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = Inventory::default();
    let documents = [
        spdx(&subject(), &inventory(), CREATED, SERIAL),
        spdx(&subject(), &empty, CREATED, ""),
    ];
    for (i, text) in documents.iter().enumerate() {
        let path = write(dir.path(), &format!("bom{i}.spdx.json"), text);
        if let Err(output) = peer_check(&python, SPDX_CHECK, &path) {
            panic!(
                "SPDX {i} rejected:
{output}"
            );
        }
    }
}

/// Real module paths and versions (`+incompatible`, pseudo-versions,
/// `(devel)`): the Go binaries on this machine, through the binary
/// cataloger and both writers, past both peers.
#[test]
fn this_machines_go_binaries_through_both_writers_and_peers() {
    let test = "this_machines_go_binaries_through_both_writers_and_peers";
    let mut packages = Vec::new();
    for path in [
        "/usr/bin/skopeo",
        "/usr/bin/umoci",
        "/usr/local/bin/docker",
        "/usr/bin/kpt",
    ] {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        let meta = wharf::image::FileMeta {
            path,
            size: bytes.len() as u64,
            mode: 0o755,
            layer: 0,
        };
        let len = bytes.len() as u64;
        packages.extend(
            wharf::sbom::binary::extract(&meta, &mut std::io::Cursor::new(bytes), len)
                .unwrap_or_default(),
        );
    }
    if packages.is_empty() {
        println!("skipping {test}: no Go binaries with build information here");
        return;
    }
    let inv = Inventory {
        packages,
        ..Inventory::default()
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let cdx = write(
        dir.path(),
        "go.cdx.json",
        &cyclonedx(&subject(), &inv, CREATED, SERIAL),
    );
    let spdx_path = write(
        dir.path(),
        "go.spdx.json",
        &spdx(&subject(), &inv, CREATED, SERIAL),
    );
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&cdx).expect("read")).expect("json");
    let refs = references(&doc);
    assert_eq!(refs.iter().collect::<BTreeSet<_>>().len(), refs.len());

    if let Some(python) = python_with(test, "cyclonedx.validation.json") {
        if let Err(output) = peer_check(&python, CYCLONEDX_CHECK, &cdx) {
            panic!("CycloneDX rejected:\n{output}");
        }
    }
    if let Some(python) = python_with(test, "spdx_tools.spdx.clitools.pyspdxtools") {
        if let Err(output) = peer_check(&python, SPDX_CHECK, &spdx_path) {
            panic!("SPDX rejected:\n{output}");
        }
    }
}
