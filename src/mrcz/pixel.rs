//! Typed pixels: which Rust type views which MRC mode, and byte-order helpers.

use crate::mrc::Mode;

/// A pixel type frames can be read into and written from without copying.
///
/// Frames decode straight into a `&mut [T]`; the bytes are in the machine's byte order whatever
/// the file's. Complex modes use a two-element array `[re, im]`.
pub trait Pixel: bytemuck::Pod + Send + Sync + 'static {
    /// The mode this type is written as.
    const MODE: Mode;
    /// Whether a file of `mode` can be viewed as this type (same element size and meaning).
    fn views(mode: Mode) -> bool {
        mode == Self::MODE
    }
}

impl Pixel for i8 {
    const MODE: Mode = Mode::Int8;
}
/// 8-bit counts: MRC mode 0 is signed by MRC2014, but detectors store unsigned counts in it, so
/// `u8` views mode 0 too. Values above 127 read back as negative numbers in python-mrcz.
impl Pixel for u8 {
    const MODE: Mode = Mode::Int8;
}
impl Pixel for i16 {
    const MODE: Mode = Mode::Int16;
}
impl Pixel for u16 {
    const MODE: Mode = Mode::Uint16;
}
impl Pixel for i32 {
    const MODE: Mode = Mode::Int32;
}
impl Pixel for u32 {
    const MODE: Mode = Mode::Uint32;
}
impl Pixel for f32 {
    const MODE: Mode = Mode::Float32;
}
impl Pixel for half::f16 {
    const MODE: Mode = Mode::Float16;
}
/// complex64: `[re, im]`.
impl Pixel for [f32; 2] {
    const MODE: Mode = Mode::Complex64;
}
/// complex int16: `[re, im]`.
impl Pixel for [i16; 2] {
    const MODE: Mode = Mode::ComplexInt16;
}

/// Reverses the byte order of every `unit`-byte number in `bytes` (a no-op for `unit <= 1`).
pub fn swap_bytes(bytes: &mut [u8], unit: usize) {
    match unit {
        0 | 1 => {}
        2 => bytes.chunks_exact_mut(2).for_each(|c| c.swap(0, 1)),
        4 => bytes.chunks_exact_mut(4).for_each(|c| {
            let v = u32::from_ne_bytes([c[0], c[1], c[2], c[3]]).swap_bytes();
            c.copy_from_slice(&v.to_ne_bytes());
        }),
        8 => bytes.chunks_exact_mut(8).for_each(|c| c.reverse()),
        n => bytes.chunks_exact_mut(n).for_each(|c| c.reverse()),
    }
}

/// Unpacks mode-101 (4-bit) data: two pixels per byte, the left pixel in the low nibble, each row
/// `(nx + 1) / 2` bytes. Returns `nx * rows` bytes, one pixel each.
pub fn unpack_uint4(nx: usize, packed: &[u8]) -> Vec<u8> {
    let row_bytes = nx.div_ceil(2);
    if row_bytes == 0 {
        return Vec::new();
    }
    let rows = packed.len() / row_bytes;
    let mut out = Vec::with_capacity(nx * rows);
    for row in packed.chunks_exact(row_bytes) {
        for (i, &b) in row.iter().enumerate() {
            out.push(b & 0x0f);
            if 2 * i + 1 < nx {
                out.push(b >> 4);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_units() {
        let mut b = [1u8, 2, 3, 4, 5, 6, 7, 8];
        swap_bytes(&mut b, 4);
        assert_eq!(b, [4, 3, 2, 1, 8, 7, 6, 5]);
        swap_bytes(&mut b, 2);
        assert_eq!(b, [3, 4, 1, 2, 7, 8, 5, 6]);
    }

    #[test]
    fn uint4_odd_width() {
        // nx = 3: rows of 2 bytes; second byte's high nibble is padding
        assert_eq!(
            unpack_uint4(3, &[0x21, 0xf3, 0x54, 0x06]),
            [1, 2, 3, 4, 5, 6]
        );
    }
}
