//! Reads at known offsets that mostly follow one another: walking a chain of chunks, or reading
//! frames in order.
//!
//! `seek(SeekFrom::Start(..))` makes a `BufReader` drop its buffer, so walking a chain of small
//! chunks with it refilled a whole buffer (8 KiB from the kernel) for every 16-byte chunk header:
//! a million 17-byte chunks took 2.6 s to index, two thirds of it copying those buffers.
//! [`read_exact`] seeks relatively from where the source stands (`Seek::seek_relative`), which a
//! `BufReader` serves from its buffer when the offset is in it; other sources seek as before.

use std::io::{self, Read, Seek};

/// Fills `buf` from offset `pos` of `src`: a relative seek from where `src` stands
/// (`stream_position`, which a `BufReader` answers without dropping its buffer), then a read.
/// Asking where the source stands, rather than remembering where the last read ended, keeps this
/// right for a source whose cursor other code also moves (a shared `&File`).
pub(crate) fn read_exact<R: Read + Seek>(src: &mut R, pos: u64, buf: &mut [u8]) -> io::Result<()> {
    let here = src.stream_position()?;
    if here != pos {
        let delta = i64::try_from(i128::from(pos) - i128::from(here))
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "seek beyond 2^63"))?;
        src.seek_relative(delta)?;
    }
    src.read_exact(buf)
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
            for &(pos, len) in &[
                (100u64, 10usize),
                (110, 5),
                (103, 20),
                (9000, 32),
                (40, 17),
                (49_990, 10),
            ] {
                let mut buf = vec![0u8; len];
                read_exact(&mut src, pos, &mut buf).unwrap();
                assert_eq!(
                    buf,
                    data[pos as usize..pos as usize + len],
                    "cap {cap} pos {pos}"
                );
            }
            let mut buf = [0u8; 11];
            assert!(
                read_exact(&mut src, 49_990, &mut buf).is_err(),
                "past the end"
            );
            read_exact(&mut src, 7, &mut buf).unwrap();
            assert_eq!(buf, data[7..18]);
        }
    }

    /// Other code moving a shared cursor between two reads does not misplace the second.
    #[test]
    fn a_cursor_moved_by_others_is_respected() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i % 253) as u8).collect();
        let mut src = Cursor::new(&data);
        let mut buf = [0u8; 8];
        read_exact(&mut src, 100, &mut buf).unwrap();
        src.set_position(900);
        read_exact(&mut src, 108, &mut buf).unwrap();
        assert_eq!(buf, data[108..116]);
    }
}
