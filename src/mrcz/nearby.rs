//! Reads at known offsets that mostly follow one another, as when walking a chain of chunks.
//!
//! `seek(SeekFrom::Start(..))` makes a `BufReader` drop its buffer, so walking a chain of small
//! chunks with it refilled a whole buffer (8 KiB from the kernel) for every 16-byte chunk header:
//! a million 17-byte chunks took 2.6 s to index, two thirds of it copying those buffers.
//! [`Nearby`] seeks relatively from where its last read ended (`Seek::seek_relative`), which a
//! `BufReader` serves from its buffer when the offset is in it; other sources seek as before.
//! [`read_exact_at`] does the same for a source that outlives one walk (the `Reader`'s).

use std::io::{self, Read, Seek, SeekFrom};

/// A source and the offset its last read ended at.
pub(crate) struct Nearby<'a, R> {
    src: &'a mut R,
    pos: u64,
}

impl<'a, R: Read + Seek> Nearby<'a, R> {
    /// Positions `src` at `pos` (one absolute seek) and starts tracking it.
    pub(crate) fn new(src: &'a mut R, pos: u64) -> io::Result<Self> {
        src.seek(SeekFrom::Start(pos))?;
        Ok(Nearby { src, pos })
    }

    /// Fills `buf` from offset `pos`. After an error the tracked offset is stale: the caller
    /// stops (every caller returns the error).
    pub(crate) fn read_exact_at(&mut self, pos: u64, buf: &mut [u8]) -> io::Result<()> {
        let mut at = Some(self.pos);
        read_exact_at(self.src, &mut at, pos, buf)?;
        self.pos = pos + buf.len() as u64;
        Ok(())
    }
}

/// Fills `buf` from offset `pos` of `src`, for a source whose last read ended at `at` (if
/// known): a relative seek from there, or an absolute one. `at` is updated, and forgotten when
/// the read fails.
pub(crate) fn read_exact_at<R: Read + Seek>(
    src: &mut R,
    at: &mut Option<u64>,
    pos: u64,
    buf: &mut [u8],
) -> io::Result<()> {
    let here = at.take();
    match here {
        Some(h) if h == pos => {}
        Some(h) => {
            let delta = i64::try_from(i128::from(pos) - i128::from(h))
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "seek beyond 2^63"))?;
            src.seek_relative(delta)?;
        }
        None => {
            src.seek(SeekFrom::Start(pos))?;
        }
    }
    src.read_exact(buf)?;
    *at = Some(pos + buf.len() as u64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufReader, Cursor};

    #[test]
    fn reads_at_any_offset_forward_and_back() {
        let data: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for cap in [16usize, 8192] {
            let mut src = BufReader::with_capacity(cap, Cursor::new(&data));
            let mut r = Nearby::new(&mut src, 100).unwrap();
            for &(pos, len) in &[
                (100u64, 10usize),
                (110, 5),
                (103, 20),
                (9000, 32),
                (40, 17),
                (49_990, 10),
            ] {
                let mut buf = vec![0u8; len];
                r.read_exact_at(pos, &mut buf).unwrap();
                assert_eq!(
                    buf,
                    data[pos as usize..pos as usize + len],
                    "cap {cap} pos {pos}"
                );
            }
            let mut buf = [0u8; 11];
            assert!(r.read_exact_at(49_990, &mut buf).is_err(), "past the end");
        }
    }
}
