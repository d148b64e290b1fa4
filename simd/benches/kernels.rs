//! Throughput of the kernels on 1 MiB blocks, against a `copy_from_slice` baseline of the same size.
//!
//! Run: `cargo bench -p mrcz-simd --bench kernels` (add `RUSTFLAGS="-C target-cpu=native"` for
//! AVX2 / AVX-512 code paths).
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;

const SIZE: usize = 1 << 20;

type Kernel = fn(usize, &[u8], &mut [u8]);

fn input() -> Vec<u8> {
    // Smoothly varying 16-bit-ish data with noise, like detector counts; the content does not
    // change the work done, but keep it realistic anyway.
    (0..SIZE as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 27) as u8 ^ (i >> 9) as u8)
        .collect()
}

fn kernels(c: &mut Criterion) {
    let src = input();
    let mut dst = vec![0u8; SIZE];

    let mut g = c.benchmark_group("memcpy");
    g.throughput(Throughput::Bytes(SIZE as u64));
    g.bench_function("1MiB", |b| b.iter(|| dst.copy_from_slice(black_box(&src))));
    g.finish();

    let fns: [(&str, Kernel); 4] = [
        ("bitshuffle", mrcz_simd::bitshuffle),
        ("bitunshuffle", mrcz_simd::bitunshuffle),
        ("shuffle", mrcz_simd::shuffle),
        ("unshuffle", mrcz_simd::unshuffle),
    ];
    for (name, f) in fns {
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Bytes(SIZE as u64));
        for ts in [1usize, 2, 4, 8] {
            g.bench_function(format!("ts{ts}"), |b| {
                b.iter(|| f(black_box(ts), black_box(&src), &mut dst))
            });
        }
        g.finish();
    }

    // The same into a destination that starts on a 64-byte line, as the encoder's shuffled
    // blocks do (a `Vec` above starts 16 bytes past one, so every whole-vector row store of the
    // AVX-512 bitshuffle straddles two lines).
    let mut buf = vec![0u8; SIZE + 64];
    let at = buf.as_ptr().align_offset(64).min(64);
    let aligned = &mut buf[at..at + SIZE];
    for (name, f) in &fns[..2] {
        let mut g = c.benchmark_group(format!("{name}-line-aligned"));
        g.throughput(Throughput::Bytes(SIZE as u64));
        for ts in [1usize, 2, 4, 8] {
            g.bench_function(format!("ts{ts}"), |b| {
                b.iter(|| f(black_box(ts), black_box(&src), aligned))
            });
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = kernels
}
criterion_main!(benches);
