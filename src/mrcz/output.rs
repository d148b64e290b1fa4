//! The file a [`FileWriter`](super::FileWriter) writes into.
//!
//! Where the filesystem allows it (Linux, not tmpfs), the file is written around the page cache
//! ([`DirectFile`]); otherwise through it, synced to disk in the
//! background as it grows ([`WriteBehind`]). Either way other threads can write whole frames at
//! their final offsets through a [`WriteAt`] handle.

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;

#[cfg(target_os = "linux")]
use crate::mrcz::direct::DirectFile;
use crate::mrcz::writebehind::WriteBehind;

/// Writes at explicit offsets of a shared file, from any thread.
pub trait WriteAt: Send + Sync {
    /// Writes all of `buf` at byte `offset` of the file.
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
}

/// A file being written: around the page cache, or through it.
#[derive(Debug)]
pub enum OutputFile {
    /// `O_DIRECT` writes from aligned staging buffers (Linux).
    #[cfg(target_os = "linux")]
    Direct(DirectFile),
    /// Ordinary buffered writes, synced in the background every
    /// [`KICK_BYTES`](super::writebehind::KICK_BYTES).
    Buffered(BufWriter<WriteBehind>),
}

impl OutputFile {
    /// Wraps the new, empty file `file` at `path`: direct writes if `direct` is asked for and the
    /// filesystem takes them, buffered ones otherwise.
    pub fn new(file: File, path: &Path, direct: bool) -> io::Result<OutputFile> {
        #[cfg(target_os = "linux")]
        if direct && let Some(d) = DirectFile::open(path)? {
            return Ok(OutputFile::Direct(d));
        }
        let _ = (path, direct);
        Ok(OutputFile::Buffered(BufWriter::with_capacity(
            1 << 20,
            WriteBehind::new(file),
        )))
    }

    /// Whether writes bypass the page cache.
    pub fn is_direct(&self) -> bool {
        match self {
            #[cfg(target_os = "linux")]
            OutputFile::Direct(_) => true,
            OutputFile::Buffered(_) => false,
        }
    }

    /// A handle for positional writes to the same file, where the platform has them.
    pub fn positional(&self) -> Option<Arc<dyn WriteAt>> {
        match self {
            #[cfg(target_os = "linux")]
            OutputFile::Direct(d) => Some(Arc::new(d.positional())),
            OutputFile::Buffered(b) => b
                .get_ref()
                .positional()
                .map(|p| Arc::new(p) as Arc<dyn WriteAt>),
        }
    }

    /// Finishes every write and returns the file (not yet synced). Fails if a positional handle
    /// is still alive.
    pub fn into_file(self) -> io::Result<File> {
        match self {
            #[cfg(target_os = "linux")]
            OutputFile::Direct(d) => d.into_file(),
            OutputFile::Buffered(b) => b.into_inner().map_err(|e| e.into_error())?.into_file(),
        }
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            #[cfg(target_os = "linux")]
            OutputFile::Direct(d) => d.write(buf),
            OutputFile::Buffered(b) => b.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            OutputFile::Direct(d) => d.write_all(buf),
            OutputFile::Buffered(b) => b.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            OutputFile::Direct(d) => d.flush(),
            OutputFile::Buffered(b) => b.flush(),
        }
    }
}

impl Seek for OutputFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match self {
            #[cfg(target_os = "linux")]
            OutputFile::Direct(d) => d.seek(pos),
            OutputFile::Buffered(b) => b.seek(pos),
        }
    }
}
