//! The chunk header: 16 bytes (version 2, Blosc1) or 32 bytes (versions 3–5, Blosc2).

use super::Shuffle;
use super::error::{Error, corrupt, unsupported};
use super::limits::{BLOSC_MAX_BLOCKSIZE, EXTENDED_HEADER_LEN, MAX_OVERHEAD};
use crate::codec::Codec;

/// Flags byte: byte shuffle (version 2).
pub(crate) const FLAG_SHUFFLE: u8 = 0x01;
/// Flags byte: the payload is the raw input.
pub(crate) const FLAG_MEMCPYED: u8 = 0x02;
/// Flags byte: bitshuffle (version 2).
pub(crate) const FLAG_BITSHUFFLE: u8 = 0x04;
/// Flags byte: reserved in version 2 (DELTA in Blosc2).
pub(crate) const FLAG_RESERVED: u8 = 0x08;
/// Flags byte: each block is one stream.
pub(crate) const FLAG_DONT_SPLIT: u8 = 0x10;

/// Blosc2 filter ids (header bytes 16–21).
pub(crate) const FILTER_NONE: u8 = 0;
pub(crate) const FILTER_SHUFFLE: u8 = 1;
pub(crate) const FILTER_BITSHUFFLE: u8 = 2;
pub(crate) const FILTER_DELTA: u8 = 3;
pub(crate) const FILTER_TRUNC_PREC: u8 = 4;

/// What a Blosc2 special-value chunk (header byte 31, bits 4–6) stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpecialValue {
    /// `nbytes` zero bytes (also how c-blosc2 stores a chunk whose streams are all zero).
    Zero,
    /// NaNs of the typesize (4 or 8).
    Nan,
    /// The value stored after the header, repeated.
    Value,
    /// Unspecified content; this crate returns zeros.
    Uninit,
}

/// Bytes 16–31 of a Blosc2 chunk.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Extension {
    /// Filter pipeline, applied slot 0 → 5 on compression (0 none, 1 shuffle, 2 bitshuffle,
    /// 3 delta, 4 trunc_prec, ...). Version-3 chunks read slot 5 as 0.
    pub filters: [u8; 6],
    /// Per-slot filter parameter (shuffle: byte-group size when non-zero).
    pub filters_meta: [u8; 6],
    /// Codec id (byte 22, 0 blosclz, 1 lz4, 2 lz4hc, 4 zlib, 5 zstd), used when compformat is 6.
    pub compcode: u8,
    /// Codec parameter (byte 23).
    pub compcode_meta: u8,
    /// Byte 30 (bit 0: variable-length blocks).
    pub flags2: u8,
    /// Byte 31 (bit 0 dictionary, bit 1 big-endian writer, bit 3 lazy, bits 4–6 special value,
    /// bit 7 instrumented).
    pub blosc2_flags: u8,
    /// The special value of bits 4–6 of byte 31, if any.
    pub special: Option<SpecialValue>,
}

/// A parsed chunk header. [`ChunkHeader::parse`] needs only the first 16 bytes; the Blosc2
/// extension is read when 32 bytes are given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChunkHeader {
    /// Format version: 2 = Blosc1, 3..=5 = Blosc2.
    pub version: u8,
    /// Codec format version (byte 1; 1 for every codec).
    pub versionlz: u8,
    /// The raw flags byte.
    pub flags: u8,
    /// Bytes per element (1..=255).
    pub typesize: usize,
    /// Uncompressed size.
    pub nbytes: usize,
    /// Bytes per block as stored (the last block may be shorter).
    pub blocksize: usize,
    /// Total chunk size, header included.
    pub cbytes: usize,
    /// 16 (version 2) or 32 (Blosc2 extended header).
    pub header_len: usize,
    /// The 3-bit codec format of flags bits 5–7.
    pub compformat: u8,
    /// The codec, when known: `None` for unknown formats, plugin codecs, or a Blosc2 chunk whose
    /// codec is named in byte 22 but only 16 bytes were parsed.
    pub codec: Option<Codec>,
    /// The payload is the raw input (no blocks or streams).
    pub memcpyed: bool,
    /// Each block is one stream (flags bit 4).
    pub dont_split: bool,
    /// The shuffle: from the flags (version 2) or from the filter pipeline (Blosc2: bitshuffle
    /// if present, else shuffle if present). `None` for Blosc2 when the extension was not given.
    pub shuffle: Option<Shuffle>,
    /// The Blosc2 extension, when the header is extended and 32 bytes were given.
    pub extension: Option<Extension>,
}

fn read_i32(b: &[u8], at: usize, what: &str) -> Result<usize, Error> {
    let v = i32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    usize::try_from(v).map_err(|_| corrupt(format!("negative {what} ({v})")))
}

impl ChunkHeader {
    /// Parses and checks the header at the start of `chunk`.
    ///
    /// Works on the first 16 bytes alone (enough for `nbytes` and `cbytes`); reads the Blosc2
    /// extension when at least 32 bytes are given. Checks what the header alone can tell:
    /// version, reserved bits, typesize, non-negative sizes, `cbytes` at least the header,
    /// block size range, and `cbytes == nbytes + header` for memcpyed chunks.
    pub fn parse(chunk: &[u8]) -> Result<ChunkHeader, Error> {
        if chunk.len() < MAX_OVERHEAD {
            return Err(corrupt(format!(
                "chunk of {} bytes is shorter than the 16-byte header",
                chunk.len()
            )));
        }
        let version = chunk[0];
        let versionlz = chunk[1];
        let flags = chunk[2];
        let extended = flags & (FLAG_SHUFFLE | FLAG_BITSHUFFLE) == FLAG_SHUFFLE | FLAG_BITSHUFFLE;
        match version {
            2 => {
                if versionlz != 1 {
                    return Err(corrupt(format!("versionlz {versionlz} (expected 1)")));
                }
                if flags & FLAG_RESERVED != 0 {
                    return Err(corrupt("reserved flag bit 3 is set in a version-2 chunk"));
                }
            }
            3..=5 if extended => {}
            3..=5 => {
                return Err(corrupt(format!(
                    "version-{version} chunk without the extended header (flags {flags:#04x})"
                )));
            }
            6 => {
                return Err(unsupported(
                    "Blosc2 format version 6 (variable-length blocks)",
                ));
            }
            v => return Err(corrupt(format!("unknown format version {v}"))),
        }
        let typesize = usize::from(chunk[3]);
        if typesize == 0 {
            return Err(corrupt("typesize 0"));
        }
        let nbytes = read_i32(chunk, 4, "nbytes")?;
        let blocksize = read_i32(chunk, 8, "blocksize")?;
        let cbytes = read_i32(chunk, 12, "cbytes")?;
        let header_len = if version == 2 {
            MAX_OVERHEAD
        } else {
            EXTENDED_HEADER_LEN
        };
        if cbytes < header_len {
            return Err(corrupt(format!(
                "cbytes {cbytes} is smaller than the {header_len}-byte header"
            )));
        }
        let compformat = flags >> 5;
        let memcpyed = flags & FLAG_MEMCPYED != 0;
        let dont_split = flags & FLAG_DONT_SPLIT != 0;

        let extension = if version != 2 && chunk.len() >= EXTENDED_HEADER_LEN {
            Some(parse_extension(version, chunk)?)
        } else {
            None
        };
        let (codec, shuffle) = if version == 2 {
            let shuffle = if flags & FLAG_SHUFFLE != 0 {
                Shuffle::Byte
            } else if flags & FLAG_BITSHUFFLE != 0 {
                Shuffle::Bit
            } else {
                Shuffle::None
            };
            (Codec::from_compformat(compformat), Some(shuffle))
        } else {
            let codec = match (compformat, &extension) {
                (6, Some(ext)) => Codec::from_blosc2_compcode(ext.compcode),
                (6 | 7, _) => None,
                (cf, _) => Codec::from_compformat(cf),
            };
            let shuffle = extension.as_ref().map(|ext| {
                if ext.filters.contains(&FILTER_BITSHUFFLE) {
                    Shuffle::Bit
                } else if ext.filters.contains(&FILTER_SHUFFLE) {
                    Shuffle::Byte
                } else {
                    Shuffle::None
                }
            });
            (codec, shuffle)
        };

        let special = extension.as_ref().and_then(|e| e.special);
        let special_unknown = version != 2 && extension.is_none();
        if nbytes > 0 && special.is_none() && !special_unknown {
            if blocksize == 0 {
                return Err(corrupt("blocksize 0"));
            }
            if version == 2 {
                // c-blosc 1.x checks the block size against the destination (= nbytes).
                if blocksize > BLOSC_MAX_BLOCKSIZE || blocksize > nbytes {
                    return Err(corrupt(format!(
                        "blocksize {blocksize} larger than nbytes {nbytes} or the Blosc limit"
                    )));
                }
            }
        }
        if memcpyed && special.is_none() && !special_unknown {
            let expected = nbytes.checked_add(header_len);
            if expected != Some(cbytes) {
                return Err(corrupt(format!(
                    "memcpyed chunk with cbytes {cbytes}, expected nbytes + {header_len} = {}",
                    nbytes.saturating_add(header_len)
                )));
            }
        }
        Ok(ChunkHeader {
            version,
            versionlz,
            flags,
            typesize,
            nbytes,
            blocksize,
            cbytes,
            header_len,
            compformat,
            codec,
            memcpyed,
            dont_split,
            shuffle,
            extension,
        })
    }

    /// The special value of a Blosc2 special chunk (needs the extension).
    pub fn special(&self) -> Option<SpecialValue> {
        self.extension.as_ref().and_then(|e| e.special)
    }
}

fn parse_extension(version: u8, chunk: &[u8]) -> Result<Extension, Error> {
    let mut filters: [u8; 6] = chunk[16..22].try_into().expect("6 bytes");
    let mut filters_meta: [u8; 6] = chunk[24..30].try_into().expect("6 bytes");
    if version == 3 {
        // Blosc2 2.0 alpha: slot 5 was not part of the pipeline yet.
        filters[5] = 0;
        filters_meta[5] = 0;
    }
    let blosc2_flags = chunk[31];
    let special = match (blosc2_flags >> 4) & 7 {
        0 => None,
        1 => Some(SpecialValue::Zero),
        2 => Some(SpecialValue::Nan),
        3 => Some(SpecialValue::Value),
        4 => Some(SpecialValue::Uninit),
        s => return Err(corrupt(format!("unknown special value {s}"))),
    };
    Ok(Extension {
        filters,
        filters_meta,
        compcode: chunk[22],
        compcode_meta: chunk[23],
        flags2: chunk[30],
        blosc2_flags,
        special,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_empty_v2_chunk_of_the_spec() {
        let h = ChunkHeader::parse(&[2, 1, 0x33, 4, 0, 0, 0, 0, 1, 0, 0, 0, 16, 0, 0, 0]).unwrap();
        assert_eq!(
            (h.version, h.typesize, h.nbytes, h.blocksize, h.cbytes),
            (2, 4, 0, 1, 16)
        );
        assert_eq!(h.codec, Some(Codec::Lz4));
        assert!(h.memcpyed && h.dont_split);
        assert_eq!(h.shuffle, Some(Shuffle::Byte));
    }

    #[test]
    fn sixteen_bytes_of_a_v5_chunk_are_enough_for_sizes() {
        let mut c = vec![5, 1, 0x25, 4];
        c.extend(1000i32.to_le_bytes());
        c.extend(1000i32.to_le_bytes());
        c.extend(32i32.to_le_bytes());
        let h = ChunkHeader::parse(&c).unwrap();
        assert_eq!((h.nbytes, h.cbytes, h.header_len), (1000, 32, 32));
        assert!(h.extension.is_none() && h.shuffle.is_none());
        c.extend([1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0x10]);
        let h = ChunkHeader::parse(&c).unwrap();
        assert_eq!(h.special(), Some(SpecialValue::Zero));
        assert_eq!(h.shuffle, Some(Shuffle::Byte));
    }

    #[test]
    fn rejects_bad_headers() {
        let good = [2u8, 1, 0x21, 4, 0, 1, 0, 0, 0, 1, 0, 0, 40, 0, 0, 0];
        assert!(ChunkHeader::parse(&good).is_ok());
        assert!(ChunkHeader::parse(&good[..15]).is_err());
        for (at, val) in [
            (0, 3u8),
            (0, 1),
            (1, 2),
            (2, 0x29),
            (3, 0),
            (7, 0x80),
            (15, 0x80),
        ] {
            let mut c = good;
            c[at] = val;
            assert!(ChunkHeader::parse(&c).is_err(), "byte {at} = {val:#x}");
        }
        let mut c = good;
        c[2] |= FLAG_MEMCPYED; // cbytes != nbytes + 16
        assert!(ChunkHeader::parse(&c).is_err());
        let mut c = good;
        c[9] = 2; // blocksize 512 > nbytes 256
        assert!(ChunkHeader::parse(&c).is_err());
        let mut c = good;
        c[0] = 6;
        assert!(matches!(ChunkHeader::parse(&c), Err(Error::Unsupported(_))));
    }
}
