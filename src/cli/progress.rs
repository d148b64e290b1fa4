//! A minimal progress bar on stderr, drawn only when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Counts units of work and redraws a one-line bar at most ten times a second.
pub struct Progress {
    label: String,
    total: u64,
    done: u64,
    enabled: bool,
    start: Instant,
    last: Option<Instant>,
}

impl Progress {
    /// A bar for `total` units; silent unless stderr is a terminal and `quiet` is false.
    pub fn new(label: &str, total: u64, quiet: bool) -> Progress {
        Progress {
            label: label.to_string(),
            total,
            done: 0,
            enabled: !quiet && std::io::stderr().is_terminal(),
            start: Instant::now(),
            last: None,
        }
    }

    /// Records `n` more units done.
    pub fn inc(&mut self, n: u64) {
        self.done += n;
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now - t < Duration::from_millis(100))
            && self.done < self.total
        {
            return;
        }
        self.last = Some(now);
        let width = 30usize;
        let frac = if self.total == 0 {
            1.0
        } else {
            self.done as f64 / self.total as f64
        };
        let filled = ((frac * width as f64) as usize).min(width);
        let secs = self.start.elapsed().as_secs_f64();
        let eta = if frac > 0.0 { secs / frac - secs } else { 0.0 };
        eprint!(
            "\r{} [{}{}] {}/{} ({:.0}s left)  ",
            self.label,
            "#".repeat(filled),
            "-".repeat(width - filled),
            self.done,
            self.total,
            eta.max(0.0)
        );
        let _ = std::io::stderr().flush();
    }

    /// Clears the bar.
    pub fn finish(&mut self) {
        if self.enabled && self.last.is_some() {
            eprint!("\r{}\r", " ".repeat(self.label.len() + 70));
            let _ = std::io::stderr().flush();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
