#![allow(clippy::disallowed_macros)]

use std::io::Write;

use super::*;
use crate::sbom::model::Ecosystem;

/// `extract` on bytes in memory.
fn extract(file: &FileMeta<'_>, bytes: &[u8]) -> Option<Vec<Package>> {
    super::extract(file, &mut std::io::Cursor::new(bytes), bytes.len() as u64)
}

/// One section of a test ELF; `addr` 0 means not loaded.
struct Sec {
    name: &'static str,
    addr: u64,
    writable: bool,
    data: Vec<u8>,
}

fn sec(name: &'static str, addr: u64, data: Vec<u8>) -> Sec {
    Sec {
        name,
        addr,
        writable: true,
        data,
    }
}

fn put(buf: &mut Vec<u8>, value: u64, size: usize, big: bool) {
    let bytes = value.to_le_bytes();
    let mut field = bytes[..size].to_vec();
    if big {
        field.reverse();
    }
    buf.extend_from_slice(&field);
}

fn pad16(buf: &mut Vec<u8>) {
    while !buf.len().is_multiple_of(16) {
        buf.push(0);
    }
}

/// A minimal ELF (executable, no code): a PT_LOAD segment per loaded
/// section, the sections' bytes, a section name table, section headers.
fn build_elf(is64: bool, big: bool, sections: &[Sec]) -> Vec<u8> {
    let w = if is64 { 8 } else { 4 };
    let ehsize = if is64 { 64 } else { 52 };
    let phentsize = if is64 { 56 } else { 32 };
    let shentsize = if is64 { 64 } else { 40 };
    let loaded: Vec<usize> = (0..sections.len())
        .filter(|&i| sections[i].addr != 0)
        .collect();
    let phoff = ehsize;
    let mut body = vec![0u8; ehsize + phentsize * loaded.len()];
    pad16(&mut body);
    let mut offsets = Vec::new();
    for s in sections {
        offsets.push(body.len());
        body.extend_from_slice(&s.data);
        pad16(&mut body);
    }
    let mut names = vec![0u8];
    let mut name_offsets = Vec::new();
    for s in sections.iter().map(|s| s.name).chain([".shstrtab"]) {
        name_offsets.push(names.len());
        names.extend_from_slice(s.as_bytes());
        names.push(0);
    }
    let shstr_offset = body.len();
    body.extend_from_slice(&names);
    pad16(&mut body);
    let shoff = body.len();
    let shnum = sections.len() + 2;

    // Section headers: null, ours, .shstrtab.
    let mut sh = vec![0u8; shentsize];
    let header = |sh: &mut Vec<u8>, name: usize, kind: u32, addr: u64, off: usize, size: usize| {
        let start = sh.len();
        put(sh, name as u64, 4, big);
        put(sh, u64::from(kind), 4, big);
        put(sh, 3, w, big); // flags: WA
        put(sh, addr, w, big);
        put(sh, off as u64, w, big);
        put(sh, size as u64, w, big);
        sh.resize(start + shentsize, 0);
    };
    for (i, s) in sections.iter().enumerate() {
        header(
            &mut sh,
            name_offsets[i],
            1,
            s.addr,
            offsets[i],
            s.data.len(),
        );
    }
    header(
        &mut sh,
        name_offsets[sections.len()],
        3,
        0,
        shstr_offset,
        names.len(),
    );
    body.extend_from_slice(&sh);

    // ELF header.
    let mut eh = Vec::new();
    eh.extend_from_slice(b"\x7fELF");
    eh.push(if is64 { 2 } else { 1 });
    eh.push(if big { 2 } else { 1 });
    eh.push(1);
    eh.resize(16, 0);
    put(&mut eh, 2, 2, big); // ET_EXEC
    put(&mut eh, 62, 2, big);
    put(&mut eh, 1, 4, big);
    put(&mut eh, 0, w, big); // entry
    put(&mut eh, phoff as u64, w, big);
    put(&mut eh, shoff as u64, w, big);
    put(&mut eh, 0, 4, big);
    put(&mut eh, ehsize as u64, 2, big);
    put(&mut eh, phentsize as u64, 2, big);
    put(&mut eh, loaded.len() as u64, 2, big);
    put(&mut eh, shentsize as u64, 2, big);
    put(&mut eh, shnum as u64, 2, big);
    put(&mut eh, (shnum - 1) as u64, 2, big);
    body[..ehsize].copy_from_slice(&eh);

    // Program headers.
    let mut ph = Vec::new();
    for &i in &loaded {
        let s = &sections[i];
        let flags: u64 = if s.writable { 6 } else { 5 };
        let (off, addr, size) = (offsets[i] as u64, s.addr, s.data.len() as u64);
        if is64 {
            put(&mut ph, 1, 4, big);
            put(&mut ph, flags, 4, big);
            for v in [off, addr, addr, size, size, 16] {
                put(&mut ph, v, 8, big);
            }
        } else {
            put(&mut ph, 1, 4, big);
            for v in [off, addr, addr, size, size] {
                put(&mut ph, v, 4, big);
            }
            put(&mut ph, flags, 4, big);
            put(&mut ph, 16, 4, big);
        }
    }
    body[phoff..phoff + ph.len()].copy_from_slice(&ph);
    body
}

const MODINFO: &str = "path\texample.com/app/cmd/app
mod\texample.com/app\t(devel)\t
dep\tgithub.com/BurntSushi/toml\tv1.3.2\th1:abc=
dep\tgolang.org/x/sys\tv0.1.0\th1:def=
=>\tgolang.org/x/sys\tv0.2.0\th1:ghi=
dep\texample.com/local\tv1.0.0\t
=>\t../local\t\t
build\t-compiler=gc
build\t-ldflags=\"-X main.token=secret\"
build\tCGO_ENABLED=0
build\tGOOS=linux
build\tvcs.revision=0123abc
";

fn wrapped_modinfo() -> Vec<u8> {
    let mut m = b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6".to_vec();
    m.extend_from_slice(MODINFO.as_bytes());
    m.extend_from_slice(b"\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2");
    m
}

fn varint(buf: &mut Vec<u8>, mut v: usize) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn inline_blob(version: &str) -> Vec<u8> {
    let mut b = b"\xff Go buildinf:".to_vec();
    b.push(8);
    b.push(2);
    b.resize(32, 0);
    varint(&mut b, version.len());
    b.extend_from_slice(version.as_bytes());
    let m = wrapped_modinfo();
    varint(&mut b, m.len());
    b.extend_from_slice(&m);
    b
}

/// The pre-1.18 layout: the buildinfo header points at two Go string
/// headers in a read-only section at `rodata`.
fn pointer_elf(is64: bool, big: bool, version: &str) -> Vec<u8> {
    let ps = if is64 { 8 } else { 4 };
    let (info_addr, rodata) = (0x50_0000u64, 0x40_0000u64);
    let modinfo = wrapped_modinfo();
    let version_data = rodata + 4 * ps as u64;
    let modinfo_data = version_data + version.len() as u64;
    let mut ro = Vec::new();
    put(&mut ro, version_data, ps, big);
    put(&mut ro, version.len() as u64, ps, big);
    put(&mut ro, modinfo_data, ps, big);
    put(&mut ro, modinfo.len() as u64, ps, big);
    ro.extend_from_slice(version.as_bytes());
    ro.extend_from_slice(&modinfo);

    let mut info = b"\xff Go buildinf:".to_vec();
    info.push(ps as u8);
    info.push(u8::from(big));
    put(&mut info, rodata, ps, big);
    put(&mut info, rodata + 2 * ps as u64, ps, big);
    info.resize(32, 0);
    let mut ro_sec = sec(".rodata", rodata, ro);
    ro_sec.writable = false;
    build_elf(is64, big, &[ro_sec, sec(".go.buildinfo", info_addr, info)])
}

fn meta(path: &str) -> FileMeta<'_> {
    FileMeta {
        path,
        size: 1 << 20,
        mode: 0o755,
        layer: 2,
    }
}

fn find<'a>(packages: &'a [Package], name: &str) -> &'a Package {
    packages
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no package {name} in {packages:#?}"))
}

fn check_go(packages: &[Package], go_version: &str, stdlib: &str) {
    assert!(packages.iter().all(|p| p.ecosystem == Ecosystem::Golang));
    assert!(packages
        .iter()
        .all(|p| p.found_at == "/usr/bin/app" && p.layer == 2));
    assert!(packages
        .iter()
        .all(|p| p.properties.get("go.version").map(String::as_str) == Some(go_version)));
    let main = find(packages, "example.com/app");
    assert_eq!(main.version, "(devel)");
    assert_eq!(main.properties["go.path"], "example.com/app/cmd/app");
    assert_eq!(main.properties["go.build.GOOS"], "linux");
    assert_eq!(main.properties["go.build.vcs.revision"], "0123abc");
    assert!(!main.properties.keys().any(|k| k.contains("ldflags")));
    assert_eq!(
        find(packages, "github.com/BurntSushi/toml").version,
        "v1.3.2"
    );
    // Replaced by another version: the replacement is what was compiled.
    let sys = find(packages, "golang.org/x/sys");
    assert_eq!(sys.version, "v0.2.0");
    assert_eq!(sys.properties["go.replaces"], "golang.org/x/sys@v0.1.0");
    // Replaced by a directory: not the published module.
    let local = find(packages, "example.com/local");
    assert_eq!(local.version, "(devel)");
    assert_eq!(local.properties["go.replaced_by"], "../local");
    assert_eq!(find(packages, "stdlib").version, stdlib);
    assert_eq!(packages.len(), 5);
    assert!(main.depends_on.contains(&format!("stdlib@{stdlib}")));
    assert!(main
        .depends_on
        .contains(&"golang.org/x/sys@v0.2.0".to_string()));
}

#[test]
fn go_inline_format_in_an_elf_section() {
    let elf = build_elf(
        true,
        false,
        &[sec(".go.buildinfo", 0x1000, inline_blob("go1.22.5"))],
    );
    let packages = extract(&meta("/usr/bin/app"), &elf).expect("packages");
    check_go(&packages, "go1.22.5", "1.22.5");
}

#[test]
fn go_pointer_format_through_program_headers() {
    for (is64, big) in [(true, false), (false, true), (false, false), (true, true)] {
        let elf = pointer_elf(is64, big, "go1.16.15");
        let packages = extract(&meta("/usr/bin/app"), &elf)
            .unwrap_or_else(|| panic!("is64={is64} big={big}: nothing found"));
        check_go(&packages, "go1.16.15", "1.16.15");
    }
}

#[test]
fn go_buildinfo_found_in_the_writable_segment_without_its_section() {
    let mut data = vec![0u8; 48];
    data.extend(inline_blob("go1.21.0 X:boringcrypto"));
    let elf = build_elf(true, false, &[sec(".data", 0x2000, data)]);
    let packages = extract(&meta("/usr/bin/app"), &elf).expect("packages");
    check_go(&packages, "go1.21.0 X:boringcrypto", "1.21.0");
}

#[test]
fn go_inline_format_in_a_non_elf_file() {
    let mut file = b"MZ not really a PE".to_vec();
    file.resize(4096, 0);
    file.extend(inline_blob("go1.23.1"));
    let packages = extract(&meta("/usr/bin/app"), &file).expect("packages");
    check_go(&packages, "go1.23.1", "1.23.1");
    // Off the 16-byte grid the magic is not buildinfo.
    let mut shifted = vec![0u8; 4100];
    shifted.extend(inline_blob("go1.23.1"));
    assert!(extract(&meta("/usr/bin/app"), &shifted).is_none());
}

#[test]
fn go_binary_without_module_info_still_has_the_stdlib() {
    let mut b = b"\xff Go buildinf:".to_vec();
    b.extend([8, 2]);
    b.resize(32, 0);
    varint(&mut b, 8);
    b.extend_from_slice(b"go1.20.1");
    varint(&mut b, 0);
    let elf = build_elf(true, false, &[sec(".go.buildinfo", 0x1000, b)]);
    let packages = extract(&meta("/usr/bin/app"), &elf).expect("packages");
    assert_eq!(packages.len(), 1);
    assert_eq!(
        (packages[0].name.as_str(), packages[0].version.as_str()),
        ("stdlib", "1.20.1")
    );
}

#[test]
fn modinfo_parsing_details() {
    assert_eq!(golang::stdlib_version("go1.22.5"), "1.22.5");
    assert_eq!(golang::stdlib_version("go1.21rc2"), "1.21rc2");
    assert_eq!(
        golang::stdlib_version("devel go1.23-abc"),
        "devel go1.23-abc"
    );
    let info = golang::parse_modinfo(
        "build\t\"-gcflags=all=-N\"=\"a b\"\nbuild\tGOAMD64=v1\ngarbage\n=>\tx\tv1\n",
    );
    assert_eq!(
        info.settings,
        vec![
            ("-gcflags=all=-N".to_string(), "a b".to_string()),
            ("GOAMD64".to_string(), "v1".to_string())
        ]
    );
    assert!(info.main.is_none() && info.deps.is_empty());
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("compress");
    e.finish().expect("compress")
}

const AUDIT: &str = r#"{"packages":[
 {"name":"app","version":"0.1.0","source":"local","dependencies":[1,2,4],"root":true},
 {"name":"serde","version":"1.0.200","source":"crates.io","dependencies":[3]},
 {"name":"helper","version":"0.0.1","source":"local"},
 {"name":"serde_derive","version":"1.0.200","source":"crates.io","kind":"build"},
 {"name":"syn","version":"1.0.109","source":"crates.io","dependencies":[99]},
 {"name":"syn","version":"2.0.60","source":"git"}
]}"#;

#[test]
fn cargo_auditable_section() {
    let elf = build_elf(true, false, &[sec(".dep-v0", 0, zlib(AUDIT.as_bytes()))]);
    let packages = extract(&meta("/usr/bin/app"), &elf).expect("packages");
    let names: Vec<_> = packages
        .iter()
        .map(|p| format!("{}@{}", p.name, p.version))
        .collect();
    assert_eq!(
        names,
        ["app@0.1.0", "serde@1.0.200", "syn@1.0.109", "syn@2.0.60"]
    );
    assert!(packages
        .iter()
        .all(|p| p.ecosystem == Ecosystem::Cargo && p.layer == 2));
    let app = find(&packages, "app");
    assert_eq!(app.depends_on, ["serde@1.0.200", "syn@1.0.109"]);
    assert_eq!(app.properties["cargo.root"], "true");
    assert!(find(&packages, "serde").depends_on.is_empty());
    assert_eq!(packages[3].properties["cargo.source"], "git");
}

#[test]
fn cargo_and_go_in_one_binary_are_both_read() {
    let elf = build_elf(
        false,
        true,
        &[
            sec(".go.buildinfo", 0x1000, inline_blob("go1.22.5")),
            sec(".dep-v0", 0, zlib(AUDIT.as_bytes())),
        ],
    );
    let packages = extract(&meta("/usr/bin/app"), &elf).expect("packages");
    assert_eq!(packages.len(), 5 + 4);
}

#[test]
fn a_zlib_bomb_in_dep_v0_is_refused() {
    let mut json = br#"{"packages":[],"pad":""#.to_vec();
    json.resize(64 << 20, b' ');
    let elf = build_elf(true, false, &[sec(".dep-v0", 0, zlib(&json))]);
    assert!(extract(&meta("/usr/bin/app"), &elf).is_none());
}

#[test]
fn malformed_and_truncated_binaries_yield_nothing_and_never_panic() {
    let samples = [
        build_elf(
            true,
            false,
            &[sec(".go.buildinfo", 0x1000, inline_blob("go1.22.5"))],
        ),
        pointer_elf(true, false, "go1.16.15"),
        pointer_elf(false, true, "go1.16.15"),
        build_elf(true, false, &[sec(".dep-v0", 0, zlib(AUDIT.as_bytes()))]),
    ];
    for sample in &samples {
        for len in 0..sample.len() {
            let _ = extract(&meta("/usr/bin/app"), &sample[..len]);
        }
        // Every byte flipped in turn: still no panic.
        for at in 0..sample.len() {
            let mut bad = sample.clone();
            bad[at] ^= 0xff;
            let _ = extract(&meta("/usr/bin/app"), &bad);
        }
    }
    // A string header claiming 2^62 bytes.
    let mut info = b"\xff Go buildinf:".to_vec();
    info.extend([8, 0]);
    put(&mut info, 0x40_0000, 8, false);
    put(&mut info, 0x40_0000, 8, false);
    info.resize(32, 0);
    let mut ro = Vec::new();
    put(&mut ro, 0x40_0000, 8, false);
    put(&mut ro, 1 << 62, 8, false);
    let elf = build_elf(
        true,
        false,
        &[
            sec(".rodata", 0x40_0000, ro),
            sec(".go.buildinfo", 0x50_0000, info),
        ],
    );
    assert!(extract(&meta("/usr/bin/app"), &elf).is_none());
    // A varint length beyond the data.
    let mut b = b"\xff Go buildinf:".to_vec();
    b.extend([8, 2]);
    b.resize(32, 0);
    b.extend([0xff, 0xff, 0xff, 0xff, 0x7f]);
    assert!(extract(&meta("/usr/bin/app"), &b).is_none());
    assert!(extract(&meta("/usr/bin/app"), b"\x7fELF").is_none());
    assert!(extract(&meta("/usr/bin/app"), b"#!/bin/sh\necho hi\n").is_none());
}

#[test]
fn wants_executables_and_shared_objects_of_useful_size() {
    let f = |path, size, mode| FileMeta {
        path,
        size,
        mode,
        layer: 0,
    };
    assert!(wants(&f("/usr/bin/app", 1 << 20, 0o755)));
    assert!(wants(&f("/usr/bin/app", 1 << 20, 0o700)));
    assert!(wants(&f("/usr/lib/libx.so", 1 << 20, 0o644)));
    assert!(wants(&f("/usr/lib/libx.so.1.2", 1 << 20, 0o644)));
    assert!(!wants(&f("/usr/bin/tiny", 100, 0o755)));
    assert!(!wants(&f("/etc/passwd", 1 << 20, 0o644)));
    assert!(!wants(&f("/usr/bin/huge", MAX_SIZE + 1, 0o755)));
}

/// Go binaries on this machine (Debian's docker-registry, skopeo, umoci,
/// CNI plugins, …): each must yield at least its stdlib.
#[test]
fn go_binaries_on_this_machine() {
    let dirs = ["/usr/bin", "/usr/local/bin", "/usr/sbin", "/usr/lib/cni"];
    let home = std::env::var("HOME").unwrap_or_default();
    let extra = [format!("{home}/go/bin"), format!("{home}/.cargo/bin")];
    let mut checked = 0;
    for dir in dirs.iter().map(|d| d.to_string()).chain(extra) {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            let Ok(meta_fs) = std::fs::metadata(&path) else {
                continue;
            };
            if !meta_fs.is_file() || meta_fs.len() > MAX_SIZE || meta_fs.len() < MIN_SIZE {
                continue;
            }
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            if !bytes.windows(14).any(|w| w == b"\xff Go buildinf:") {
                continue;
            }
            let name = path.display().to_string();
            let packages = extract(&meta(&name), &bytes)
                .unwrap_or_else(|| panic!("{name}: Go magic present but nothing read"));
            let stdlib = packages.iter().find(|p| p.name == "stdlib");
            assert!(stdlib.is_some(), "{name}: no stdlib");
            let main = packages
                .iter()
                .find(|p| p.properties.contains_key("go.main_module"));
            println!(
                "{name}: {} packages, stdlib {}, main {:?}",
                packages.len(),
                stdlib.map(|p| p.version.as_str()).unwrap_or_default(),
                main.map(|p| format!("{}@{}", p.name, p.version))
            );
            checked += 1;
            if checked >= 6 {
                return;
            }
        }
    }
    if checked == 0 {
        println!("skipping go_binaries_on_this_machine: no Go binaries found in the usual places");
    }
}

fn tool_works(program: &str, args: &[&str]) -> bool {
    std::process::Command::new(program)
        .args(args)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// A source that counts what is read of it.
struct Counting<'a> {
    inner: std::io::Cursor<&'a [u8]>,
    read: u64,
}

impl std::io::Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

impl std::io::Seek for Counting<'_> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// Real Go builds, when Go is installed: ELF for this machine, 32-bit
/// and big-endian ELF, Mach-O and PE (cross-compiled; Go needs nothing
/// else for them). Main module and stdlib version as `go env GOVERSION`
/// says, each read from the sections that hold them: what is read of the
/// binary stays small, however large it is.
#[test]
fn binaries_built_by_go_here() {
    if !tool_works("go", &["version"]) {
        println!("skipping binaries_built_by_go_here: go is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("go.mod"),
        "module example.com/hello\n\ngo 1.18\n",
    )
    .expect("go.mod");
    std::fs::write(
        dir.path().join("main.go"),
        "package main\n\nfunc main() { println(\"hi\") }\n",
    )
    .expect("main.go");
    let version = std::process::Command::new("go")
        .args(["env", "GOVERSION"])
        .output()
        .expect("go env");
    let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    for (target, magic) in [
        ("", &b"\x7fELF"[..]),
        ("linux/386", b"\x7fELF\x01\x01"),
        ("linux/s390x", b"\x7fELF\x02\x02"),
        ("darwin/arm64", b"\xcf\xfa\xed\xfe"),
        ("windows/386", b"MZ"),
        ("windows/amd64", b"MZ"),
    ] {
        let mut build = std::process::Command::new("go");
        build
            .args(["build", "-trimpath", "-o", "hello", "."])
            .current_dir(dir.path())
            .env("GOFLAGS", "-buildvcs=false")
            .env("CGO_ENABLED", "0");
        if let Some((os, arch)) = target.split_once('/') {
            build.env("GOOS", os).env("GOARCH", arch);
        }
        let out = build.output().expect("go build");
        assert!(
            out.status.success(),
            "{target}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut bytes = std::fs::read(dir.path().join("hello")).expect("binary");
        assert!(
            bytes.starts_with(magic),
            "{target}: not the expected format"
        );
        // 32 MiB more of the file (as a large binary has): read no more.
        bytes.resize(bytes.len() + (32 << 20), 0);
        let mut src = Counting {
            inner: std::io::Cursor::new(&bytes),
            read: 0,
        };
        let packages = super::extract(&meta("/usr/bin/app"), &mut src, bytes.len() as u64)
            .unwrap_or_else(|| panic!("{target}: no packages"));
        assert_eq!(find(&packages, "example.com/hello").version, "(devel)");
        assert_eq!(
            find(&packages, "stdlib").version,
            golang::stdlib_version(&version),
            "{target}"
        );
        assert!(
            src.read < 1 << 20,
            "{target}: {} bytes read of {}",
            src.read,
            bytes.len()
        );
    }
}

/// A real `cargo auditable` build, when the tool is installed: the root
/// crate is found (no dependencies, so no network).
#[test]
fn a_binary_built_by_cargo_auditable_here() {
    if !tool_works("cargo", &["auditable", "--version"]) {
        println!(
            "skipping a_binary_built_by_cargo_auditable_here: cargo-auditable is not installed"
        );
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"hello-audit\"\nversion = \"0.3.1\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .expect("Cargo.toml");
    std::fs::create_dir(dir.path().join("src")).expect("src");
    std::fs::write(dir.path().join("src/main.rs"), "fn main() {}\n").expect("main.rs");
    let out = std::process::Command::new("cargo")
        .args(["auditable", "build", "--release", "--offline"])
        .current_dir(dir.path())
        .env("CARGO_TARGET_DIR", dir.path().join("target"))
        .output()
        .expect("cargo auditable");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(dir.path().join("target/release/hello-audit")).expect("binary");
    let packages = extract(&meta("/usr/bin/app"), &bytes).expect("packages");
    let root = find(&packages, "hello-audit");
    assert_eq!(root.version, "0.3.1");
    assert_eq!(root.ecosystem, Ecosystem::Cargo);
}
