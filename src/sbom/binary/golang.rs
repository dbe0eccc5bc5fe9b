//! Go binaries: the build information the Go linker embeds (what
//! `go version -m` prints): the Go version, the main module, and every
//! module compiled in.
//!
//! The blob starts with the 14-byte magic `\xff Go buildinf:`, 16-byte
//! aligned, then the pointer size and a flags byte. Go 1.18 and later
//! (flag 0x2) follow the 32-byte header with two varint-prefixed strings;
//! older linkers store two pointers to Go string headers, which are read
//! through the file's segments in the header's pointer size and byte order.
//!
//! Where the blob is, as Go's `debug/buildinfo` looks: the `.go.buildinfo`
//! section (ELF) or `__go_buildinfo` (Mach-O), else the start of the first
//! writable data segment or section. A file of none of those formats is
//! searched in bounded chunks (the inline format only).

use std::collections::BTreeMap;

use super::elf::Elf;
use super::read::Reader;
use super::Format;
use crate::image::FileMeta;
use crate::sbom::model::{Ecosystem, Package};

const MAGIC: &[u8; 14] = b"\xff Go buildinf:";
/// Go's own reader searches this much of the data segment.
const SEARCH_WINDOW: u64 = 64 * 1024;
/// Go refuses strings longer than this in the pointer format; so do we.
const MAX_STRING: u64 = 1 << 20;
/// How much of an unknown file is searched at a time (a multiple of 16, so
/// that an aligned magic never straddles two chunks).
const CHUNK: u64 = 1 << 20;
/// Build settings worth carrying as properties. `-ldflags` is left out: it
/// may carry `-X` values nobody meant to publish.
const KEPT_SETTINGS: &[&str] = &[
    "CGO_ENABLED",
    "GOARCH",
    "GOOS",
    "vcs",
    "vcs.modified",
    "vcs.revision",
    "vcs.time",
];

/// What the buildinfo blob holds: the Go version and the modinfo text.
#[derive(Debug, PartialEq, Eq)]
pub struct BuildInfo {
    pub go_version: String,
    pub modinfo: String,
}

/// Finds and decodes the buildinfo blob.
pub fn read(r: &mut Reader<'_>, format: Option<&Format>) -> Option<BuildInfo> {
    match format {
        Some(format) => {
            let section = match format {
                Format::MachO(_) => "__go_buildinfo",
                _ => ".go.buildinfo",
            };
            let region = format
                .section(r, section)
                .or_else(|| format.writable_data(r, SEARCH_WINDOW))?;
            let at = find_magic(&region)?;
            decode(&region[at..], Some((format, r)))
        }
        None => {
            let at = scan_for_magic(r)?;
            let blob = r.bytes_upto(at, 32 + 2 * (MAX_STRING + 10))?;
            decode(&blob, None)
        }
    }
}

/// The offset of the first 16-byte aligned magic in `region`.
fn find_magic(region: &[u8]) -> Option<usize> {
    (0..region.len())
        .step_by(16)
        .find(|&at| region[at..].starts_with(MAGIC))
}

/// The file offset of the first 16-byte aligned magic, chunk by chunk.
fn scan_for_magic(r: &mut Reader<'_>) -> Option<u64> {
    let mut offset = 0;
    while offset < r.len() {
        let chunk = r.bytes_upto(offset, CHUNK)?;
        if let Some(at) = find_magic(&chunk) {
            return Some(offset + at as u64);
        }
        offset += CHUNK;
    }
    None
}

fn decode(blob: &[u8], mut file: Option<(&Format, &mut Reader<'_>)>) -> Option<BuildInfo> {
    let header = blob.get(..32)?;
    let ptr_size = usize::from(header[14]);
    let flags = header[15];
    let (version, modinfo) = if flags & 0x2 != 0 {
        let (version, rest) = varint_string(&blob[32..])?;
        let (modinfo, _) = varint_string(rest)?;
        (version.to_vec(), modinfo.to_vec())
    } else {
        let (format, r) = file.as_mut()?;
        let big_endian = flags & 0x1 != 0;
        let version_at = Elf::uint(header.get(16..)?, ptr_size, big_endian)?;
        let modinfo_at = Elf::uint(header.get(16 + ptr_size..)?, ptr_size, big_endian)?;
        (
            go_string(format, r, version_at, ptr_size, big_endian)?,
            go_string(format, r, modinfo_at, ptr_size, big_endian)?,
        )
    };
    let go_version = String::from_utf8_lossy(&version).trim().to_string();
    if go_version.is_empty() {
        return None;
    }
    Some(BuildInfo {
        go_version,
        modinfo: strip_sentinels(&modinfo),
    })
}

/// A uvarint length followed by that many bytes.
fn varint_string(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut len: u64 = 0;
    for (i, &byte) in data.iter().enumerate().take(10) {
        len |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            let rest = &data[i + 1..];
            let len = usize::try_from(len).ok()?;
            return (len <= rest.len()).then(|| rest.split_at(len));
        }
    }
    None
}

/// A Go string header (data pointer, length) at `addr`, and its bytes.
fn go_string(
    format: &Format,
    r: &mut Reader<'_>,
    addr: u64,
    ptr_size: usize,
    big_endian: bool,
) -> Option<Vec<u8>> {
    let header = format.read_addr(r, addr, 2 * ptr_size as u64)?;
    let data = Elf::uint(&header, ptr_size, big_endian)?;
    let len = Elf::uint(header.get(ptr_size..)?, ptr_size, big_endian)?;
    if len > MAX_STRING {
        return None;
    }
    format.read_addr(r, data, len)
}

/// The linker wraps modinfo in 16 bytes of sentinel on each side; Go keeps
/// the text only when the wrapping is there.
fn strip_sentinels(modinfo: &[u8]) -> String {
    let n = modinfo.len();
    if n >= 33 && modinfo[n - 17] == b'\n' {
        String::from_utf8_lossy(&modinfo[16..n - 16]).into_owned()
    } else {
        String::new()
    }
}

/// One module line (`mod`, `dep`, or the `=>` replacing it).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Module {
    pub path: String,
    pub version: String,
    pub replace: Option<Box<Module>>,
}

/// The modinfo text, parsed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ModInfo {
    /// The main package's import path (`path` line).
    pub path: String,
    pub main: Option<Module>,
    pub deps: Vec<Module>,
    pub settings: Vec<(String, String)>,
}

/// Parses modinfo text the way `debug/buildinfo` does, leniently: unknown
/// or malformed lines are skipped rather than failing the whole binary.
pub fn parse_modinfo(text: &str) -> ModInfo {
    #[derive(PartialEq)]
    enum Last {
        None,
        Main,
        Dep,
    }
    let mut info = ModInfo::default();
    let mut last = Last::None;
    for line in text.lines() {
        let Some((key, rest)) = line.split_once('\t') else {
            continue;
        };
        let fields: Vec<&str> = rest.split('\t').collect();
        let module = || Module {
            path: fields.first().copied().unwrap_or_default().to_string(),
            version: fields.get(1).copied().unwrap_or_default().to_string(),
            replace: None,
        };
        match key {
            "path" => info.path = rest.to_string(),
            "mod" => {
                info.main = Some(module());
                last = Last::Main;
            }
            "dep" => {
                info.deps.push(module());
                last = Last::Dep;
            }
            "=>" => {
                let replacement = Some(Box::new(module()));
                match last {
                    Last::Main => {
                        if let Some(main) = info.main.as_mut() {
                            main.replace = replacement;
                        }
                    }
                    Last::Dep => {
                        if let Some(dep) = info.deps.last_mut() {
                            dep.replace = replacement;
                        }
                    }
                    Last::None => {}
                }
                last = Last::None;
            }
            "build" => {
                if let Some((k, v)) = split_setting(rest) {
                    info.settings.push((k, v));
                }
                last = Last::None;
            }
            _ => last = Last::None,
        }
    }
    info
}

/// `key=value`, either side possibly Go-quoted.
fn split_setting(kv: &str) -> Option<(String, String)> {
    let (key, value) = if let Some(quoted) = kv.strip_prefix('"') {
        let end = quoted.find("\"=")?;
        (
            unquote(&format!("\"{}\"", &quoted[..end])),
            &quoted[end + 2..],
        )
    } else {
        let (k, v) = kv.split_once('=')?;
        (k.to_string(), v)
    };
    Some((key, unquote(value)))
}

fn unquote(s: &str) -> String {
    match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => s.to_string(),
    }
}

/// `go1.22.5` → `1.22.5`; `go1.22.5 X:boringcrypto` → `1.22.5`; anything
/// else (a `devel` toolchain) as written.
pub fn stdlib_version(go_version: &str) -> String {
    let first = go_version.split_whitespace().next().unwrap_or_default();
    match first.strip_prefix("go") {
        Some(v) if v.starts_with(|c: char| c.is_ascii_digit()) => v.to_string(),
        _ => go_version.trim().to_string(),
    }
}

/// The packages of one Go binary: its main module, each dependency module
/// (a replaced module as its replacement), and the standard library.
pub fn packages(info: &BuildInfo, file: &FileMeta<'_>) -> Vec<Package> {
    let modinfo = parse_modinfo(&info.modinfo);
    let new = |name: &str, version: &str| {
        let mut p = Package::new(Ecosystem::Golang, name, version, file.path, file.layer);
        p.properties
            .insert("go.version".to_string(), info.go_version.clone());
        p
    };
    let mut out = Vec::new();
    let mut dep_refs = Vec::new();

    for dep in modinfo.deps.iter().filter(|d| !d.path.is_empty()) {
        let p = module_package(dep, &new);
        dep_refs.push(format!("{}@{}", p.name, p.version));
        out.push(p);
    }

    let stdlib = stdlib_version(&info.go_version);
    dep_refs.push(format!("stdlib@{stdlib}"));

    if let Some(main) = modinfo.main.as_ref().filter(|m| !m.path.is_empty()) {
        let mut p = module_package(main, &new);
        p.properties
            .insert("go.main_module".to_string(), "true".to_string());
        if !modinfo.path.is_empty() {
            p.properties
                .insert("go.path".to_string(), modinfo.path.clone());
        }
        let settings: BTreeMap<_, _> = modinfo.settings.iter().cloned().collect();
        for key in KEPT_SETTINGS {
            if let Some(value) = settings.get(*key) {
                p.properties
                    .insert(format!("go.build.{key}"), value.clone());
            }
        }
        p.depends_on = dep_refs;
        out.push(p);
    }

    out.push(new("stdlib", &stdlib));
    out
}

/// A module as a package. A replacement with a version is what was
/// compiled, so it names the package; a replacement by a local directory
/// (no version) keeps the original path, versioned `(devel)` like the main
/// module, because the published version is not what was built.
fn module_package(module: &Module, new: &impl Fn(&str, &str) -> Package) -> Package {
    match module.replace.as_deref() {
        Some(r) if !r.version.is_empty() && !r.path.is_empty() => {
            let mut p = new(&r.path, &r.version);
            p.properties.insert(
                "go.replaces".to_string(),
                format!("{}@{}", module.path, module.version),
            );
            p
        }
        Some(r) => {
            let mut p = new(&module.path, "(devel)");
            p.properties
                .insert("go.replaced_by".to_string(), r.path.clone());
            p
        }
        None => new(&module.path, &module.version),
    }
}
