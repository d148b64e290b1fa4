//! Byte order of an MRC file, and the machine stamp (MACHST, bytes 212–215) that declares it.

use std::fmt;

/// Byte order of every multi-byte number in the header and the data of one file.
///
/// Blosc chunk headers are always little-endian whatever this says; the element bytes inside the
/// chunks follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endian {
    /// Least significant byte first (machine stamp `44 44 00 00`).
    Little,
    /// Most significant byte first (machine stamp `11 11 00 00`).
    Big,
}

macro_rules! read_write {
    ($(($read:ident, $write:ident, $t:ty, $n:literal)),* $(,)?) => {
        $(
            #[doc = concat!("Decodes a `", stringify!($t), "` stored in this byte order.")]
            pub fn $read(self, bytes: [u8; $n]) -> $t {
                match self {
                    Endian::Little => <$t>::from_le_bytes(bytes),
                    Endian::Big => <$t>::from_be_bytes(bytes),
                }
            }

            #[doc = concat!("Encodes a `", stringify!($t), "` in this byte order.")]
            pub fn $write(self, value: $t) -> [u8; $n] {
                match self {
                    Endian::Little => value.to_le_bytes(),
                    Endian::Big => value.to_be_bytes(),
                }
            }
        )*
    };
}

impl Endian {
    /// The byte order of the machine running this code.
    pub fn native() -> Endian {
        if cfg!(target_endian = "big") {
            Endian::Big
        } else {
            Endian::Little
        }
    }

    /// True if this is the byte order of the running machine (no swapping needed).
    pub fn is_native(self) -> bool {
        self == Endian::native()
    }

    /// The other byte order.
    pub fn opposite(self) -> Endian {
        match self {
            Endian::Little => Endian::Big,
            Endian::Big => Endian::Little,
        }
    }

    /// The machine stamp MRC2014 recommends for this order: `44 44 00 00` (little) or
    /// `11 11 00 00` (big).
    pub fn stamp(self) -> [u8; 4] {
        match self {
            Endian::Little => [0x44, 0x44, 0, 0],
            Endian::Big => [0x11, 0x11, 0, 0],
        }
    }

    /// The order a machine stamp declares, from the high nibble of its first byte (4 → little,
    /// 1 → big), or `None` when that nibble is anything else (zeros, garbage).
    ///
    /// This is deliberately lenient: `44 41` (python-mrcz, mrcfile), `44 11` (some EMDB maps) and
    /// `44 20 20 20` (an IMOD file) all declare little-endian. [`is_standard_stamp`] says whether
    /// a stamp is one that mrcfile's validator accepts.
    pub fn from_stamp(stamp: [u8; 4]) -> Option<Endian> {
        match stamp[0] >> 4 {
            4 => Some(Endian::Little),
            1 => Some(Endian::Big),
            _ => None,
        }
    }

    read_write!(
        (read_i16, write_i16, i16, 2),
        (read_u16, write_u16, u16, 2),
        (read_i32, write_i32, i32, 4),
        (read_u32, write_u32, u32, 4),
        (read_i64, write_i64, i64, 8),
        (read_u64, write_u64, u64, 8),
        (read_f32, write_f32, f32, 4),
        (read_f64, write_f64, f64, 8),
    );

    /// Converts `data`, a run of numbers of `unit` bytes each stored in this order, to or from
    /// the native order in place (the operation is its own inverse). Nothing happens when this
    /// order is native or `unit` ≤ 1. A trailing partial unit is left as it is.
    ///
    /// `unit` is [`Mode::swap_unit`](crate::mrc::Mode::swap_unit): complex modes swap each
    /// component separately.
    pub fn swap_to_native(self, data: &mut [u8], unit: usize) {
        if self.is_native() || unit <= 1 {
            return;
        }
        for chunk in data.chunks_exact_mut(unit) {
            chunk.reverse();
        }
    }
}

/// True for the machine stamps mrcfile accepts (bytes 212–213 only): `44 44`, `44 41`
/// (little-endian) and `11 11` (big-endian).
pub fn is_standard_stamp(stamp: [u8; 4]) -> bool {
    matches!(
        [stamp[0], stamp[1]],
        [0x44, 0x44] | [0x44, 0x41] | [0x11, 0x11]
    )
}

impl fmt::Display for Endian {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Endian::Little => "little-endian",
            Endian::Big => "big-endian",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps() {
        assert_eq!(Endian::from_stamp([0x44, 0x41, 0, 0]), Some(Endian::Little));
        assert_eq!(Endian::from_stamp([0x44, 0x11, 0, 0]), Some(Endian::Little));
        assert_eq!(Endian::from_stamp([0x11, 0x11, 0, 0]), Some(Endian::Big));
        assert_eq!(Endian::from_stamp([0, 0, 0, 0]), None);
        assert!(is_standard_stamp(Endian::Little.stamp()));
        assert!(is_standard_stamp(Endian::Big.stamp()));
        assert!(!is_standard_stamp([0x44, 0x20, 0x20, 0x20]));
    }

    #[test]
    fn read_write() {
        assert_eq!(Endian::Big.write_i32(1), [0, 0, 0, 1]);
        assert_eq!(Endian::Little.write_i32(1), [1, 0, 0, 0]);
        assert_eq!(Endian::Big.read_i64([0, 0, 0, 0, 0, 0, 1, 0]), 256);
        assert_eq!(Endian::Little.read_f32(90f32.to_le_bytes()), 90.0);
        let mut d = [1u8, 2, 3, 4, 5];
        Endian::native().opposite().swap_to_native(&mut d, 2);
        assert_eq!(d, [2, 1, 4, 3, 5]);
        Endian::native().swap_to_native(&mut d, 2);
        assert_eq!(d, [2, 1, 4, 3, 5]);
    }
}
