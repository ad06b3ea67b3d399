//! Reading one input file into memory, decompressing `.json.gz` on the way.
//!
//! Files are small (5–20 KB) and parsed whole, so reading into a reusable buffer is both the
//! simplest and the fastest way; the size cap keeps a stray multi-gigabyte file (or a gzip
//! bomb) from exhausting memory. A bucket object arrives already fetched (see
//! [`crate::storage`]) and goes through the same decoding and the same limits.

use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Where a file's bytes come from.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// A local file, opened here.
    Disk(&'a Path),
    /// A bucket object's bytes as fetched: the whole object, or for [`read_prefix`] its
    /// first bytes.
    Fetched(&'a [u8]),
}

impl<'a> Source<'a> {
    fn open(self) -> std::io::Result<Box<dyn Read + Send + 'a>> {
        Ok(match self {
            Source::Disk(path) => Box::new(File::open(path)?),
            Source::Fetched(bytes) => Box::new(bytes),
        })
    }
}

use flate2::read::MultiGzDecoder;

use crate::shared::reject::{FileError, RejectKind};
use crate::shared::vocab::Compression;

/// Reads `path` into `buf` (cleared first), refusing content larger than `max_bytes`.
/// `disk_size` is the size discovery saw: it sizes the buffer and turns away a plain file
/// discovered too large without opening it (`FileTooLarge` even if it has been deleted or
/// shrunk since, as the pre-scan judged it), so there is no `stat` per file. The read
/// itself still stops at `max_bytes`, whatever the file became since.
///
/// Returns the number of bytes read from disk (the compressed size for gzip), which is what
/// throughput figures in MB/s are based on.
pub fn read_file(
    source: Source<'_>,
    compression: Compression,
    disk_size: u64,
    max_bytes: u64,
    buf: &mut Vec<u8>,
) -> Result<u64, FileError> {
    buf.clear();
    let unreadable = |e: std::io::Error| {
        FileError::file(RejectKind::Unreadable, format!("cannot read file: {e}"))
    };
    let too_large = || {
        FileError::file(
            RejectKind::FileTooLarge,
            format!("file holds more than {max_bytes} bytes (the max_file_bytes limit)"),
        )
    };
    if compression == Compression::None && disk_size > max_bytes {
        return Err(too_large());
    }
    let file = source.open().map_err(unreadable)?;
    let disk_bytes = match compression {
        Compression::None => {
            buf.reserve(disk_size.min(max_bytes) as usize + 1);
            file.take(max_bytes + 1)
                .read_to_end(buf)
                .map_err(unreadable)?;
            buf.len() as u64
        }
        Compression::Gzip => {
            let mut counted = CountRead {
                inner: file,
                bytes: 0,
            };
            MultiGzDecoder::new(&mut counted)
                .take(max_bytes + 1)
                .read_to_end(buf)
                .map_err(|e| {
                    FileError::file(
                        RejectKind::Unreadable,
                        format!("cannot decompress gzip: {e}"),
                    )
                })?;
            counted.bytes
        }
    };
    if buf.len() as u64 > max_bytes {
        return Err(too_large());
    }
    Ok(disk_bytes)
}

/// Counts the bytes read through it: the compressed size of a gzip file, without a `stat`.
struct CountRead<R> {
    inner: R,
    bytes: u64,
}

impl<R: Read> Read for CountRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Reads the first `limit` bytes of the (decompressed) content of `source` into `buf`
/// (cleared first). Returns true when that is the whole content. One `open` and usually one
/// `read`: the dedup pre-scan needs only the first few hundred bytes of each file.
///
/// A fetched prefix of a gzip object ends inside the stream: what decodes before the cut is
/// the content's start, and the result is never "whole" (the caller reads the object if the
/// header is not in it).
pub fn read_prefix(
    source: Source<'_>,
    compression: Compression,
    limit: usize,
    buf: &mut Vec<u8>,
) -> std::io::Result<bool> {
    buf.clear();
    buf.resize(limit + 1, 0);
    let file = source.open()?;
    let cut_off = matches!(source, Source::Fetched(_));
    let (filled, complete) = match compression {
        Compression::None => fill(file, buf, false)?,
        Compression::Gzip => fill(MultiGzDecoder::new(file), buf, cut_off)?,
    };
    buf.truncate(filled.min(limit));
    Ok(complete && filled <= limit)
}

/// Reads from `reader` until `buf` is full or the content ends; returns the bytes read and
/// whether the content ended cleanly. With `cut_off`, an error after some bytes ends the
/// read (a stream cut short) instead of failing it.
fn fill(mut reader: impl Read, buf: &mut [u8], cut_off: bool) -> std::io::Result<(usize, bool)> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) if cut_off && filled > 0 => return Ok((filled, false)),
            Err(e) => return Err(e),
        }
    }
    Ok((filled, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn plain_files_count_the_bytes_read_and_stop_at_the_limit() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("call-1.json");
        std::fs::write(&path, b"{\"id\": 1}").unwrap();
        let mut buf = Vec::new();
        assert_eq!(
            read_file(Source::Disk(&path), Compression::None, 9, 100, &mut buf).unwrap(),
            9
        );
        assert_eq!(buf, b"{\"id\": 1}");
        // Too large as discovered: turned away unread.
        let err =
            read_file(Source::Disk(&path), Compression::None, 101, 100, &mut buf).unwrap_err();
        assert_eq!(err.kind, RejectKind::FileTooLarge);
        // Grown past the limit since discovery: the read itself stops.
        let err = read_file(Source::Disk(&path), Compression::None, 3, 5, &mut buf).unwrap_err();
        assert_eq!(err.kind, RejectKind::FileTooLarge);
    }

    #[test]
    fn gzip_files_count_the_compressed_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("call-1.json.gz");
        let content = format!("{{\"id\": 1, \"pad\": \"{}\"}}", "x".repeat(10_000));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(content.as_bytes()).unwrap();
        let compressed = gz.finish().unwrap();
        std::fs::write(&path, &compressed).unwrap();
        let mut buf = Vec::new();
        let read = read_file(Source::Disk(&path), Compression::Gzip, 0, 1 << 20, &mut buf).unwrap();
        assert_eq!(read, compressed.len() as u64);
        assert_eq!(buf, content.as_bytes());
        // The limit applies to the decompressed content.
        let err =
            read_file(Source::Disk(&path), Compression::Gzip, 0, 1_000, &mut buf).unwrap_err();
        assert_eq!(err.kind, RejectKind::FileTooLarge);
    }
}
