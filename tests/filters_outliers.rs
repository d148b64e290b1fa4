//! Outlier filter on synthetic stacks with known ground truth: spec recipes T1 (planted defects,
//! reference-compatible mode), T2 (clean stacks, robust mode), T3 (PSF fill arithmetic), plus
//! degenerate inputs.

mod filters_util;

use filters_util::Rng;
use mrcz::filters::{
    FrameSum, OutlierMode, OutlierParams, StackView, ThresholdSource, correct_stack,
    outlier_filter, pearson_stack, plan_correction,
};

const N: usize = 512;

struct Planted {
    stack: Vec<u8>,
    /// (pixel index, strong) for every planted outlier.
    pixels: Vec<(usize, bool)>,
}

/// Recipe T1: m = 20, 512², dose 1, planted ≥ 3 px from the edges.
fn t1_stack(seed: u64, frames: usize) -> Planted {
    let mut rng = Rng::new(seed);
    let mut lam = vec![1.0f64; N * N];
    let mut taken = vec![false; N * N];
    let mut pixels = Vec::new();
    let free_3x3 = |taken: &[bool], y: usize, x: usize, h: usize, w: usize| {
        for yy in y - 1..y + h + 1 {
            for xx in x - 1..x + w + 1 {
                if taken[yy * N + xx] {
                    return false;
                }
            }
        }
        true
    };
    let place = |rng: &mut Rng, taken: &mut Vec<bool>, h: usize, w: usize| loop {
        let y = 3 + rng.below(N - 6 - h);
        let x = 3 + rng.below(N - 6 - w);
        if free_3x3(taken, y, x, h, w) {
            for yy in y..y + h {
                for xx in x..x + w {
                    taken[yy * N + xx] = true;
                }
            }
            return (y, x);
        }
    };
    // 0.5 % isolated hot pixels, extra U(0.5, 3.0) e/frame.
    for _ in 0..(N * N) / 200 {
        let (y, x) = place(&mut rng, &mut taken, 1, 1);
        let extra = 0.5 + 2.5 * rng.uniform();
        lam[y * N + x] = 1.0 + extra;
        pixels.push((y * N + x, extra >= 2.0));
    }
    // 0.05 % dead pixels.
    for _ in 0..(N * N) / 2000 {
        let (y, x) = place(&mut rng, &mut taken, 1, 1);
        lam[y * N + x] = 0.0;
        pixels.push((y * N + x, true));
    }
    // 20 hot 2×2 blocks (λ = 3) and 5 vertical segments of 12 px (λ = 2.5).
    for _ in 0..20 {
        let (y, x) = place(&mut rng, &mut taken, 2, 2);
        for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            lam[(y + dy) * N + x + dx] = 3.0;
            pixels.push(((y + dy) * N + x + dx, true));
        }
    }
    for _ in 0..5 {
        let (y, x) = place(&mut rng, &mut taken, 12, 1);
        for dy in 0..12 {
            lam[(y + dy) * N + x] = 2.5;
            pixels.push(((y + dy) * N + x, false));
        }
    }
    let stack = filters_util::poisson_stack(&mut rng, &lam, frames);
    Planted { stack, pixels }
}

#[test]
fn t1_reference_mode_detects_planted_outliers() {
    let m = 20;
    for seed in [1u64, 2] {
        let p = t1_stack(seed, m);
        let view = StackView::new(&p.stack, m, N, N).unwrap();
        let sum = FrameSum::from_stack(view).unwrap();
        let params = OutlierParams::reference();
        let (plan, rep) = plan_correction(&sum, None, &params).unwrap();
        println!("seed {seed}: {}", serde_json::to_string(&rep).unwrap());
        assert!((rep.mu - 19.42).abs() <= 0.05, "mu {}", rep.mu);
        assert!((rep.sigma - 4.46).abs() <= 0.05, "sigma {}", rep.sigma);
        assert!((rep.t_dark + 3.30).abs() <= 0.05, "t_dark {}", rep.t_dark);
        assert!((2.45..=2.75).contains(&rep.t_hot), "t_hot {}", rep.t_hot);
        assert_eq!(rep.t_dark_source, ThresholdSource::Fit);
        assert_eq!(rep.t_hot_source, ThresholdSource::Fit);
        assert!(
            (6900..=7500).contains(&rep.flagged),
            "flagged {}",
            rep.flagged
        );

        // Recall, from the per-pixel weights (w = multiplier without gain).
        let found = |i: usize| plan.multiplier(i).unwrap() < 0.5;
        let all = p.pixels.len();
        let hit = p.pixels.iter().filter(|(i, _)| found(*i)).count();
        let strong: Vec<_> = p.pixels.iter().filter(|(_, s)| *s).collect();
        let strong_hit = strong.iter().filter(|(i, _)| found(*i)).count();
        let recall = hit as f64 / all as f64;
        let strong_recall = strong_hit as f64 / strong.len() as f64;
        println!("recall {recall:.4} ({hit}/{all}), strong {strong_recall:.4}");
        assert!(recall >= 0.94, "recall {recall}");
        assert!(strong_recall >= 0.995, "strong recall {strong_recall}");

        // Filtered values at planted pixels ≈ the true dose 1.0.
        let out = plan.apply_stack(view).unwrap();
        assert!(out.iter().all(|v| v.is_finite()));
        let mean_over = |sel: &mut dyn Iterator<Item = usize>| {
            let (mut s, mut c) = (0.0, 0);
            for i in sel {
                for t in 0..m {
                    s += f64::from(out[t * N * N + i]);
                    c += 1;
                }
            }
            s / c as f64
        };
        let mp = mean_over(&mut p.pixels.iter().map(|p| p.0));
        let ms = mean_over(&mut p.pixels.iter().filter(|p| p.1).map(|p| p.0));
        println!("planted mean {mp:.4}, strong {ms:.4}");
        assert!((mp - 0.99).abs() <= 0.02, "planted mean {mp}");
        assert!((ms - 0.975).abs() <= 0.02, "strong mean {ms}");

        // Correlated noise: raw ≈ 0.019, filtered slightly negative (Q6).
        let r_raw = pearson_stack(view).pearson.unwrap();
        let r_filt = pearson_stack(StackView::new(&out, m, N, N).unwrap())
            .pearson
            .unwrap();
        println!("R raw {r_raw:.5} filtered {r_filt:.5}");
        assert!((0.0185..=0.0205).contains(&r_raw), "R raw {r_raw}");
        assert!(r_filt < 0.5 * r_raw);
        assert!((-0.012..=0.0).contains(&r_filt), "R filtered {r_filt}");
    }
}

#[test]
fn t1_robust_mode_agrees_on_planted_outliers() {
    let m = 20;
    let p = t1_stack(3, m);
    let view = StackView::new(&p.stack, m, N, N).unwrap();
    let (out, rep) = outlier_filter(view, &OutlierParams::robust()).unwrap();
    println!("{}", serde_json::to_string(&rep).unwrap());
    assert_eq!(rep.mode, OutlierMode::Robust);
    // Clamped to ±3: fewer good pixels flagged than in reference mode, strong ones still found.
    assert!(rep.t_hot >= 3.0 && rep.t_dark <= -3.0);
    assert!((rep.t_dark + 3.30).abs() <= 0.05, "t_dark {}", rep.t_dark);
    let strong: Vec<usize> = p.pixels.iter().filter(|p| p.1).map(|p| p.0).collect();
    let mean_strong: f64 = strong
        .iter()
        .map(|&i| (0..m).map(|t| f64::from(out[t * N * N + i])).sum::<f64>() / m as f64)
        .sum::<f64>()
        / strong.len() as f64;
    assert!((mean_strong - 1.0).abs() < 0.1, "strong mean {mean_strong}");
    assert!(out.iter().all(|v| v.is_finite()));
    let r_raw = pearson_stack(view).pearson.unwrap();
    let r_filt = pearson_stack(StackView::new(&out, m, N, N).unwrap())
        .pearson
        .unwrap();
    println!("R raw {r_raw:.5} filtered {r_filt:.5}");
    assert!(r_filt.abs() < 0.25 * r_raw, "R filtered {r_filt}");
}

#[test]
fn t2_clean_stacks_robust_mode() {
    for (m, dose) in [(20usize, 1.0f64), (50, 2.0), (10, 4.0)] {
        for seed in 0..5u64 {
            let mut rng = Rng::new(1000 + seed * 7 + m as u64);
            let lam = vec![dose; N * N];
            let stack = filters_util::poisson_stack(&mut rng, &lam, m);
            let view = StackView::new(&stack, m, N, N).unwrap();
            let (out, rep) = outlier_filter(view, &OutlierParams::robust()).unwrap();
            let frac = rep.flagged as f64 / (N * N) as f64;
            let r = pearson_stack(StackView::new(&out, m, N, N).unwrap())
                .pearson
                .unwrap();
            println!(
                "m {m} dose {dose} seed {seed}: t ({:.3}, {:.3}) {:?}/{:?} flagged {:.4}% R {r:.5}",
                rep.t_dark,
                rep.t_hot,
                rep.t_dark_source,
                rep.t_hot_source,
                100.0 * frac
            );
            assert!(out.iter().all(|v| v.is_finite()), "NaN in output");
            assert!(rep.t_hot >= 3.0 && rep.t_dark <= -3.0);
            assert!(frac < 0.01, "flagged {frac}");
            assert!((-0.008..=0.001).contains(&r), "R filtered {r}");
        }
    }
}

#[test]
fn t2_reference_mode_never_returns_nan_on_clean_stack() {
    // Q1: the reference turns a clean stack into NaN; the compatible mode falls back instead.
    let (m, n) = (20, 256);
    let mut rng = Rng::new(77);
    let stack = filters_util::poisson_stack(&mut rng, &vec![1.0; n * n], m);
    let view = StackView::new(&stack, m, n, n).unwrap();
    let (out, rep) = outlier_filter(view, &OutlierParams::reference()).unwrap();
    println!("{}", serde_json::to_string(&rep).unwrap());
    assert!(rep.t_dark.is_finite() && rep.t_hot.is_finite());
    assert_eq!(rep.t_dark_source, ThresholdSource::Fallback);
    assert!(out.iter().all(|v| v.is_finite()));
}

fn t3_image(hot: &[(usize, usize)]) -> Vec<f32> {
    let mut img = vec![1.0f32; 64 * 64];
    for &(y, x) in hot {
        img[y * 64 + x] = 100.0;
    }
    img
}

#[test]
fn t3_psf_fill_arithmetic() {
    let img = t3_image(&[(32, 32)]);
    let view = StackView::new(&img, 1, 64, 64).unwrap();
    let (out, rep) = outlier_filter(view, &OutlierParams::reference()).unwrap();
    assert_eq!(rep.t_dark_source, ThresholdSource::Fallback);
    assert_eq!(rep.t_hot_source, ThresholdSource::Fallback);
    assert_eq!((rep.t_dark, rep.t_hot), (-4.0, 3.25));
    assert!((rep.mu - 0.518).abs() < 0.002, "mu {}", rep.mu);
    assert!((rep.sigma - 0.708).abs() < 0.002, "sigma {}", rep.sigma);
    assert_eq!(rep.neighbourly, 0);
    assert_eq!(out[32 * 64 + 32], 1.0, "hot pixel fill");
    for (y, x) in [(31, 32), (33, 32), (32, 31), (32, 33)] {
        let d = f64::from(out[y * 64 + x]) - 1.0;
        assert!(
            (d - 1.8e-5).abs() < 1e-6,
            "4-neighbour ({y}, {x}) = 1 + {d:e}"
        );
    }
    for y in 0..64usize {
        for x in 0..64usize {
            if y.abs_diff(32) <= 1 && x.abs_diff(32) <= 1 {
                continue;
            }
            assert_eq!(out[y * 64 + x], 1.0, "pixel ({y}, {x})");
        }
    }

    // A hot pair: both neighbourly, each filled with the mean of the non-neighbourly window = 1.
    let img = t3_image(&[(32, 32), (32, 33)]);
    let view = StackView::new(&img, 1, 64, 64).unwrap();
    for params in [OutlierParams::reference(), OutlierParams::robust()] {
        let (out, rep) = outlier_filter(view, &params).unwrap();
        assert_eq!(rep.neighbourly, 2, "{:?}", params.mode);
        assert!((out[32 * 64 + 32] - 1.0).abs() < 1e-6);
        assert!((out[32 * 64 + 33] - 1.0).abs() < 1e-6);
    }

    // A hot pair in row 0: the reference's slicing quirk gives μ_fit/m ≈ 0.536; robust clips
    // the window and gives 1.0.
    let img = t3_image(&[(0, 20), (0, 21)]);
    let view = StackView::new(&img, 1, 64, 64).unwrap();
    let (out, rep) = outlier_filter(view, &OutlierParams::reference()).unwrap();
    assert!((rep.mu - 0.536).abs() < 0.002, "mu {}", rep.mu);
    assert!((f64::from(out[20]) - rep.mu).abs() < 1e-5, "{}", out[20]);
    assert!((f64::from(out[21]) - rep.mu).abs() < 1e-5, "{}", out[21]);
    let (out, _) = outlier_filter(view, &OutlierParams::robust()).unwrap();
    assert!((out[20] - 1.0).abs() < 1e-6 && (out[21] - 1.0).abs() < 1e-6);
}

#[test]
fn degenerate_inputs_give_finite_output() {
    let robust = OutlierParams::robust();
    let reference = OutlierParams::reference();
    for params in [&robust, &reference] {
        // All zero.
        let z = vec![0u8; 3 * 16 * 16];
        let (out, rep) = outlier_filter(StackView::new(&z, 3, 16, 16).unwrap(), params).unwrap();
        assert!(out.iter().all(|&v| v == 0.0), "{rep:?}");
        // Constant, single frame.
        let c = vec![7u16; 32 * 32];
        let (out, _) = outlier_filter(StackView::new(&c, 1, 32, 32).unwrap(), params).unwrap();
        assert!(out.iter().all(|v| (v - 7.0).abs() < 1e-3));
        // Tiny images.
        for (ny, nx) in [(1, 1), (1, 3), (2, 2)] {
            let d: Vec<i8> = (0..ny * nx).map(|i| (i * 5 % 7) as i8).collect();
            let (out, _) = outlier_filter(StackView::new(&d, 1, ny, nx).unwrap(), params).unwrap();
            assert!(out.iter().all(|v| v.is_finite()));
        }
        // Huge counts (f32 and 16-bit) and negative values.
        let h: Vec<f32> = (0..4 * 64 * 64)
            .map(|i| 1e30 + (i % 17) as f32 * 1e27)
            .collect();
        let (out, rep) = outlier_filter(StackView::new(&h, 4, 64, 64).unwrap(), params).unwrap();
        assert!(out.iter().all(|v| v.is_finite()), "{rep:?}");
        let h: Vec<u16> = (0..4 * 64 * 64).map(|i| 65535 - (i % 3) as u16).collect();
        let (out, _) = outlier_filter(StackView::new(&h, 4, 64, 64).unwrap(), params).unwrap();
        assert!(out.iter().all(|v| v.is_finite()));
        let s: Vec<f32> = (0..2 * 40 * 40)
            .map(|i| ((i * 37) % 11) as f32 - 20.0)
            .collect();
        let (out, _) = outlier_filter(StackView::new(&s, 2, 40, 40).unwrap(), params).unwrap();
        assert!(out.iter().all(|v| v.is_finite()));
        // Non-finite input pixels are defects: filled, not propagated.
        let mut f: Vec<f32> = (0..3 * 32 * 32).map(|i| (i % 5) as f32).collect();
        f[100] = f32::NAN;
        f[32 * 32 + 200] = f32::INFINITY;
        let (out, rep) = outlier_filter(StackView::new(&f, 3, 32, 32).unwrap(), params).unwrap();
        assert!(out.iter().all(|v| v.is_finite()));
        assert_eq!(rep.defects, 2);
    }
}

#[test]
fn explicit_thresholds_and_bad_arguments() {
    let mut rng = Rng::new(5);
    let stack = filters_util::poisson_stack(&mut rng, &vec![1.0; 64 * 64], 10);
    let view = StackView::new(&stack, 10, 64, 64).unwrap();
    let params = OutlierParams {
        thresholds: Some((-5.0, 5.0)),
        ..OutlierParams::robust()
    };
    let (_, rep) = outlier_filter(view, &params).unwrap();
    assert_eq!(rep.t_dark_source, ThresholdSource::Given);
    assert_eq!((rep.t_dark, rep.t_hot), (-5.0, 5.0));
    let bad = OutlierParams {
        relax: f64::NAN,
        ..OutlierParams::robust()
    };
    assert!(matches!(
        outlier_filter(view, &bad),
        Err(mrcz::Error::InvalidArgument(_))
    ));
    let empty = FrameSum::new(4, 4).unwrap();
    assert!(plan_correction(&empty, None, &OutlierParams::robust()).is_err());
    // Streaming per frame equals the whole-stack result.
    let sum = FrameSum::from_stack(view).unwrap();
    let (plan, _) = plan_correction(&sum, None, &OutlierParams::robust()).unwrap();
    let whole = correct_stack(view, None, &OutlierParams::robust())
        .unwrap()
        .0;
    let mut buf = vec![0.0f32; 64 * 64];
    for t in 0..10 {
        plan.apply_frame(view.frame(t).unwrap(), &mut buf).unwrap();
        assert_eq!(&buf[..], &whole[t * 4096..(t + 1) * 4096]);
    }
    assert!(plan.apply_frame(&stack[..100], &mut buf).is_err());
}
