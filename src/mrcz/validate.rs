//! Whole-file validation (`mrcz validate`) and pixel-by-pixel verification of a copy
//! (`--verify`).
//!
//! [`validate_file`] runs mrcfile's eleven header checks ([`validate_header`], adapted so that a
//! correct MRCZ file passes: MODE ≥ 1000, EXTTYP `json`), then the container checks of an MRCZ
//! file (spec `mrcz.md` §3.3): every one of the NZ chunks has a sane header whose nbytes is one
//! section, the chain of cbytes ends exactly at the end of the file, and packedBytes (when set)
//! is the sum of cbytes. With [`ValidateOptions::deep`] every frame is decoded as well, which
//! proves each chunk decodes and gives the data statistics for mrcfile's check #10.
//!
//! Findings have a [`Severity`]: [`Severity::Invalid`] makes the file invalid,
//! [`Severity::Note`] is for python-mrcz's quirks and other legal oddities.
//!
//! Memory: the header, the chunk index (16 bytes per frame), one chunk and one frame.

use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use serde_json::{Value, json};

use crate::blosc::{self, ChunkHeader};
use crate::codec::Codec;
use crate::error::{Error, Result};
use crate::mrc::{
    Check, DataStats, EXTTYP_JSON, EXTTYP_MSGPACK, Endian, HEADER_LEN, Header, Metadata, Mode,
    Severity, Warning, validate_header,
};
use crate::mrcz::nearby;
use crate::mrcz::pixel::{swap_bytes, unpack_uint4};
use crate::mrcz::reader::{ReadOptions, Reader, chunk_can_hold};
use crate::mrcz::stats::Stats;

/// What [`validate_file`] does.
#[derive(Debug, Clone, Default)]
pub struct ValidateOptions {
    /// Decode every frame: checks that every chunk decodes and compares the header statistics
    /// with the data (mrcfile's check #10).
    pub deep: bool,
    /// Limits on what may be allocated: the largest frame decoded and the largest extended
    /// header parsed (a larger one is noted and not checked), and the Blosc limits.
    /// `allow_incomplete` is ignored: an incomplete file is invalid.
    pub read: ReadOptions,
}

/// Which check a [`Finding`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileCheck {
    /// One of mrcfile's header checks (or the MRCZ notes) of [`validate_header`].
    Header(Check),
    /// The header cannot be parsed at all, or the file is shorter than it.
    Parse,
    /// NX, NY, MODE give no usable section size (zero or overflowing dimensions).
    Dimensions,
    /// The extended header does not hold what EXTTYP says (invalid JSON or MessagePack).
    Metadata,
    /// The chain of Blosc chunks: count, headers, section size, end of file.
    ChunkChain,
    /// packedBytes (byte 144) against the sum of the chunk sizes.
    PackedBytes,
    /// A chunk (or section) failed to decode (`--deep`).
    Decode,
}

impl FileCheck {
    /// A short stable name, used in JSON output (`map_id`, `chunk_chain`, ...).
    pub fn name(self) -> &'static str {
        match self {
            FileCheck::Header(c) => match c {
                Check::MapId => "map_id",
                Check::MachineStamp => "machine_stamp",
                Check::Mode => "mode",
                Check::NonNegative => "non_negative",
                Check::AxisMapping => "axis_mapping",
                Check::VolumeStack => "volume_stack",
                Check::Labels => "labels",
                Check::Version => "version",
                Check::ExtType => "ext_type",
                Check::Statistics => "statistics",
                Check::FileSize => "file_size",
                Check::Mrcz => "mrcz",
            },
            FileCheck::Parse => "parse",
            FileCheck::Dimensions => "dimensions",
            FileCheck::Metadata => "metadata",
            FileCheck::ChunkChain => "chunk_chain",
            FileCheck::PackedBytes => "packed_bytes",
            FileCheck::Decode => "decode",
        }
    }
}

/// One problem found by [`validate_file`].
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The check that found it.
    pub check: FileCheck,
    /// Invalid, or only a note.
    pub severity: Severity,
    /// One line saying what is wrong, with values.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.severity == Severity::Note {
            f.write_str("note: ")?;
        }
        f.write_str(&self.message)?;
        if let FileCheck::Header(c) = self.check
            && let Some(n) = c.number()
        {
            write!(f, " [check {n}]")?;
        }
        Ok(())
    }
}

/// What [`validate_file`] found.
#[derive(Debug, Clone)]
pub struct ValidationReport {
    /// Size of the file.
    pub file_bytes: u64,
    /// MODE ≥ 1000 (the header parsed and names a compressor).
    pub compressed: bool,
    /// NZ from the header, if it parsed.
    pub nz: Option<i32>,
    /// Chunks (MRCZ) or sections (plain) found complete and in place.
    pub frames_found: u64,
    /// Frames decoded (`deep` only; equals `frames_found` when all decode).
    pub frames_decoded: u64,
    /// Whether the frames were decoded.
    pub deep: bool,
    /// Statistics of all the data (`deep` and every frame decoded).
    pub stats: Option<DataStats>,
    /// Everything found, invalid problems and notes, in the order checked.
    pub findings: Vec<Finding>,
}

impl ValidationReport {
    /// True when no finding is [`Severity::Invalid`] (notes do not count).
    pub fn is_valid(&self) -> bool {
        self.findings
            .iter()
            .all(|f| f.severity != Severity::Invalid)
    }

    /// The findings that make the file invalid.
    pub fn problems(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Invalid)
    }

    /// The notes.
    pub fn notes(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Note)
    }

    /// The JSON form printed by `mrcz validate --json`:
    /// `{"file", "valid", "compressed", "file_bytes", "nz", "frames_found", "deep",
    /// "frames_decoded", "stats", "problems": [{"check", "severity", "message"}]}`.
    pub fn to_json(&self, file: &Path) -> Value {
        let problems: Vec<Value> = self
            .findings
            .iter()
            .map(|f| {
                json!({
                    "check": f.check.name(),
                    "severity": match f.severity {
                        Severity::Invalid => "invalid",
                        Severity::Note => "note",
                    },
                    "message": f.message,
                })
            })
            .collect();
        json!({
            "file": file,
            "valid": self.is_valid(),
            "compressed": self.compressed,
            "file_bytes": self.file_bytes,
            "nz": self.nz,
            "frames_found": self.frames_found,
            "deep": self.deep,
            "frames_decoded": self.deep.then_some(self.frames_decoded),
            "stats": self.stats.map(|s| json!({
                "min": s.min, "max": s.max, "mean": s.mean, "rms": s.rms,
            })),
            "problems": problems,
        })
    }
}

/// Validates the file at `path`. See the module documentation for the checks.
///
/// # Errors
/// Only I/O errors (the file cannot be opened or read); everything wrong with the content is a
/// [`Finding`].
pub fn validate_file(
    path: impl AsRef<Path>,
    options: &ValidateOptions,
) -> Result<ValidationReport> {
    let file = File::open(path)?;
    validate_stream(BufReader::with_capacity(1 << 16, file), options)
}

/// [`validate_file`] on any seekable stream.
///
/// # Errors
/// Only I/O errors.
pub fn validate_stream<R: Read + Seek>(
    mut src: R,
    options: &ValidateOptions,
) -> Result<ValidationReport> {
    let file_bytes = src.seek(SeekFrom::End(0))?;
    let mut v = Validation {
        report: ValidationReport {
            file_bytes,
            compressed: false,
            nz: None,
            frames_found: 0,
            frames_decoded: 0,
            deep: options.deep,
            stats: None,
            findings: Vec::new(),
        },
    };
    if file_bytes < HEADER_LEN as u64 {
        v.invalid(
            FileCheck::Parse,
            format!("file is {file_bytes} bytes, shorter than the {HEADER_LEN}-byte MRC header"),
        );
        return Ok(v.report);
    }
    src.seek(SeekFrom::Start(0))?;
    let mut raw = [0u8; HEADER_LEN];
    src.read_exact(&mut raw)?;
    let (header, warnings) = match Header::parse(&raw) {
        Ok(h) => h,
        Err(e) => {
            v.invalid(FileCheck::Parse, format!("header cannot be read: {e}"));
            return Ok(v.report);
        }
    };
    v.report.compressed = header.is_compressed();
    v.report.nz = Some(header.nz);
    for w in warnings {
        // Stamp and map-id oddities are reported by checks 1 and 2 of validate_header.
        let check = match w {
            Warning::UnusualStamp { .. }
            | Warning::UnrecognisedStamp { .. }
            | Warning::MissingMapId { .. } => continue,
            Warning::NlablClamped { .. } => Check::Labels,
            _ => Check::MachineStamp,
        };
        v.note(FileCheck::Header(check), w.to_string());
    }

    let data = v.structure(&mut src, &header, options)?;
    if options.deep
        && let Some(data) = &data
    {
        v.deep(&mut src, &header, data, options)?;
    }
    // A compressed file's size is checked through the chunk chain; giving validate_header the
    // length would only repeat the packedBytes finding as a note.
    let file_len = (!header.is_compressed()).then_some(file_bytes);
    let header_findings = validate_header(&header, file_len, v.report.stats.as_ref());
    let mut findings: Vec<Finding> = header_findings
        .into_iter()
        .map(|p| Finding {
            check: FileCheck::Header(p.check),
            severity: p.severity,
            message: p.message,
        })
        .collect();
    findings.append(&mut v.report.findings);
    v.report.findings = findings;
    Ok(v.report)
}

/// Where the frames are, once the structure checked out far enough to decode.
struct DataLayout {
    frame_len: usize,
    /// `(offset, length)` of each chunk (MRCZ) or section (plain) found complete.
    extents: Vec<(u64, usize)>,
}

struct Validation {
    report: ValidationReport,
}

impl Validation {
    fn invalid(&mut self, check: FileCheck, message: String) {
        self.push(check, Severity::Invalid, message);
    }

    fn note(&mut self, check: FileCheck, message: String) {
        self.push(check, Severity::Note, message);
    }

    fn push(&mut self, check: FileCheck, severity: Severity, message: String) {
        self.report.findings.push(Finding {
            check,
            severity,
            message,
        });
    }

    /// Extended header, dimensions and the frame layout. Returns the layout when the frames can
    /// be decoded.
    fn structure<R: Read + Seek>(
        &mut self,
        src: &mut R,
        h: &Header,
        options: &ValidateOptions,
    ) -> Result<Option<DataLayout>> {
        let file_len = self.report.file_bytes;
        let data_offset = h.data_offset();
        if data_offset > file_len {
            self.invalid(
                FileCheck::Header(Check::FileSize),
                format!(
                    "NSYMBT {} puts the data at byte {data_offset}, past the end of the \
                     {file_len}-byte file",
                    h.nsymbt
                ),
            );
            return Ok(None);
        }
        self.metadata(src, h, options)?;

        let frame_len = match h.section_bytes() {
            Ok(n) => n,
            Err(e) => {
                if h.nx >= 0 && h.ny >= 0 {
                    self.invalid(FileCheck::Dimensions, e.to_string());
                }
                return Ok(None);
            }
        };
        if h.nz < 0 {
            return Ok(None); // reported by check 4
        }
        let nz = h.nz as u64;
        let frame_len_ok = frame_len <= options.read.max_frame_bytes;
        if !frame_len_ok && options.deep {
            self.note(
                FileCheck::Decode,
                format!(
                    "sections of {frame_len} bytes are over the {}-byte limit: not decoded",
                    options.read.max_frame_bytes
                ),
            );
        }
        let extents = if h.is_compressed() {
            self.chunk_chain(src, h, data_offset, nz, frame_len)?
        } else {
            // Check 11 (file size) covers plain files; index the sections present.
            let have = (file_len - data_offset) / frame_len.max(1);
            let n = have.min(nz);
            self.report.frames_found = n;
            if frame_len_ok {
                (0..n)
                    .map(|z| (data_offset + z * frame_len, frame_len as usize))
                    .collect()
            } else {
                Vec::new()
            }
        };
        if !frame_len_ok {
            return Ok(None);
        }
        Ok(Some(DataLayout {
            frame_len: frame_len as usize,
            extents,
        }))
    }

    fn metadata<R: Read + Seek>(
        &mut self,
        src: &mut R,
        h: &Header,
        options: &ValidateOptions,
    ) -> Result<()> {
        let len = h.data_offset() - HEADER_LEN as u64;
        if len == 0 || (h.exttyp != EXTTYP_JSON && h.exttyp != EXTTYP_MSGPACK) {
            return Ok(());
        }
        if len > options.read.max_metadata_bytes {
            self.note(
                FileCheck::Metadata,
                format!(
                    "extended header of {len} bytes is over the {}-byte limit: not checked",
                    options.read.max_metadata_bytes
                ),
            );
            return Ok(());
        }
        let mut bytes = vec![0u8; len as usize];
        src.seek(SeekFrom::Start(HEADER_LEN as u64))?;
        src.read_exact(&mut bytes)?;
        if let Err(e) = Metadata::parse(h.exttyp, bytes) {
            self.invalid(
                FileCheck::Metadata,
                format!(
                    "EXTTYP {:?} but the extended header does not parse: {e}",
                    String::from_utf8_lossy(&h.exttyp)
                ),
            );
        }
        Ok(())
    }

    /// Walks the NZ chunks (spec §3.3), checking each header; returns the complete chunks.
    fn chunk_chain<R: Read + Seek>(
        &mut self,
        src: &mut R,
        h: &Header,
        mut pos: u64,
        nz: u64,
        frame_len: u64,
    ) -> Result<Vec<(u64, usize)>> {
        let file_len = self.report.file_bytes;
        let named = Codec::from_mrcz_id(h.compressor_id);
        if named.is_none() {
            self.note(
                FileCheck::Header(Check::Mode),
                format!(
                    "compressor id {} is not one of the Blosc codecs 1-6 this reader decodes",
                    h.compressor_id
                ),
            );
        }
        let mut extents = Vec::with_capacity(nz.min((file_len - pos) / 16 + 1) as usize);
        let (mut codec_noted, mut typesize_noted, mut blocksize_noted) = (false, false, false);
        let mut head = [0u8; 32];
        let mut sum: u64 = 0;
        let mut broken = false;
        for z in 0..nz {
            if pos + 16 > file_len {
                self.invalid(
                    FileCheck::ChunkChain,
                    format!(
                        "file ends at byte {file_len} after {z} of NZ {nz} chunks (chunk {z} \
                         would start at byte {pos})"
                    ),
                );
                broken = true;
                break;
            }
            let head = &mut head[..(file_len - pos).min(32) as usize];
            nearby::read_exact(src, pos, head)?;
            let ch = match ChunkHeader::parse(head) {
                Ok(ch) => ch,
                Err(e) => {
                    self.invalid(
                        FileCheck::ChunkChain,
                        format!("chunk {z} at byte {pos}: {e}"),
                    );
                    broken = true;
                    break;
                }
            };
            if ch.nbytes as u64 != frame_len {
                self.invalid(
                    FileCheck::ChunkChain,
                    format!(
                        "chunk {z} at byte {pos} holds {} bytes, a section is {frame_len}",
                        ch.nbytes
                    ),
                );
            } else if let Err(why) = chunk_can_hold(&ch) {
                self.invalid(
                    FileCheck::ChunkChain,
                    format!("chunk {z} at byte {pos}: {why}"),
                );
            }
            if !codec_noted
                && let (Some(n), Some(c)) = (named, ch.codec)
                && n != c
                && !(n == Codec::Lz4 && c == Codec::Lz4Hc || n == Codec::Lz4Hc && c == Codec::Lz4)
            {
                codec_noted = true;
                self.note(
                    FileCheck::Header(Check::Mode),
                    format!("MODE names {n} but chunk {z} is {c} (the chunk's codec is used)"),
                );
            }
            if !typesize_noted && ch.typesize != h.mode.element_bytes() {
                typesize_noted = true;
                self.note(
                    FileCheck::ChunkChain,
                    format!(
                        "chunk {z} has typesize {} but {} elements are {} bytes",
                        ch.typesize,
                        h.mode.name(),
                        h.mode.element_bytes()
                    ),
                );
            }
            if !blocksize_noted
                && ch.version != 2
                && ch.special().is_none()
                && ch.blocksize > ch.typesize
                && ch.blocksize % ch.typesize != 0
            {
                blocksize_noted = true;
                self.note(
                    FileCheck::ChunkChain,
                    format!(
                        "chunk {z} is a version-{} chunk with blocksize {} not a multiple of \
                         typesize {}: c-blosc2 3.3.5 wrote such chunks wrongly",
                        ch.version, ch.blocksize, ch.typesize
                    ),
                );
            }
            let end = pos + ch.cbytes as u64;
            if end > file_len {
                self.invalid(
                    FileCheck::ChunkChain,
                    format!(
                        "chunk {z} at byte {pos} has cbytes {} and runs past the end of the file \
                         ({file_len} bytes)",
                        ch.cbytes
                    ),
                );
                broken = true;
                break;
            }
            extents.push((pos, ch.cbytes));
            sum += ch.cbytes as u64;
            pos = end;
        }
        self.report.frames_found = extents.len() as u64;
        if broken {
            return Ok(extents);
        }
        if pos < file_len {
            self.invalid(
                FileCheck::ChunkChain,
                format!(
                    "{} bytes after the last of the NZ {nz} chunks (byte {pos} to the end of the \
                     file)",
                    file_len - pos
                ),
            );
        }
        if h.packed_bytes != 0 && u64::try_from(h.packed_bytes).ok() != Some(sum) {
            self.invalid(
                FileCheck::PackedBytes,
                format!(
                    "packedBytes is {} but the {nz} chunks hold {sum} bytes",
                    h.packed_bytes
                ),
            );
        }
        Ok(extents)
    }

    /// Decodes every frame found, measuring the statistics.
    fn deep<R: Read + Seek>(
        &mut self,
        src: &mut R,
        h: &Header,
        data: &DataLayout,
        options: &ValidateOptions,
    ) -> Result<()> {
        let mut frame = vec![0u8; data.frame_len];
        let mut chunk = Vec::new();
        let mut stats = Stats::default();
        let mut failed = false;
        for (z, &(offset, len)) in data.extents.iter().enumerate() {
            if h.is_compressed() {
                chunk.resize(len, 0);
                nearby::read_exact(src, offset, &mut chunk)?;
                if let Err(e) = blosc::decompress_into(&chunk, &mut frame, &options.read.blosc) {
                    self.invalid(
                        FileCheck::Decode,
                        format!("chunk {z} at byte {offset} does not decode: {e}"),
                    );
                    failed = true;
                    continue;
                }
            } else {
                nearby::read_exact(src, offset, &mut frame)?;
            }
            if h.endian != Endian::native() {
                swap_bytes(&mut frame, h.mode.swap_unit());
            }
            stats.merge(&Stats::of_frame(h.mode, &frame));
            self.report.frames_decoded += 1;
        }
        let complete = self.report.frames_decoded == u64::try_from(h.nz).unwrap_or(0);
        if !failed && complete && stats.count > 0 {
            self.report.stats = Some(DataStats {
                min: stats.min,
                max: stats.max,
                mean: stats.mean,
                rms: stats.rms(),
            });
        }
        Ok(())
    }
}

/// Checks that two files hold the same pixels: same width, height and frame count, and every
/// frame bit-identical once decoded to the machine's byte order (so a big-endian copy of a
/// little-endian file compares equal). A 4-bit (mode 101) original also matches its 8-bit
/// (mode 0) copy, since `mrcz compress` writes 4-bit data as bytes. Reads both files one frame at
/// a time: memory is two frames.
///
/// Meant for `--verify` of `mrcz compress` and `decompress` after the output is committed.
///
/// Returns the number of frames compared.
///
/// # Errors
/// Errors of opening or reading either file, and [`Error::Format`] starting with
/// `verification failed` naming the first difference (offset: where that frame is stored in
/// `copy`).
pub fn verify_same_pixels(original: impl AsRef<Path>, copy: impl AsRef<Path>) -> Result<u64> {
    let mut a = Reader::open(original)?;
    let mut b = Reader::open(copy)?;
    verify_readers(&mut a, &mut b)
}

/// [`verify_same_pixels`] on two open readers.
///
/// # Errors
/// As [`verify_same_pixels`].
pub fn verify_readers<A: Read + Seek, B: Read + Seek>(
    original: &mut Reader<A>,
    copy: &mut Reader<B>,
) -> Result<u64> {
    let fail = |what: String, offset: u64| {
        Err(Error::format(
            format!("verification failed: {what}"),
            offset,
        ))
    };
    let (ha, hb) = (original.header(), copy.header());
    if (ha.nx, ha.ny) != (hb.nx, hb.ny) {
        return fail(
            format!(
                "frames of {}x{} in the original, {}x{} in the copy",
                ha.nx, ha.ny, hb.nx, hb.ny
            ),
            0,
        );
    }
    if original.frames() != copy.frames() {
        return fail(
            format!(
                "{} frames in the original, {} in the copy",
                original.frames(),
                copy.frames()
            ),
            8,
        );
    }
    let unpack = ha.mode == Mode::Uint4 && hb.mode == Mode::Int8;
    if ha.mode != hb.mode && !unpack {
        return fail(
            format!(
                "mode {} in the original, {} in the copy",
                ha.mode.name(),
                hb.mode.name()
            ),
            12,
        );
    }
    let nx = ha.nx as usize;
    let unit = hb.mode.element_bytes();
    let mut fa = vec![0u8; original.frame_len()];
    let mut fb = vec![0u8; copy.frame_len()];
    for i in 0..original.frames() {
        original.read_frame(i, &mut fa)?;
        copy.read_frame(i, &mut fb)?;
        let unpacked;
        let left: &[u8] = if unpack {
            unpacked = unpack_uint4(nx, &fa);
            &unpacked
        } else {
            &fa
        };
        if left != fb.as_slice() {
            let at = left
                .iter()
                .zip(&fb)
                .position(|(x, y)| x != y)
                .unwrap_or(left.len().min(fb.len()));
            let pixel = at / unit.max(1);
            let offset = copy.frame_extent(i).map_or(0, |e| e.0);
            return fail(
                format!(
                    "frame {i} differs from the original at pixel {pixel} (x {}, y {})",
                    pixel % nx.max(1),
                    pixel / nx.max(1)
                ),
                offset,
            );
        }
    }
    Ok(original.frames() as u64)
}
