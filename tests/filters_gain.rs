//! Gain normalisation, dose-rate gamma and orientation: spec recipes T4 and T5, plus defects,
//! dark subtraction and shape errors.

mod filters_util;

use filters_util::{Rng, gain_pattern};
use mrcz::filters::{
    Flip, FrameSum, GainMap, GainOptions, Gamma, GammaFitOptions, ImageView, Orientation,
    OutlierParams, StackView, correct_stack, fit_gamma, fitting_orientations, gamma_for_dose_rate,
    normalize_stack, pearson_stack, score_orientations,
};

fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// Sum of `m` frames of Poisson(λ) drawn directly as Poisson(m·λ) (same distribution).
/// The `n × n` gain reference `g0` as a map with default options (no orientation, no gamma).
fn square_gain(g0: &[f64], n: usize) -> GainMap {
    let img = to_f32(g0);
    GainMap::new(
        ImageView::new(&img, n, n).unwrap(),
        None,
        n,
        n,
        &GainOptions::default(),
    )
    .unwrap()
}

fn poisson_sum(rng: &mut Rng, lam: &[f64], m: usize) -> Vec<f64> {
    lam.iter()
        .map(|&l| f64::from(rng.poisson(l * m as f64)))
        .collect()
}

#[test]
fn t4_gamma_fit_recovers_planted_gamma() {
    let (n, m, dose) = (1024, 40, 2.0);
    let mut rng = Rng::new(44);
    let g0 = gain_pattern(&mut rng, n, n, 40.0, 0.02);
    let gain = square_gain(&g0, n);
    let floor = 1.0 / (m as f64 * dose * 4096.0).sqrt();
    for gamma_true in [0.75, 1.0, 1.25, 1.54] {
        let lam: Vec<f64> = g0.iter().map(|&g| dose * g.powf(-gamma_true)).collect();
        let sum = FrameSum::from_sum(poisson_sum(&mut rng, &lam, m), m, n, n).unwrap();
        let fit = fit_gamma(&sum, &gain, &GammaFitOptions::default()).unwrap();
        println!(
            "γ_true {gamma_true}: γ* {:.4}, CV {:.5} (floor {floor:.5}), CV(γ=1) {:.5}, raw {:.4}, {} evals",
            fit.gamma, fit.cv, fit.cv_gamma_one, fit.cv_raw, fit.evaluations
        );
        assert!((fit.gamma - gamma_true).abs() <= 0.005, "γ* {}", fit.gamma);
        assert!(fit.cv <= 1.1 * floor, "CV {}", fit.cv);
        assert!(fit.cv_raw >= 0.03, "raw CV {}", fit.cv_raw);
    }
}

#[test]
fn t4_gamma_model_table_and_gain_map_gamma() {
    let table = [
        (0.25, 1.5407),
        (0.5, 1.2700),
        (1.0, 1.1258),
        (2.0, 1.0302),
        (2.6, 0.9961),
        (4.0, 0.9329),
        (7.0, 0.8195),
        (9.0, 0.7485),
    ];
    for (d, g) in table {
        assert!((gamma_for_dose_rate(d).unwrap() - g).abs() < 1e-4);
    }
    // A dose-rate gamma raises the gain to γ(δ).
    let g = [2.0f32, 0.5, 1.0, 4.0];
    let opts = GainOptions {
        gamma: Gamma::DoseRate(0.5),
        ..GainOptions::default()
    };
    let map = GainMap::new(ImageView::new(&g, 2, 2).unwrap(), None, 2, 2, &opts).unwrap();
    assert!((map.gamma() - 1.2700).abs() < 1e-4);
    for (a, b) in map.gain().iter().zip(g) {
        assert!((f64::from(*a) - f64::from(b).powf(map.gamma())).abs() < 1e-5);
    }
}

#[test]
fn t4_pearson_after_gain_normalisation() {
    let (n, m, dose) = (512, 10, 2.0);
    let mut rng = Rng::new(4);
    let g0 = gain_pattern(&mut rng, n, n, 40.0, 0.02);
    let lam: Vec<f64> = g0.iter().map(|&g| dose / g).collect();
    let stack = filters_util::poisson_stack(&mut rng, &lam, m);
    let view = StackView::new(&stack, m, n, n).unwrap();
    let r_raw = pearson_stack(view).pearson.unwrap();
    let gain = square_gain(&g0, n);
    let norm = normalize_stack(view, &gain).unwrap();
    let r = pearson_stack(StackView::new(&norm, m, n, n).unwrap())
        .pearson
        .unwrap();
    println!("R raw {r_raw:.5}, gain-normalised {r:.5}");
    assert!((0.004..=0.010).contains(&r_raw), "R raw {r_raw}");
    assert!(r.abs() < 0.001, "R normalised {r}");
}

#[test]
fn t5_orientation_search_finds_inverse() {
    let (n, m, dose) = (512, 20, 2.0);
    let mut rng = Rng::new(55);
    let g0 = gain_pattern(&mut rng, n, n, 40.0, 0.02);
    let lam: Vec<f64> = g0.iter().map(|&g| dose / g).collect();
    let sum = FrameSum::from_sum(poisson_sum(&mut rng, &lam, m), m, n, n).unwrap();
    let g32 = to_f32(&g0);
    for op in Orientation::all() {
        let stored = op.apply(ImageView::new(&g32, n, n).unwrap());
        let scores =
            score_orientations(&sum, ImageView::new(&stored, n, n).unwrap(), false, 64).unwrap();
        println!(
            "stored {:>13}: best {:>13} CV {:.5}, second {:>13} CV {:.5}",
            op.name(),
            scores[0].name,
            scores[0].cv,
            scores[1].name,
            scores[1].cv
        );
        assert_eq!(scores.len(), 8);
        assert_eq!(
            scores[0].orientation,
            op.inverse(),
            "stored as {}",
            op.name()
        );
        assert!(scores[0].cv < 0.004);
        assert!(scores[1].cv / scores[0].cv > 8.0);
    }
}

#[test]
fn orientation_conventions_match_motioncor() {
    // new[y][x] = old[ny−1−x][y] for RotGain 1; flips after the rotation.
    let g: Vec<f32> = (0..6).map(|v| v as f32).collect(); // 2 × 3: 0 1 2 / 3 4 5
    let v = ImageView::new(&g, 2, 3).unwrap();
    assert_eq!(
        Orientation::from_motioncor(1, 0).unwrap().apply(v),
        vec![3.0, 0.0, 4.0, 1.0, 5.0, 2.0]
    );
    assert_eq!(
        Orientation::from_motioncor(1, 2).unwrap().apply(v),
        vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    );
    assert_eq!(Orientation::new(1, Flip::LeftRight), Orientation::TRANSPOSE);
    // Shape checks.
    assert_eq!(fitting_orientations((3, 2), (2, 3)).unwrap().len(), 4);
    let err = GainMap::new(v, None, 2, 4, &GainOptions::default()).unwrap_err();
    assert!(matches!(err, mrcz::Error::InvalidArgument(_)));
    let msg = fitting_orientations((2, 3), (2, 4))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("(2, 3)") && msg.contains("(2, 4)"), "{msg}");
    // A rotated reference applied through GainOptions lines up with the movie.
    let opts = GainOptions {
        orientation: Orientation::from_motioncor(1, 0).unwrap(),
        ..GainOptions::default()
    };
    let map = GainMap::new(v, None, 3, 2, &opts).unwrap();
    assert_eq!(map.gain(), &[3.0, 0.0, 4.0, 1.0, 5.0, 2.0][..]);
    assert_eq!(map.defects(), &[1]); // the 0 of the reference is a defect
}

#[test]
fn gain_defects_dark_and_invert() {
    let (ny, nx, m) = (16, 16, 3);
    let mut g = vec![2.0f32; ny * nx];
    g[5 * nx + 5] = 0.0;
    g[9 * nx + 9] = f32::NAN;
    g[0] = -1.0;
    let dark = vec![0.5f32; ny * nx];
    let frames: Vec<u8> = (0..m * ny * nx).map(|i| (i % 4) as u8 + 1).collect();
    let view = StackView::new(&frames, m, ny, nx).unwrap();
    let map = GainMap::new(
        ImageView::new(&g, ny, nx).unwrap(),
        Some(ImageView::new(&dark, ny, nx).unwrap()),
        ny,
        nx,
        &GainOptions::default(),
    )
    .unwrap();
    assert_eq!(map.defects().len(), 3);
    let out = normalize_stack(view, &map).unwrap();
    assert!(out.iter().all(|v| v.is_finite()));
    for t in 0..m {
        for i in 0..ny * nx {
            let o = out[t * ny * nx + i];
            if map.defects().contains(&i) {
                // Mean of good neighbours in the same frame: within the range of its values.
                assert!((1.0..=7.0).contains(&o), "defect {i} = {o}");
            } else {
                let want = (f32::from(frames[t * ny * nx + i]) - 0.5) * 2.0;
                assert_eq!(o, want);
            }
        }
    }
    // Inverted (flat-field) reference: multiply by 1/g.
    let opts = GainOptions {
        invert: true,
        ..GainOptions::default()
    };
    let map = GainMap::new(ImageView::new(&g, ny, nx).unwrap(), None, ny, nx, &opts).unwrap();
    assert_eq!(map.gain()[1], 0.5);
    // Gain + outlier filter: defects become weight-0 outliers with a finite fill.
    let map = GainMap::new(
        ImageView::new(&g, ny, nx).unwrap(),
        None,
        ny,
        nx,
        &GainOptions::default(),
    )
    .unwrap();
    let (out, rep) = correct_stack(view, Some(&map), &OutlierParams::robust()).unwrap();
    assert_eq!(rep.defects, 3);
    assert!(out.iter().all(|v| v.is_finite() && *v > 0.0));
    // Gain + dark + outlier filter: unflagged pixels are exactly (I − dark)·gain.
    let map = GainMap::new(
        ImageView::new(&g, ny, nx).unwrap(),
        Some(ImageView::new(&dark, ny, nx).unwrap()),
        ny,
        nx,
        &GainOptions::default(),
    )
    .unwrap();
    let sum = FrameSum::from_stack(view).unwrap();
    let (plan, rep) =
        mrcz::filters::plan_correction(&sum, Some(&map), &OutlierParams::robust()).unwrap();
    let out = plan.apply_stack(view).unwrap();
    assert_eq!(rep.defects, 3);
    assert!(out.iter().all(|v| v.is_finite()));
    let mut exact = 0;
    for i in 0..ny * nx {
        if plan.multiplier(i) == Some(2.0) {
            exact += 1;
            for t in 0..m {
                let want = (f32::from(frames[t * ny * nx + i]) - 0.5) * 2.0;
                assert_eq!(out[t * ny * nx + i], want, "pixel {i}");
            }
        }
    }
    assert!(exact > ny * nx / 4, "{exact}");
}
