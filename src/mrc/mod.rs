//! The MRC2014 header and the extended-header metadata.
