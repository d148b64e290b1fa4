//! The 1024-byte MRC2014 header, with MRCZ's fields (spec §2, §4, §5).

use std::fmt;

use super::endian::{Endian, is_standard_stamp};
use super::mode::Mode;
use crate::{Error, Result};

/// Length of the main header in bytes; the extended header (NSYMBT bytes) follows it.
pub const HEADER_LEN: usize = 1024;

/// The largest compressor id (MODE / 1000) MRCZ defines; 7..=15 are Blosc2-only codecs and
/// plugins, larger ids are format errors (python-mrcz: "unrecognized MRCZ compressor id").
pub const MAX_COMPRESSOR_ID: u32 = 15;

/// Label 0 of the files this crate writes: `MRCZ` + the version of the MRCZ layout (not of this
/// crate). python-mrcz treats a label version below 0.5.0 as a legacy file and ignores MZ, so this
/// must stay ≥ 0.5.0.
pub const MRCZ_FORMAT_LABEL: &str = "MRCZ0.6.0";

/// Label 1 of the files this crate writes: the writer's name and version.
pub const WRITER_LABEL: &str = concat!("mrcz-rs ", env!("CARGO_PKG_VERSION"));

/// NVERSION written by [`Header::new`] (MRC2014, latest revision).
pub const NVERSION_LATEST: i32 = 20141;

/// NVERSION written by [`Header::for_mrcz`] (MRC2014, original revision).
pub const NVERSION_MRCZ: i32 = 20140;

/// IMOD's stamp at byte 152: the bytes `IMOD` read as a little-endian i32.
pub const IMOD_STAMP: i32 = 1_146_047_817;

// Byte offsets of the words (0-based).
const OFF_NX: usize = 0;
const OFF_NY: usize = 4;
const OFF_NZ: usize = 8;
const OFF_MODE: usize = 12;
const OFF_NXSTART: usize = 16;
const OFF_MX: usize = 28;
const OFF_CELLA: usize = 40;
const OFF_CELLB: usize = 52;
const OFF_MAPC: usize = 64;
const OFF_DMIN: usize = 76;
const OFF_DMAX: usize = 80;
const OFF_DMEAN: usize = 84;
const OFF_ISPG: usize = 88;
const OFF_NSYMBT: usize = 92;
const OFF_EXTRA1: usize = 96;
const OFF_EXTTYP: usize = 104;
const OFF_NVERSION: usize = 108;
const OFF_EXTRA2: usize = 112;
const OFF_VOLTAGE: usize = 132;
const OFF_C3: usize = 136;
const OFF_GAIN: usize = 140;
const OFF_PACKED: usize = 144;
const OFF_ORIGIN: usize = 196;
const OFF_MAP: usize = 208;
const OFF_MACHST: usize = 212;
const OFF_RMS: usize = 216;
const OFF_NLABL: usize = 220;
const OFF_LABELS: usize = 224;
const LABEL_LEN: usize = 80;
const N_LABELS: usize = 10;

/// The MRCZ fields (voltage, C3, gain, packedBytes) inside [`Header::extra2`], as a range of
/// `extra2` indices (file bytes 132..152).
pub const EXTRA2_MRCZ_RANGE: std::ops::Range<usize> = 20..40;
// IMOD fields inside extra2: nint/nreal (i16) at 128/130, imodStamp/imodFlags (i32) at 152/156.
const EXTRA2_NINT: usize = 128 - OFF_EXTRA2;
const EXTRA2_NREAL: usize = 130 - OFF_EXTRA2;
const EXTRA2_IMOD_STAMP: usize = 152 - OFF_EXTRA2;
const EXTRA2_IMOD_FLAGS: usize = 156 - OFF_EXTRA2;

/// Something odd but recoverable found while parsing a header. [`Header::parse`] returns these
/// next to the header; the container prints them.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Warning {
    /// The machine stamp is not one of `44 44`, `44 41`, `11 11` but still names a byte order
    /// by the high nibble of byte 212 (e.g. `44 11`, `44 20 20 20`); that order was used.
    UnusualStamp {
        /// MACHST as found.
        stamp: [u8; 4],
        /// The order used.
        used: Endian,
    },
    /// The machine stamp names no byte order (zeros, garbage); the order was chosen from which
    /// reading of MODE and NX, NY, NZ makes sense.
    UnrecognisedStamp {
        /// MACHST as found.
        stamp: [u8; 4],
        /// The order used.
        used: Endian,
    },
    /// The machine stamp names one order, but the header only makes sense in the other one,
    /// which was used.
    StampContradicted {
        /// MACHST as found.
        stamp: [u8; 4],
        /// The order used.
        used: Endian,
    },
    /// Neither byte order gives a sensible MODE and dimensions and the stamp names none:
    /// little-endian was assumed (the parse then fails on the first implausible field).
    ByteOrderUnknown,
    /// The map id at byte 208 is not `MAP `.
    MissingMapId {
        /// The four bytes found.
        found: [u8; 4],
    },
    /// NLABL was outside 0..=10. Old python-mrcz wrote it in machine order, so its big-endian
    /// files claim 16 777 216 labels: when the byte-swapped value is in 0..=10 it is used,
    /// otherwise the value is clamped to 0..=10.
    NlablClamped {
        /// NLABL as found.
        found: i32,
        /// The value kept in [`Header::nlabl`].
        clamped: i32,
    },
}

fn hex4(b: [u8; 4]) -> String {
    format!("{:02x} {:02x} {:02x} {:02x}", b[0], b[1], b[2], b[3])
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::UnusualStamp { stamp, used } => write!(
                f,
                "unusual machine stamp {} at byte 212, read as {used}",
                hex4(*stamp)
            ),
            Warning::UnrecognisedStamp { stamp, used } => write!(
                f,
                "unrecognised machine stamp {} at byte 212, {used} chosen from MODE and dimensions",
                hex4(*stamp)
            ),
            Warning::StampContradicted { stamp, used } => write!(
                f,
                "machine stamp {} at byte 212 names the wrong byte order; the header only makes \
                 sense as {used}",
                hex4(*stamp)
            ),
            Warning::ByteOrderUnknown => f.write_str(
                "byte order unknown: neither order gives a valid MODE and dimensions, assuming \
                 little-endian",
            ),
            Warning::MissingMapId { found } => write!(
                f,
                "map id at byte 208 is {} ({:?}), not 'MAP '",
                hex4(*found),
                String::from_utf8_lossy(found)
            ),
            Warning::NlablClamped { found, clamped } => write!(
                f,
                "NLABL {found} at byte 220 is outside 0..=10, using {clamped}"
            ),
        }
    }
}

/// How MZ and ISPG describe the sections, see [`Header::set_z_layout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ZLayout {
    /// MZ = 0, ISPG = 0: python-mrcz's "slices = 0", read back by python-mrcz as one
    /// (NZ, NY, NX) array. Not an MRC2014 sampling: MRC2014 readers see no Z voxel size
    /// (mrcfile derives infinity); this crate's [`Header::voxel_size`] falls back to CELLA / NZ,
    /// as python-mrcz does.
    PythonStack,
    /// MZ = 1, ISPG = 0: an MRC2014 image stack. python-mrcz returns it as a list of 2-D frames.
    ImageStack,
    /// MZ = NZ, ISPG = 1: an MRC2014 volume. python-mrcz returns it as a one-element list.
    Volume,
}

/// The 1024-byte MRC2014 header with every word typed and public.
///
/// Parse with [`Header::parse`], build with [`Header::new`] (plain MRC2014) or
/// [`Header::for_mrcz`] (what this crate's MRCZ writer puts in a file), write with
/// [`Header::to_bytes`]. `parse(to_bytes(h)) == h` for every header whose fields are valid (see
/// [`Header::parse`]), whose `nlabl` is 0..=10, whose floats are not NaN, and whose
/// `extra2[EXTRA2_MRCZ_RANGE]` is zero.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// NX (byte 0): columns, the fastest axis. Positive.
    pub nx: i32,
    /// NY (byte 4): rows. Positive.
    pub ny: i32,
    /// NZ (byte 8): sections, the slowest axis. Not negative.
    pub nz: i32,
    /// The element type, MODE % 1000 (byte 12).
    pub mode: Mode,
    /// The compressor id, MODE / 1000: 0 for plain MRC, 1..=6 the Blosc1 codecs (blosclz, lz4,
    /// lz4hc, snappy, zlib, zstd), 7..=15 Blosc2-only codecs and plugins (spec §3.2). The id is
    /// advisory: every chunk names its own codec.
    pub compressor_id: u32,
    /// NXSTART (byte 16).
    pub nxstart: i32,
    /// NYSTART (byte 20).
    pub nystart: i32,
    /// NZSTART (byte 24).
    pub nzstart: i32,
    /// MX (byte 28): sampling along X; MRC2014 wants NX. python-mrcz leaves it 0.
    pub mx: i32,
    /// MY (byte 32): sampling along Y; MRC2014 wants NY. python-mrcz leaves it 0.
    pub my: i32,
    /// MZ (byte 36): sampling along Z, and python-mrcz's "slices" (see [`ZLayout`]).
    pub mz: i32,
    /// CELLA (bytes 40–51): cell size in Å; voxel size = CELLA / (MX, MY, MZ).
    pub cella: [f32; 3],
    /// CELLB (bytes 52–63): cell angles in degrees, 90 in EM.
    pub cellb: [f32; 3],
    /// MAPC (byte 64): axis of the columns, 1 in EM.
    pub mapc: i32,
    /// MAPR (byte 68): axis of the rows, 2 in EM.
    pub mapr: i32,
    /// MAPS (byte 72): axis of the sections, 3 in EM.
    pub maps: i32,
    /// DMIN (byte 76); DMAX < DMIN marks min and max undetermined.
    pub dmin: f32,
    /// DMAX (byte 80).
    pub dmax: f32,
    /// DMEAN (byte 84); DMEAN < min(DMIN, DMAX) marks it undetermined.
    pub dmean: f32,
    /// ISPG (byte 88): 0 image or stack, 1 volume, 401..=630 volume stack.
    pub ispg: i32,
    /// NSYMBT (byte 92): bytes of extended header; the data start at 1024 + NSYMBT.
    pub nsymbt: i32,
    /// EXTRA (bytes 96–103), unused.
    pub extra1: [u8; 8],
    /// EXTTYP (byte 104): `json` for MRCZ metadata, `CCP4`, `FEI1`, ... or zeros.
    pub exttyp: [u8; 4],
    /// NVERSION (byte 108): 20140 or 20141 for MRC2014; python-mrcz leaves it 0.
    pub nversion: i32,
    /// EXTRA (bytes 112–195) as raw bytes in the file's byte order, including IMOD's fields
    /// (nint @128, nreal @130, imodStamp @152, imodFlags @156). Indices
    /// [`EXTRA2_MRCZ_RANGE`] (file bytes 132–151) belong to the typed MRCZ fields below: they
    /// are zero after [`parse`](Header::parse) and ignored by [`to_bytes`](Header::to_bytes).
    pub extra2: [u8; 84],
    /// MRCZ accelerating voltage (byte 132; python-mrcz's spec says keV; default 0).
    pub voltage: f32,
    /// MRCZ spherical aberration C3 in mm (byte 136; default 0).
    pub c3: f32,
    /// MRCZ detector gain (byte 140; default 1).
    pub gain: f32,
    /// MRCZ packedBytes (byte 144, i64): total bytes of all Blosc chunks, 0 when unknown or
    /// plain. Informational; chunk lengths come from the chunks.
    pub packed_bytes: i64,
    /// ORIGIN (bytes 196–207), Å.
    pub origin: [f32; 3],
    /// MAP (byte 208): `MAP `.
    pub map: [u8; 4],
    /// MACHST (byte 212), as found or to be written; [`Header::endian`] is what is actually used.
    pub machst: [u8; 4],
    /// RMS (byte 216): RMS deviation from DMEAN; negative means undetermined.
    pub rms: f32,
    /// NLABL (byte 220): labels in use, 0..=10 (see [`Warning::NlablClamped`]).
    pub nlabl: i32,
    /// The ten 80-byte labels (bytes 224–1023), raw.
    pub labels: [[u8; 80]; 10],
    /// The byte order the header was read in and will be written in.
    pub endian: Endian,
}

fn arr<const N: usize>(b: &[u8; HEADER_LEN], off: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&b[off..off + N]);
    out
}

/// Reads the numbers of a 1024-byte header in one byte order.
struct Reader<'a> {
    b: &'a [u8; HEADER_LEN],
    e: Endian,
}

impl Reader<'_> {
    fn i32(&self, off: usize) -> i32 {
        self.e.read_i32(arr(self.b, off))
    }
    fn f32(&self, off: usize) -> f32 {
        self.e.read_f32(arr(self.b, off))
    }
    fn f32x3(&self, off: usize) -> [f32; 3] {
        [self.f32(off), self.f32(off + 4), self.f32(off + 8)]
    }
    fn i64(&self, off: usize) -> i64 {
        self.e.read_i64(arr(self.b, off))
    }
}

/// How sensible a header looks when read in one byte order.
#[derive(Debug, Clone, Copy)]
struct Plausibility {
    /// MODE, NX, NY, NZ, NSYMBT all pass [`Header::parse`]'s checks.
    valid: bool,
    /// Count of further fields with typical values (MAPC/R/S, CELLB, NLABL, NVERSION).
    score: u32,
    /// log2 of NX × NY × NZ (smaller is likelier: a byte-swapped small number is huge).
    log_volume: f64,
}

fn plausibility(b: &[u8; HEADER_LEN], e: Endian) -> Plausibility {
    let r = Reader { b, e };
    let (nx, ny, nz) = (r.i32(OFF_NX), r.i32(OFF_NY), r.i32(OFF_NZ));
    let mode = r.i32(OFF_MODE);
    let valid = mode >= 0
        && (mode / 1000) as u32 <= MAX_COMPRESSOR_ID
        && Mode::from_code(mode % 1000).is_some()
        && nx > 0
        && ny > 0
        && nz >= 0
        && r.i32(OFF_NSYMBT) >= 0;
    let mut score = 0;
    let mut axes = [r.i32(OFF_MAPC), r.i32(OFF_MAPC + 4), r.i32(OFF_MAPC + 8)];
    axes.sort_unstable();
    if axes == [1, 2, 3] {
        score += 2;
    }
    for angle in r.f32x3(OFF_CELLB) {
        if (1.0..=180.0).contains(&angle) {
            score += 1;
        }
    }
    if (0..=10).contains(&r.i32(OFF_NLABL)) {
        score += 1;
    }
    if matches!(r.i32(OFF_NVERSION), 20140 | 20141) {
        score += 1;
    }
    let log_volume = [nx, ny, nz]
        .iter()
        .map(|&n| f64::from(n.max(1)).log2())
        .sum();
    Plausibility {
        valid,
        score,
        log_volume,
    }
}

/// Spec §2.4's recommended order: the stamp; else the order in which MODE and the dimensions
/// make sense; else little-endian. A stamp contradicted by the header (valid only in the other
/// order) loses.
fn detect_endian(b: &[u8; HEADER_LEN], warnings: &mut Vec<Warning>) -> Endian {
    let stamp = arr::<4>(b, OFF_MACHST);
    let le = plausibility(b, Endian::Little);
    let be = plausibility(b, Endian::Big);
    let of = |e: Endian| if e == Endian::Little { le } else { be };
    if let Some(e) = Endian::from_stamp(stamp) {
        if !of(e).valid && of(e.opposite()).valid {
            let used = e.opposite();
            warnings.push(Warning::StampContradicted { stamp, used });
            return used;
        }
        if !is_standard_stamp(stamp) {
            warnings.push(Warning::UnusualStamp { stamp, used: e });
        }
        return e;
    }
    let used = match (le.valid, be.valid) {
        (true, false) => Endian::Little,
        (false, true) => Endian::Big,
        (true, true) => {
            if be.score > le.score || (be.score == le.score && be.log_volume < le.log_volume) {
                Endian::Big
            } else {
                Endian::Little
            }
        }
        (false, false) => {
            warnings.push(Warning::ByteOrderUnknown);
            return Endian::Little;
        }
    };
    warnings.push(Warning::UnrecognisedStamp { stamp, used });
    used
}

/// Parses a version the way Python's `distutils.version.StrictVersion` does:
/// `N.N[.N][(a|b)N]`. Returns (major, minor, patch, is_prerelease); numbers saturate.
fn strict_version(s: &str) -> Option<(u32, u32, u32, bool)> {
    fn num(s: &str) -> Option<u32> {
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        Some(s.parse::<u32>().unwrap_or(u32::MAX))
    }
    let (main, pre) = match s.find(['a', 'b']) {
        Some(i) => {
            num(&s[i + 1..])?;
            (&s[..i], true)
        }
        None => (s, false),
    };
    let mut parts = main.split('.');
    let major = num(parts.next()?)?;
    let minor = num(parts.next()?)?;
    let patch = match parts.next() {
        Some(p) => num(p)?,
        None => 0,
    };
    if parts.next().is_some() {
        return None;
    }
    Some((major, minor, patch, pre))
}

impl Header {
    /// Parses the first 1024 bytes of `bytes`.
    ///
    /// The byte order comes from the machine stamp (byte 212's high nibble: 4 little, 1 big)
    /// unless the header only makes sense in the other order; with no usable stamp, from the order
    /// in which MODE % 1000 is a known mode, MODE / 1000 ≤ 15 and NX, NY > 0, NZ ≥ 0 (this covers
    /// python-mrcz's MODE > 16,000,000 fallback and the big-endian files it misses); if both
    /// orders qualify, the one with more typical MAPC/R/S, CELLB, NLABL and NVERSION values, then
    /// the smaller NX × NY × NZ, then little-endian. Odd stamps, a missing `MAP ` and an NLABL
    /// outside 0..=10 (clamped) become [`Warning`]s.
    ///
    /// # Errors
    /// * [`Error::Format`] if `bytes` is shorter than 1024; MODE is negative or MODE / 1000 > 15;
    ///   NX or NY ≤ 0; NZ < 0; NSYMBT < 0 — each naming the field and its byte offset.
    /// * [`Error::Unsupported`] if MODE % 1000 is not a known mode (e.g. IMOD's 16, RGB).
    ///
    /// Never panics.
    pub fn parse(bytes: &[u8]) -> Result<(Header, Vec<Warning>)> {
        let Some(b) = bytes.first_chunk::<HEADER_LEN>() else {
            return Err(Error::format(
                format!(
                    "file too short for an MRC header: {} bytes, need {HEADER_LEN}",
                    bytes.len()
                ),
                bytes.len() as u64,
            ));
        };
        let mut warnings = Vec::new();
        let e = detect_endian(b, &mut warnings);
        let r = Reader { b, e };

        let raw_mode = r.i32(OFF_MODE);
        if raw_mode < 0 {
            return Err(Error::format(
                format!("MODE {raw_mode} is negative ({e})"),
                OFF_MODE as u64,
            ));
        }
        let compressor_id = (raw_mode / 1000) as u32;
        if compressor_id > MAX_COMPRESSOR_ID {
            return Err(Error::format(
                format!(
                    "MODE {raw_mode} ({e}): unrecognised MRCZ compressor id {compressor_id} \
                     (MODE / 1000 must be 0..=15)"
                ),
                OFF_MODE as u64,
            ));
        }
        let base = raw_mode % 1000;
        let mode = Mode::from_code(base).ok_or_else(|| {
            let what = if base == 16 { " (IMOD RGB)" } else { "" };
            Error::Unsupported(format!(
                "MRC mode {base}{what} (MODE {raw_mode} at byte {OFF_MODE})"
            ))
        })?;

        let nx = r.i32(OFF_NX);
        let ny = r.i32(OFF_NY);
        let nz = r.i32(OFF_NZ);
        for (name, v, off) in [("NX", nx, OFF_NX), ("NY", ny, OFF_NY)] {
            if v <= 0 {
                return Err(Error::format(
                    format!("{name} is {v} ({e}), must be positive"),
                    off as u64,
                ));
            }
        }
        if nz < 0 {
            return Err(Error::format(
                format!("NZ is {nz} ({e}), must not be negative"),
                OFF_NZ as u64,
            ));
        }
        let nsymbt = r.i32(OFF_NSYMBT);
        if nsymbt < 0 {
            return Err(Error::format(
                format!("NSYMBT (extended header length) is {nsymbt} ({e}), must not be negative"),
                OFF_NSYMBT as u64,
            ));
        }

        let map = arr::<4>(b, OFF_MAP);
        if &map != b"MAP " {
            warnings.push(Warning::MissingMapId { found: map });
        }
        let raw_nlabl = r.i32(OFF_NLABL);
        let nlabl = if (0..=N_LABELS as i32).contains(&raw_nlabl) {
            raw_nlabl
        } else if (0..=N_LABELS as i32).contains(&raw_nlabl.swap_bytes()) {
            // python-mrcz < 0.6.0 wrote NLABL in machine order into big-endian files.
            raw_nlabl.swap_bytes()
        } else {
            raw_nlabl.clamp(0, N_LABELS as i32)
        };
        if nlabl != raw_nlabl {
            warnings.push(Warning::NlablClamped {
                found: raw_nlabl,
                clamped: nlabl,
            });
        }

        let mut extra2 = arr::<84>(b, OFF_EXTRA2);
        extra2[EXTRA2_MRCZ_RANGE].fill(0);
        let mut labels = [[0u8; LABEL_LEN]; N_LABELS];
        for (i, label) in labels.iter_mut().enumerate() {
            *label = arr(b, OFF_LABELS + i * LABEL_LEN);
        }

        let header = Header {
            nx,
            ny,
            nz,
            mode,
            compressor_id,
            nxstart: r.i32(OFF_NXSTART),
            nystart: r.i32(OFF_NXSTART + 4),
            nzstart: r.i32(OFF_NXSTART + 8),
            mx: r.i32(OFF_MX),
            my: r.i32(OFF_MX + 4),
            mz: r.i32(OFF_MX + 8),
            cella: r.f32x3(OFF_CELLA),
            cellb: r.f32x3(OFF_CELLB),
            mapc: r.i32(OFF_MAPC),
            mapr: r.i32(OFF_MAPC + 4),
            maps: r.i32(OFF_MAPC + 8),
            dmin: r.f32(OFF_DMIN),
            dmax: r.f32(OFF_DMAX),
            dmean: r.f32(OFF_DMEAN),
            ispg: r.i32(OFF_ISPG),
            nsymbt,
            extra1: arr(b, OFF_EXTRA1),
            exttyp: arr(b, OFF_EXTTYP),
            nversion: r.i32(OFF_NVERSION),
            extra2,
            voltage: r.f32(OFF_VOLTAGE),
            c3: r.f32(OFF_C3),
            gain: r.f32(OFF_GAIN),
            packed_bytes: r.i64(OFF_PACKED),
            origin: r.f32x3(OFF_ORIGIN),
            map,
            machst: arr(b, OFF_MACHST),
            rms: r.f32(OFF_RMS),
            nlabl,
            labels,
            endian: e,
        };
        Ok((header, warnings))
    }

    /// The 1024 header bytes in [`endian`](Header::endian) order: MODE = `mode.code()` +
    /// 1000 × `compressor_id` (saturating at `i32::MAX` for absurd ids), the MRCZ fields written
    /// over `extra2`, MACHST written exactly as `machst` says (see [`set_endian`](Header::set_endian)
    /// to keep them consistent).
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        let e = self.endian;
        let mut put = |off: usize, bytes: &[u8]| b[off..off + bytes.len()].copy_from_slice(bytes);
        let raw_mode = i64::from(self.mode.code()) + 1000 * i64::from(self.compressor_id);
        let raw_mode = i32::try_from(raw_mode).unwrap_or(i32::MAX);
        for (off, v) in [
            (OFF_NX, self.nx),
            (OFF_NY, self.ny),
            (OFF_NZ, self.nz),
            (OFF_MODE, raw_mode),
            (OFF_NXSTART, self.nxstart),
            (OFF_NXSTART + 4, self.nystart),
            (OFF_NXSTART + 8, self.nzstart),
            (OFF_MX, self.mx),
            (OFF_MX + 4, self.my),
            (OFF_MX + 8, self.mz),
            (OFF_MAPC, self.mapc),
            (OFF_MAPC + 4, self.mapr),
            (OFF_MAPC + 8, self.maps),
            (OFF_ISPG, self.ispg),
            (OFF_NSYMBT, self.nsymbt),
            (OFF_NVERSION, self.nversion),
            (OFF_NLABL, self.nlabl),
        ] {
            put(off, &e.write_i32(v));
        }
        for (off, v) in [
            (OFF_CELLA, self.cella[0]),
            (OFF_CELLA + 4, self.cella[1]),
            (OFF_CELLA + 8, self.cella[2]),
            (OFF_CELLB, self.cellb[0]),
            (OFF_CELLB + 4, self.cellb[1]),
            (OFF_CELLB + 8, self.cellb[2]),
            (OFF_DMIN, self.dmin),
            (OFF_DMAX, self.dmax),
            (OFF_DMEAN, self.dmean),
            (OFF_ORIGIN, self.origin[0]),
            (OFF_ORIGIN + 4, self.origin[1]),
            (OFF_ORIGIN + 8, self.origin[2]),
            (OFF_RMS, self.rms),
        ] {
            put(off, &e.write_f32(v));
        }
        put(OFF_EXTRA1, &self.extra1);
        put(OFF_EXTTYP, &self.exttyp);
        put(OFF_EXTRA2, &self.extra2);
        put(OFF_VOLTAGE, &e.write_f32(self.voltage));
        put(OFF_C3, &e.write_f32(self.c3));
        put(OFF_GAIN, &e.write_f32(self.gain));
        put(OFF_PACKED, &e.write_i64(self.packed_bytes));
        put(OFF_MAP, &self.map);
        put(OFF_MACHST, &self.machst);
        for (i, label) in self.labels.iter().enumerate() {
            put(OFF_LABELS + i * LABEL_LEN, label);
        }
        b
    }

    /// An MRC2014-correct plain header for an `nx × ny × nz` image stack of `mode`:
    /// little-endian (stamp `44 44 00 00`), `MAP `, NVERSION 20141, MX = NX, MY = NY, MZ = 1 and
    /// ISPG 0 ([`ZLayout::ImageStack`]), voxel size 1 Å (CELLA = (NX, NY, 1) Å), CELLB 90°,
    /// MAPC/R/S 1, 2, 3, statistics marked undetermined (DMIN 0, DMAX −1, DMEAN −2, RMS −1), gain
    /// 1, no labels, no extended header. Call [`set_z_layout`](Header::set_z_layout) for a volume.
    pub fn new(nx: i32, ny: i32, nz: i32, mode: Mode) -> Header {
        let e = Endian::Little;
        Header {
            nx,
            ny,
            nz,
            mode,
            compressor_id: 0,
            nxstart: 0,
            nystart: 0,
            nzstart: 0,
            mx: nx,
            my: ny,
            mz: 1,
            cella: [nx as f32, ny as f32, 1.0],
            cellb: [90.0; 3],
            mapc: 1,
            mapr: 2,
            maps: 3,
            dmin: 0.0,
            dmax: -1.0,
            dmean: -2.0,
            ispg: 0,
            nsymbt: 0,
            extra1: [0; 8],
            exttyp: [0; 4],
            nversion: NVERSION_LATEST,
            extra2: [0; 84],
            voltage: 0.0,
            c3: 0.0,
            gain: 1.0,
            packed_bytes: 0,
            origin: [0.0; 3],
            map: *b"MAP ",
            machst: e.stamp(),
            rms: -1.0,
            nlabl: 0,
            labels: [[0; LABEL_LEN]; N_LABELS],
            endian: e,
        }
    }

    /// The header this crate's MRCZ writer starts from (spec §7's compatible fixes):
    /// [`new`](Header::new) plus MODE = code + 1000 × `compressor_id`, NVERSION 20140,
    /// label 0 = [`MRCZ_FORMAT_LABEL`], label 1 = [`WRITER_LABEL`], NLABL = 2, and
    /// [`ZLayout::PythonStack`]: MZ = 0 with CELLA z = NZ × 1 Å, so python-mrcz 0.6.0 reads the
    /// file as one (NZ, NY, NX) array as it does its own files, while MX = NX, MY = NY give other
    /// programs the pixel size. Use [`set_z_layout`](Header::set_z_layout) for MRC2014's MZ = 1
    /// (python-mrcz then returns a list of frames). Statistics stay undetermined until the writer
    /// fills them; packedBytes, EXTTYP and NSYMBT are set by the writer
    /// ([`set_extended_header`](Header::set_extended_header)).
    pub fn for_mrcz(nx: i32, ny: i32, nz: i32, mode: Mode, compressor_id: u32) -> Header {
        let mut h = Header::new(nx, ny, nz, mode);
        h.compressor_id = compressor_id;
        h.nversion = NVERSION_MRCZ;
        h.set_z_layout(ZLayout::PythonStack);
        // Both labels are short ASCII: these cannot fail.
        let _ = h.set_label(0, MRCZ_FORMAT_LABEL);
        let _ = h.set_label(1, WRITER_LABEL);
        h
    }

    /// Sets MZ and ISPG for `layout`, keeping the voxel size: CELLA z is rescaled so that
    /// [`voxel_size`](Header::voxel_size)`[2]` does not change.
    pub fn set_z_layout(&mut self, layout: ZLayout) {
        let voxel = self.voxel_size();
        let (mz, ispg) = match layout {
            ZLayout::PythonStack => (0, 0),
            ZLayout::ImageStack => (1, 0),
            ZLayout::Volume => (self.nz, 1),
        };
        self.mz = mz;
        self.ispg = ispg;
        self.set_voxel_size(voxel);
    }

    /// The layout MZ and ISPG describe, if they match one of [`ZLayout`]'s (a one-section file
    /// with MZ = 1 counts as an image stack).
    pub fn z_layout(&self) -> Option<ZLayout> {
        match (self.mz, self.ispg) {
            (0, 0) => Some(ZLayout::PythonStack),
            (1, 0) => Some(ZLayout::ImageStack),
            (mz, 1) if mz == self.nz => Some(ZLayout::Volume),
            _ => None,
        }
    }

    /// True for headers written by python-mrcz ≥ 0.5: label 0 is an MRCZ version and MX = MY = 0.
    /// Their CELLA is always pixel size × (NX, NY, NZ), whatever MZ says (python-mrcz ≤ 0.4.1
    /// wrote M = N, which gives the same result).
    pub fn uses_python_mrcz_cell(&self) -> bool {
        self.mx == 0 && self.my == 0 && self.mrcz_version().is_some()
    }

    /// The sampling divisor of one axis: M if positive, else N (python-mrcz's convention), else 1;
    /// always N for python-mrcz's own files.
    fn divisors(&self) -> [f32; 3] {
        let python = self.uses_python_mrcz_cell();
        let d = |m: i32, n: i32| {
            if m > 0 && !python {
                m as f32
            } else if n > 0 {
                n as f32
            } else {
                1.0
            }
        };
        [
            d(self.mx, self.nx),
            d(self.my, self.ny),
            d(self.mz, self.nz),
        ]
    }

    /// The voxel size (x, y, z) in Å: CELLA / (MX, MY, MZ) per MRC2014. An axis whose M is 0 or
    /// negative (python-mrcz leaves MX = MY = 0 and writes MZ = 0) falls back to CELLA / N, which
    /// is how python-mrcz always computes its pixel size; if N is not positive either, CELLA.
    /// Files python-mrcz wrote ([`uses_python_mrcz_cell`](Header::uses_python_mrcz_cell)) use
    /// CELLA / N on every axis: there MZ = 1 means "list of frames", not a Z sampling of 1.
    pub fn voxel_size(&self) -> [f32; 3] {
        let d = self.divisors();
        [
            self.cella[0] / d[0],
            self.cella[1] / d[1],
            self.cella[2] / d[2],
        ]
    }

    /// Sets CELLA so that [`voxel_size`](Header::voxel_size) returns `size` (x, y, z in Å).
    /// Set MX, MY, MZ first: CELLA = size × (MX, MY, MZ), with the same fallback to N.
    pub fn set_voxel_size(&mut self, size: [f32; 3]) {
        let d = self.divisors();
        self.cella = [size[0] * d[0], size[1] * d[1], size[2] * d[2]];
    }

    /// Byte offset of the data (plain) or the first Blosc chunk (MRCZ): 1024 + NSYMBT (a negative
    /// NSYMBT counts as 0; [`parse`](Header::parse) rejects it).
    pub fn data_offset(&self) -> u64 {
        HEADER_LEN as u64 + self.nsymbt.max(0) as u64
    }

    /// Label `i` (0..10) as text: lossy UTF-8 with trailing NULs and white space removed. `None`
    /// if `i` ≥ 10. Labels at or past NLABL are returned too (python-mrcz reads label 0 whatever
    /// NLABL says).
    pub fn label(&self, i: usize) -> Option<String> {
        let raw = self.labels.get(i)?;
        let text = String::from_utf8_lossy(raw);
        Some(
            text.trim_end_matches(|c: char| c == '\0' || c.is_whitespace())
                .to_string(),
        )
    }

    /// The labels in use, 0..NLABL (NLABL clamped to 0..=10).
    pub fn labels_in_use(&self) -> Vec<String> {
        (0..self.nlabl.clamp(0, N_LABELS as i32) as usize)
            .filter_map(|i| self.label(i))
            .collect()
    }

    /// Sets label `i` to `text`, NUL-padded, and raises NLABL to `i + 1` if it was lower.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `i` ≥ 10 or `text` is longer than 80 bytes.
    pub fn set_label(&mut self, i: usize, text: &str) -> Result<()> {
        let Some(slot) = self.labels.get_mut(i) else {
            return Err(Error::InvalidArgument(format!(
                "label index {i} out of range (MRC has 10 labels)"
            )));
        };
        let bytes = text.as_bytes();
        if bytes.len() > LABEL_LEN {
            return Err(Error::InvalidArgument(format!(
                "label of {} bytes is longer than {LABEL_LEN}",
                bytes.len()
            )));
        }
        *slot = [0; LABEL_LEN];
        slot[..bytes.len()].copy_from_slice(bytes);
        self.nlabl = self.nlabl.clamp(0, N_LABELS as i32).max(i as i32 + 1);
        Ok(())
    }

    /// Writes `text` into the first unused label (index NLABL) and increments NLABL.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if all ten labels are in use or `text` is longer than 80 bytes.
    pub fn push_label(&mut self, text: &str) -> Result<()> {
        let i = self.nlabl.clamp(0, N_LABELS as i32) as usize;
        if i >= N_LABELS {
            return Err(Error::InvalidArgument(
                "all 10 MRC labels are in use".to_string(),
            ));
        }
        self.set_label(i, text)
    }

    /// Label 0 parsed as python-mrcz does (spec §5.1): trailing space, tab, CR, LF and NUL
    /// removed, then `MRCZ` followed by a `StrictVersion` (`N.N[.N][(a|b)N]`). Returns
    /// (major, minor, patch), patch 0 when absent; `None` when label 0 is not an MRCZ version.
    pub fn mrcz_version(&self) -> Option<(u32, u32, u32)> {
        self.mrcz_version_full().map(|(a, b, c, _)| (a, b, c))
    }

    fn mrcz_version_full(&self) -> Option<(u32, u32, u32, bool)> {
        // python-mrcz decodes strictly as UTF-8 (and would fail); treat invalid UTF-8 as no version.
        let text = std::str::from_utf8(&self.labels[0]).ok()?;
        let text = text.trim_end_matches([' ', '\t', '\r', '\n', '\0']);
        strict_version(text.strip_prefix("MRCZ")?)
    }

    /// True when label 0 carries an MRCZ version below 0.5.0 (pre-releases of 0.5.0 count as
    /// below, as in `StrictVersion`): python-mrcz ≤ 0.4.1 copied NX, NY, NZ into MX, MY, MZ, so
    /// python-mrcz ignores MZ in such files and returns a list of 2-D frames (spec §5.2).
    pub fn is_legacy_mrcz(&self) -> bool {
        match self.mrcz_version_full() {
            Some((a, b, c, pre)) => (a, b, c) < (0, 5, 0) || ((a, b, c) == (0, 5, 0) && pre),
            None => false,
        }
    }

    /// python-mrcz's `slices` for this file (spec §5.2): 1 for legacy files, else MZ. 0 means one
    /// (NZ, NY, NX) array, 1 a list of 2-D frames, S > 1 a list of NZ / S (S, NY, NX) arrays.
    pub fn python_mrcz_slices(&self) -> i32 {
        if self.is_legacy_mrcz() { 1 } else { self.mz }
    }

    /// Bytes of one uncompressed z-section: NX × NY × element size, or `((NX + 1) / 2) × NY` for
    /// mode 101.
    ///
    /// # Errors
    /// [`Error::Format`] if NX or NY is not positive; [`Error::LimitsExceeded`] on overflow.
    pub fn section_bytes(&self) -> Result<u64> {
        if self.nx <= 0 {
            return Err(Error::format(
                format!("NX is {}, must be positive", self.nx),
                OFF_NX as u64,
            ));
        }
        if self.ny <= 0 {
            return Err(Error::format(
                format!("NY is {}, must be positive", self.ny),
                OFF_NY as u64,
            ));
        }
        self.mode
            .section_bytes(self.nx as u64, self.ny as u64)
            .ok_or_else(|| {
                Error::LimitsExceeded(format!(
                    "section of {} × {} {} overflows 64 bits",
                    self.nx, self.ny, self.mode
                ))
            })
    }

    /// Bytes of all the uncompressed data: [`section_bytes`](Header::section_bytes) × NZ.
    ///
    /// # Errors
    /// As `section_bytes`, and [`Error::Format`] if NZ is negative, [`Error::LimitsExceeded`] if
    /// the product overflows 64 bits.
    pub fn data_bytes(&self) -> Result<u64> {
        let section = self.section_bytes()?;
        if self.nz < 0 {
            return Err(Error::format(
                format!("NZ is {}, must not be negative", self.nz),
                OFF_NZ as u64,
            ));
        }
        section.checked_mul(self.nz as u64).ok_or_else(|| {
            Error::LimitsExceeded(format!(
                "data of {} × {} × {} {} overflows 64 bits",
                self.nx, self.ny, self.nz, self.mode
            ))
        })
    }

    /// Checks that the header fits a file of `file_len` bytes: the extended header must end
    /// within the file, and for a plain file the data too (trailing bytes are allowed here;
    /// [`validate_header`](crate::mrc::validate_header) reports them).
    ///
    /// # Errors
    /// [`Error::Format`] naming NSYMBT (byte 92) or the data size; errors of
    /// [`data_bytes`](Header::data_bytes).
    pub fn check_file_len(&self, file_len: u64) -> Result<()> {
        let offset = self.data_offset();
        if offset > file_len {
            return Err(Error::format(
                format!(
                    "NSYMBT {} puts the data at byte {offset}, past the end of the {file_len}-byte \
                     file",
                    self.nsymbt
                ),
                OFF_NSYMBT as u64,
            ));
        }
        if !self.is_compressed() {
            let data = self.data_bytes()?;
            if data > file_len - offset {
                return Err(Error::format(
                    format!(
                        "file is {file_len} bytes but the header needs {offset} + {data} \
                         ({} × {} × {} {})",
                        self.nx, self.ny, self.nz, self.mode
                    ),
                    file_len,
                ));
            }
        }
        Ok(())
    }

    /// True for MRCZ (MODE ≥ 1000, compressor id ≠ 0).
    pub fn is_compressed(&self) -> bool {
        self.compressor_id != 0
    }

    /// Sets EXTTYP and NSYMBT for `meta` ([`Metadata::None`](crate::mrc::Metadata::None): zeros).
    ///
    /// # Errors
    /// [`Error::LimitsExceeded`] if the metadata is longer than `i32::MAX` bytes.
    pub fn set_extended_header(&mut self, meta: &crate::mrc::Metadata) -> Result<()> {
        let len = meta.to_bytes().len();
        self.nsymbt = i32::try_from(len).map_err(|_| {
            Error::LimitsExceeded(format!("extended header of {len} bytes exceeds 2 GiB"))
        })?;
        self.exttyp = meta.exttyp();
        Ok(())
    }

    /// Changes the byte order the header will be written in, sets MACHST to that order's standard
    /// stamp, and, when IMOD's stamp is present in EXTRA, swaps IMOD's numeric fields (nint,
    /// nreal, imodStamp, imodFlags) so that they stay meaningful. Data must be swapped by the
    /// caller.
    pub fn set_endian(&mut self, endian: Endian) {
        if endian != self.endian && self.imod_flags().is_some() {
            for (at, len) in [
                (EXTRA2_NINT, 2),
                (EXTRA2_NREAL, 2),
                (EXTRA2_IMOD_STAMP, 4),
                (EXTRA2_IMOD_FLAGS, 4),
            ] {
                self.extra2[at..at + len].reverse();
            }
        }
        self.endian = endian;
        self.machst = endian.stamp();
    }

    /// IMOD's flags (byte 156) when IMOD's stamp (byte 152) is present, else `None`.
    pub fn imod_flags(&self) -> Option<i32> {
        let word = |at: usize| {
            let mut w = [0u8; 4];
            w.copy_from_slice(&self.extra2[at..at + 4]);
            self.endian.read_i32(w)
        };
        (word(EXTRA2_IMOD_STAMP) == IMOD_STAMP).then(|| word(EXTRA2_IMOD_FLAGS))
    }

    /// True when mode-0 bytes are unsigned: IMOD's stamp present and bit 0 of its flags clear
    /// (IMOD before 4.2.23). MRC2014 and python-mrcz: signed.
    pub fn mode0_is_unsigned(&self) -> bool {
        self.imod_flags().is_some_and(|f| f & 1 == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_versions() {
        assert_eq!(strict_version("0.6.0"), Some((0, 6, 0, false)));
        assert_eq!(strict_version("0.5"), Some((0, 5, 0, false)));
        assert_eq!(strict_version("0.5.0a1"), Some((0, 5, 0, true)));
        assert_eq!(strict_version("1.2b3"), Some((1, 2, 0, true)));
        assert_eq!(strict_version("0.6.0.1"), None);
        assert_eq!(strict_version("0.6.0a"), None);
        assert_eq!(strict_version("x.6"), None);
        assert_eq!(strict_version("0"), None);
        assert_eq!(strict_version(""), None);
        assert_eq!(strict_version("0.6.0rc1"), None);
        assert_eq!(
            strict_version("99999999999.1"),
            Some((u32::MAX, 1, 0, false))
        );
    }

    #[test]
    fn legacy_rule() {
        let mut h = Header::new(4, 4, 4, Mode::Int8);
        for (label, legacy) in [
            ("MRCZ0.4.1", true),
            ("MRCZ0.1.0", true),
            ("MRCZ0.5.0a1", true),
            ("MRCZ0.5.0", false),
            ("MRCZ0.6.0", false),
            ("MRCZ1.0", false),
            ("MRCZ0.4.1-dev", false),
            ("mrcz0.4.1", false),
            ("", false),
        ] {
            h.set_label(0, label).unwrap();
            assert_eq!(h.is_legacy_mrcz(), legacy, "{label}");
        }
    }

    #[test]
    fn new_is_consistent() {
        let h = Header::new(100, 50, 7, Mode::Float32);
        assert_eq!(h.voxel_size(), [1.0, 1.0, 1.0]);
        assert_eq!(h.data_bytes().unwrap(), 100 * 50 * 7 * 4);
        let (p, w) = Header::parse(&h.to_bytes()).unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(p, h);
    }
}
