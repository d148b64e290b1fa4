//! Gain → outlier filter → KOMA on one synthetic series: spec recipe T7 (regression test of the
//! whole chain and of the paper's anti-correlation observation).

mod filters_util;

use filters_util::{Rng, gain_pattern};
use mrcz::filters::{
    FrameSum, GainMap, GainOptions, ImageView, KomaMode, OutlierParams, StackView, koma,
    normalize_stack, pearson_stack, plan_correction,
};

const N: usize = 256;
const M: usize = 10;
const S: usize = 24;

fn mean_r(stacks: &[Vec<f32>]) -> f64 {
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

/// One seed of recipe T7: `[raw, gain, + outlier, + KOMA a = 2, 4, 8]` mean Pearson values.
fn t7_run(seed: u64) -> [f64; 6] {
    let mut rng = Rng::new(seed);
    // Sensitivity G (σ = 20 px smooth + 0.03 white), true gain reference 1/G.
    let g = gain_pattern(&mut rng, N, N, 20.0, 0.03);
    let cols: Vec<f64> = (0..N).map(|_| 0.15 * rng.normal()).collect();
    let mut lam: Vec<f64> = (0..N * N).map(|i| g[i] * (1.0 + cols[i % N])).collect();
    // 0.3 % hot pixels with extra U(1, 3) e/frame.
    for _ in 0..(N * N * 3) / 1000 {
        let i = rng.below(N * N);
        lam[i] += 1.0 + 2.0 * rng.uniform();
    }
    lam.iter_mut().for_each(|l| *l = l.max(0.0));
    let raw: Vec<Vec<u8>> = (0..S)
        .map(|_| filters_util::poisson_stack(&mut rng, &lam, M))
        .collect();
    let gain_ref: Vec<f32> = g.iter().map(|&v| (1.0 / v) as f32).collect();
    let gain = GainMap::new(
        ImageView::new(&gain_ref, N, N).unwrap(),
        None,
        N,
        N,
        &GainOptions::default(),
    )
    .unwrap();

    let as_f32 = |s: &Vec<u8>| s.iter().map(|&v| f32::from(v)).collect::<Vec<f32>>();
    let r_raw = mean_r(&raw.iter().map(as_f32).collect::<Vec<_>>());
    let gained: Vec<Vec<f32>> = raw
        .iter()
        .map(|s| normalize_stack(StackView::new(s, M, N, N).unwrap(), &gain).unwrap())
        .collect();
    let r_gain = mean_r(&gained);
    // Reference-compatible thresholds (ρ = 0.925, no ±3 clamp): the spec's simulation.
    let filtered: Vec<Vec<f32>> = raw
        .iter()
        .map(|s| {
            let view = StackView::new(s, M, N, N).unwrap();
            let sum = FrameSum::from_stack(view).unwrap();
            let (plan, _) =
                plan_correction(&sum, Some(&gain), &OutlierParams::reference()).unwrap();
            plan.apply_stack(view).unwrap()
        })
        .collect();
    let r_out = mean_r(&filtered);
    let views: Vec<StackView<'_, f32>> = filtered
        .iter()
        .map(|s| StackView::new(s, M, N, N).unwrap())
        .collect();
    let k = |a: usize| mean_r(&koma(&views, a, KomaMode::Subtract).unwrap());
    [r_raw, r_gain, r_out, k(2), k(4), k(8)]
}

#[test]
fn t7_combined_pipeline() {
    // Spec ranges (3 seeds, margins included); per seed we allow 0.0015 more, and the
    // outlier step (≈ 0 ± 0.002 in the spec) is checked on the mean of the seeds, since the
    // realised column pattern moves single seeds by several 0.001.
    let ranges = [
        (0.033, 0.040),
        (0.030, 0.037),
        (-0.002, 0.002),
        (0.004, 0.007),
        (-0.007, -0.004),
        (-0.012, -0.009),
    ];
    let names = [
        "raw",
        "gain",
        "+ outlier",
        "+ KOMA a=2",
        "+ KOMA a=4",
        "+ KOMA a=8",
    ];
    let runs: Vec<[f64; 6]> = [7u64, 8, 9].into_iter().map(t7_run).collect();
    for (seed, r) in [7, 8, 9].iter().zip(&runs) {
        println!("seed {seed}: {r:.5?}");
        for (i, (&v, &(lo, hi))) in r.iter().zip(&ranges).enumerate() {
            if i == 2 {
                assert!(v.abs() <= 0.006, "seed {seed} {}: {v}", names[i]);
            } else {
                assert!(
                    (lo - 0.0015..=hi + 0.0015).contains(&v),
                    "seed {seed} {}: {v}",
                    names[i]
                );
            }
        }
        // Each step lowers the correlation; KOMA turns it negative as a grows (the paper).
        assert!(r[1] < r[0] && r[2] < r[1] - 0.02);
        assert!(r[3] > r[4] && r[4] > r[5] && r[5] < 0.0);
    }
    let mean_out = runs.iter().map(|r| r[2]).sum::<f64>() / runs.len() as f64;
    println!("mean R after the outlier filter: {mean_out:.5}");
    assert!(mean_out.abs() <= 0.002, "mean R after outliers {mean_out}");
}
