use mrcz::filters::*;
#[test]
fn timing() {
    let side = 4096;
    let frames = 50;
    let data: Vec<u8> = (0..frames * side * side).map(|i| (i % 5) as u8).collect();
    let view = StackView::new(&data, frames, side, side).unwrap();
    let mut sum = FrameSum::from_stack(view).unwrap();
    for _ in 0..5 {
        let t = std::time::Instant::now();
        let s2 = FrameSum::from_stack(view).unwrap();
        let t1 = t.elapsed();
        let t = std::time::Instant::now();
        sum.add_stack(view).unwrap();
        eprintln!(
            "fresh sum {:?}, into existing {:?} {}",
            t1,
            t.elapsed(),
            s2.frames()
        );
    }
    let t = std::time::Instant::now();
    let s: u64 = data.iter().map(|&v| v as u64).sum();
    eprintln!("plain serial byte sum {:?} {s}", t.elapsed());
}
