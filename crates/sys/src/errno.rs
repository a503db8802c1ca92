//! [`Errno`]: a raw errno value with names for display (rustix's shape).
//!
//! A newtype, not an enum: the kernel may return numbers forklore does not
//! know, and those must survive unchanged.

use crate::abi::ERRNO_NAMES;
use linux_raw_sys::errno as e;
use std::fmt;

/// A positive errno value as the kernel returned it (`-ret` of a failed
/// syscall).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Errno(i32);

macro_rules! named {
    ($($name:ident),* $(,)?) => {
        impl Errno {
            $(pub const $name: Errno = Errno(e::$name as i32);)*
        }
    };
}

named! {
    EPERM, ENOENT, ESRCH, EINTR, EIO, E2BIG, ENOEXEC, EBADF, ECHILD, EAGAIN,
    ENOMEM, EACCES, EFAULT, EBUSY, EEXIST, EINVAL, ETXTBSY, EPIPE, EDEADLK,
    ENAMETOOLONG, ENOSYS, EOPNOTSUPP,
}

impl Errno {
    /// Wrap a raw value (positive, as in `errno`).
    pub const fn from_raw(raw: i32) -> Errno {
        Errno(raw)
    }

    /// The raw value.
    pub const fn raw(self) -> i32 {
        self.0
    }

    /// The symbolic name (`"EINVAL"`), if this is a number forklore names.
    pub fn name(self) -> Option<&'static str> {
        ERRNO_NAMES
            .iter()
            .find(|(_, v)| *v as i32 == self.0)
            .map(|(n, _)| *n)
    }

    /// The errno of an `io::Error`, or EIO when it carries none.
    pub fn from_io(e: &std::io::Error) -> Errno {
        Errno(e.raw_os_error().unwrap_or(Errno::EIO.0))
    }

    /// The calling thread's `errno` after a failed libc call.
    pub fn last_os_error() -> Errno {
        Errno::from_io(&std::io::Error::last_os_error())
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "errno {}", self.0),
        }
    }
}

impl std::error::Error for Errno {}

impl From<Errno> for std::io::Error {
    fn from(e: Errno) -> std::io::Error {
        std::io::Error::from_raw_os_error(e.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_known_values_and_keeps_unknown_ones() {
        assert_eq!(Errno::EINVAL.raw(), libc::EINVAL);
        assert_eq!(Errno::EINVAL.to_string(), "EINVAL");
        assert_eq!(Errno::from_raw(4000).to_string(), "errno 4000");
        assert_eq!(Errno::from_raw(4000).raw(), 4000);
        for (name, v) in ERRNO_NAMES {
            assert_eq!(Errno::from_raw(*v as i32).name(), Some(*name));
        }
    }
}
