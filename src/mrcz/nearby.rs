//! Reads at known offsets that mostly follow one another: walking a chain of chunks, or reading
//! frames in order.
//!
//! `seek(SeekFrom::Start(..))` makes a `BufReader` drop its buffer, so walking a chain of small
//! chunks with it refilled a whole buffer (8 KiB from the kernel) for every 16-byte chunk header:
//! a million 17-byte chunks took 2.6 s to index, two thirds of it copying those buffers.
//! [`read_exact`] seeks relatively from where the previous read ended
//! (`Seek::seek_relative`), which a `BufReader` serves from its buffer when the offset is in it;
//! other sources seek as before.

use std::io::{self, Read, Seek, SeekFrom};

/// Fills `buf` from offset `pos` of `src`, for a source whose previous read ended at `at` (if
/// known): a relative seek from there, else an absolute one. `at` is updated, and forgotten when
/// the seek or read fails.
pub(crate) fn read_exact<R: Read + Seek>(
    src: &mut R,
    at: &mut Option<u64>,
    pos: u64,
    buf: &mut [u8],
) -> io::Result<()> {
    match at.take() {
        Some(here) if here == pos => {}
        Some(here) => {
            let delta = i64::try_from(i128::from(pos) - i128::from(here))
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
            let mut at = None;
            for &(pos, len) in &[
                (100u64, 10usize),
                (110, 5),
                (103, 20),
                (9000, 32),
                (40, 17),
                (49_990, 10),
            ] {
                let mut buf = vec![0u8; len];
                read_exact(&mut src, &mut at, pos, &mut buf).unwrap();
                assert_eq!(
                    buf,
                    data[pos as usize..pos as usize + len],
                    "cap {cap} pos {pos}"
                );
                assert_eq!(at, Some(pos + len as u64));
            }
            let mut buf = [0u8; 11];
            assert!(
                read_exact(&mut src, &mut at, 49_990, &mut buf).is_err(),
                "past the end"
            );
            assert_eq!(at, None, "forgotten after an error");
            // With the position forgotten, the next read seeks absolutely and is right again.
            read_exact(&mut src, &mut at, 7, &mut buf).unwrap();
            assert_eq!(buf, data[7..18]);
        }
    }
}
