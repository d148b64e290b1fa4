//! The `U64` box filter of the gamma and orientation scores, and the flatness score (CV).

use rayon::prelude::*;

use super::stack::reflect;

/// Uniform (box) filter of side `size` with SciPy `uniform_filter` semantics: the window of
/// output `i` covers `i − size/2 ..= i − size/2 + size − 1`, borders by "reflect".
pub(crate) fn uniform_filter(img: &[f64], ny: usize, nx: usize, size: usize) -> Vec<f64> {
    let size = size.max(1);
    let half = (size / 2) as isize;
    let inv = 1.0 / size as f64;
    // Rows: prefix sums over a reflect-padded row.
    let mut rows = vec![0.0f64; ny * nx];
    rows.par_chunks_mut(nx)
        .zip(img.par_chunks(nx))
        .for_each(|(out, row)| {
            let mut prefix = Vec::with_capacity(nx + size);
            prefix.push(0.0);
            let mut acc = 0.0;
            for j in 0..(nx + size - 1) {
                acc += row[reflect(j as isize - half, nx)];
                prefix.push(acc);
            }
            for (i, o) in out.iter_mut().enumerate() {
                *o = (prefix[i + size] - prefix[i]) * inv;
            }
        });
    // Columns: a running sum of whole rows (vectorised over x, cache-friendly).
    let mut out = vec![0.0f64; ny * nx];
    let mut acc = vec![0.0f64; nx];
    for j in 0..size {
        let r = reflect(j as isize - half, ny);
        for (a, &v) in acc.iter_mut().zip(&rows[r * nx..(r + 1) * nx]) {
            *a += v;
        }
    }
    for y in 0..ny {
        for (o, &a) in out[y * nx..(y + 1) * nx].iter_mut().zip(&acc) {
            *o = a * inv;
        }
        if y + 1 < ny {
            let add = reflect((y + size) as isize - half, ny);
            let sub = reflect(y as isize - half, ny);
            for ((a, &p), &m) in acc
                .iter_mut()
                .zip(&rows[add * nx..(add + 1) * nx])
                .zip(&rows[sub * nx..(sub + 1) * nx])
            {
                *a += p - m;
            }
        }
    }
    out
}

/// Coefficient of variation `std/mean` (population std) of `values`; `f64::INFINITY` if the mean
/// is not positive.
pub(crate) fn cv(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.par_iter().sum::<f64>() / n;
    if mean.is_nan() || mean <= 0.0 || !mean.is_finite() {
        return f64::INFINITY;
    }
    let var = values
        .par_iter()
        .map(|v| (v - mean) * (v - mean))
        .sum::<f64>()
        / n;
    var.sqrt() / mean
}

/// Flatness score of an image: CV of its `size × size` box-filtered version. Pixels where
/// `good` is false are replaced by the mean of the good ones first.
pub(crate) fn flatness(
    img: &mut [f64],
    good: Option<&[bool]>,
    ny: usize,
    nx: usize,
    size: usize,
) -> f64 {
    if let Some(good) = good {
        let (s, c) = img
            .iter()
            .zip(good)
            .filter(|(_, g)| **g)
            .fold((0.0, 0usize), |(s, c), (v, _)| (s + v, c + 1));
        let fill = if c > 0 { s / c as f64 } else { 0.0 };
        for (v, g) in img.iter_mut().zip(good) {
            if !*g {
                *v = fill;
            }
        }
    }
    cv(&uniform_filter(img, ny, nx, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_direct_window_mean() {
        let (ny, nx, size) = (7, 5, 4);
        let img: Vec<f64> = (0..ny * nx).map(|i| ((i * 37) % 11) as f64).collect();
        let f = uniform_filter(&img, ny, nx, size);
        let half = (size / 2) as isize;
        for y in 0..ny {
            for x in 0..nx {
                let mut s = 0.0;
                for dy in 0..size as isize {
                    for dx in 0..size as isize {
                        let yy = reflect(y as isize - half + dy, ny);
                        let xx = reflect(x as isize - half + dx, nx);
                        s += img[yy * nx + xx];
                    }
                }
                let want = s / (size * size) as f64;
                assert!((f[y * nx + x] - want).abs() < 1e-12);
            }
        }
        // A window larger than the image still works (repeated reflection).
        let f = uniform_filter(&img, ny, nx, 64);
        assert!(f.iter().all(|v| v.is_finite()));
    }
}
