//! Scalar reference kernels: the definition every fast path is tested against.

fn check(typesize: usize, src: &[u8], dst: &[u8]) {
    assert!(typesize > 0, "typesize must be positive");
    assert_eq!(
        src.len(),
        dst.len(),
        "source and destination lengths differ"
    );
}

/// Reference byte shuffle (see the crate docs for the layout).
pub fn shuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    check(typesize, src, dst);
    let q = src.len() / typesize;
    for (i, elem) in src.chunks_exact(typesize).enumerate() {
        for (j, &b) in elem.iter().enumerate() {
            dst[j * q + i] = b;
        }
    }
    dst[q * typesize..].copy_from_slice(&src[q * typesize..]);
}

/// Reference inverse byte shuffle.
pub fn unshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    check(typesize, src, dst);
    let q = src.len() / typesize;
    for (i, elem) in dst.chunks_exact_mut(typesize).enumerate() {
        for (j, b) in elem.iter_mut().enumerate() {
            *b = src[j * q + i];
        }
    }
    dst[q * typesize..].copy_from_slice(&src[q * typesize..]);
}

/// Reference bitshuffle of the first `n - n % 8` elements; the rest is copied.
pub fn bitshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    check(typesize, src, dst);
    let n = src.len() / typesize;
    let m = n - n % 8;
    let row = m / 8;
    let body = m * typesize;
    dst[..body].fill(0);
    for i in 0..m {
        for j in 0..typesize {
            let b = src[i * typesize + j];
            for k in 0..8 {
                dst[(8 * j + k) * row + i / 8] |= ((b >> k) & 1) << (i % 8);
            }
        }
    }
    dst[body..].copy_from_slice(&src[body..]);
}

/// Reference inverse bitshuffle.
pub fn bitunshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    check(typesize, src, dst);
    let n = src.len() / typesize;
    let m = n - n % 8;
    let row = m / 8;
    let body = m * typesize;
    dst[..body].fill(0);
    for i in 0..m {
        for j in 0..typesize {
            let mut b = 0u8;
            for k in 0..8 {
                b |= ((src[(8 * j + k) * row + i / 8] >> (i % 8)) & 1) << k;
            }
            dst[i * typesize + j] = b;
        }
    }
    dst[body..].copy_from_slice(&src[body..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitshuffle_worked_example() {
        // spec/blosc.md §5.3: 16 × u8 00..0f
        let src: Vec<u8> = (0..16).collect();
        let mut dst = vec![0; 16];
        bitshuffle(1, &src, &mut dst);
        assert_eq!(
            dst,
            [
                0xaa, 0xaa, 0xcc, 0xcc, 0xf0, 0xf0, 0x00, 0xff, 0, 0, 0, 0, 0, 0, 0, 0
            ]
        );
        let mut back = vec![0; 16];
        bitunshuffle(1, &dst, &mut back);
        assert_eq!(back, src);
    }

    #[test]
    fn shuffle_layout_and_tail() {
        let src = [1u8, 2, 3, 4, 5, 6, 7];
        let mut dst = [0; 7];
        shuffle(2, &src, &mut dst);
        assert_eq!(dst, [1, 3, 5, 2, 4, 6, 7]);
        let mut back = [0; 7];
        unshuffle(2, &dst, &mut back);
        assert_eq!(back, src);
    }
}
