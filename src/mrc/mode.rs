//! The MRC data type (MODE % 1000).

use std::fmt;

/// The element type of the data, MODE % 1000 (spec §2.3). The compressor id, MODE / 1000, is kept
/// separately in [`Header::compressor_id`](crate::mrc::Header::compressor_id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// 0: 8-bit signed integer (see [`Header::mode0_is_unsigned`](crate::mrc::Header::mode0_is_unsigned)
    /// for IMOD's unsigned convention).
    Int8,
    /// 1: 16-bit signed integer.
    Int16,
    /// 2: 32-bit IEEE float.
    Float32,
    /// 3: complex number of two 16-bit signed integers (real, imaginary).
    ComplexInt16,
    /// 4: complex number of two 32-bit floats (real, imaginary).
    Complex64,
    /// 6: 16-bit unsigned integer.
    Uint16,
    /// 7: 32-bit signed integer (non-standard, written by python-mrcz).
    Int32,
    /// 8: 32-bit unsigned integer (non-standard, written by python-mrcz).
    Uint32,
    /// 12: IEEE 754 half-precision float (IMOD).
    Float16,
    /// 101: 4-bit unsigned integer, two pixels per byte, the left pixel in the low nibble; each
    /// row takes `(NX + 1) / 2` bytes (IMOD).
    Uint4,
}

impl Mode {
    /// Every mode, in code order.
    pub const ALL: [Mode; 10] = [
        Mode::Int8,
        Mode::Int16,
        Mode::Float32,
        Mode::ComplexInt16,
        Mode::Complex64,
        Mode::Uint16,
        Mode::Int32,
        Mode::Uint32,
        Mode::Float16,
        Mode::Uint4,
    ];

    /// The mode for a base MODE code (MODE % 1000), or `None` for codes this crate does not know
    /// (such as IMOD's 16, RGB).
    pub fn from_code(code: i32) -> Option<Mode> {
        Some(match code {
            0 => Mode::Int8,
            1 => Mode::Int16,
            2 => Mode::Float32,
            3 => Mode::ComplexInt16,
            4 => Mode::Complex64,
            6 => Mode::Uint16,
            7 => Mode::Int32,
            8 => Mode::Uint32,
            12 => Mode::Float16,
            101 => Mode::Uint4,
            _ => return None,
        })
    }

    /// The base MODE code (0, 1, 2, 3, 4, 6, 7, 8, 12 or 101).
    pub fn code(self) -> i32 {
        match self {
            Mode::Int8 => 0,
            Mode::Int16 => 1,
            Mode::Float32 => 2,
            Mode::ComplexInt16 => 3,
            Mode::Complex64 => 4,
            Mode::Uint16 => 6,
            Mode::Int32 => 7,
            Mode::Uint32 => 8,
            Mode::Float16 => 12,
            Mode::Uint4 => 101,
        }
    }

    /// A short lower-case name: `int8`, `int16`, `float32`, `complex_int16`, `complex64`,
    /// `uint16`, `int32`, `uint32`, `float16`, `uint4`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Int8 => "int8",
            Mode::Int16 => "int16",
            Mode::Float32 => "float32",
            Mode::ComplexInt16 => "complex_int16",
            Mode::Complex64 => "complex64",
            Mode::Uint16 => "uint16",
            Mode::Int32 => "int32",
            Mode::Uint32 => "uint32",
            Mode::Float16 => "float16",
            Mode::Uint4 => "uint4",
        }
    }

    /// Bytes of one whole element, which is also the Blosc `typesize` python-mrcz uses:
    /// 1 (int8), 2 (int16, uint16, float16), 4 (float32, int32, uint32, complex_int16),
    /// 8 (complex64).
    ///
    /// Complex elements count both components (complex_int16 is 4, not 2); byte swapping works
    /// per component instead, see [`swap_unit`](Self::swap_unit). `Uint4` returns 1, the packed
    /// byte holding two pixels: use [`section_bytes`](Self::section_bytes) for sizes, never
    /// `element_bytes × NX`.
    pub fn element_bytes(self) -> usize {
        match self {
            Mode::Int8 | Mode::Uint4 => 1,
            Mode::Int16 | Mode::Uint16 | Mode::Float16 => 2,
            Mode::Float32 | Mode::Int32 | Mode::Uint32 | Mode::ComplexInt16 => 4,
            Mode::Complex64 => 8,
        }
    }

    /// Bytes of one number for byte swapping between the file order and the native order: the
    /// element size, except that complex modes swap each component on its own (complex_int16 → 2,
    /// complex64 → 4). 1 means no swapping.
    pub fn swap_unit(self) -> usize {
        match self {
            Mode::ComplexInt16 => 2,
            Mode::Complex64 => 4,
            m => m.element_bytes(),
        }
    }

    /// True for the two complex modes.
    pub fn is_complex(self) -> bool {
        matches!(self, Mode::ComplexInt16 | Mode::Complex64)
    }

    /// True for the modes python-mrcz 0.6.0 reads and writes (0, 1, 2, 4, 6, 7, 8, 101); it
    /// refuses 3 and 12.
    pub fn python_mrcz_supported(self) -> bool {
        !matches!(self, Mode::ComplexInt16 | Mode::Float16)
    }

    /// True for the modes MRC2014 defines (0, 1, 2, 3, 4, 6, 12, and IMOD's 101); false for
    /// python-mrcz's 7 and 8.
    pub fn is_mrc2014(self) -> bool {
        !matches!(self, Mode::Int32 | Mode::Uint32)
    }

    /// Bytes of one `nx × ny` section in a plain file, or `None` on overflow. `Uint4` rows are
    /// padded to whole bytes: `((nx + 1) / 2) × ny`.
    pub fn section_bytes(self, nx: u64, ny: u64) -> Option<u64> {
        match self {
            Mode::Uint4 => nx.div_ceil(2).checked_mul(ny),
            m => nx.checked_mul(ny)?.checked_mul(m.element_bytes() as u64),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for m in Mode::ALL {
            assert_eq!(Mode::from_code(m.code()), Some(m));
        }
        for c in [-1, 5, 9, 10, 11, 13, 16, 100, 102, 1000] {
            assert_eq!(Mode::from_code(c), None, "{c}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(Mode::ComplexInt16.element_bytes(), 4);
        assert_eq!(Mode::ComplexInt16.swap_unit(), 2);
        assert_eq!(Mode::Complex64.element_bytes(), 8);
        assert_eq!(Mode::Complex64.swap_unit(), 4);
        assert_eq!(Mode::Float16.swap_unit(), 2);
        assert_eq!(Mode::Uint4.section_bytes(5, 3), Some(9));
        assert_eq!(Mode::Uint4.section_bytes(4, 3), Some(6));
        assert_eq!(Mode::Float32.section_bytes(10, 3), Some(120));
        assert_eq!(Mode::Complex64.section_bytes(u64::MAX / 4, 1), None);
        assert_eq!(
            Mode::Uint4.section_bytes(u64::MAX, 1),
            Some(u64::MAX / 2 + 1)
        );
    }
}
