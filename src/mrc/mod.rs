//! The MRC2014 header and the extended-header metadata.
//!
//! * [`Header`]: the 1024-byte header, every word typed, parsed in either byte order
//!   ([`Endian`]) with MRCZ's MODE = mode + 1000 × compressor id ([`Mode`]).
//! * [`Metadata`]: the extended header (python-mrcz's JSON, MessagePack, or opaque bytes).
//! * [`validate_header`]: mrcfile's validity checks adapted for MRCZ.
//!
//! This layer knows nothing of Blosc: the compressor id is just a number.

mod endian;
mod header;
mod metadata;
mod mode;
mod validate;

pub use endian::{Endian, is_standard_stamp};
pub use header::{
    EXTRA2_MRCZ_RANGE, HEADER_LEN, Header, IMOD_STAMP, MAX_COMPRESSOR_ID, MRCZ_FORMAT_LABEL,
    NVERSION_LATEST, NVERSION_MRCZ, WRITER_LABEL, Warning, ZLayout,
};
pub use metadata::{EXTTYP_JSON, EXTTYP_MSGPACK, Metadata};
pub use mode::Mode;
pub use validate::{AGREED_EXTTYPS, Check, DataStats, Problem, Severity, validate_header};
