//! Result lines the probe's worker has produced but not yet written, kept
//! in a MAP_SHARED page set created before the worker is forked, so that
//! the reaper (its parent) can still write them if the worker dies.
//!
//! Writing one pipe line per case costs a `write` on the probe side and a
//! wake-up, `poll` and `read` on the runner side for every case; batching
//! the lines saves that. A plain buffer in the worker would lose the lines
//! of the cases before a crash, and the runner would blame the wrong case.
//! Only the worker appends and takes; the reaper reads what is left after
//! the worker is gone. All fields are atomics (see [`SharedPod`]).

use crate::mem::SharedPod;
use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};

/// Bytes of lines a [`LineBuffer`] holds (64 KiB with its length word).
pub const LINE_BYTES: usize = 64 * 1024 - 4;

#[repr(C)]
pub struct LineBuffer {
    /// Bytes in use; only whole lines (a line's bytes are stored before
    /// the length that covers them).
    len: AtomicU32,
    bytes: [AtomicU8; LINE_BYTES],
}

// SAFETY: repr(C) struct of atomics and an array of atomics; all-zero is
// the empty buffer.
unsafe impl SharedPod for LineBuffer {}

impl LineBuffer {
    /// Bytes held.
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Acquire) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Append `line` whole; `false` (and nothing stored) if it does not
    /// fit in what is left.
    pub fn append(&self, line: &[u8]) -> bool {
        let at = self.len();
        if line.len() > LINE_BYTES - at {
            return false;
        }
        for (slot, b) in self.bytes[at..at + line.len()].iter().zip(line) {
            slot.store(*b, Ordering::Relaxed);
        }
        // Release: a reader that sees the new length sees the bytes.
        self.len.store((at + line.len()) as u32, Ordering::Release);
        true
    }

    /// A copy of the bytes held.
    pub fn contents(&self) -> Vec<u8> {
        let n = self.len();
        self.bytes[..n]
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect()
    }

    /// Forget the bytes held (after they were written out).
    pub fn clear(&self) {
        self.len.store(0, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem::Shared;

    #[test]
    fn lines_append_whole_or_not_at_all() {
        let b: Shared<LineBuffer> = Shared::new().unwrap();
        assert!(b.is_empty());
        assert!(b.append(b"one\n"));
        assert!(b.append(b"two\n"));
        assert_eq!(b.contents(), b"one\ntwo\n");
        let big = vec![b'x'; LINE_BYTES - 8];
        assert!(b.append(&big));
        assert_eq!(b.len(), LINE_BYTES);
        assert!(!b.append(b"z\n"), "a full buffer takes nothing");
        assert_eq!(b.len(), LINE_BYTES);
        b.clear();
        assert!(b.is_empty());
        assert!(!b.append(&vec![b'y'; LINE_BYTES + 1]));
        assert!(b.is_empty());
    }
}
