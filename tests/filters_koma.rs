//! KOMA on a synthetic series with a static additive pattern: spec recipe T6.

mod filters_util;

use filters_util::Rng;
use mrcz::filters::{
    Koma, KomaMode, KomaWindow, StackView, koma, koma::mean_image, koma_window, pearson_stack,
};

const N: usize = 256;
const M: usize = 10;
const S: usize = 40;

/// 40 stacks × 10 frames × 256², dose 1, `λ = max(1 + A, 0)` with `A` = column offsets
/// N(0, 0.15) + pixel N(0, 0.05), mean-zeroed. Also returns the realised `var(A)/(var(A)+⟨λ⟩)`,
/// the predicted raw correlation (0.023 for the nominal var(A) = 0.025; 256 columns make the
/// realised variance scatter by ~9 %).
fn t6_series(seed: u64) -> (Vec<Vec<u8>>, f64) {
    let mut rng = Rng::new(seed);
    let cols: Vec<f64> = (0..N).map(|_| 0.15 * rng.normal()).collect();
    let mut a: Vec<f64> = (0..N * N)
        .map(|i| cols[i % N] + 0.05 * rng.normal())
        .collect();
    let mean = filters_util::mean(&a);
    a.iter_mut().for_each(|v| *v -= mean);
    let lam: Vec<f64> = a.iter().map(|&v| (1.0 + v).max(0.0)).collect();
    let lm = filters_util::mean(&lam);
    let var = lam.iter().map(|l| (l - lm) * (l - lm)).sum::<f64>() / lam.len() as f64;
    let series = (0..S)
        .map(|_| filters_util::poisson_stack(&mut rng, &lam, M))
        .collect();
    (series, var / (var + lm))
}

fn mean_r<T: mrcz::filters::Sample>(stacks: &[Vec<T>]) -> f64 {
    let rs: Vec<f64> = stacks
        .iter()
        .map(|s| {
            pearson_stack(StackView::new(s, M, N, N).unwrap())
                .pearson
                .unwrap()
        })
        .collect();
    filters_util::mean(&rs)
}

#[test]
fn t6_koma_follows_reciprocal_law() {
    let (series, r_pred) = t6_series(6);
    let views: Vec<StackView<'_, u8>> = series
        .iter()
        .map(|s| StackView::new(s, M, N, N).unwrap())
        .collect();
    let r_raw = mean_r(&series);
    println!("R raw {r_raw:.5}, predicted var(A)/(var(A)+dose) = {r_pred:.5} (nominal 0.023)");
    assert!((r_raw - r_pred).abs() <= 0.002, "R raw {r_raw} vs {r_pred}");
    assert!((0.015..=0.032).contains(&r_raw), "R raw {r_raw}");
    for a in [2usize, 4, 8, 12] {
        let out = koma(&views, a, KomaMode::Subtract).unwrap();
        assert_eq!(out.len(), S);
        let r = mean_r(&out);
        let law = 1.0 / (2.0 * a as f64 * M as f64 + 1.0);
        println!(
            "a = {a}: R {r:.5}, 1/(2am+1) = {law:.5}, ratio {:.3}",
            r / law
        );
        assert!((r / law - 1.0).abs() <= 0.15, "a = {a}: R {r} vs {law}");
    }
    let out = koma(&views, 4, KomaMode::Divide).unwrap();
    let r = mean_r(&out);
    println!("a = 4 divide: R {r:.5}");
    assert!((r / (1.0 / 81.0) - 1.0).abs() <= 0.25);
}

#[test]
fn t6_without_knock_out_anticorrelates() {
    // Control: include the stack in its own average (window of 2a+1 with s) at a = 4.
    let (series, _) = t6_series(7);
    let a = 4;
    let means: Vec<Vec<f32>> = series
        .iter()
        .map(|s| mean_image(StackView::new(s, M, N, N).unwrap()))
        .collect();
    let mut corrected = Vec::new();
    for s in 0..S {
        let lo = s.saturating_sub(a).min(S - 1 - 2 * a);
        let k: Vec<f64> = (0..N * N)
            .map(|i| {
                (lo..=lo + 2 * a)
                    .map(|j| f64::from(means[j][i]))
                    .sum::<f64>()
                    / (2 * a + 1) as f64
            })
            .collect();
        let km = filters_util::mean(&k);
        let mm = means[s].iter().map(|&v| f64::from(v)).sum::<f64>() / (N * N) as f64;
        let frames: Vec<f32> = series[s]
            .iter()
            .enumerate()
            .map(|(i, &v)| (f64::from(v) - (k[i % (N * N)] - km) * mm / km) as f32)
            .collect();
        corrected.push(frames);
    }
    let r = mean_r(&corrected);
    println!("no knock-out, a = 4: R {r:.5}");
    assert!(r < 0.0, "R {r}");
}

#[test]
fn t6_streaming_struct_matches_direct_window_mean() {
    let (series, _) = t6_series(8);
    let a = 3;
    // Window membership, spec example (a = 2, S = 7).
    assert_eq!(koma_window(0, 7, 2).unwrap(), vec![1, 2, 3, 4]);
    assert_eq!(koma_window(3, 7, 2).unwrap(), vec![1, 2, 4, 5]);
    assert_eq!(koma_window(6, 7, 2).unwrap(), vec![2, 3, 4, 5]);
    // S < 2a+1 is an error, a is not shrunk.
    assert!(matches!(
        Koma::new(6, 3, N, N, KomaMode::Subtract),
        Err(mrcz::Error::InvalidArgument(_))
    ));

    let means: Vec<Vec<f32>> = series
        .iter()
        .map(|s| mean_image(StackView::new(s, M, N, N).unwrap()))
        .collect();
    let mut w = KomaWindow::new(S, a, N * N, KomaMode::Subtract).unwrap();
    let mut k = Koma::new(S, a, N, N, KomaMode::Subtract).unwrap();
    let mut max_pending = 0;
    let mut emitted = Vec::new();
    for (s, stack) in series.iter().enumerate() {
        w.push_mean(means[s].clone()).unwrap();
        assert!(w.held() <= 2 * a + 1);
        while let Some(c) = w.pop() {
            // Direct mean over the window, then the same map formula.
            let win = koma_window(c.stack, S, a).unwrap();
            let kd: Vec<f64> = (0..N * N)
                .map(|i| win.iter().map(|&j| f64::from(means[j][i])).sum::<f64>() / (2 * a) as f64)
                .collect();
            let km = filters_util::mean(&kd);
            let mm = means[c.stack].iter().map(|&v| f64::from(v)).sum::<f64>() / (N * N) as f64;
            let mut worst = 0.0f64;
            for (&direct, &map) in kd.iter().zip(&c.map) {
                let running = f64::from(map) * km / mm + km;
                worst = worst.max((running - direct).abs() / direct.abs().max(1e-3));
            }
            assert!(
                worst <= 1e-5,
                "stack {}: relative difference {worst:e}",
                c.stack
            );
        }
        let out = k.push(StackView::new(stack, M, N, N).unwrap()).unwrap();
        max_pending = max_pending.max(k.pending());
        emitted.extend(out.into_iter().map(|o| o.stack));
    }
    assert_eq!(emitted, (0..S).collect::<Vec<_>>());
    assert!(max_pending <= 2 * a + 1, "pending {max_pending}");
}
