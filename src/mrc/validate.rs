//! mrcfile's `validate()` checks (spec §9), adapted for MRCZ, as a pure function of the header,
//! the file length and the data statistics.
//!
//! Each problem carries the mrcfile check it corresponds to and a severity: [`Severity::Invalid`]
//! where the file breaks MRC2014 (mrcfile would report it), [`Severity::Note`] for things that are
//! legal but known trouble (python-mrcz's quirks, spec §7) or that only mrcfile is strict about.
//! MRCZ adaptations: MODE ≥ 1000 is accepted, and EXTTYP `json` / `msgp` are accepted for
//! compressed files and only noted for plain ones.

use std::fmt;

use super::endian::is_standard_stamp;
use super::header::{HEADER_LEN, Header};
use super::metadata::{EXTTYP_JSON, EXTTYP_MSGPACK};
use super::mode::Mode;

/// Statistics of the data, computed by the caller over every element (real part for complex
/// data).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DataStats {
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Mean.
    pub mean: f64,
    /// Root-mean-square deviation from the mean (the population standard deviation), which is
    /// what MRC2014's RMS field holds.
    pub rms: f64,
}

/// Which check found a problem; the numbers are the items of spec §9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Check {
    /// 1: MAP is `MAP `.
    MapId,
    /// 2: MACHST is a standard stamp.
    MachineStamp,
    /// 3: MODE is an MRC2014 mode.
    Mode,
    /// 4: NX..MZ, ISPG, NLABL, CELLA are not negative.
    NonNegative,
    /// 5: MAPC, MAPR, MAPS are a permutation of 1, 2, 3.
    AxisMapping,
    /// 6: a volume stack's NZ is a multiple of MZ.
    VolumeStack,
    /// 7: NLABL matches the labels.
    Labels,
    /// 8: NVERSION is 20140 or 20141.
    Version,
    /// 9: EXTTYP is an agreed value when there is an extended header.
    ExtType,
    /// 10: DMIN, DMAX, DMEAN, RMS agree with the data.
    Statistics,
    /// 11: the file size matches the header (plain files).
    FileSize,
    /// MRCZ and python-mrcz specifics outside mrcfile's list (MX = 0, MZ = 0, legacy labels,
    /// packedBytes).
    Mrcz,
}

impl Check {
    /// The item number in spec §9 (1..=11), or `None` for [`Check::Mrcz`].
    pub fn number(self) -> Option<u8> {
        Some(match self {
            Check::MapId => 1,
            Check::MachineStamp => 2,
            Check::Mode => 3,
            Check::NonNegative => 4,
            Check::AxisMapping => 5,
            Check::VolumeStack => 6,
            Check::Labels => 7,
            Check::Version => 8,
            Check::ExtType => 9,
            Check::Statistics => 10,
            Check::FileSize => 11,
            Check::Mrcz => return None,
        })
    }
}

/// How serious a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Legal, or tolerated, but worth knowing (mostly python-mrcz's quirks).
    Note,
    /// The header breaks MRC2014 (or MRCZ); mrcfile would report the file invalid.
    Invalid,
}

/// One finding of [`validate_header`].
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The check that found it.
    pub check: Check,
    /// How serious it is.
    pub severity: Severity,
    /// One line saying what is wrong, with values.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Invalid => "invalid",
            Severity::Note => "note",
        };
        write!(f, "{sev}: {}", self.message)?;
        if let Some(n) = self.check.number() {
            write!(f, " [check {n}]")?;
        }
        Ok(())
    }
}

/// The EXTTYP values MRC2014 agrees on (spec §2.5).
pub const AGREED_EXTTYPS: [[u8; 4]; 7] = [
    *b"CCP4", *b"MRCO", *b"SERI", *b"AGAR", *b"FEI1", *b"FEI2", *b"HDF5",
];

/// `numpy.isclose(actual, expected, rtol)` with numpy's default atol 1e-8.
fn is_close(actual: f64, expected: f64, rtol: f64) -> bool {
    (actual - expected).abs() <= 1e-8 + rtol * expected.abs()
}

fn is_blank_label(label: &[u8; 80]) -> bool {
    label
        .iter()
        .all(|&c| c == 0 || c == b' ' || (b'\t'..=b'\r').contains(&c))
}

/// Runs mrcfile's eleven checks (spec §9) plus the MRCZ notes on `h`.
///
/// `file_len` enables the size check (#11, plain files only: a compressed file's size is for the
/// container's chunk walk) and the packedBytes note; `stats` enables the statistics comparison
/// (#10). Without `stats`, only the python-mrcz statistics quirks are noted. An empty result means
/// the header is valid.
pub fn validate_header(
    h: &Header,
    file_len: Option<u64>,
    stats: Option<&DataStats>,
) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut push = |check: Check, severity: Severity, message: String| {
        out.push(Problem {
            check,
            severity,
            message,
        })
    };
    use Severity::{Invalid, Note};

    // 1. Map id.
    if &h.map != b"MAP " {
        push(
            Check::MapId,
            Invalid,
            format!(
                "map id is {:?}, not 'MAP '",
                String::from_utf8_lossy(&h.map)
            ),
        );
    }

    // 2. Machine stamp.
    if !is_standard_stamp(h.machst) {
        push(
            Check::MachineStamp,
            Invalid,
            format!(
                "machine stamp {:02x} {:02x} is not 44 44, 44 41 or 11 11",
                h.machst[0], h.machst[1]
            ),
        );
    }

    // 3. Mode.
    let mode_value = i64::from(h.mode.code()) + 1000 * i64::from(h.compressor_id);
    match h.mode {
        Mode::Int32 | Mode::Uint32 => push(
            Check::Mode,
            if h.is_compressed() { Note } else { Invalid },
            format!(
                "mode {} ({}) is python-mrcz's, not an MRC2014 mode",
                h.mode.code(),
                h.mode
            ),
        ),
        Mode::ComplexInt16 | Mode::Uint4 => push(
            Check::Mode,
            Note,
            format!(
                "mode {} ({}) is defined by MRC2014/IMOD but mrcfile reports it invalid",
                h.mode.code(),
                h.mode
            ),
        ),
        _ => {}
    }
    if h.compressor_id > super::header::MAX_COMPRESSOR_ID {
        push(
            Check::Mode,
            Invalid,
            format!("MODE {mode_value}: compressor id {} > 15", h.compressor_id),
        );
    }

    // 4. Not negative.
    for (name, v) in [
        ("NX", h.nx),
        ("NY", h.ny),
        ("NZ", h.nz),
        ("MX", h.mx),
        ("MY", h.my),
        ("MZ", h.mz),
        ("ISPG", h.ispg),
        ("NLABL", h.nlabl),
        ("NSYMBT", h.nsymbt),
    ] {
        if v < 0 {
            push(
                Check::NonNegative,
                Invalid,
                format!("{name} is {v}, must not be negative"),
            );
        }
    }
    for (axis, v) in ["x", "y", "z"].iter().zip(h.cella) {
        if v < 0.0 || v.is_nan() {
            push(
                Check::NonNegative,
                Invalid,
                format!("CELLA {axis} is {v}, must not be negative"),
            );
        }
    }

    // 5. Axis mapping.
    let mut axes = [h.mapc, h.mapr, h.maps];
    axes.sort_unstable();
    if axes != [1, 2, 3] {
        push(
            Check::AxisMapping,
            Invalid,
            format!(
                "MAPC, MAPR, MAPS are {}, {}, {}, not a permutation of 1, 2, 3",
                h.mapc, h.mapr, h.maps
            ),
        );
    }

    // 6. Volume stack.
    if (401..=630).contains(&h.ispg) {
        if h.mz <= 0 {
            push(
                Check::VolumeStack,
                Invalid,
                format!(
                    "ISPG {} (volume stack) needs MZ > 0, MZ is {}",
                    h.ispg, h.mz
                ),
            );
        } else if h.nz % h.mz != 0 {
            push(
                Check::VolumeStack,
                Invalid,
                format!(
                    "ISPG {} (volume stack): NZ {} is not a multiple of MZ {}",
                    h.ispg, h.nz, h.mz
                ),
            );
        }
    }

    // 7. Labels.
    let filled: Vec<bool> = h.labels.iter().map(|l| !is_blank_label(l)).collect();
    let n_filled = filled.iter().filter(|&&f| f).count();
    if i64::from(h.nlabl) != n_filled as i64 {
        push(
            Check::Labels,
            Invalid,
            format!("NLABL is {} but {n_filled} labels contain text", h.nlabl),
        );
    }
    if let Some(last) = filled.iter().rposition(|&f| f)
        && let Some(gap) = filled[..last].iter().position(|&f| !f)
    {
        push(
            Check::Labels,
            Invalid,
            format!("label {gap} is blank but label {last} is not"),
        );
    }

    // 8. Version.
    if !matches!(h.nversion, 20140 | 20141) {
        let why = if h.nversion == 0 {
            " (python-mrcz does not set it)"
        } else {
            ""
        };
        push(
            Check::Version,
            Invalid,
            format!("NVERSION is {}, not 20140 or 20141{why}", h.nversion),
        );
    }

    // 9. Extended header type.
    if h.nsymbt > 0 && !AGREED_EXTTYPS.contains(&h.exttyp) {
        let text = String::from_utf8_lossy(&h.exttyp).into_owned();
        if h.exttyp == EXTTYP_JSON || h.exttyp == EXTTYP_MSGPACK {
            if !h.is_compressed() {
                push(
                    Check::ExtType,
                    Note,
                    format!(
                        "EXTTYP {text:?} is MRCZ metadata, not an MRC2014 type; mrcfile reports it"
                    ),
                );
            }
        } else {
            push(
                Check::ExtType,
                Invalid,
                format!(
                    "EXTTYP {text:?} with a {}-byte extended header is not an agreed type",
                    h.nsymbt
                ),
            );
        }
    }

    // 10. Statistics.
    let (dmin, dmax, dmean, rms) = (h.dmin, h.dmax, h.dmean, h.rms);
    match stats {
        Some(s) => {
            if rms >= 0.0 && !is_close(s.rms, f64::from(rms), 0.01) {
                let why = if rms == 0.0 {
                    " (python-mrcz never writes RMS, leaving 0)"
                } else {
                    ""
                };
                push(
                    Check::Statistics,
                    Invalid,
                    format!(
                        "RMS is {rms} but the data's RMS deviation is {}{why}",
                        s.rms
                    ),
                );
            }
            if dmin < dmax {
                if s.min as f32 != dmin {
                    push(
                        Check::Statistics,
                        Invalid,
                        format!("DMIN is {dmin} but the data minimum is {}", s.min),
                    );
                }
                if s.max as f32 != dmax {
                    push(
                        Check::Statistics,
                        Invalid,
                        format!("DMAX is {dmax} but the data maximum is {}", s.max),
                    );
                }
            }
            if dmean > dmin.min(dmax) && !is_close(s.mean, f64::from(dmean), 0.01) {
                push(
                    Check::Statistics,
                    Invalid,
                    format!("DMEAN is {dmean} but the data mean is {}", s.mean),
                );
            }
        }
        None => {
            if rms == 0.0 && dmin < dmax {
                push(
                    Check::Statistics,
                    Note,
                    format!(
                        "RMS 0 claims zero spread although DMIN {dmin} < DMAX {dmax} \
                         (python-mrcz never writes RMS)"
                    ),
                );
            }
            if dmin < dmax && dmean == (dmin + dmax) / 2.0 {
                push(
                    Check::Statistics,
                    Note,
                    format!(
                        "DMEAN {dmean} is exactly (DMIN + DMAX) / 2, as python-mrcz's quickStats \
                         writes it: probably not a mean"
                    ),
                );
            }
        }
    }

    // 11. File size (plain files).
    if let Some(len) = file_len
        && !h.is_compressed()
    {
        match h.data_bytes() {
            Ok(data) => {
                let expected = (HEADER_LEN as u64)
                    .checked_add(h.nsymbt.max(0) as u64)
                    .and_then(|v| v.checked_add(data));
                if expected != Some(len) {
                    let expected =
                        expected.map_or_else(|| "more than 2^64".to_string(), |v| v.to_string());
                    push(
                        Check::FileSize,
                        Invalid,
                        format!(
                            "file is {len} bytes, the header implies {expected} (1024 + NSYMBT {} \
                             + {data} data bytes)",
                            h.nsymbt
                        ),
                    );
                }
            }
            Err(e) => push(
                Check::FileSize,
                Invalid,
                format!("data size cannot be computed, file size not checked: {e}"),
            ),
        }
    }

    // MRCZ / python-mrcz notes.
    for (name, m) in [("MX", h.mx), ("MY", h.my)] {
        if m == 0 {
            push(
                Check::Mrcz,
                Note,
                format!(
                    "{name} is 0 (python-mrcz leaves it unset): MRC2014 readers derive an infinite \
                     pixel size"
                ),
            );
        }
    }
    if h.mz == 0 && h.nz > 0 {
        push(
            Check::Mrcz,
            Note,
            "MZ is 0 (python-mrcz's single-array convention): no MRC2014 Z sampling, Z voxel size \
             taken as CELLA z / NZ"
                .to_string(),
        );
    }
    if h.is_legacy_mrcz() {
        push(
            Check::Mrcz,
            Note,
            format!(
                "label 0 {:?} is python-mrcz < 0.5.0: MZ is meaningless and python-mrcz reads a \
                 list of 2-D frames",
                h.label(0).unwrap_or_default()
            ),
        );
    }
    if h.is_compressed()
        && h.packed_bytes != 0
        && let Some(len) = file_len
    {
        let expected = i128::from(len) - h.data_offset() as i128;
        if i128::from(h.packed_bytes) != expected {
            push(
                Check::Mrcz,
                Note,
                format!(
                    "packedBytes is {} but the chunks can span at most {expected} bytes to EOF",
                    h.packed_bytes
                ),
            );
        }
    }
    if !h.is_compressed() && h.packed_bytes != 0 {
        push(
            Check::Mrcz,
            Note,
            format!("packedBytes is {} in an uncompressed file", h.packed_bytes),
        );
    }
    out
}
