//! forklore's minimal static exec target: a 129-byte x86_64 (132-byte
//! aarch64) ELF executable with one PT_LOAD segment whose entry point does
//! `exit_group(0)`. No interpreter, no libc, no sections: execve's own cost
//! and nothing else.
//! Written to a private temporary directory when an exec method runs.

use std::io;
use std::path::{Path, PathBuf};

const BASE: u64 = 0x40_0000;
const EHDR: usize = 64;
const PHDR: usize = 56;
/// `xor edi, edi; mov eax, 231 (exit_group); syscall`
#[cfg(target_arch = "x86_64")]
const CODE: [u8; 9] = [0x31, 0xff, 0xb8, 0xe7, 0x00, 0x00, 0x00, 0x0f, 0x05];
#[cfg(target_arch = "x86_64")]
const EM: u16 = 0x3e; // EM_X86_64
/// `mov x0, #0; mov x8, #94 (exit_group); svc #0` (little-endian words
/// 0xd2800000, 0xd2800bc8, 0xd4000001).
#[cfg(target_arch = "aarch64")]
const CODE: [u8; 12] = [
    0x00, 0x00, 0x80, 0xd2, 0xc8, 0x0b, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4,
];
#[cfg(target_arch = "aarch64")]
const EM: u16 = 0xb7; // EM_AARCH64

/// The executable's bytes.
pub fn minimal_exit0() -> Vec<u8> {
    let total = (EHDR + PHDR + CODE.len()) as u64;
    let mut b = Vec::with_capacity(total as usize);
    // e_ident: magic, ELFCLASS64, ELFDATA2LSB, EV_CURRENT, ELFOSABI_SYSV, padding
    b.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    b.extend_from_slice(&2u16.to_le_bytes()); // e_type: ET_EXEC
    b.extend_from_slice(&EM.to_le_bytes()); // e_machine
    b.extend_from_slice(&1u32.to_le_bytes()); // e_version
    b.extend_from_slice(&(BASE + (EHDR + PHDR) as u64).to_le_bytes()); // e_entry
    b.extend_from_slice(&(EHDR as u64).to_le_bytes()); // e_phoff
    b.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    b.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    b.extend_from_slice(&(EHDR as u16).to_le_bytes()); // e_ehsize
    b.extend_from_slice(&(PHDR as u16).to_le_bytes()); // e_phentsize
    b.extend_from_slice(&1u16.to_le_bytes()); // e_phnum
    b.extend_from_slice(&[0; 6]); // e_shentsize, e_shnum, e_shstrndx
    b.extend_from_slice(&1u32.to_le_bytes()); // p_type: PT_LOAD
    b.extend_from_slice(&5u32.to_le_bytes()); // p_flags: R|X
    b.extend_from_slice(&0u64.to_le_bytes()); // p_offset
    b.extend_from_slice(&BASE.to_le_bytes()); // p_vaddr
    b.extend_from_slice(&BASE.to_le_bytes()); // p_paddr
    b.extend_from_slice(&total.to_le_bytes()); // p_filesz
    b.extend_from_slice(&total.to_le_bytes()); // p_memsz
    b.extend_from_slice(&0x1000u64.to_le_bytes()); // p_align
    b.extend_from_slice(&CODE);
    debug_assert_eq!(b.len() as u64, total);
    b
}

/// Write the target as an executable file `dir/forklore-exit0`.
pub fn write_to(dir: &Path) -> io::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("forklore-exit0");
    std::fs::write(&path, minimal_exit0())?;
    // Written and closed before any exec: no ETXTBSY.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let b = minimal_exit0();
        assert_eq!(b.len(), 120 + CODE.len());
        #[cfg(target_arch = "x86_64")]
        assert_eq!(b.len(), 129);
        assert_eq!(&b[..4], b"\x7fELF");
        assert_eq!(u64::from_le_bytes(b[24..32].try_into().unwrap()), 0x40_0078);
        assert_eq!(&b[120..], &CODE);
    }
}
