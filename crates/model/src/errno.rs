//! Errno values as raw numbers with names for display (x86_64 numbering).
//!
//! A newtype, not an enum: the host may return numbers we do not know, and
//! those must survive into reports unchanged.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Errno(pub i32);

macro_rules! errnos {
    ($($name:ident = $val:expr),* $(,)?) => {
        impl Errno {
            $(pub const $name: Errno = Errno($val);)*
        }
        const TABLE: &[(&str, i32)] = &[$((stringify!($name), $val)),*];
    };
}

errnos! {
    EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, ENXIO = 6, E2BIG = 7,
    ENOEXEC = 8, EBADF = 9, ECHILD = 10, EAGAIN = 11, ENOMEM = 12, EACCES = 13,
    EFAULT = 14, EBUSY = 16, EEXIST = 17, ENODEV = 19, ENOTDIR = 20, EISDIR = 21,
    EINVAL = 22, ENFILE = 23, EMFILE = 24, ETXTBSY = 26, ENOSPC = 28, ESPIPE = 29,
    ERANGE = 34, ENAMETOOLONG = 36, ENOSYS = 38, ELOOP = 40, ELIBBAD = 80,
    EUSERS = 87, EOPNOTSUPP = 95, ERESTARTSYS = 512, ERESTARTNOINTR = 513,
}

impl Errno {
    /// The symbolic name, if this is a number we know.
    pub fn name(self) -> Option<&'static str> {
        TABLE.iter().find(|(_, v)| *v == self.0).map(|(n, _)| *n)
    }

    /// Look a name up (`EINVAL`, case-insensitive).
    pub fn from_name(name: &str) -> Option<Errno> {
        TABLE
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| Errno(*v))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_numbers_survive() {
        assert_eq!(Errno::EINVAL.name(), Some("EINVAL"));
        assert_eq!(Errno::from_name("enospc"), Some(Errno(28)));
        assert_eq!(Errno(4242).name(), None);
        assert_eq!(Errno(4242).to_string(), "errno 4242");
    }
}
