//! The catalogers: what is installed in an image, found the way Syft and
//! Trivy find it.
//!
//! They work in two steps because the layer reader streams each layer once
//! and must not keep what nobody needs. While streaming, [`wants`] says which
//! files to read and [`extract`] what to keep of each: the bytes of small
//! package databases and metadata files, or — for jars and executables —
//! the packages parsed on the spot, so the archive itself is dropped. Once
//! the layers are squashed, [`catalog`] reads what was kept through
//! [`Files`] and returns the [`Inventory`].
//!
//! OS packages come from dpkg, apk and rpm databases; language packages
//! from Python, npm and Java metadata and from binaries. A language package
//! whose metadata an OS package owns (Debian's `python3-yaml` owns
//! `PyYAML-6.0.dist-info`) is the OS package: it is listed once, as the OS
//! package. `depends_on` names only packages of the same ecosystem that
//! were found (through `Provides` where the database has them).

mod apk;
mod dpkg;
mod java;
mod npm;
mod os;
mod python;
mod rfc822;
mod rpm;

use std::borrow::Cow;
use std::collections::HashSet;

use super::files::{Extracted, Files, Found};
use super::model::{Ecosystem, Inventory, Package};
use crate::image::{Contents, FileMeta};

/// Whether any cataloger needs this file's contents. Cheap: looks at the
/// path (and, for executables, the mode) only.
pub fn wants(file: &FileMeta) -> bool {
    let path = file.path;
    os::wants(path)
        || dpkg::wants(path)
        || apk::wants(path)
        || rpm::wants(path)
        || python::wants(path)
        || npm::wants(path)
        || java::wants(path)
        || crate::sbom::binary::wants(file)
}

/// What to keep of a file [`wants`] chose: `None` when it holds nothing.
/// Archives and binaries are read by offset, so a large one (which the
/// layer reader holds in a temporary file) costs what is read of it.
pub fn extract(file: &FileMeta, contents: &mut Contents) -> Option<Extracted> {
    let path = file.path;
    if java::wants(path) {
        let packages = java::packages(path, file.layer, contents);
        return (!packages.is_empty()).then_some(Extracted::Packages(packages));
    }
    if rpm::is_unread_database(path) {
        // Only named in a note: keep the magic that tells which kind it is.
        return contents.head(rpm::MAGIC_LEN).ok().map(Extracted::Bytes);
    }
    if os::wants(path)
        || dpkg::wants(path)
        || apk::wants(path)
        || rpm::wants(path)
        || python::wants(path)
        || npm::wants(path)
    {
        return contents.to_vec().ok().map(Extracted::Bytes);
    }
    if crate::sbom::binary::wants(file) {
        let len = contents.len();
        return crate::sbom::binary::extract(file, contents, len)
            .filter(|packages| !packages.is_empty())
            .map(Extracted::Packages);
    }
    None
}

/// Everything the catalogers find in the squashed view `files`.
pub fn catalog(files: &dyn Files) -> Inventory {
    let collected = files.collected();
    let mut notes = Vec::new();

    let mut os_packages = dpkg::catalog(files, &collected);
    os_packages.extend(apk::catalog(files));
    os_packages.extend(rpm::catalog(files, &mut notes));

    let mut language = Vec::new();
    let mut python = Vec::new();
    for found in &collected {
        match found.data {
            Extracted::Packages(packages) => language.extend(packages.iter().cloned()),
            Extracted::Bytes(_) if python::is_metadata(found.path) => {
                python.extend(python::package(files, found));
            }
            Extracted::Bytes(_) if npm::wants(found.path) => language.extend(npm::package(found)),
            Extracted::Bytes(_) => {}
        }
    }
    python::resolve_depends(&mut python);
    language.extend(python);

    let owned = owned_by_os(files, &os_packages);
    language.retain(|package| !counted_by_os(package, &owned));

    let mut packages = os_packages;
    packages.extend(language);
    packages.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
    let distro = os::detect(files);
    // The writers leave out a purl the builder refuses; say which and why.
    for p in &packages {
        if let Err(invalid) = super::purl::package(p, distro.as_ref()) {
            notes.push(format!(
                "{}: {}@{} is listed without a purl ({invalid}); this is a bug in wharf's \
                 cataloger, please report it",
                p.found_at,
                p.full_name(),
                p.version
            ));
        }
    }
    notes.sort();
    notes.dedup();

    Inventory {
        distro,
        packages,
        notes,
    }
}

type SortKey<'a> = (
    Ecosystem,
    &'a str,
    &'a str,
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
);

fn sort_key(p: &Package) -> SortKey<'_> {
    (
        p.ecosystem,
        &p.name,
        &p.version,
        &p.found_at,
        p.namespace.as_deref(),
        p.arch.as_deref(),
    )
}

/// Every path an OS package owns, plus — when the image reaches it through
/// a symlink (`/lib` → `/usr/lib` on merged-usr systems) — the path of the
/// file itself, which is what `found_at` holds.
fn owned_by_os(files: &dyn Files, os_packages: &[Package]) -> HashSet<String> {
    let mut owned = HashSet::new();
    for path in os_packages.iter().flat_map(|p| &p.owned_files) {
        if let Some(found) = files.get(path) {
            if found.path != path {
                owned.insert(found.path.to_string());
            }
        }
        owned.insert(path.clone());
    }
    owned
}

/// Whether an OS package already accounts for this language package: it
/// owns the file the package was found through (the outer archive for a
/// nested jar), or the metadata directory / package directory holding it.
fn counted_by_os(package: &Package, owned: &HashSet<String>) -> bool {
    if owned.is_empty() {
        return false;
    }
    let file = package
        .found_at
        .split_once("!/")
        .map_or(package.found_at.as_str(), |(outer, _)| outer);
    if owned.contains(file) {
        return true;
    }
    let Some((dir, _)) = file.rsplit_once('/') else {
        return false;
    };
    let holds_package = match package.ecosystem {
        Ecosystem::PyPI => python::is_metadata_dir(dir),
        Ecosystem::Npm => true,
        _ => false,
    };
    holds_package && owned.contains(dir)
}

/// The text of a kept file (lossy: databases are UTF-8 in practice, and a
/// stray byte must not cost the whole file).
fn text<'a>(found: &Found<'a>) -> Option<Cow<'a, str>> {
    match found.data {
        Extracted::Bytes(bytes) => Some(String::from_utf8_lossy(bytes)),
        Extracted::Packages(_) => None,
    }
}

/// The parent directory of an absolute path (`/` for a top-level file).
fn parent(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some(("", _)) | None => "/",
        Some((dir, _)) => dir,
    }
}

#[cfg(test)]
mod tests;
