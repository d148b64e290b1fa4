//! A file that starts flushing to disk while it is still being written.
//!
//! [`FileWriter`](super::FileWriter) makes its output durable with one fsync before the rename.
//! Left alone, the kernel holds every written page dirty until then (its background writeback only
//! starts at a share of RAM), so that final fsync waits for the whole file to reach the disk while
//! the CPUs sit idle. [`WriteBehind`] instead asks for a data sync on a second handle, on a
//! helper thread, each time [`KICK_BYTES`] more have been written: the disk works while frames
//! are still being compressed, and the final fsync only waits for the tail.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::thread::JoinHandle;

/// Bytes written between background syncs.
pub const KICK_BYTES: u64 = 32 << 20;

/// A [`File`] whose written data is synced to disk in the background every [`KICK_BYTES`].
///
/// Errors of a background sync are not lost: the next write that would start another sync, or
/// [`WriteBehind::into_file`], returns them.
#[derive(Debug)]
pub struct WriteBehind {
    file: File,
    unsynced: u64,
    flusher: Option<JoinHandle<io::Result<()>>>,
}

impl WriteBehind {
    /// Wraps `file`.
    pub fn new(file: File) -> Self {
        WriteBehind {
            file,
            unsynced: 0,
            flusher: None,
        }
    }

    /// Waits for the background sync, if any, and returns the file (not yet fully synced: the
    /// caller still fsyncs it, which then only has the tail to write).
    pub fn into_file(mut self) -> io::Result<File> {
        self.reap(true)?;
        Ok(self.file)
    }

    /// Collects a finished (or, with `wait`, any) background sync; true if none is running now.
    fn reap(&mut self, wait: bool) -> io::Result<bool> {
        match self.flusher.take() {
            Some(h) if wait || h.is_finished() => match h.join() {
                Ok(r) => r.map(|()| true),
                Err(_) => Err(io::Error::other("background sync thread panicked")),
            },
            Some(h) => {
                self.flusher = Some(h);
                Ok(false)
            }
            None => Ok(true),
        }
    }

    fn kick(&mut self) -> io::Result<()> {
        // One sync at a time: while it runs, the next one simply starts later.
        if self.reap(false)? {
            let f = self.file.try_clone()?;
            self.flusher = Some(std::thread::spawn(move || f.sync_data()));
            self.unsynced = 0;
        }
        Ok(())
    }
}

impl Write for WriteBehind {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.unsynced += n as u64;
        if self.unsynced >= KICK_BYTES {
            self.kick()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Seek for WriteBehind {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.file.seek(pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn writes_seeks_and_syncs_in_the_background() {
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
        for _ in 0..(KICK_BYTES >> 20) * 3 + 1 {
            w.write_all(&block).unwrap();
        }
        assert!(w.flusher.is_some() || w.unsynced < KICK_BYTES);
        w.seek(SeekFrom::Start(0)).unwrap();
        w.write_all(b"head").unwrap();
        let mut f = w.into_file().unwrap();
        f.seek(SeekFrom::Start(0)).unwrap();
        let mut got = Vec::new();
        f.read_to_end(&mut got).unwrap();
        assert_eq!(
            got.len() as u64,
            (KICK_BYTES >> 20) * 3 * (1 << 20) + (1 << 20)
        );
        assert_eq!(&got[..4], b"head");
        assert_eq!(&got[4..1 << 20], &block[4..]);
        std::fs::remove_file(&path).unwrap();
    }
}
