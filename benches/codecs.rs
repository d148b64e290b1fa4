//! Compression and decompression of one 4096 × 4096 8-bit Poisson frame (λ = 0.1, 1, 4),
//! bitshuffled, per codec: the MRCZ case that matters most (low-dose electron counts).
//!
//! `cargo bench --bench codecs`; throughput is reported in uncompressed bytes per second.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mrcz::blosc::{self, Limits, Params, Shuffle};
use mrcz::codec::Codec;

const SIDE: usize = 4096;

/// A deterministic 8-bit Poisson frame (Knuth's method with a xorshift generator).
fn poisson_frame(lambda: f64, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut uniform = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let limit = (-lambda).exp();
    (0..SIDE * SIDE)
        .map(|_| {
            let mut k = 0u8;
            let mut p = uniform();
            while p > limit && k < 255 {
                k += 1;
                p *= uniform();
            }
            k
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    for lambda in [0.1, 1.0, 4.0] {
        let frame = poisson_frame(lambda, 0x5eed);
        let mut group = c.benchmark_group(format!("poisson_lambda_{lambda}"));
        group.throughput(Throughput::Bytes(frame.len() as u64));
        group.sample_size(10);
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(3));
        for codec in [Codec::Zstd, Codec::Lz4, Codec::Zlib] {
            let level = 1; // python-mrcz's default clevel
            let params = Params::new(codec, level, Shuffle::Bit, 1);
            let mut chunk = Vec::new();
            blosc::compress_into(&frame, &params, &mut chunk).unwrap();
            eprintln!(
                "lambda {lambda} {codec} level {level}: ratio {:.2}",
                frame.len() as f64 / chunk.len() as f64
            );
            group.bench_function(BenchmarkId::new("compress", codec), |b| {
                b.iter(|| blosc::compress_into(&frame, &params, &mut chunk).unwrap())
            });
            let mut out = vec![0u8; frame.len()];
            let limits = Limits::default();
            blosc::decompress_into(&chunk, &mut out, &limits).unwrap();
            assert!(out == frame);
            group.bench_function(BenchmarkId::new("decompress", codec), |b| {
                b.iter(|| blosc::decompress_into(&chunk, &mut out, &limits).unwrap())
            });
        }
        group.finish();
    }
}

/// The chunk layer and codecs without the shuffle kernels: λ = 1, no shuffle.
fn bench_codec_only(c: &mut Criterion) {
    let frame = poisson_frame(1.0, 0x5eed);
    let mut group = c.benchmark_group("codec_only_lambda_1_noshuffle");
    group.throughput(Throughput::Bytes(frame.len() as u64));
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    for codec in [Codec::Zstd, Codec::Lz4] {
        let params = Params::new(codec, 1, Shuffle::None, 1);
        let mut chunk = blosc::compress(&frame, &params).unwrap();
        let mut out = vec![0u8; frame.len()];
        let limits = Limits::default();
        blosc::decompress_into(&chunk, &mut out, &limits).unwrap();
        assert!(out == frame);
        group.bench_function(BenchmarkId::new("compress", codec), |b| {
            b.iter(|| blosc::compress_into(&frame, &params, &mut chunk).unwrap())
        });
        group.bench_function(BenchmarkId::new("decompress", codec), |b| {
            b.iter(|| blosc::decompress_into(&chunk, &mut out, &limits).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench, bench_codec_only);
criterion_main!(benches);
