//! Paths as text, for the tables (`source_path`), the state and messages.
//!
//! File names are bytes on Unix, and not always UTF-8. Lossy conversion would write every
//! invalid byte as U+FFFD, so two different files could share one `source_path` (and an
//! incremental run would drop the rejects row of the wrong one). Here a path that is valid
//! UTF-8 is written as it is, and one that is not has each invalid byte written as `\xHH` and
//! each backslash doubled, so different non-UTF-8 names always give different text.

use std::borrow::Cow;
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
}
