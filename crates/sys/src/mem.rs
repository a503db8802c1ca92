//! Anonymous mappings owned by forklore, and shared pages made only of
//! atomics (safe to read and write from several processes at once).

use crate::abi::{nr, MADV_NOHUGEPAGE};
use crate::errno::Errno;
use crate::raw;
use std::io;
use std::marker::PhantomData;
use std::ops::Deref;

pub const PAGE_SIZE: usize = 4096;

/// Memory protection of a [`Mapping`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prot {
    ReadWrite,
    /// `PROT_NONE`: any access faults; the kernel's `copy_from_user` and
    /// `put_user` fail with EFAULT.
    None,
}

/// An anonymous `mmap` region, unmapped on drop.
#[derive(Debug)]
pub struct Mapping {
    addr: usize,
    len: usize,
}

impl Mapping {
    /// `mmap(NULL, len, prot, MAP_ANONYMOUS | (MAP_SHARED or MAP_PRIVATE), -1, 0)`.
    ///
    /// A shared mapping stays shared with every child created by fork or
    /// clone without CLONE_VM: that is how a child reports to its parent.
    pub fn anon(len: usize, shared: bool, prot: Prot) -> io::Result<Mapping> {
        let len = len.div_ceil(PAGE_SIZE) * PAGE_SIZE;
        let prot = match prot {
            Prot::ReadWrite => libc::PROT_READ | libc::PROT_WRITE,
            Prot::None => libc::PROT_NONE,
        };
        let kind = if shared {
            libc::MAP_SHARED
        } else {
            libc::MAP_PRIVATE
        };
        // SAFETY: a fresh anonymous mapping at an address the kernel picks
        // aliases no existing Rust object.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                kind | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapping {
            addr: p as usize,
            len,
        })
    }

    /// Change the protection of the pages `[offset, offset + len)`.
    pub fn protect(&self, offset: usize, len: usize, prot: Prot) -> io::Result<()> {
        assert!(offset % PAGE_SIZE == 0 && offset + len <= self.len);
        let prot = match prot {
            Prot::ReadWrite => libc::PROT_READ | libc::PROT_WRITE,
            Prot::None => libc::PROT_NONE,
        };
        // SAFETY: the range lies inside this mapping; only code in this crate
        // touches its contents, and callers protect ranges they no longer use.
        let r = unsafe { libc::mprotect((self.addr + offset) as *mut libc::c_void, len, prot) };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    pub fn addr(&self) -> u64 {
        self.addr as u64
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// One past the last byte.
    pub fn end(&self) -> u64 {
        (self.addr + self.len) as u64
    }

    pub(crate) fn ptr(&self) -> *mut u8 {
        self.addr as *mut u8
    }

    /// Give the region up without unmapping it (a child might still run on it).
    pub fn leak(self) {
        std::mem::forget(self);
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the region was mapped by `anon` and nothing borrows it any
        // more (borrows are tied to `&self`).
        unsafe {
            libc::munmap(self.addr as *mut libc::c_void, self.len);
        }
    }
}

/// `madvise(MADV_NOHUGEPAGE)` over the whole pages inside `buf`, so that
/// touching it faults 4 KiB pages whatever the host's THP setting.
pub fn no_huge_pages(buf: &mut [u8]) -> Result<(), Errno> {
    let start = (buf.as_ptr() as usize).next_multiple_of(PAGE_SIZE);
    let end = (buf.as_ptr() as usize + buf.len()) & !(PAGE_SIZE - 1);
    if end <= start {
        return Ok(());
    }
    // SAFETY: [start, end) lies inside `buf`, which we borrow mutably, and
    // MADV_NOHUGEPAGE only changes how future faults are served: it never
    // changes the contents or the mapping of that memory.
    let r = unsafe {
        raw::syscall3(
            nr::MADVISE,
            start as u64,
            (end - start) as u64,
            MADV_NOHUGEPAGE,
        )
    };
    raw::result(r).map(|_| ())
}

/// Types whose all-zero bit pattern is valid and whose every field is an
/// atomic, so several processes may access one instance concurrently.
///
/// # Safety
/// Implement only for `#[repr(C)]` structs made of `Atomic*` fields (or
/// arrays of them).
pub unsafe trait SharedPod {}

/// A `T` living in a `MAP_SHARED` anonymous mapping, zero-initialised.
/// Processes forked after its creation see the same instance.
pub struct Shared<T: SharedPod> {
    map: Mapping,
    _t: PhantomData<T>,
}

impl<T: SharedPod> Shared<T> {
    pub fn new() -> io::Result<Self> {
        let map = Mapping::anon(std::mem::size_of::<T>().max(1), true, Prot::ReadWrite)?;
        Ok(Shared {
            map,
            _t: PhantomData,
        })
    }

    /// Address of the instance (for futex words inside it, or diagnostics).
    pub fn addr(&self) -> u64 {
        self.map.addr()
    }
}

impl<T: SharedPod> Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the mapping is page-aligned (so aligned for T), at least
        // size_of::<T>() long, zero-filled by the kernel (a valid T per
        // SharedPod), and lives as long as `self`. T has only atomic fields,
        // so shared references are enough for every access.
        unsafe { &*(self.map.ptr() as *const T) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[repr(C)]
    struct Two {
        a: AtomicU32,
        b: AtomicU32,
    }
    // SAFETY: only atomics.
    unsafe impl SharedPod for Two {}

    #[test]
    fn shared_is_zeroed_and_writable() {
        let s: Shared<Two> = Shared::new().unwrap();
        assert_eq!(s.a.load(Ordering::Relaxed), 0);
        s.b.store(7, Ordering::Relaxed);
        assert_eq!(s.b.load(Ordering::Relaxed), 7);
    }

    #[test]
    fn mapping_rounds_up_to_pages() {
        let m = Mapping::anon(10, false, Prot::ReadWrite).unwrap();
        assert_eq!(m.len(), PAGE_SIZE);
        m.protect(0, PAGE_SIZE, Prot::None).unwrap();
    }
}
