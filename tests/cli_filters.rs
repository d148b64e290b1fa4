//! The filter commands end to end (`correct`, `outliers`, `koma`, `noise`) on small synthetic
//! movies with known ground truth: a per-pixel sensitivity field (the gain reference is its
//! inverse), planted hot and dead pixels, Poisson counts.

use std::path::Path;
use std::process::{Command, Output};

use half::f16;
use mrcz::filters::{Flip, ImageView, Orientation};
use mrcz::mrc::{Metadata, Mode};
use mrcz::mrcz::{Compression, Reader, WriteOptions, Writer};
use mrcz::synthetic::{Poisson, Rng};
use serde_json::Value;

mod tempdir;
use tempdir::TempDir;

const NX: usize = 128;
const NY: usize = 96;
const FRAMES: usize = 10;
const DOSE: f64 = 4.0;
/// Sensitivity levels of the gain-modulated movies (variance 0.02).
const LEVELS: [f64; 5] = [0.8, 0.9, 1.0, 1.1, 1.2];

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mrcz"))
        .args(args)
        .output()
        .expect("run mrcz")
}

fn ok(args: &[&str]) -> Output {
    let o = run(args);
    assert!(
        o.status.success(),
        "mrcz {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn json(args: &[&str]) -> Value {
    let o = ok(args);
    serde_json::from_slice(&o.stdout).expect("JSON on stdout")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Sensitivity level index of pixel `i` (fixed pattern, the same in every movie).
fn level(i: usize) -> usize {
    ((i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 61) as usize % LEVELS.len()
}

/// The multiplicative gain reference that undoes the sensitivity field: `1 / s(x)`.
fn true_gain() -> Vec<f32> {
    (0..NX * NY)
        .map(|i| (1.0 / LEVELS[level(i)]) as f32)
        .collect()
}

const HOT: [usize; 6] = [
    5 * NX + 7,
    20 * NX + 100,
    40 * NX + 64,
    60 * NX + 3,
    77 * NX + 77,
    90 * NX + 120,
];
const DEAD: [usize; 4] = [10 * NX + 50, 33 * NX + 33, 55 * NX + 90, 80 * NX + 15];

/// An 8-bit movie of Poisson counts at `DOSE` per pixel and frame, modulated by the sensitivity
/// field if `gained`, with the planted hot (10 x dose) and dead (0) pixels if `planted`.
fn movie_data(seed: u64, gained: bool, planted: bool) -> Vec<u8> {
    let flat = Poisson::new(DOSE);
    let levels: Vec<Poisson> = LEVELS.iter().map(|&l| Poisson::new(DOSE * l)).collect();
    let hot = Poisson::new(10.0 * DOSE);
    let mut rng = Rng::new(seed);
    let mut data = vec![0u8; NX * NY * FRAMES];
    for f in data.chunks_mut(NX * NY) {
        for (i, px) in f.iter_mut().enumerate() {
            let bits = rng.next_u64() as u16;
            *px = if gained {
                levels[level(i)].sample(bits)
            } else {
                flat.sample(bits)
            };
        }
        if planted {
            for &h in &HOT {
                f[h] = hot.sample(rng.next_u64() as u16);
            }
            for &d in &DEAD {
                f[d] = 0;
            }
        }
    }
    data
}

fn write_movie(path: &Path, data: &[u8], compressed: bool) {
    let opts = WriteOptions {
        compression: compressed.then(Compression::default),
        metadata: Metadata::json(serde_json::json!({"dose": DOSE})),
        voxel_size: [0.85, 0.85, 0.85],
        voltage: 300.0,
        ..WriteOptions::default()
    };
    let mut w = Writer::create(path, NX, NY, Mode::Int8, &opts).unwrap();
    w.write_frames(data).unwrap();
    w.finish().unwrap();
}

/// Writes a one-frame float32 reference of `ny × nx`.
fn write_reference(path: &Path, data: &[f32], ny: usize, nx: usize) {
    let opts = WriteOptions {
        compression: None,
        ..WriteOptions::default()
    };
    let mut w = Writer::create(path, nx, ny, Mode::Float32, &opts).unwrap();
    w.write_frame_as(data).unwrap();
    w.finish().unwrap();
}

/// All frames of a float32 or float16 output as `f32`.
fn read_floats(path: &Path) -> (Vec<f32>, Reader<std::io::BufReader<std::fs::File>>) {
    let mut r = Reader::open(path).unwrap();
    let v = match r.mode() {
        Mode::Float32 => r.read_all::<f32>().unwrap(),
        Mode::Float16 => r
            .read_all::<f16>()
            .unwrap()
            .into_iter()
            .map(f16::to_f32)
            .collect(),
        m => panic!("unexpected output mode {m:?}"),
    };
    (v, r)
}

fn pearson(path: &Path) -> f64 {
    let v = json(&["noise", s(path), "--json"]);
    v["pearson"].as_f64().expect("pearson is a number")
}

fn assert_one_line_failure(o: &Output, names: &Path, mentions: &[&str]) {
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("mrcz: "), "{err}");
    assert!(err.contains(s(names)), "names {}: {err}", names.display());
    for m in mentions {
        assert!(err.contains(m), "mentions {m}: {err}");
    }
}

#[test]
fn correct_removes_planted_outliers_and_keeps_the_header() {
    let d = TempDir::new("outl");
    let data = movie_data(1, false, true);
    let (mrc, mrcz_in) = (d.path("in.mrc"), d.path("in.mrcz"));
    write_movie(&mrc, &data, false);
    write_movie(&mrcz_in, &data, true);

    // Detection only.
    let rep = json(&["outliers", s(&mrc), "--json"]);
    let (hot, dead) = (rep["hot"].as_u64().unwrap(), rep["dead"].as_u64().unwrap());
    assert!(
        hot >= HOT.len() as u64 && hot <= HOT.len() as u64 + 40,
        "{rep}"
    );
    assert!(
        dead >= DEAD.len() as u64 && dead <= DEAD.len() as u64 + 5,
        "{rep}"
    );
    let mu = rep["mu"].as_f64().unwrap();
    assert!((mu - DOSE * FRAMES as f64).abs() < 1.0, "mu {mu}");
    let sigma = rep["sigma"].as_f64().unwrap();
    assert!(
        (sigma - (DOSE * FRAMES as f64).sqrt()).abs() < 1.0,
        "sigma {sigma}"
    );
    assert!(rep["t_hot"].as_f64().unwrap() > 0.0 && rep["t_dark"].as_f64().unwrap() < 0.0);
    // The human form says the same.
    let human = String::from_utf8(ok(&["outliers", s(&mrc)]).stdout).unwrap();
    assert!(
        human.contains(&format!("hot {hot}, dead {dead}")),
        "{human}"
    );

    // Plain MRC in, default output: plain float32, planted pixels filled.
    let out = d.path("out.mrc");
    let sum = json(&["correct", s(&mrc), s(&out), "--json"]);
    assert_eq!(sum["outliers"]["hot"], rep["hot"]);
    assert_eq!(sum["codec"], Value::Null);
    let (v, r) = read_floats(&out);
    assert_eq!(r.mode(), Mode::Float32);
    assert!(
        r.codec().is_none(),
        "plain input gives plain output by default"
    );
    assert_eq!(r.frames(), FRAMES);
    let rin = Reader::open(&mrc).unwrap();
    assert_eq!(r.header().voxel_size(), rin.header().voxel_size());
    assert!((r.header().voxel_size()[0] - 0.85).abs() < 1e-6);
    assert_eq!(r.header().voltage, 300.0);
    assert!(matches!(r.metadata(), Metadata::Json { .. }));
    let n = NX * NY;
    let pix_mean = |v: &[f32], i: usize| {
        (0..FRAMES).map(|t| f64::from(v[t * n + i])).sum::<f64>() / FRAMES as f64
    };
    for &h in &HOT {
        let m = pix_mean(&v, h);
        assert!(m < 2.0 * DOSE, "hot pixel {h} still {m} after correction");
    }
    for &z in &DEAD {
        let m = pix_mean(&v, z);
        assert!(m > 0.4 * DOSE, "dead pixel {z} still {m} after correction");
    }
    // Elsewhere the counts pass through (weight 1 for clearly good pixels).
    let raw_total: f64 = data.iter().map(|&b| f64::from(b)).sum();
    let out_total: f64 = v.iter().map(|&x| f64::from(x)).sum();
    assert!(((out_total - raw_total) / raw_total).abs() < 0.01);

    // MRCZ in: compressed by default, same pixels.
    let outz = d.path("outz.mrcz");
    ok(&["correct", s(&mrcz_in), s(&outz), "-q"]);
    let (vz, rz) = read_floats(&outz);
    assert!(
        rz.codec().is_some(),
        "compressed input gives compressed output"
    );
    assert_eq!(vz, v);
    // Explicit codecs override the default both ways.
    let plain = d.path("plain.mrc");
    ok(&["correct", s(&mrcz_in), s(&plain), "--codec", "none", "-q"]);
    let (vp, rp) = read_floats(&plain);
    assert!(rp.codec().is_none());
    assert_eq!(vp, v);
    let lz = d.path("lz.mrcz");
    ok(&["correct", s(&mrc), s(&lz), "--codec", "lz4", "-q"]);
    let (vl, rl) = read_floats(&lz);
    assert_eq!(rl.codec().map(|c| c.name()), Some("lz4"));
    assert_eq!(vl, v);

    // float16: mode 12, values within half precision of the float32 output.
    let h = d.path("half.mrcz");
    ok(&["correct", s(&mrcz_in), s(&h), "--float16", "-q"]);
    let (vh, rh) = read_floats(&h);
    assert_eq!(rh.mode(), Mode::Float16);
    assert_eq!(vh.len(), v.len());
    for (a, b) in vh.iter().zip(&v) {
        assert!((a - b).abs() <= 1e-3 * b.abs().max(1.0), "{a} vs {b}");
    }

    // --no-outliers: a plain widening of the counts.
    let conv = d.path("conv.mrc");
    ok(&["correct", s(&mrc), s(&conv), "--no-outliers", "-q"]);
    let (vc, _) = read_floats(&conv);
    assert!(vc.iter().zip(&data).all(|(&a, &b)| a == f32::from(b)));
}

#[test]
fn gain_given_rotated_is_recovered_with_gain_rotate() {
    let d = TempDir::new("gain");
    let data = movie_data(2, true, false);
    let input = d.path("gained.mrcz");
    write_movie(&input, &data, true);
    // Store the reference rotated by 270 degrees, so that --gain-rotate 90 brings it back.
    let g = true_gain();
    let stored = Orientation::new(3, Flip::None).apply(ImageView::new(&g, NY, NX).unwrap());
    let gref = d.path("gain_rot.mrc");
    write_reference(&gref, &stored, NX, NY);

    // Without an orientation the shapes only fit with the axes swapped: a clear error, no guess.
    let out = d.path("out.mrcz");
    let o = run(&["correct", s(&input), s(&out), "--gain", s(&gref)]);
    assert_one_line_failure(&o, &gref, &["(128, 96)", "(96, 128)", "--gain-rotate"]);
    assert!(!out.exists());

    ok(&[
        "correct",
        s(&input),
        s(&out),
        "--gain",
        s(&gref),
        "--gain-rotate",
        "90",
        "--no-outliers",
        "-q",
    ]);
    // The corrected movie is the counts times the true gain.
    let (v, _) = read_floats(&out);
    let n = NX * NY;
    for k in [0usize, 17, 5000, n * FRAMES - 1] {
        let want = f32::from(data[k]) * g[k % n];
        assert!(
            (v[k] - want).abs() <= 1e-5 * want.max(1.0),
            "pixel {k}: {} vs {want}",
            v[k]
        );
    }
    // A dark reference (stored like the gain) is subtracted before the gain.
    let dref = d.path("dark_rot.mrc");
    write_reference(&dref, &vec![0.5; n], NX, NY);
    let dout = d.path("dark.mrcz");
    ok(&[
        "correct",
        s(&input),
        s(&dout),
        "--gain",
        s(&gref),
        "--dark",
        s(&dref),
        "--gain-rotate",
        "90",
        "--no-outliers",
        "-q",
    ]);
    let (vd, _) = read_floats(&dout);
    for k in [3usize, 999, 7777] {
        let want = (f32::from(data[k]) - 0.5) * g[k % n];
        assert!(
            (vd[k] - want).abs() <= 1e-5 * want.abs().max(1.0),
            "pixel {k}: {} vs {want}",
            vd[k]
        );
    }
    // The fixed pattern is gone: the inter-frame correlation drops to noise level.
    let (raw_r, good_r) = (pearson(&input), pearson(&out));
    assert!(raw_r > 0.04, "gain-modulated movie: {raw_r}");
    assert!(good_r.abs() < 0.015, "after gain: {good_r}");
    // The other orientation with the same shape is accepted but leaves (more) pattern.
    let wrong = d.path("wrong.mrcz");
    ok(&[
        "correct",
        s(&input),
        s(&wrong),
        "--gain",
        s(&gref),
        "--gain-rotate",
        "270",
        "--no-outliers",
        "-q",
    ]);
    assert!(
        pearson(&wrong) > raw_r,
        "wrong orientation should add pattern"
    );
    // --gain-flip x is a left-right flip (reverse each row): a reference stored mirrored that
    // way is recovered exactly.
    let mirrored = Orientation::new(0, Flip::LeftRight).apply(ImageView::new(&g, NY, NX).unwrap());
    let mref = d.path("gain_lr.mrc");
    write_reference(&mref, &mirrored, NY, NX);
    let mout = d.path("mirrored.mrcz");
    ok(&[
        "correct",
        s(&input),
        s(&mout),
        "--gain",
        s(&mref),
        "--gain-flip",
        "x",
        "--no-outliers",
        "-q",
    ]);
    assert_eq!(read_floats(&mout).0, v);
    // Rotation first, then the flip: store flipud(rot270(g)); undoing it is flipud then rot90,
    // which the library names in MotionCor2 codes (rotate, then flip).
    let flipped = Orientation::new(0, Flip::UpDown).apply(ImageView::new(&stored, NX, NY).unwrap());
    let fref = d.path("gain_flip.mrc");
    write_reference(&fref, &flipped, NX, NY);
    let undo = Orientation::new(0, Flip::UpDown).then(Orientation::new(1, Flip::None));
    let (rot, flip) = undo.motioncor_codes();
    let rot_s = (rot * 90).to_string();
    let fout = d.path("flip.mrcz");
    let mut args = vec![
        "correct",
        s(&input),
        s(&fout),
        "--gain",
        s(&fref),
        "--gain-rotate",
        &rot_s,
    ];
    args.extend(["--no-outliers", "-q"]);
    if flip == 1 {
        args.extend(["--gain-flip", "y"]);
    }
    ok(&args);
    assert_eq!(read_floats(&fout).0, v, "rot {rot} flip {flip}");

    // Gamma from the dose rate, and with the JSON report.
    let gam = d.path("gamma.mrcz");
    let rep = json(&[
        "correct",
        s(&input),
        s(&gam),
        "--gain",
        s(&gref),
        "--gain-rotate",
        "90",
        "--gamma",
        "auto",
        "--dose-rate",
        "1",
        "--json",
    ]);
    let gamma = rep["gain"]["gamma"].as_f64().unwrap();
    assert!((gamma - 1.1258).abs() < 1e-3, "{rep}");
    assert_eq!(rep["gain"]["orientation"], "rot90");
    assert_eq!(rep["gain"]["gamma_source"], "dose_rate");
    assert!(rep["outliers"]["hot"].is_u64());
}

#[test]
fn noise_is_higher_on_a_gain_modulated_stack() {
    let d = TempDir::new("noise");
    let (flat, gained) = (d.path("flat.mrc"), d.path("gained.mrcz"));
    write_movie(&flat, &movie_data(3, false, false), false);
    write_movie(&gained, &movie_data(3, true, false), true);
    let f = json(&["noise", s(&flat), "--json"]);
    let g = json(&["noise", s(&gained), "--json"]);
    assert_eq!(f["frames"], FRAMES);
    assert_eq!(f["pairs"], FRAMES * (FRAMES - 1) / 2);
    let (rf, rg) = (
        f["pearson"].as_f64().unwrap(),
        g["pearson"].as_f64().unwrap(),
    );
    assert!(rf.abs() < 0.015, "independent Poisson frames: {rf}");
    // Predicted d^2 var(s) / (d^2 var(s) + d) = 0.32 / 4.32 = 0.074.
    assert!(rg > 0.05 && rg < 0.1, "gain-modulated frames: {rg}");
    let human = String::from_utf8(ok(&["noise", s(&gained)]).stdout).unwrap();
    assert!(human.contains("Pearson"), "{human}");
}

#[test]
fn koma_writes_one_output_per_input_and_lowers_correlation() {
    let d = TempDir::new("koma");
    let mut inputs = Vec::new();
    for k in 0..5 {
        // Mixed containers: KOMA cares about the frame shape only.
        let p = d.path(&format!(
            "stack{k}.{}",
            if k % 2 == 0 { "mrcz" } else { "mrc" }
        ));
        write_movie(&p, &movie_data(10 + k as u64, true, false), k % 2 == 0);
        inputs.push(p);
    }
    let outdir = d.path("koma_out");
    let mut args = vec!["koma", s(&outdir)];
    args.extend(inputs.iter().map(|p| s(p)));
    args.extend(["--radius", "2", "--json"]);
    let rep = json(&args);
    assert_eq!(rep["stacks"].as_array().unwrap().len(), 5, "{rep}");
    let mut names: Vec<String> = std::fs::read_dir(&outdir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "stack0.mrcz",
            "stack1.mrc",
            "stack2.mrcz",
            "stack3.mrc",
            "stack4.mrcz"
        ]
    );
    for p in &inputs {
        let out = outdir.join(p.file_name().unwrap());
        let (v, r) = read_floats(&out);
        assert_eq!(r.frames(), FRAMES);
        assert!(v.iter().all(|x| x.is_finite()));
        let (before, after) = (pearson(p), pearson(&out));
        // Raw ~0.074; after KOMA a = 2, m = 10 about 1/(2am + 1) = 0.024.
        assert!(after < 0.6 * before, "{}: {before} -> {after}", p.display());
        assert!(after < 0.045, "{}: {after}", p.display());
    }
    // Refuses to write where the inputs are.
    let mut args = vec!["koma", s(&d.0)];
    args.extend(inputs.iter().map(|p| s(p)));
    args.extend(["--radius", "1"]);
    let o = run(&args);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("overwrite"));
}

#[test]
fn errors_are_one_line_and_leave_nothing() {
    let d = TempDir::new("err");
    let input = d.path("in.mrc");
    write_movie(&input, &movie_data(4, false, false), false);
    let out = d.path("out.mrc");

    // A gain reference that fits in no orientation.
    let bad = d.path("bad_gain.mrc");
    write_reference(&bad, &vec![1.0; 50 * 100], 50, 100);
    let o = run(&["correct", s(&input), s(&out), "--gain", s(&bad)]);
    assert_one_line_failure(&o, &bad, &["(50, 100)", "(96, 128)"]);
    // Same for outliers with a gain.
    assert_one_line_failure(
        &run(&["outliers", s(&input), "--gain", s(&bad)]),
        &bad,
        &["(50, 100)"],
    );
    // A reference with several frames.
    let multi = d.path("multi.mrc");
    write_movie(&multi, &movie_data(5, false, false)[..2 * NX * NY], false);
    assert_one_line_failure(
        &run(&["correct", s(&input), s(&out), "--gain", s(&multi)]),
        &multi,
        &["single image"],
    );
    // --gamma auto without a dose rate, --gamma without a gain: usage errors.
    let g = d.path("g.mrc");
    write_reference(&g, &true_gain(), NY, NX);
    assert_eq!(
        run(&[
            "correct",
            s(&input),
            s(&out),
            "--gain",
            s(&g),
            "--gamma",
            "auto"
        ])
        .status
        .code(),
        Some(2)
    );
    assert_eq!(
        run(&["correct", s(&input), s(&out), "--gamma", "1.1"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(&[
            "correct",
            s(&input),
            s(&out),
            "--gain",
            s(&g),
            "--gamma",
            "-1"
        ])
        .status
        .code(),
        Some(2)
    );
    let o = run(&[
        "correct",
        s(&input),
        s(&out),
        "--gain",
        s(&g),
        "--gamma",
        "1.1",
        "--dose-rate",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(1), "--dose-rate without --gamma auto");
    // The output must not replace the input.
    assert_one_line_failure(&run(&["correct", s(&input), s(&input)]), &input, &["input"]);
    assert!(!out.exists(), "no output after failures");

    // KOMA: too few inputs, mismatched shapes.
    let outdir = d.path("kout");
    let o = run(&["koma", s(&outdir), s(&input), s(&input), "--radius", "1"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("at least 3") && err.lines().count() == 1,
        "{err}"
    );
    let other = d.path("other.mrc");
    let mut w = Writer::create(
        &other,
        64,
        64,
        Mode::Int8,
        &WriteOptions {
            compression: None,
            ..WriteOptions::default()
        },
    )
    .unwrap();
    w.write_frames(&vec![1u8; 64 * 64 * 2]).unwrap();
    w.finish().unwrap();
    let (a1, a2) = (d.path("a1.mrc"), d.path("a2.mrc"));
    std::fs::copy(&input, &a1).unwrap();
    std::fs::copy(&input, &a2).unwrap();
    let o = run(&[
        "koma",
        s(&outdir),
        s(&input),
        s(&a1),
        s(&other),
        s(&a2),
        "--radius",
        "1",
    ]);
    assert_one_line_failure(&o, &other, &["(64, 64)", "(96, 128)"]);
    assert!(!outdir.exists() || std::fs::read_dir(&outdir).unwrap().count() == 0);
    // Only what the test wrote remains (no temporaries).
    let extra = usize::from(outdir.exists());
    assert_eq!(
        d.entries(),
        7 + extra,
        "in, bad_gain, multi, g, other, a1, a2"
    );
}

#[test]
fn gamma_fit_recovers_the_planted_gamma_on_a_flat_field() {
    // A flat field whose counts follow dose * G^(-gamma) for a smooth gain pattern G: the flattest
    // corrected sum is at gamma (the spec's T4 recipe, smaller).
    let (n, frames, dose, gamma_true) = (256usize, 10usize, 8.0, 1.3);
    let d = TempDir::new("gfit");
    let gain: Vec<f32> = (0..n * n)
        .map(|i| {
            let (y, x) = ((i / n) as f64 / n as f64, (i % n) as f64 / n as f64);
            let p = (std::f64::consts::TAU * x).sin() * (std::f64::consts::TAU * 1.5 * y).cos();
            (0.15 * p).exp() as f32
        })
        .collect();
    // Quantise lambda to 256 levels so one Poisson table per level suffices.
    let lam: Vec<f64> = gain
        .iter()
        .map(|&g| dose * f64::from(g).powf(-gamma_true))
        .collect();
    let (lo, hi) = lam
        .iter()
        .fold((f64::MAX, 0.0f64), |(a, b), &v| (a.min(v), b.max(v)));
    let q = |v: f64| (((v - lo) / (hi - lo)) * 255.0).round() as usize;
    let tables: Vec<Poisson> = (0..256)
        .map(|k| Poisson::new(lo + (hi - lo) * k as f64 / 255.0))
        .collect();
    let mut rng = Rng::new(9);
    let mut data = vec![0u8; n * n * frames];
    for f in data.chunks_mut(n * n) {
        for (i, px) in f.iter_mut().enumerate() {
            *px = tables[q(lam[i])].sample(rng.next_u64() as u16);
        }
    }
    let input = d.path("flat.mrc");
    let mut w = Writer::create(
        &input,
        n,
        n,
        Mode::Int8,
        &WriteOptions {
            compression: None,
            ..WriteOptions::default()
        },
    )
    .unwrap();
    w.write_frames(&data).unwrap();
    w.finish().unwrap();
    let gref = d.path("gain.mrc");
    write_reference(&gref, &gain, n, n);
    let out = d.path("out.mrc");
    let rep = json(&[
        "correct",
        s(&input),
        s(&out),
        "--gain",
        s(&gref),
        "--gamma",
        "fit",
        "--no-outliers",
        "--json",
    ]);
    assert_eq!(rep["gain"]["gamma_source"], "fit");
    let gamma = rep["gain"]["gamma"].as_f64().unwrap();
    assert!(
        (gamma - gamma_true).abs() < 0.05,
        "fitted gamma {gamma}, planted {gamma_true}"
    );
}
