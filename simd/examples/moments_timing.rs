//! Times `moments::i8_moments` on a 16 MiB frame against memcpy (best of 30):
//! `cargo run --release -p mrcz-simd --example moments_timing`.
use std::hint::black_box;
use std::time::Instant;

fn best(mut f: impl FnMut()) -> f64 {
    (0..30)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::MAX, f64::min)
}

fn main() {
    const SIZE: usize = 16 << 20;
    let src: Vec<u8> = (0..SIZE as u32)
        .map(|i| ((i.wrapping_mul(2_654_435_761) >> 29) & 3) as u8)
        .collect();
    let mut dst = vec![0u8; SIZE];
    let mc = best(|| black_box(&mut dst).copy_from_slice(black_box(&src)));
    let mo = best(|| {
        black_box(mrcz_simd::moments::i8_moments(black_box(&src)));
    });
    let gb = SIZE as f64 / 1e9;
    println!(
        "memcpy {:.2} GB/s, i8_moments {:.2} GB/s ({:.0}% of memcpy)",
        gb / mc,
        gb / mo,
        100.0 * mc / mo
    );
}
