//! What a path is: its text, the file it leads to, and a careful read of a small file at it.
//!
//! **Text**, for the tables (`source_path`), the state and messages. File names are bytes on
//! Unix, and not always UTF-8. Lossy conversion would write every invalid byte as U+FFFD, so
//! two different files could share one `source_path` (and an incremental run would drop the
//! rejects row of the wrong one). Here a path that is valid UTF-8 is written as it is, and one
//! that is not has each invalid byte written as `\xHH` and each backslash doubled, so
//! different non-UTF-8 names always give different text.
//!
//! **Identity**: two spellings of one folder (`./out`, a link to it) are one [`Identity`].
//!
//! **Small files** the run reads for itself (a pipeline file, an output's `_run.json`) are
//! read with [`read_small_file`], which never blocks on a FIFO nor reads a device forever.

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::path::Path;

/// `path` as text: itself when it is UTF-8, escaped (see the module doc) when it is not.
pub fn to_text(path: &Path) -> Cow<'_, str> {
    if let Some(text) = path.to_str() {
        return Cow::Borrowed(text);
    }
    let mut out = String::new();
    for chunk in path.as_os_str().as_encoded_bytes().utf8_chunks() {
        out.push_str(&chunk.valid().replace('\\', "\\\\"));
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02X}"));
        }
    }
    Cow::Owned(out)
}

/// What makes a file or folder itself, whatever path leads to it: device and inode on Unix,
/// the canonical path elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity(
    #[cfg(unix)] (u64, u64),
    #[cfg(not(unix))] std::path::PathBuf,
);

impl Identity {
    /// The identity of what `path` leads to (links followed), if it exists.
    pub fn of(path: &Path) -> Option<Identity> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let meta = std::fs::metadata(path).ok()?;
            Some(Identity((meta.dev(), meta.ino())))
        }
        #[cfg(not(unix))]
        {
            std::fs::canonicalize(path).ok().map(Identity)
        }
    }

    /// True if `path` still leads to the file `file` has open (it was not removed or replaced
    /// since). Elsewhere than Unix: if `path` exists.
    pub fn still_at(file: &File, path: &Path) -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let open = file.metadata().ok().map(|m| Identity((m.dev(), m.ino())));
            open.is_some() && open == Identity::of(path)
        }
        #[cfg(not(unix))]
        {
            let _ = file;
            path.exists()
        }
    }
}

/// Why [`read_small_file`] read nothing.
#[derive(Debug)]
pub enum SmallFileError {
    /// Opening or reading failed (`NotFound` when there is nothing at the path).
    Io(std::io::Error),
    /// A folder, FIFO, socket or device.
    NotRegular,
    /// Larger than the limit.
    TooLarge {
        /// Its size.
        bytes: u64,
        /// The limit.
        max_bytes: u64,
    },
}

impl fmt::Display for SmallFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SmallFileError::Io(e) => write!(f, "{e}"),
            SmallFileError::NotRegular => f.write_str("not a regular file"),
            SmallFileError::TooLarge { bytes, max_bytes } => {
                write!(f, "{bytes} bytes, more than the {max_bytes} allowed")
            }
        }
    }
}

/// Reads a regular file of at most `max_bytes`, refusing anything else before reading it: a
/// FIFO would block forever (it is opened `O_NONBLOCK`, so opening does not wait for a
/// writer), a device would be read until memory runs out.
pub fn read_small_file(path: &Path, max_bytes: u64) -> Result<Vec<u8>, SmallFileError> {
    use std::io::Read;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(SmallFileError::Io)?;
    let meta = file.metadata().map_err(SmallFileError::Io)?;
    if !meta.is_file() {
        return Err(SmallFileError::NotRegular);
    }
    let too_large = |bytes| SmallFileError::TooLarge { bytes, max_bytes };
    if meta.len() > max_bytes {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::new();
    file.take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(SmallFileError::Io)?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_paths_are_unchanged() {
        assert_eq!(to_text(Path::new("in/call-1é.json")), "in/call-1é.json");
        assert!(matches!(to_text(Path::new("a\\b")), Cow::Borrowed("a\\b")));
    }

    #[cfg(unix)]
    #[test]
    fn different_non_utf8_names_stay_different() {
        use std::os::unix::ffi::OsStrExt;
        let a = Path::new(std::ffi::OsStr::from_bytes(b"in/call-\xff.json"));
        let b = Path::new(std::ffi::OsStr::from_bytes(b"in/call-\xfe.json"));
        let c = Path::new(std::ffi::OsStr::from_bytes(b"in\\/\xff"));
        assert_eq!(to_text(a), "in/call-\\xFF.json");
        assert_eq!(to_text(b), "in/call-\\xFE.json");
        assert_eq!(to_text(c), "in\\\\/\\xFF");
        assert_ne!(a.to_string_lossy(), to_text(a));
    }

    #[cfg(unix)]
    #[test]
    fn small_files_refuse_fifos_devices_and_large_files() {
        let tmp = tempfile::tempdir().unwrap();
        let fifo = tmp.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        for path in [fifo.as_path(), Path::new("/dev/zero"), tmp.path()] {
            let err = read_small_file(path, 10).unwrap_err();
            assert!(
                matches!(err, SmallFileError::NotRegular),
                "{}: {err}",
                path.display()
            );
        }
        let file = tmp.path().join("f");
        std::fs::write(&file, "0123456789x").unwrap();
        assert!(matches!(
            read_small_file(&file, 10),
            Err(SmallFileError::TooLarge { bytes: 11, .. })
        ));
        assert_eq!(read_small_file(&file, 11).unwrap(), b"0123456789x");
        let missing = read_small_file(&tmp.path().join("none"), 10).unwrap_err();
        assert!(
            matches!(missing, SmallFileError::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
        );
    }

    #[cfg(unix)]
    #[test]
    fn an_identity_is_the_same_through_every_path_and_sees_a_replaced_file() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("d");
        std::fs::create_dir(&dir).unwrap();
        std::os::unix::fs::symlink(&dir, tmp.path().join("link")).unwrap();
        assert_eq!(Identity::of(&dir), Identity::of(&tmp.path().join("link/.")));
        assert_eq!(Identity::of(&tmp.path().join("none")), None);
        let path = tmp.path().join("lock");
        std::fs::write(&path, "").unwrap();
        let open = File::open(&path).unwrap();
        assert!(Identity::still_at(&open, &path));
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, "").unwrap();
        assert!(!Identity::still_at(&open, &path));
    }
}
