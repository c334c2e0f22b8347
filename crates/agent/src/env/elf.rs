//! Just enough ELF to find the Go linker's sections and read the Go version from `.go.buildinfo`.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

const MAGIC: &[u8; 14] = b"\xff Go buildinf:";
/// Bounds on what is read from an executable (bad or hostile files stay cheap).
const MAX_SECTIONS: usize = 4096;
const MAX_NAMES: u64 = 1 << 20;

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fn read_at(f: &File, offset: u64, len: u64) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; usize::try_from(len).ok()?];
    f.read_exact_at(&mut buf, offset).ok()?;
    Some(buf)
}

/// One section's name offset, file offset and size.
struct Section {
    name: u32,
    offset: u64,
    size: u64,
}

/// The section headers of a little-endian ELF32 or ELF64 file.
fn sections(f: &File) -> Option<(Vec<Section>, usize)> {
    let head = read_at(f, 0, 64)?;
    if head.get(..4)? != b"\x7fELF" || head.get(5) != Some(&1) {
        return None;
    }
    let wide = match head.get(4)? {
        2 => true,
        1 => false,
        _ => return None,
    };
    let (shoff, entsize, count, strndx) = if wide {
        (
            u64_at(&head, 0x28)?,
            u16_at(&head, 0x3A)?,
            u16_at(&head, 0x3C)?,
            u16_at(&head, 0x3E)?,
        )
    } else {
        (
            u64::from(u32_at(&head, 0x20)?),
            u16_at(&head, 0x2E)?,
            u16_at(&head, 0x30)?,
            u16_at(&head, 0x32)?,
        )
    };
    let (count, entsize) = (usize::from(count), usize::from(entsize));
    if count == 0 || count > MAX_SECTIONS || entsize < if wide { 64 } else { 40 } {
        return None;
    }
    let table = read_at(f, shoff, (count * entsize) as u64)?;
    let list = (0..count)
        .map(|i| {
            let e = &table[i * entsize..(i + 1) * entsize];
            Some(if wide {
                Section {
                    name: u32_at(e, 0)?,
                    offset: u64_at(e, 24)?,
                    size: u64_at(e, 32)?,
                }
            } else {
                Section {
                    name: u32_at(e, 0)?,
                    offset: u64::from(u32_at(e, 16)?),
                    size: u64::from(u32_at(e, 20)?),
                }
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some((list, usize::from(strndx)))
}

/// An unsigned LEB128 number and the bytes it took.
fn uvarint(b: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, byte) in b.iter().enumerate().take(10) {
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// The Go version in a `.go.buildinfo` section's bytes (Go 1.18+ inline layout); `None` for the
/// older pointer layout or a malformed section.
pub fn buildinfo_version(data: &[u8]) -> Option<String> {
    if data.get(..14)? != MAGIC {
        return None;
    }
    let flags = *data.get(15)?;
    if flags & 2 == 0 {
        return None;
    }
    let rest = data.get(32..)?;
    let (len, used) = uvarint(rest)?;
    let s = rest.get(used..used + usize::try_from(len).ok()?)?;
    let v = std::str::from_utf8(s).ok()?;
    (v.starts_with("go") || v.starts_with("devel")).then(|| v.to_string())
}

/// `Some(version)` when `path` is a Go executable (it has `.go.buildinfo`, `.gopclntab` or
/// `.note.go.buildid`); the version when the build info has it inline. `None` otherwise,
/// unreadable and malformed files included.
pub fn go_build_info(path: &Path) -> Option<Option<String>> {
    let f = File::open(path).ok()?;
    let (list, strndx) = sections(&f)?;
    let names = list.get(strndx)?;
    if names.size > MAX_NAMES {
        return None;
    }
    let names = read_at(&f, names.offset, names.size)?;
    let name_of = |s: &Section| -> &[u8] {
        let start = s.name as usize;
        let tail = names.get(start..).unwrap_or(&[]);
        let end = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
        &tail[..end]
    };
    let mut go = false;
    for s in &list {
        match name_of(s) {
            b".go.buildinfo" => {
                let data = read_at(&f, s.offset, s.size.min(4096))?;
                return Some(buildinfo_version(&data));
            }
            b".gopclntab" | b".note.go.buildid" => go = true,
            _ => {}
        }
    }
    go.then_some(None)
}
