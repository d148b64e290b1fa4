//! Output around the page cache (Linux `O_DIRECT`).
//!
//! Written through the page cache, every byte of a movie is first copied by the kernel into
//! freshly allocated cache pages, and the final fsync then writes those pages out. On the
//! project's build machine that copy into new pages is the single largest cost of writing a file:
//! 0.13-0.61 s of system time for 336 MB, where the device itself takes the same 336 MB with
//! `O_DIRECT` in 0.16 s and 0.06 s of system time (`dd`, see `BENCHMARKS.md`). With [`DirectFile`]
//! the device reads the bytes from this process's buffers instead.
//!
//! `O_DIRECT` needs the address, file offset and length of every write aligned to the device's
//! logical block; [`ALIGN`] (4 KiB) covers the usual 512-byte and 4 KiB blocks. [`DirectFile`]
//! takes writes of any length at any offset and keeps the alignment to itself:
//! - the whole blocks of a write are written straight from the caller's buffer, on the caller's
//!   thread, when they already sit at aligned addresses (the writer places its plain frame
//!   buffers so); otherwise they are copied into aligned staging buffers and written by an I/O
//!   thread, so the caller goes on while the device works;
//! - the partial blocks at either end of a write are assembled in memory until they are whole
//!   (the tail of one chunk meets the head of the next), then written;
//! - a partial write into a block already on disk reads that block back first;
//! - on [`DirectFile::into_file`] the blocks still partial are written zero-padded and the file
//!   is cut to its length.
//!
//! [`DirectFile::open`] returns `None` where the filesystem refuses `O_DIRECT` (tmpfs, some
//! network filesystems), so the caller can fall back to ordinary writes.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crate::mrcz::output::WriteAt;

/// Alignment of every direct write: address, offset and length.
pub const ALIGN: usize = 4096;
const ALIGN64: u64 = ALIGN as u64;

/// Bytes per staging buffer handed to the I/O thread.
const STAGE_BYTES: usize = 512 << 10;

/// Staging buffers queued for the I/O threads at most (memory: about this many plus
/// [`IO_THREADS`] plus one).
const QUEUE_DEPTH: usize = 1;

/// Threads writing staging buffers: two keep two writes in flight at the device.
const IO_THREADS: usize = 1;

/// A zeroed buffer whose usable bytes start at an [`ALIGN`] boundary.
struct Aligned {
    raw: Vec<u8>,
    start: usize,
    len: usize,
}

impl Aligned {
    fn new(len: usize) -> Self {
        let raw = vec![0u8; len + ALIGN];
        let start = (ALIGN - raw.as_ptr() as usize % ALIGN) % ALIGN;
        Aligned { raw, start, len }
    }

    fn bytes(&self) -> &[u8] {
        &self.raw[self.start..self.start + self.len]
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.raw[self.start..self.start + self.len]
    }
}

/// The error for a lock whose holder panicked.
fn poisoned<T>(_: T) -> io::Error {
    io::Error::other("direct I/O state poisoned")
}

/// One block being assembled from partial writes.
struct Partial {
    block: Aligned,
    /// One bit per byte of the block: written since the block was started.
    covered: [u64; ALIGN / 64],
}

impl Partial {
    fn new() -> Self {
        Partial {
            block: Aligned::new(ALIGN),
            covered: [0; ALIGN / 64],
        }
    }

    fn cover(&mut self, from: usize, to: usize) {
        for i in from..to {
            self.covered[i / 64] |= 1 << (i % 64);
        }
    }

    fn is_whole(&self) -> bool {
        self.covered.iter().all(|&w| w == u64::MAX)
    }
}

/// Block bookkeeping, under one lock.
#[derive(Default)]
struct State {
    /// Blocks some of whose bytes have been written but not yet sent to the device.
    partial: HashMap<u64, Partial>,
    /// One bit per block: sent to the device (queued or written).
    on_disk: Vec<u64>,
    /// The file's length: the end of the furthest write.
    end: u64,
}

impl State {
    fn is_on_disk(&self, block: u64) -> bool {
        let (w, b) = ((block / 64) as usize, block % 64);
        self.on_disk.get(w).is_some_and(|&word| word >> b & 1 == 1)
    }

    fn mark_on_disk(&mut self, blocks: std::ops::Range<u64>) {
        for block in blocks {
            let (w, b) = ((block / 64) as usize, block % 64);
            if self.on_disk.len() <= w {
                self.on_disk.resize(w + 1, 0);
            }
            self.on_disk[w] |= 1 << b;
        }
    }
}

/// One staging buffer to write at `offset`.
struct Job {
    buf: Aligned,
    len: usize,
    offset: u64,
}

/// What the I/O thread reports back.
#[derive(Default)]
struct IoState {
    queued: usize,
    error: Option<io::Error>,
    spare: Vec<Aligned>,
}

struct Io {
    state: Mutex<IoState>,
    idle: Condvar,
}

impl Io {
    fn lock(&self) -> io::Result<MutexGuard<'_, IoState>> {
        self.state.lock().map_err(poisoned)
    }

    /// The first error of the I/O thread so far, if any (it stays recorded).
    fn check(st: &IoState) -> io::Result<()> {
        match &st.error {
            Some(e) => Err(io::Error::new(e.kind(), format!("background write: {e}"))),
            None => Ok(()),
        }
    }

    /// Waits until every queued buffer is written; fails with the first error of any.
    fn drain(&self) -> io::Result<()> {
        let mut st = self.lock()?;
        while st.queued > 0 {
            st = self.idle.wait(st).map_err(poisoned)?;
        }
        Io::check(&st)
    }

    fn run(&self, file: File, jobs: &Mutex<Receiver<Job>>) {
        loop {
            let job = match jobs.lock() {
                Ok(rx) => rx.recv(),
                Err(_) => return,
            };
            let Ok(job) = job else { return };
            let r = file.write_all_at(&job.buf.bytes()[..job.len], job.offset);
            let Ok(mut st) = self.state.lock() else {
                return;
            };
            st.queued -= 1;
            if let Err(e) = r {
                st.error.get_or_insert(e);
            }
            if st.spare.len() < QUEUE_DEPTH + 2 {
                st.spare.push(job.buf);
            }
            self.idle.notify_all();
        }
    }
}

struct Shared {
    file: File,
    state: Mutex<State>,
    io: Arc<Io>,
    jobs: Mutex<Option<SyncSender<Job>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Shared {
    fn lock(&self) -> io::Result<MutexGuard<'_, State>> {
        self.state.lock().map_err(poisoned)
    }

    /// Writes `buf` at `offset`: whole blocks through the I/O thread, partial ones assembled.
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let end = offset
            .checked_add(buf.len() as u64)
            .ok_or_else(|| io::Error::other("write past the largest file offset"))?;
        let first = offset.div_ceil(ALIGN64) * ALIGN64;
        let last = end / ALIGN64 * ALIGN64;
        if first < last {
            let head = (first - offset) as usize;
            let body = (last - first) as usize;
            if head > 0 {
                self.merge(offset, &buf[..head])?;
            }
            self.write_blocks(&buf[head..head + body], first)?;
            if head + body < buf.len() {
                self.merge(last, &buf[head + body..])?;
            }
        } else {
            // No whole block: at most two partial ones.
            let (mut at, mut rest) = (offset, buf);
            while !rest.is_empty() {
                let n = ((ALIGN64 - at % ALIGN64) as usize).min(rest.len());
                self.merge(at, &rest[..n])?;
                at += n as u64;
                rest = &rest[n..];
            }
        }
        let mut st = self.lock()?;
        st.end = st.end.max(end);
        Ok(())
    }

    /// Writes whole blocks (`offset` and length multiples of [`ALIGN`]): straight from `data`
    /// on this thread when its address is aligned too, else through the staging buffers and the
    /// I/O thread.
    fn write_blocks(&self, data: &[u8], offset: u64) -> io::Result<()> {
        if (data.as_ptr() as usize).is_multiple_of(ALIGN) {
            self.write_blocks_in_place(data, offset)?;
        } else {
            self.queue_blocks(data, offset)?;
        }
        let (from, to) = (offset / ALIGN64, (offset + data.len() as u64) / ALIGN64);
        let mut st = self.lock()?;
        // These blocks are written whole: any bytes assembled for them are superseded.
        st.partial.retain(|b, _| !(from..to).contains(b));
        st.mark_on_disk(from..to);
        Ok(())
    }

    /// Writes whole blocks from `data` itself (aligned in memory): no staging copy. Writes still
    /// queued go first, so that a rewrite of the same blocks cannot be overtaken by an older one.
    fn write_blocks_in_place(&self, data: &[u8], offset: u64) -> io::Result<()> {
        if self.io.lock()?.queued > 0 {
            self.io.drain()?;
        }
        self.file.write_all_at(data, offset)
    }

    /// Queues whole blocks for the I/O thread, copied into staging buffers.
    fn queue_blocks(&self, data: &[u8], offset: u64) -> io::Result<()> {
        let sender = self
            .jobs
            .lock()
            .map_err(poisoned)?
            .clone()
            .ok_or_else(|| io::Error::other("direct file already finished"))?;
        for (k, piece) in data.chunks(STAGE_BYTES).enumerate() {
            let mut buf = {
                let mut st = self.io.lock()?;
                Io::check(&st)?;
                st.queued += 1;
                st.spare.pop()
            }
            .unwrap_or_else(|| Aligned::new(STAGE_BYTES));
            buf.bytes_mut()[..piece.len()].copy_from_slice(piece);
            let job = Job {
                buf,
                len: piece.len(),
                offset: offset + (k * STAGE_BYTES) as u64,
            };
            if sender.send(job).is_err() {
                return Err(io::Error::other("direct I/O thread stopped"));
            }
        }
        Ok(())
    }

    /// Adds `piece` (inside one block) to its partial block; writes the block once whole.
    fn merge(&self, offset: u64, piece: &[u8]) -> io::Result<()> {
        let block = offset / ALIGN64;
        let at = (offset % ALIGN64) as usize;
        let mut st = self.lock()?;
        let mut p = match st.partial.remove(&block) {
            Some(p) => p,
            None => {
                let mut p = Partial::new();
                if st.is_on_disk(block) {
                    // Read-modify-write: the block's other bytes are on disk (or queued).
                    self.io.drain()?;
                    read_block(&self.file, block, p.block.bytes_mut())?;
                    p.cover(0, ALIGN);
                }
                p
            }
        };
        p.block.bytes_mut()[at..at + piece.len()].copy_from_slice(piece);
        p.cover(at, at + piece.len());
        if p.is_whole() {
            self.file.write_all_at(p.block.bytes(), block * ALIGN64)?;
            st.mark_on_disk(block..block + 1);
        } else {
            st.partial.insert(block, p);
        }
        Ok(())
    }

    /// Writes the remaining partial blocks (zero-padded), waits for the I/O thread and cuts the
    /// file to its length.
    fn finish(&self) -> io::Result<()> {
        let end = {
            let mut st = self.lock()?;
            let mut rest: Vec<(u64, Partial)> = st.partial.drain().collect();
            rest.sort_by_key(|(b, _)| *b);
            for (block, p) in &rest {
                self.file.write_all_at(p.block.bytes(), block * ALIGN64)?;
            }
            st.end
        };
        let sender = self.jobs.lock().map_err(poisoned)?.take();
        drop(sender);
        let threads = std::mem::take(&mut *self.threads.lock().map_err(poisoned)?);
        for t in threads {
            t.join()
                .map_err(|_| io::Error::other("direct I/O thread panicked"))?;
        }
        self.io.drain()?;
        self.file.set_len(end)
    }
}

/// Reads block `block` into `buf` (zeros past the end of the file).
fn read_block(file: &File, block: u64, buf: &mut [u8]) -> io::Result<()> {
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], block * ALIGN64 + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf[got..].fill(0);
    Ok(())
}

/// A file written around the page cache, with a cursor for sequential writes ([`Write`],
/// [`Seek`]) and [`DirectFile::positional`] handles for writes at explicit offsets from any
/// thread. Writes may have any length and offset; see the module documentation.
pub struct DirectFile {
    shared: Arc<Shared>,
    pos: u64,
}

/// A handle that writes at explicit offsets of a [`DirectFile`] from any thread.
#[derive(Clone)]
pub struct DirectSink {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for DirectFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectFile")
            .field("pos", &self.pos)
            .finish()
    }
}

impl std::fmt::Debug for DirectSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectSink").finish_non_exhaustive()
    }
}

impl DirectFile {
    /// Opens the existing, empty file at `path` for direct writes. `Ok(None)` if its filesystem
    /// refuses `O_DIRECT` or writes aligned to [`ALIGN`], so the caller writes it the ordinary
    /// way instead (the file is left empty).
    pub fn open(path: &Path) -> io::Result<Option<DirectFile>> {
        let file = match OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_DIRECT)
            .open(path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::InvalidInput => return Ok(None),
            Err(e) => return Err(e),
        };
        // Some filesystems accept the flag but not 4 KiB-aligned writes: probe once.
        let probe = Aligned::new(ALIGN);
        if let Err(e) = file.write_all_at(probe.bytes(), 0) {
            if e.kind() == io::ErrorKind::InvalidInput {
                file.set_len(0)?;
                return Ok(None);
            }
            return Err(e);
        }
        file.set_len(0)?;
        let (tx, rx) = sync_channel(QUEUE_DEPTH);
        let io = Arc::new(Io {
            state: Mutex::new(IoState::default()),
            idle: Condvar::new(),
        });
        let rx = Arc::new(Mutex::new(rx));
        let threads = (0..IO_THREADS)
            .map(|_| {
                let (io, rx) = (Arc::clone(&io), Arc::clone(&rx));
                let file = file.try_clone()?;
                std::thread::Builder::new()
                    .name("mrcz-direct-io".into())
                    .spawn(move || io.run(file, &rx))
            })
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Some(DirectFile {
            shared: Arc::new(Shared {
                file,
                state: Mutex::new(State::default()),
                io,
                jobs: Mutex::new(Some(tx)),
                threads: Mutex::new(threads),
            }),
            pos: 0,
        }))
    }

    /// A handle for writes at explicit offsets (the cursor is not moved).
    pub fn positional(&self) -> DirectSink {
        DirectSink {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Writes what is still held, waits for every write to finish and returns the file, cut to
    /// its length (not yet synced). Fails if a [`DirectSink`] of it is still alive.
    pub fn into_file(self) -> io::Result<File> {
        if Arc::strong_count(&self.shared) > 1 {
            return Err(io::Error::other(
                "a positional writer of this file is still in use",
            ));
        }
        self.shared.finish()?;
        let shared = Arc::try_unwrap(self.shared)
            .map_err(|_| io::Error::other("a positional writer of this file is still in use"))?;
        Ok(shared.file)
    }
}

impl WriteAt for DirectSink {
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.shared.write_at(buf, offset)
    }
}

impl Write for DirectFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.shared.write_at(buf, self.pos)?;
        self.pos += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for DirectFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let base = match pos {
            SeekFrom::Start(n) => {
                self.pos = n;
                return Ok(n);
            }
            SeekFrom::Current(d) => (self.pos, d),
            SeekFrom::End(d) => (self.shared.lock()?.end, d),
        };
        self.pos = base
            .0
            .checked_add_signed(base.1)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek out of range"))?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn scratch(name: &str) -> std::path::PathBuf {
        // The build folder, not /tmp: it is on the checkout's filesystem (tmpfs refuses O_DIRECT).
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(format!("direct-{name}-{}", std::process::id()))
    }

    /// A new, empty scratch file opened for direct writes.
    fn fresh(name: &str) -> (std::path::PathBuf, DirectFile) {
        let path = scratch(name);
        File::create(&path).unwrap();
        let f = DirectFile::open(&path)
            .unwrap()
            .expect("the build folder's filesystem takes O_DIRECT");
        (path, f)
    }

    fn pattern(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// Sequential chunks of awkward lengths, a rewrite of the start, then positional writes from
    /// threads: the file equals the same writes applied to a byte vector.
    #[test]
    fn any_writes_land_as_in_memory() {
        let (path, mut f) = fresh("any");
        let mut model = Vec::new();
        let lens = [
            1024,
            77,
            5000,
            4096,
            3 * STAGE_BYTES + 123,
            1,
            4095,
            8192,
            10,
        ];
        for (i, &n) in lens.iter().enumerate() {
            let chunk = pattern(n, i as u64 + 1);
            f.write_all(&chunk).unwrap();
            model.extend_from_slice(&chunk);
        }
        // Rewrite the header, then a piece in the middle straddling blocks already on disk.
        f.seek(SeekFrom::Start(0)).unwrap();
        f.write_all(b"HEADER").unwrap();
        model[..6].copy_from_slice(b"HEADER");
        f.seek(SeekFrom::Start(6000)).unwrap();
        let mid = pattern(9000, 99);
        f.write_all(&mid).unwrap();
        model[6000..15000].copy_from_slice(&mid);
        assert_eq!(f.seek(SeekFrom::End(0)).unwrap(), model.len() as u64);
        // Frames at fixed offsets past the end, from two threads, in reverse order.
        let base = model.len() as u64 + 333;
        let frame = 70_001usize;
        let sink = f.positional();
        std::thread::scope(|s| {
            for t in 0..2u64 {
                let sink = sink.clone();
                s.spawn(move || {
                    for k in (0..6u64).rev().filter(|k| k % 2 == t) {
                        let data = pattern(frame, 1000 + k);
                        sink.write_all_at(&data, base + k * frame as u64).unwrap();
                    }
                });
            }
        });
        drop(sink);
        model.resize(base as usize, 0);
        for k in 0..6u64 {
            model.extend_from_slice(&pattern(frame, 1000 + k));
        }
        let mut file = f.into_file().unwrap();
        let mut got = Vec::new();
        file.seek(SeekFrom::Start(0)).unwrap();
        // O_DIRECT reads need alignment too: read through an ordinary handle.
        drop(file);
        file = File::open(&path).unwrap();
        file.read_to_end(&mut got).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(got.len(), model.len());
        assert!(got == model, "file differs from the model");
    }

    /// Writes whose whole blocks sit at aligned addresses go out in place, the others through
    /// staging: mixed, overlapping and out of order, the last write of each byte wins.
    #[test]
    fn in_place_and_staged_writes_mix_in_order() {
        let (path, f) = fresh("inplace");
        let n = 3 * STAGE_BYTES + 5 * ALIGN;
        let mut model = vec![0u8; n + 100];
        let sink = f.positional();
        // A buffer whose bytes from `at` on are page-aligned in memory.
        let placed = |data: &[u8], phase: usize| {
            let mut raw = vec![0u8; data.len() + 2 * ALIGN];
            let at = (ALIGN - raw.as_ptr() as usize % ALIGN) % ALIGN + phase;
            raw[at..at + data.len()].copy_from_slice(data);
            (raw, at)
        };
        let writes: [(usize, usize, bool); 5] = [
            (0, n, false),                     // staged: the whole file
            (ALIGN, 2 * STAGE_BYTES, true),    // in place over queued staged blocks
            (100, n, true),                    // in place, misaligned head and tail merged
            (3 * ALIGN + 7, 3 * ALIGN, false), // staged again over in-place blocks
            (2 * ALIGN, ALIGN, true),          // one block in place
        ];
        for (k, &(offset, len, in_place)) in writes.iter().enumerate() {
            let data = pattern(len, 50 + k as u64);
            if in_place {
                // The bytes at `offset` sit `offset % ALIGN` past a page: blocks are aligned.
                let (raw, at) = placed(&data, offset % ALIGN);
                assert_eq!(
                    (raw[at..].as_ptr() as usize + ALIGN - offset % ALIGN) % ALIGN,
                    0
                );
                sink.write_all_at(&raw[at..at + len], offset as u64)
                    .unwrap();
            } else {
                let mut raw = vec![0u8; len + 1];
                let at = if raw.as_ptr() as usize % ALIGN == offset % ALIGN {
                    1
                } else {
                    0
                };
                raw[at..at + len].copy_from_slice(&data);
                sink.write_all_at(&raw[at..at + len], offset as u64)
                    .unwrap();
            }
            model[offset..offset + len].copy_from_slice(&data);
        }
        drop(sink);
        f.into_file().unwrap();
        let got = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(got.len(), n + 100);
        assert!(got == model, "file differs from the model");
    }

    #[test]
    fn a_short_file_keeps_its_exact_length() {
        let (path, mut f) = fresh("short");
        f.write_all(b"tiny").unwrap();
        f.into_file().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"tiny");
        std::fs::remove_file(&path).unwrap();
    }

    /// A write the kernel refuses (past the largest file offset) fails on the I/O thread;
    /// the error comes back from a later write or from `into_file`, never lost.
    #[test]
    fn background_write_errors_are_reported() {
        let (path, f) = fresh("err");
        let sink = f.positional();
        // Crossing 2^63 bytes: beyond every filesystem's file size and `off_t`.
        let far = (1u64 << 63) - 2 * STAGE_BYTES as u64;
        let queued = sink.write_all_at(&vec![7u8; 4 * STAGE_BYTES], far);
        let later = sink.write_all_at(&vec![7u8; 2 * STAGE_BYTES], far - (8 << 20));
        drop(sink);
        let finished = f.into_file();
        std::fs::remove_file(&path).unwrap();
        assert!(
            queued.is_err() || later.is_err() || finished.is_err(),
            "the refused writes were not reported"
        );
        let err = finished.expect_err("into_file must report the failed write");
        assert!(err.to_string().contains("background write"), "{err}");
    }

    #[test]
    fn into_file_refuses_while_a_positional_handle_lives() {
        let (path, f) = fresh("live");
        let sink = f.positional();
        assert!(f.into_file().is_err());
        drop(sink);
        std::fs::remove_file(&path).unwrap();
    }
}
