//! A file that starts flushing to disk while it is still being written.
//!
//! [`FileWriter`](super::FileWriter) makes its output durable with one fsync before the rename.
//! Left alone, the kernel holds every written page dirty until then (its background writeback only
//! starts at a share of RAM), so that final fsync waits for the whole file to reach the disk while
//! the CPUs sit idle. [`WriteBehind`] instead asks for a data sync on a second handle, on a
//! helper thread, each time [`KICK_BYTES`] more have been written: the disk works while frames
//! are still being compressed, and the final fsync only waits for the tail.
//!
//! On Unix a [`PositionalSink`] of the same file lets other threads write whole frames at their
//! final offsets (`pwrite`) in parallel, for outputs whose layout is known in advance (plain MRC).

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::mrcz::output::WriteAt;

/// Bytes written between background syncs.
pub const KICK_BYTES: u64 = 32 << 20;

/// A [`File`] whose written data is synced to disk in the background every [`KICK_BYTES`].
///
/// Errors of a background sync are not lost: the next write that would start another sync, or
/// [`WriteBehind::into_file`], returns them.
#[derive(Debug)]
pub struct WriteBehind {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    file: File,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    unsynced: u64,
    flusher: Option<JoinHandle<io::Result<()>>>,
}

/// A handle that writes at explicit offsets of a [`WriteBehind`]'s file from any thread (the
/// file's cursor is not moved), counting towards its background syncs.
#[derive(Debug, Clone)]
pub struct PositionalSink {
    shared: Arc<Shared>,
}

impl WriteBehind {
    /// Wraps `file`.
    pub fn new(file: File) -> Self {
        WriteBehind {
            shared: Arc::new(Shared {
                file,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// A handle for positional writes to the same file (Unix only).
    pub fn positional(&self) -> Option<PositionalSink> {
        cfg!(unix).then(|| PositionalSink {
            shared: Arc::clone(&self.shared),
        })
    }

    /// Waits for the background sync, if any, and returns the file (not yet fully synced: the
    /// caller still fsyncs it, which then only has the tail to write). Fails if a
    /// [`PositionalSink`] of it is still alive.
    pub fn into_file(self) -> io::Result<File> {
        self.shared.reap(true)?;
        let shared = Arc::try_unwrap(self.shared)
            .map_err(|_| io::Error::other("a positional writer of this file is still in use"))?;
        Ok(shared.file)
    }
}

impl Shared {
    fn lock(&self) -> io::Result<std::sync::MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| io::Error::other("write-behind state poisoned"))
    }

    /// Collects a finished (or, with `wait`, any) background sync; true if none is running now.
    fn reap(&self, wait: bool) -> io::Result<bool> {
        let mut st = self.lock()?;
        let Some(h) = st.flusher.take() else {
            return Ok(true);
        };
        if !wait && !h.is_finished() {
            st.flusher = Some(h);
            return Ok(false);
        }
        drop(st);
        match h.join() {
            Ok(r) => r.map(|()| true),
            Err(_) => Err(io::Error::other("background sync thread panicked")),
        }
    }

    /// Counts `n` written bytes and starts a background sync when due and none is running.
    fn note(&self, n: u64) -> io::Result<()> {
        let due = {
            let mut st = self.lock()?;
            st.unsynced += n;
            st.unsynced >= KICK_BYTES
        };
        if due && self.reap(false)? {
            let f = self.file.try_clone()?;
            let mut st = self.lock()?;
            if st.flusher.is_none() {
                st.flusher = Some(std::thread::spawn(move || f.sync_data()));
                st.unsynced = 0;
            }
        }
        Ok(())
    }
}

impl WriteAt for PositionalSink {
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileExt;
            self.shared.file.write_all_at(buf, offset)?;
            self.shared.note(buf.len() as u64)
        }
        #[cfg(not(unix))]
        {
            let _ = (buf, offset);
            Err(io::Error::other("positional writes need Unix"))
        }
    }
}

impl Write for WriteBehind {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = (&self.shared.file).write(buf)?;
        self.shared.note(n as u64)?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        (&self.shared.file).flush()
    }
}

impl Seek for WriteBehind {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        (&self.shared.file).seek(pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn writes_seeks_positional_writes_and_background_syncs() {
        let path = std::env::temp_dir().join(format!("mrcz-wb-{}", std::process::id()));
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        let mut w = WriteBehind::new(file);
        let block: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
        let blocks = (KICK_BYTES >> 20) * 3 + 1;
        for _ in 0..blocks {
            w.write_all(&block).unwrap();
        }
        w.seek(SeekFrom::Start(0)).unwrap();
        w.write_all(b"head").unwrap();
        let end = blocks * (1 << 20);
        if let Some(p) = w.positional() {
            // Two threads append past the end at fixed offsets, the cursor stays put.
            std::thread::scope(|s| {
                for k in 0..2u64 {
                    let p = p.clone();
                    let block = &block;
                    s.spawn(move || p.write_all_at(block, end + k * (1 << 20)).unwrap());
                }
            });
            assert!(w.positional().is_some());
            drop(p);
            w.write_all(b"tail").unwrap();
        }
        let mut f = w.into_file().unwrap();
        f.seek(SeekFrom::Start(0)).unwrap();
        let mut got = Vec::new();
        f.read_to_end(&mut got).unwrap();
        assert_eq!(&got[..4], b"head");
        assert_eq!(&got[8..1 << 20], &block[8..]);
        if cfg!(unix) {
            assert_eq!(&got[4..8], b"tail");
            assert_eq!(got.len() as u64, end + 2 * (1 << 20));
            assert_eq!(&got[end as usize..end as usize + (1 << 20)], &block[..]);
            assert_eq!(&got[end as usize + (1 << 20)..], &block[..]);
        }
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn into_file_refuses_while_a_positional_handle_lives() {
        let path = std::env::temp_dir().join(format!("mrcz-wb2-{}", std::process::id()));
        let w = WriteBehind::new(File::create(&path).unwrap());
        if let Some(p) = w.positional() {
            assert!(w.into_file().is_err());
            drop(p);
        }
        std::fs::remove_file(&path).unwrap();
    }
}
