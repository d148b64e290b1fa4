//! The MRCZ container: frames ⇄ Blosc chunks.
