//! A scratch folder for one test, removed when dropped. Shared by the test binaries with
//! `mod tempdir;`; each binary is its own process, so the pid keeps folders apart.
#![allow(dead_code)]

use std::path::PathBuf;

/// A fresh, empty folder `mrcz-test-TAG-PID` in the system's temporary folder.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// Creates the folder (emptying a leftover one of the same name).
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("mrcz-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    /// A path inside the folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The names in the folder, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// How many entries the folder holds.
    pub fn entries(&self) -> usize {
        std::fs::read_dir(&self.0).unwrap().count()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
