//! Byte-shuffle and bitshuffle kernels in the layout Blosc uses.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod kernels;
pub mod scalar;
mod swar;

fn check(typesize: usize, src: &[u8], dst: &[u8]) {
    assert!(typesize > 0, "typesize must be positive");
    assert_eq!(
        src.len(),
        dst.len(),
        "source and destination lengths differ"
    );
}

/// Byte-shuffles `src` into `dst` for elements of `typesize` bytes. `dst.len()` must equal `src.len()`.
///
/// # Panics
/// If the lengths differ or `typesize == 0`.
pub fn shuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    check(typesize, src, dst);
    let q = src.len() / typesize;
    let body = q * typesize;
    match typesize {
        1 => dst.copy_from_slice(src),
        2 => kernels::byte_fwd::<2, 2, 4>(src, dst, q),
        4 => kernels::byte_fwd::<4, 4, 5>(src, dst, q),
        8 => kernels::byte_fwd::<8, 8, 6>(src, dst, q),
        _ => kernels::byte_fwd_any(typesize, src, dst, q, q),
    }
    dst[body..].copy_from_slice(&src[body..]);
}

/// Inverse of [`shuffle`].
///
/// # Panics
/// If the lengths differ or `typesize == 0`.
pub fn unshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    check(typesize, src, dst);
    let q = src.len() / typesize;
    let body = q * typesize;
    match typesize {
        1 => dst.copy_from_slice(src),
        2 => kernels::byte_inv::<2, 2, 4>(src, dst, q),
        4 => kernels::byte_inv::<4, 4, 5>(src, dst, q),
        8 => kernels::byte_inv::<8, 8, 6>(src, dst, q),
        _ => kernels::byte_inv_any(typesize, src, q, dst, q),
    }
    dst[body..].copy_from_slice(&src[body..]);
}

/// Bitshuffles the first `n - n % 8` elements of `src` (n = `src.len() / typesize`) into `dst` and
/// copies the remaining bytes unchanged.
///
/// # Panics
/// If the lengths differ or `typesize == 0`.
pub fn bitshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    check(typesize, src, dst);
    let n = src.len() / typesize;
    let m = n - n % 8;
    let body = m * typesize;
    if m > 0 {
        let row = m / 8;
        match typesize {
            1 => kernels::bit_fwd::<1, 8, 0>(src, dst, m, row, 0),
            _ => kernels::bit_fwd_tiled(typesize, src, dst, m),
        }
    }
    dst[body..].copy_from_slice(&src[body..]);
}

/// Inverse of [`bitshuffle`].
///
/// # Panics
/// If the lengths differ or `typesize == 0`.
pub fn bitunshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    check(typesize, src, dst);
    let n = src.len() / typesize;
    let m = n - n % 8;
    let body = m * typesize;
    if m > 0 {
        let row = m / 8;
        match typesize {
            1 => kernels::bit_inv::<1, 8, 0>(src, row, 0, dst, m),
            _ => kernels::bit_inv_tiled(typesize, src, dst, m),
        }
    }
    dst[body..].copy_from_slice(&src[body..]);
}

#[cfg(test)]
mod quick {
    #[test]
    fn matches_scalar_smoke() {
        for ts in 1..=20usize {
            for len in [
                0usize, 1, 7, 8, 63, 64, 65, 200, 511, 512, 513, 1000, 2048, 4099, 9000,
            ] {
                let len = len * ts / 2 + len % 3;
                let src: Vec<u8> = (0..len)
                    .map(|i| (i as u32).wrapping_mul(2654435761).rotate_right(13) as u8)
                    .collect();
                let mut a = vec![0; len];
                let mut b = vec![0; len];
                for (name, f, g) in [
                    (
                        "shuffle",
                        crate::shuffle as fn(usize, &[u8], &mut [u8]),
                        crate::scalar::shuffle as fn(usize, &[u8], &mut [u8]),
                    ),
                    ("unshuffle", crate::unshuffle, crate::scalar::unshuffle),
                    ("bitshuffle", crate::bitshuffle, crate::scalar::bitshuffle),
                    (
                        "bitunshuffle",
                        crate::bitunshuffle,
                        crate::scalar::bitunshuffle,
                    ),
                ] {
                    f(ts, &src, &mut a);
                    g(ts, &src, &mut b);
                    assert!(a == b, "{name} ts {ts} len {len}");
                }
            }
        }
    }
}
