//! Special functions the fits need: `erf`, `erfc`, their inverse and the normal CDF.
//!
//! Written for this crate (no dependency offers them without pulling in a large maths crate):
//! `erf` by its all-positive Taylor series `erf x = 2/√π · e^{−x²} Σ 2ⁿx^{2n+1}/(2n+1)!!` for
//! |x| < 3, `erfc` by its continued fraction beyond; relative accuracy ~1e-13, far below what the
//! fits need. `erf_inv` refines Giles' single-precision starting value by Newton steps on `erf`
//! (centre) or `erfc` (tails, so that values near ±1 keep their precision).

const TWO_OVER_SQRT_PI: f64 = std::f64::consts::FRAC_2_SQRT_PI;

/// Series `Σ 2ⁿx^{2n+1}/(2n+1)!!` times `2/√π e^{−x²}`; valid (and accurate) for |x| < 3.
fn erf_series(x: f64) -> f64 {
    let x2 = x * x;
    let mut term = x;
    let mut sum = x;
    let mut n = 0.0;
    loop {
        n += 1.0;
        term *= 2.0 * x2 / (2.0 * n + 1.0);
        sum += term;
        if term < sum * 1e-17 || n > 200.0 {
            break;
        }
    }
    TWO_OVER_SQRT_PI * (-x2).exp() * sum
}

/// Continued fraction for `erfc(x)`, x ≥ 3 (evaluated backwards with a fixed depth).
fn erfc_cf(x: f64) -> f64 {
    // erfc x = e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …))))
    let mut f = x;
    for j in (1..=80).rev() {
        f = x + (j as f64 * 0.5) / f;
    }
    (-x * x).exp() / (std::f64::consts::PI.sqrt() * f)
}

/// The error function.
pub(crate) fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let a = x.abs();
    let v = if a < 3.0 {
        erf_series(a)
    } else {
        1.0 - erfc_cf(a)
    };
    v.copysign(x)
}

/// The complementary error function `1 − erf(x)`, accurate in the right tail.
pub(crate) fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    if x < 3.0 {
        1.0 - erf_series(x)
    } else {
        erfc_cf(x)
    }
}

/// Standard normal CDF `Φ(z)` (the accurate reference of [`norm_cdf_fast`]).
#[cfg(test)]
pub(crate) fn norm_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

/// Fast `Φ(z)` with relative error < 1.2e-7 (the classic Chebyshev-fitted `erfc` of Numerical
/// Recipes' `erfcc`), for objectives evaluated many times where that precision is ample.
pub(crate) fn norm_cdf_fast(z: f64) -> f64 {
    let x = -z / std::f64::consts::SQRT_2;
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.5 * a);
    let poly = -1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let c = t * (-a * a + poly).exp();
    0.5 * if x >= 0.0 { c } else { 2.0 - c }
}

/// Giles (2010) single-precision approximation of `erfinv`, used as a starting point.
fn erf_inv_guess(y: f64) -> f64 {
    let mut w = -((1.0 - y) * (1.0 + y)).ln();
    let p = if w < 5.0 {
        w -= 2.5;
        let mut p = 2.810_226_36e-08;
        p = 3.432_739_39e-07 + p * w;
        p = -3.523_387_7e-06 + p * w;
        p = -4.391_506_54e-06 + p * w;
        p = 0.000_218_580_87 + p * w;
        p = -0.001_253_725_03 + p * w;
        p = -0.004_177_681_64 + p * w;
        p = 0.246_640_727 + p * w;
        1.501_409_41 + p * w
    } else {
        w = w.sqrt() - 3.0;
        let mut p = -0.000_200_214_257;
        p = 0.000_100_950_558 + p * w;
        p = 0.001_349_343_22 + p * w;
        p = -0.003_673_428_44 + p * w;
        p = 0.005_739_507_73 + p * w;
        p = -0.007_622_461_3 + p * w;
        p = 0.009_438_870_47 + p * w;
        p = 1.001_674_06 + p * w;
        2.832_976_82 + p * w
    };
    p * y
}

/// Inverse error function on [−1, 1]; ±∞ at ±1, NaN outside.
pub(crate) fn erf_inv(y: f64) -> f64 {
    if y.is_nan() || !(-1.0..=1.0).contains(&y) {
        return f64::NAN;
    }
    if y == 1.0 {
        return f64::INFINITY;
    }
    if y == -1.0 {
        return f64::NEG_INFINITY;
    }
    if y < 0.0 {
        return -erf_inv(-y);
    }
    let mut x = erf_inv_guess(y);
    if y <= 0.5 {
        for _ in 0..3 {
            let d = TWO_OVER_SQRT_PI * (-x * x).exp();
            x -= (erf(x) - y) / d;
        }
    } else {
        let q = 1.0 - y;
        for _ in 0..4 {
            let d = TWO_OVER_SQRT_PI * (-x * x).exp();
            if d == 0.0 {
                break;
            }
            x += (erfc(x) - q) / d;
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn erf_and_erfc_match_known_values() {
        // (x, erf x, erfc x) from a reference implementation.
        let table = [
            (0.1, 0.1124629160182849, 0.8875370839817152),
            (0.5, 0.5204998778130465, 0.4795001221869535),
            (1.0, 0.8427007929497149, 0.15729920705028513),
            (2.0, 0.9953222650189527, 0.004677734981047265),
            (2.5, 0.999593047982555, 0.0004069520174449589),
            (3.0, 0.9999779095030014, 2.2090496998585438e-05),
            (4.0, 0.9999999845827421, 1.541725790028002e-08),
            (5.0, 0.9999999999984626, 1.5374597944280351e-12),
            (6.0, 1.0, 2.1519736712498916e-17),
        ];
        for (x, e, c) in table {
            assert!(close(erf(x), e, 1e-14), "erf({x}) = {}", erf(x));
            assert!(close(erf(-x), -e, 1e-14));
            assert!(close(erfc(x), c, 1e-11), "erfc({x}) = {} vs {c}", erfc(x));
        }
        assert_eq!(erf(0.0), 0.0);
        assert!(close(norm_cdf(-1.0), 0.15865525393145705, 1e-13));
    }

    #[test]
    fn fast_cdf_is_close() {
        for i in -1200..1200 {
            let z = f64::from(i) / 100.0;
            let (a, b) = (norm_cdf_fast(z), norm_cdf(z));
            assert!(
                (a - b).abs() <= 1.3e-7 * b.min(1.0 - b) + 1e-15,
                "Φ({z}): {a} vs {b}"
            );
        }
    }

    #[test]
    fn erf_inv_inverts() {
        for &x in &[-4.0, -3.0, -1.0, -0.3, 0.0, 1e-6, 0.2, 0.9, 1.7, 2.5, 3.9] {
            let y = erf(x);
            let back = erf_inv(y);
            // Near |x| = 4, 1 − y carries ~8 digits; the tail form keeps them.
            assert!((back - x).abs() < 1e-6, "erf_inv(erf({x})) = {back}");
        }
        // Φ⁻¹(0.975) = 1.959963984540054
        let z = std::f64::consts::SQRT_2 * erf_inv(2.0 * 0.975 - 1.0);
        assert!((z - 1.959963984540054).abs() < 1e-12, "{z}");
        assert_eq!(erf_inv(1.0), f64::INFINITY);
        assert_eq!(erf_inv(-1.0), f64::NEG_INFINITY);
        assert!(erf_inv(1.5).is_nan());
    }
}
