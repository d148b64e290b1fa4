//! Detector-correction filters: pure functions on frames and stacks.
