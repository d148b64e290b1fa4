//! Development timer: best-of-N time per kernel on 1 MiB (`QB_KIB` to change), as a ratio to
//! `copy_from_slice`.
//! Best-of-N is robust when other processes share the machine. `cargo run --release --example
//! quickbench -p mrcz-simd [filter]`; the filter `isa` times every instruction-set path of the
//! bitshuffle kernels, forced.
use std::hint::black_box;
use std::time::Instant;

fn best(mut f: impl FnMut()) -> f64 {
    let mut b = f64::MAX;
    // `QB_REPS=100000` runs a kernel long enough for `perf record` / `perf annotate`.
    let reps: usize = std::env::var("QB_REPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    for _ in 0..reps {
        let t = Instant::now();
        f();
        b = b.min(t.elapsed().as_secs_f64());
    }
    b
}

fn main() {
    let filter = std::env::args().nth(1).unwrap_or_default();
    // `QB_KIB=16` times an L1-resident buffer instead (compute bound rather than memory bound).
    let kib: usize = std::env::var("QB_KIB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1024);
    let size = kib << 10;
    let src: Vec<u8> = (0..size as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 27) as u8 ^ (i >> 9) as u8)
        .collect();
    // `QB_LINE_OFFSET=n` places the destination `n` bytes past a 64-byte line boundary (0: aligned,
    // as the encoder's blocks are); by default it is wherever the allocator puts a `Vec`.
    let mut dstbuf = vec![0u8; size + 128];
    let at = match std::env::var("QB_LINE_OFFSET")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
    {
        Some(n) => dstbuf.as_ptr().align_offset(64) + n % 64,
        None => 0,
    };
    let dst = &mut dstbuf[at..at + size];
    let mc = best(|| dst.copy_from_slice(black_box(&src)));
    println!(
        "memcpy        {:6.1} us {:6.2} GB/s",
        mc * 1e6,
        size as f64 / mc / 1e9
    );
    type K = fn(usize, &[u8], &mut [u8]);
    let fns: [(&str, K); 4] = [
        ("bitshuffle", mrcz_simd::bitshuffle),
        ("bitunshuffle", mrcz_simd::bitunshuffle),
        ("shuffle", mrcz_simd::shuffle),
        ("unshuffle", mrcz_simd::unshuffle),
    ];
    for (name, f) in fns {
        for ts in [1usize, 2, 4, 8] {
            let label = format!("{name}/ts{ts}");
            if !label.contains(&filter) {
                continue;
            }
            let t = best(|| f(black_box(ts), black_box(&src), dst));
            println!(
                "{label:18} {:6.1} us {:6.2} GB/s  {:4.0}% of memcpy",
                t * 1e6,
                size as f64 / t / 1e9,
                100.0 * mc / t
            );
        }
    }
    if "isa".contains(&filter) {
        for path in mrcz_simd::dev::paths() {
            for ts in [1usize, 2, 4, 8] {
                let f =
                    best(|| mrcz_simd::dev::bitshuffle_on(path, false, ts, black_box(&src), dst));
                let i =
                    best(|| mrcz_simd::dev::bitshuffle_on(path, true, ts, black_box(&src), dst));
                println!(
                    "{path:8} ts{ts}: bitshuffle {:4.0}%  bitunshuffle {:4.0}% of memcpy",
                    100.0 * mc / f,
                    100.0 * mc / i
                );
            }
        }
    }
}
