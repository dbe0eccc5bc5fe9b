//! `wharf lint --image`: the definitive form of the static-base check. An
//! executable the kernel starts needs something else in the image first:
//!
//! - a dynamically linked ELF file names its loader in `PT_INTERP`
//!   (`/lib64/ld-linux-x86-64.so.2`, `/lib/ld-musl-x86_64.so.1`);
//! - a script names its interpreter on its `#!` line (`/bin/sh`), and
//!   `#!/usr/bin/env NAME` also needs `NAME` in a directory on the `PATH`
//!   the image config sets.
//!
//! If the image lacks it, the container dies with a baffling "no such file or
//! directory" (an entrypoint script with `#!/bin/sh` copied onto distroless
//! is the classic; a `#!/bin/sh` line ending in a carriage return is the
//! other). The layers stream past once (digest-checked, never unpacked);
//! only what each executable needs is kept.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::image::{Collector, Contents, FileMeta, Kind, Squashed};
use crate::registry::{ImageRef, Platform, RegistryClient};
use crate::sbom::binary::elf::Elf;
use crate::sbom::binary::read::Reader;
use crate::Result;

/// Smaller files cannot hold `#!/x`.
const MIN_SIZE: u64 = 4;
/// Larger files are not read (a large one is copied to a temporary file
/// to be read).
const MAX_SIZE: u64 = 256 << 20;
/// How much of a `#!` line the kernel reads (`BINPRM_BUF_SIZE`, Linux 5.1+).
const SHEBANG_MAX: usize = 256;
/// The `PATH` a container gets when its image config sets none (Docker's
/// and containerd's default).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What an executable needs from the image to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Needs {
    /// An ELF file's loader (`PT_INTERP`).
    Loader(String),
    /// A script's `#!` interpreter; for `#!/usr/bin/env NAME`, also `NAME`.
    Script {
        interpreter: String,
        program: Option<String>,
    },
}

/// Keeps what each executable file needs.
pub(crate) struct Launchers;

impl Collector for Launchers {
    type Item = Needs;

    fn wants(&self, file: &FileMeta<'_>) -> bool {
        file.mode & 0o111 != 0 && (MIN_SIZE..=MAX_SIZE).contains(&file.size)
    }

    fn collect(&self, _: &FileMeta<'_>, contents: &mut Contents) -> Option<Needs> {
        let head = contents.head(SHEBANG_MAX).ok()?;
        if head.starts_with(b"#!") {
            shebang(&head)
        } else {
            let len = contents.len();
            elf_interpreter(&mut Reader::new(contents, len)).map(Needs::Loader)
        }
    }
}

/// The program interpreter an ELF file names, if it is one and names one.
pub fn interpreter(contents: &[u8]) -> Option<String> {
    let len = contents.len() as u64;
    elf_interpreter(&mut Reader::new(&mut std::io::Cursor::new(contents), len))
}

fn elf_interpreter(r: &mut Reader<'_>) -> Option<String> {
    Elf::parse(r)?.interpreter(r)
}

/// What a script's `#!` line asks for, read as Linux reads it: the first
/// line (at most 256 bytes), spaces and tabs around it trimmed (a carriage
/// return is not: it stays part of the name, as it does for the kernel),
/// the interpreter up to the first space or tab, the rest one argument.
/// A relative interpreter (resolved against the working directory) is not
/// checked.
pub fn shebang(contents: &[u8]) -> Option<Needs> {
    let rest = contents.strip_prefix(b"#!")?;
    let rest = &rest[..rest.len().min(SHEBANG_MAX - 2)];
    let line = rest.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let line = line.trim_matches([' ', '\t']);
    let (interpreter, argument) = match line.find([' ', '\t']) {
        Some(at) => (&line[..at], line[at..].trim_matches([' ', '\t'])),
        None => (line, ""),
    };
    if !interpreter.starts_with('/') {
        return None;
    }
    let program = if interpreter.rsplit('/').next() == Some("env") {
        // `env [-S] [-i] [NAME=VALUE]... PROGRAM`: the first word that is
        // neither an option nor an assignment. A path is checked as one.
        argument
            .split([' ', '\t'])
            .find(|w| !w.is_empty() && !w.starts_with('-') && !w.contains('='))
            .map(str::to_string)
    } else {
        None
    };
    Some(Needs::Script {
        interpreter: interpreter.to_string(),
        program,
    })
}

/// What the image lacks.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lacking {
    /// The loader ELF executables name.
    Loader(String),
    /// The interpreter scripts name on their `#!` line.
    Interpreter(String),
    /// The program `#!/usr/bin/env` scripts run, on none of `path`'s
    /// directories.
    Program {
        name: String,
        env: String,
        path: String,
    },
}

/// Something the image lacks, and the executables that need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub lacking: Lacking,
    /// Paths of the executables, in path order.
    pub executables: Vec<String>,
}

/// What reading the image found.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The image as messages name it (`REG/REPO@sha256:…`).
    pub name: String,
    /// How many dynamically linked executables it holds.
    pub dynamic: usize,
    /// How many executable scripts with an absolute `#!` interpreter.
    pub scripts: usize,
    pub missing: Vec<Missing>,
    /// Layer notes (paths clamped, files over the size limit), for warnings.
    pub notes: Vec<String>,
}

/// Reads `image` and checks what every executable needs.
pub fn check(
    client: &RegistryClient,
    image: &ImageRef,
    platform: Option<&Platform>,
) -> Result<Checked> {
    let runtime = crate::runtime()?;
    let limits = crate::image::Limits::default();
    let (info, squashed) = runtime.block_on(crate::image::read(
        client,
        image,
        platform,
        Arc::new(Launchers),
        &limits,
    ))?;
    let mut checked = missing(&squashed, info.path.as_deref().unwrap_or(DEFAULT_PATH));
    checked.name = info.name;
    checked.notes = squashed
        .notes()
        .iter()
        .map(|n| format!("layer {}: {}: {}", n.layer, n.path, n.message))
        .collect();
    Ok(checked)
}

/// What the squashed view's executables need that it does not hold (as a
/// file, after following symlinks); `path` is the container's `PATH`.
pub fn missing(squashed: &Squashed<Needs>, path: &str) -> Checked {
    let is_file = |p: &str| {
        squashed
            .lookup(p)
            .is_some_and(|(_, entry)| entry.kind == Kind::File)
    };
    let on_path = |name: &str| {
        if name.contains('/') {
            return name.starts_with('/') && is_file(name);
        }
        path.split(':')
            .filter(|dir| dir.starts_with('/'))
            .any(|dir| is_file(&format!("{}/{name}", dir.trim_end_matches('/'))))
    };
    let mut by_lack: BTreeMap<Lacking, Vec<String>> = BTreeMap::new();
    let (mut dynamic, mut scripts) = (0, 0);
    for (file, _, needs) in squashed.items() {
        let lack = match needs {
            Needs::Loader(loader) => {
                dynamic += 1;
                (!is_file(loader)).then(|| Lacking::Loader(loader.clone()))
            }
            Needs::Script {
                interpreter,
                program,
            } => {
                scripts += 1;
                if !is_file(interpreter) {
                    Some(Lacking::Interpreter(interpreter.clone()))
                } else {
                    program
                        .as_ref()
                        .filter(|p| !on_path(p))
                        .map(|p| Lacking::Program {
                            name: p.clone(),
                            env: interpreter.clone(),
                            path: path.to_string(),
                        })
                }
            }
        };
        if let Some(lack) = lack {
            by_lack.entry(lack).or_default().push(file.to_string());
        }
    }
    Checked {
        name: String::new(),
        dynamic,
        scripts,
        missing: by_lack
            .into_iter()
            .map(|(lacking, executables)| Missing {
                lacking,
                executables,
            })
            .collect(),
        notes: Vec::new(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal ELF64 little-endian executable whose only program header
    /// is `PT_INTERP` naming `interp` (or none at all).
    pub(crate) fn elf(interp: Option<&str>) -> Vec<u8> {
        let mut out = vec![0u8; 64];
        out[..4].copy_from_slice(b"\x7fELF");
        out[4] = 2; // 64-bit
        out[5] = 1; // little-endian
        out[6] = 1;
        out[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        out[18..20].copy_from_slice(&62u16.to_le_bytes()); // x86-64
        out[20..24].copy_from_slice(&1u32.to_le_bytes());
        let phnum: u16 = if interp.is_some() { 1 } else { 0 };
        out[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
        out[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
        out[54..56].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
        out[56..58].copy_from_slice(&phnum.to_le_bytes());
        let mut ph = vec![0u8; 56];
        let path = format!("{}\0", interp.unwrap_or(""));
        ph[..4].copy_from_slice(&3u32.to_le_bytes()); // PT_INTERP
        ph[8..16].copy_from_slice(&120u64.to_le_bytes()); // p_offset
        ph[32..40].copy_from_slice(&(path.len() as u64).to_le_bytes()); // p_filesz
        out.extend_from_slice(&ph);
        out.extend_from_slice(path.as_bytes());
        out.resize(out.len().max(256), 0);
        out
    }

    fn script(interpreter: &str, program: Option<&str>) -> Option<Needs> {
        Some(Needs::Script {
            interpreter: interpreter.into(),
            program: program.map(str::to_string),
        })
    }

    #[test]
    fn reads_shebang_lines_as_the_kernel_does() {
        assert_eq!(shebang(b"#!/bin/sh\necho hi\n"), script("/bin/sh", None));
        assert_eq!(shebang(b"#! /bin/bash -eu\n"), script("/bin/bash", None));
        assert_eq!(shebang(b"#!/bin/sh"), script("/bin/sh", None));
        // Windows line endings: the kernel looks for "/bin/sh\r".
        assert_eq!(shebang(b"#!/bin/sh\r\n"), script("/bin/sh\r", None));
        assert_eq!(
            shebang(b"#!/usr/bin/env python3\n"),
            script("/usr/bin/env", Some("python3"))
        );
        assert_eq!(
            shebang(b"#!/usr/bin/env -S PYTHONUNBUFFERED=1 python3 -u\n"),
            script("/usr/bin/env", Some("python3"))
        );
        assert_eq!(shebang(b"#!/usr/bin/env\n"), script("/usr/bin/env", None));
        // Relative interpreters and non-scripts are not checked.
        assert_eq!(shebang(b"#!python\n"), None);
        assert_eq!(shebang(b"#!\n"), None);
        assert_eq!(shebang(b"echo hi\n"), None);
        assert_eq!(shebang(b"#!/bin/\xff\n"), None);
        // Only the first 256 bytes are the line.
        let mut long = b"#!/".to_vec();
        long.extend(std::iter::repeat_n(b'a', 300));
        assert_eq!(
            shebang(&long),
            Some(Needs::Script {
                interpreter: format!("/{}", "a".repeat(253)),
                program: None
            })
        );
    }

    #[test]
    fn reads_the_interpreter_and_nothing_from_junk() {
        assert_eq!(
            interpreter(&elf(Some("/lib64/ld-linux-x86-64.so.2"))).as_deref(),
            Some("/lib64/ld-linux-x86-64.so.2")
        );
        assert_eq!(interpreter(&elf(None)), None);
        assert_eq!(interpreter(b"#!/bin/sh\necho hi\n"), None);
        // Truncated or lying headers: no panic, no interpreter.
        let whole = elf(Some("/lib/ld-musl-x86_64.so.1"));
        for cut in [0, 4, 40, 63, 64, 100, 120, 121] {
            let _ = interpreter(&whole[..cut]);
        }
        let mut lying = whole.clone();
        lying[64 + 32..64 + 40].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(interpreter(&lying), None);
        let mut far = whole;
        far[64 + 8..64 + 16].copy_from_slice(&(1u64 << 40).to_le_bytes());
        assert_eq!(interpreter(&far), None);
    }
}
