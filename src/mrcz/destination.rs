//! Where an output file may go: the path a [`FileWriter`](super::FileWriter) renames its
//! temporary file onto.
//!
//! The writer builds the file beside its destination and renames it into place, which replaces
//! whatever directory entry has that name. For a regular file (or nothing yet) that is the
//! point. For anything else it is not: renaming onto `/dev/null` would put a regular file where
//! the device was (for every program on the machine, if run as root), and renaming onto a
//! symbolic link would replace the link instead of the file it points to. So the destination is
//! resolved first: links are followed to the file they name, and anything but a regular file is
//! refused before a byte is written.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The path to rename a finished output onto, for an output requested at `path`.
///
/// * Nothing at `path`, or a regular file: `path` itself.
/// * A symbolic link (or a chain of them) to a regular file: that file's canonical path, so the
///   data lands where the link points and the link stays.
/// * A directory, device, FIFO or socket, or a link to one, or a link to nothing: an
///   [`Error::InvalidArgument`] saying what is there.
pub fn output_destination(path: &Path) -> Result<PathBuf> {
    let entry = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(path.to_path_buf()),
        Err(e) => return Err(e.into()),
    };
    if entry.is_file() {
        return Ok(path.to_path_buf());
    }
    if !entry.file_type().is_symlink() {
        return Err(not_a_file(&entry, ""));
    }
    match fs::metadata(path) {
        Ok(target) if target.is_file() => Ok(fs::canonicalize(path)?),
        Ok(target) => Err(not_a_file(&target, "a symbolic link to ")),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Error::InvalidArgument(
            "the output is a symbolic link to a missing file (not written through)".into(),
        )),
        Err(e) => Err(e.into()),
    }
}

/// The refusal for an existing entry that is not a regular file.
fn not_a_file(m: &fs::Metadata, via: &str) -> Error {
    Error::InvalidArgument(format!(
        "the output is {via}{}, not a regular file (outputs are written beside their path and \
         renamed onto it)",
        kind(m)
    ))
}

/// What kind of directory entry `m` describes, with its article.
fn kind(m: &fs::Metadata) -> &'static str {
    let t = m.file_type();
    if t.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    "a special file"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("mrcz-dest-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn refusal(p: &Path) -> String {
        match output_destination(p) {
            Err(Error::InvalidArgument(m)) => m,
            other => panic!("{}: expected a refusal, got {other:?}", p.display()),
        }
    }

    #[test]
    fn new_paths_and_regular_files_stay_as_given() {
        let d = scratch("plain");
        let p = d.join("new.mrcz");
        assert_eq!(output_destination(&p).unwrap(), p);
        fs::write(&p, b"old").unwrap();
        assert_eq!(output_destination(&p).unwrap(), p);
        let relative = Path::new("no-such-dir-here/out.mrc");
        assert_eq!(output_destination(relative).unwrap(), relative);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn directories_and_devices_are_refused() {
        let d = scratch("dir");
        assert!(refusal(&d).contains("a directory"));
        fs::remove_dir_all(&d).unwrap();
        #[cfg(unix)]
        assert!(refusal(Path::new("/dev/null")).contains("a character device"));
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_to_regular_files_only() {
        use std::os::unix::fs::symlink;
        let d = scratch("links");
        let target = d.join("data").join("movie.mrcz");
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::write(&target, b"old").unwrap();
        let link = d.join("link.mrcz");
        symlink(Path::new("data/movie.mrcz"), &link).unwrap();
        let chain = d.join("chain.mrcz");
        symlink(&link, &chain).unwrap();
        let real = fs::canonicalize(&target).unwrap();
        assert_eq!(output_destination(&link).unwrap(), real);
        assert_eq!(output_destination(&chain).unwrap(), real);

        let dangling = d.join("dangling.mrcz");
        symlink(d.join("missing.mrcz"), &dangling).unwrap();
        assert!(refusal(&dangling).contains("missing file"));
        let to_device = d.join("null.mrcz");
        symlink("/dev/null", &to_device).unwrap();
        assert!(refusal(&to_device).contains("a symbolic link to a character device"));
        let to_dir = d.join("dir.mrcz");
        symlink(d.join("data"), &to_dir).unwrap();
        assert!(refusal(&to_dir).contains("a symbolic link to a directory"));
        fs::remove_dir_all(&d).unwrap();
    }
}
