//! `wharf lint --image`: the definitive form of the static-base check. A
//! dynamically linked ELF executable names its loader in `PT_INTERP`
//! (`/lib64/ld-linux-x86-64.so.2`, `/lib/ld-musl-x86_64.so.1`); if the image
//! does not have that path, the kernel cannot start the binary and the
//! container dies with a baffling "no such file or directory". The layers
//! stream past once (digest-checked, never unpacked); only the interpreter
//! path of each executable is kept.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::image::{Collector, FileMeta, Kind, Squashed};
use crate::registry::{ImageRef, Platform, RegistryClient};
use crate::sbom::binary::elf::Elf;
use crate::Result;

/// Smaller files cannot hold an ELF header and one program header.
const MIN_SIZE: u64 = 64 + 56;
/// Larger files are not read (the whole file is in memory while read).
const MAX_SIZE: u64 = 256 << 20;

/// Keeps the `PT_INTERP` path of each executable ELF file.
pub(crate) struct Interpreters;

impl Collector for Interpreters {
    type Item = String;

    fn wants(&self, file: &FileMeta<'_>) -> bool {
        file.mode & 0o111 != 0 && (MIN_SIZE..=MAX_SIZE).contains(&file.size)
    }

    fn collect(&self, _: &FileMeta<'_>, contents: &[u8]) -> Option<String> {
        interpreter(contents)
    }
}

/// The program interpreter an ELF file names, if it is one and names one.
pub fn interpreter(contents: &[u8]) -> Option<String> {
    Elf::parse(contents)?.interpreter().map(str::to_string)
}

/// An interpreter the image lacks, and the executables that need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub interpreter: String,
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
    pub missing: Vec<Missing>,
    /// Layer notes (paths clamped, files over the size limit), for warnings.
    pub notes: Vec<String>,
}

/// Reads `image` and checks every executable's interpreter.
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
        Arc::new(Interpreters),
        &limits,
    ))?;
    let mut checked = missing(&squashed);
    checked.name = info.name;
    checked.notes = squashed
        .notes()
        .iter()
        .map(|n| format!("layer {}: {}: {}", n.layer, n.path, n.message))
        .collect();
    Ok(checked)
}

/// The interpreters named by the squashed view's executables that it does
/// not hold (as a file, after following symlinks).
pub fn missing(squashed: &Squashed<String>) -> Checked {
    let mut by_interpreter: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut dynamic = 0;
    for (path, _, interpreter) in squashed.items() {
        dynamic += 1;
        let present = squashed
            .lookup(interpreter)
            .is_some_and(|(_, entry)| entry.kind == Kind::File);
        if !present {
            by_interpreter
                .entry(interpreter.as_str())
                .or_default()
                .push(path.to_string());
        }
    }
    Checked {
        name: String::new(),
        dynamic,
        missing: by_interpreter
            .into_iter()
            .map(|(interpreter, executables)| Missing {
                interpreter: interpreter.to_string(),
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
