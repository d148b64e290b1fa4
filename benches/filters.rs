//! Benchmarks of the detector-correction filters.
//!
//! * `outlier_gain/*`: outlier filter + gain normalisation of an 8-bit Poisson movie (dose 1
//!   e/px/frame, 0.3 % hot pixels), written frame by frame into one reused `f32` buffer as the CLI
//!   does; also the three phases alone (sum, plan, apply). Size from `MRCZ_BENCH_FRAMES`,
//!   `MRCZ_BENCH_SIDE` (default 50 × 4096 × 4096).
//! * `koma/*`: one KOMA step on a 10 × 2048² `f32` stack in steady state (mean image, window
//!   update, subtraction in place) against a plain copy, a plain sum, and reading the same stack
//!   from a plain MRC and an MRCZ file.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use mrcz::blosc::Shuffle;
use mrcz::filters::{
    FrameSum, GainMap, GainOptions, ImageView, KomaMode, KomaWindow, OutlierParams, StackView,
    plan_correction,
};
use mrcz::mrc::Mode;
use mrcz::mrcz::{Compression, Reader, WriteOptions, Writer};
use rayon::prelude::*;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// splitmix64: cheap, seedable per chunk so generation parallelises deterministically.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Poisson(λ) by inverse-CDF lookup on a 16-bit uniform (λ ≤ 8 is plenty for the bench).
fn poisson_table(lam: f64) -> Vec<u16> {
    let mut cdf = Vec::new();
    let (mut p, mut c, mut k) = ((-lam).exp(), 0.0, 0u32);
    while c < 1.0 - 1e-7 && k < 255 {
        c += p;
        cdf.push(c);
        k += 1;
        p *= lam / f64::from(k);
    }
    (0..65536u32)
        .map(|u| {
            let x = (f64::from(u) + 0.5) / 65536.0;
            cdf.iter().position(|&c| x < c).unwrap_or(cdf.len()) as u16
        })
        .collect()
}

fn movie(frames: usize, side: usize) -> Vec<u8> {
    let n = side * side;
    let base = poisson_table(1.0);
    let hot = poisson_table(3.0);
    let mut data = vec![0u8; frames * n];
    data.par_chunks_mut(1 << 16)
        .enumerate()
        .for_each(|(ci, chunk)| {
            let mut s = mix(ci as u64 + 1);
            let start = ci << 16;
            for (j, v) in chunk.iter_mut().enumerate() {
                s = mix(s);
                let pix = (start + j) % n;
                let table = if mix(pix as u64) % 1000 < 3 {
                    &hot
                } else {
                    &base
                };
                *v = table[(s & 0xFFFF) as usize] as u8;
            }
        });
    data
}

fn gain_ref(side: usize) -> Vec<f32> {
    (0..side * side)
        .map(|i| 1.0 + ((mix(i as u64 ^ 0xABCD) % 1000) as f32 - 500.0) * 1e-4)
        .collect()
}

fn bench_outlier_gain(c: &mut Criterion) {
    let frames = env_usize("MRCZ_BENCH_FRAMES", 50);
    let side = env_usize("MRCZ_BENCH_SIDE", 4096);
    let n = side * side;
    let data = movie(frames, side);
    let view = StackView::new(&data, frames, side, side).unwrap();
    let g = gain_ref(side);
    let gain = GainMap::new(
        ImageView::new(&g, side, side).unwrap(),
        None,
        side,
        side,
        &GainOptions::default(),
    )
    .unwrap();
    let params = OutlierParams::robust();
    let mut out = vec![0.0f32; n];

    let sum = FrameSum::from_stack(view).unwrap();
    let (plan, report) = plan_correction(&sum, Some(&gain), &params).unwrap();
    eprintln!(
        "movie {frames} x {side} x {side} u8: {}",
        serde_json::to_string(&report).unwrap()
    );

    let mut group = c.benchmark_group(format!("outlier_gain/{frames}x{side}x{side}_u8"));
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(15));
    group.bench_function("total_per_frame_buffer", |b| {
        b.iter(|| {
            let sum = FrameSum::from_stack(view).unwrap();
            let (plan, _) = plan_correction(&sum, Some(&gain), &params).unwrap();
            for f in view.iter_frames() {
                plan.apply_frame(f, &mut out).unwrap();
                black_box(&out);
            }
        })
    });
    let batch = 4usize;
    let mut out4 = vec![0.0f32; batch * n];
    group.bench_function("total_batch4_buffer", |b| {
        b.iter(|| {
            let sum = FrameSum::from_stack(view).unwrap();
            let (plan, _) = plan_correction(&sum, Some(&gain), &params).unwrap();
            let mut t = 0;
            while t < frames {
                let k = batch.min(frames - t);
                let sub = StackView::new(&data[t * n..(t + k) * n], k, side, side).unwrap();
                plan.apply_frames(sub, &mut out4[..k * n]).unwrap();
                black_box(&out4);
                t += k;
            }
        })
    });
    group.bench_function("sum", |b| {
        b.iter(|| black_box(FrameSum::from_stack(view).unwrap()))
    });
    group.bench_function("plan", |b| {
        b.iter(|| black_box(plan_correction(&sum, Some(&gain), &params).unwrap()))
    });
    group.bench_function("apply_all_frames", |b| {
        b.iter(|| {
            for f in view.iter_frames() {
                plan.apply_frame(f, &mut out).unwrap();
                black_box(&out);
            }
        })
    });
    group.finish();
}

fn bench_koma(c: &mut Criterion) {
    let (frames, side, a) = (10usize, 2048usize, 4usize);
    let n = side * side;
    let raw = movie(frames, side);
    let stack: Vec<f32> = raw.iter().map(|&v| f32::from(v)).collect();
    let view = StackView::new(&stack, frames, side, side).unwrap();
    let mut window = KomaWindow::new(usize::MAX / 4, a, n, KomaMode::Subtract).unwrap();
    for _ in 0..2 * a + 1 {
        window.push_stack(view).unwrap();
    }
    let mut buf = stack.clone();

    let mut group = c.benchmark_group(format!("koma/{frames}x{side}x{side}_f32_a{a}"));
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    group.bench_function("koma_step", |b| {
        b.iter(|| {
            // Steady state: one stack in (mean image), one correction out, applied in place.
            window.push_stack(view).unwrap();
            let corr = window.pop().unwrap();
            corr.apply_stack_in_place(&mut buf).unwrap();
            window.recycle(corr);
            black_box(&buf);
        })
    });
    // The two halves of a step: the estimate (mean image in, map out) and applying the map.
    group.bench_function("koma_estimate", |b| {
        b.iter(|| {
            window.push_stack(view).unwrap();
            let corr = window.pop().unwrap();
            black_box(&corr.map);
            window.recycle(corr);
        })
    });
    window.push_stack(view).unwrap();
    let corr = window.pop().unwrap();
    group.bench_function("koma_apply", |b| {
        b.iter(|| {
            corr.apply_stack_in_place(&mut buf).unwrap();
            black_box(&buf);
        })
    });
    group.bench_function("memcpy_stack", |b| {
        b.iter(|| {
            buf.par_chunks_mut(1 << 16)
                .zip(stack.par_chunks(1 << 16))
                .for_each(|(d, s)| d.copy_from_slice(s));
            black_box(&buf);
        })
    });
    group.bench_function("mean_stack", |b| {
        b.iter(|| black_box(mrcz::filters::koma::mean_image(view)))
    });
    // Reading the same stack from a file, as `mrcz koma` must for every stack: plain MRC (page
    // cache, no decode) and MRCZ (zstd, byte shuffle), into a reused buffer.
    let dir = std::env::temp_dir().join(format!("mrcz-bench-koma-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, compression) in [
        ("read_stack_plain", None),
        (
            "read_stack_mrcz_zstd",
            Some(Compression {
                shuffle: Shuffle::Byte,
                ..Compression::default()
            }),
        ),
    ] {
        let path = dir.join(format!("{name}.mrc"));
        let options = WriteOptions {
            compression,
            ..WriteOptions::default()
        };
        let mut w = Writer::create(&path, side, side, Mode::Float32, &options).unwrap();
        w.write_frames(bytemuck::cast_slice(&stack)).unwrap();
        w.finish().unwrap();
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut r = Reader::open(&path).unwrap();
                r.read_frames(0..frames, bytemuck::cast_slice_mut(&mut buf))
                    .unwrap();
                black_box(&buf);
            })
        });
    }
    std::fs::remove_dir_all(&dir).unwrap();
    group.finish();
}

criterion_group!(benches, bench_outlier_gain, bench_koma);
criterion_main!(benches);
