//! Where an input or the output lives: a local path or a prefix in a bucket.
//!
//! Written the way the clouds' own tools write them (`gs://bucket/prefix`, `s3://bucket/prefix`),
//! or as a local path (`file:///abs/path` too). Any other `scheme://` is refused: taken as a
//! local path it would become a folder named `gs:` in the working directory.

use std::fmt;
use std::path::{Path, PathBuf};

/// A local path or a bucket prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Location {
    /// A file or folder on this machine.
    Local(PathBuf),
    /// Objects under a prefix of a bucket.
    Bucket(BucketPrefix),
}

/// The object stores session-etl reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// Amazon S3 and S3-compatible servers (MinIO, Ceph, R2...): `s3://`.
    S3,
    /// Google Cloud Storage, where CCAI Platform's external storage delivers: `gs://`.
    Gcs,
}

impl Scheme {
    /// The URL scheme, without `://`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::S3 => "s3",
            Scheme::Gcs => "gs",
        }
    }

    fn parse(text: &str) -> Option<Scheme> {
        match text.to_ascii_lowercase().as_str() {
            "s3" | "s3a" => Some(Scheme::S3),
            "gs" | "gcs" => Some(Scheme::Gcs),
            _ => None,
        }
    }
}

/// `scheme://bucket/prefix`: every object whose key starts with `prefix/` (or equals it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BucketPrefix {
    /// Which store.
    pub scheme: Scheme,
    /// The bucket name.
    pub bucket: String,
    /// The key prefix, without a leading or trailing `/` (empty: the whole bucket).
    pub prefix: String,
}

impl BucketPrefix {
    /// `scheme://bucket/`: what every object URL of the bucket starts with.
    pub fn root(&self) -> String {
        format!("{}://{}/", self.scheme.as_str(), self.bucket)
    }

    /// The URL of the object `key` of this bucket.
    pub fn url_of(&self, key: &str) -> String {
        format!("{}{key}", self.root())
    }

    /// The key of `relative` (`/`-separated) under this prefix.
    pub fn key_of(&self, relative: &str) -> String {
        match self.prefix.as_str() {
            "" => relative.to_owned(),
            prefix => format!("{prefix}/{relative}"),
        }
    }

    /// The same bucket, `relative` below this prefix.
    pub fn join(&self, relative: &str) -> BucketPrefix {
        BucketPrefix {
            prefix: self.key_of(relative.trim_matches('/')),
            ..self.clone()
        }
    }

    /// True when `other` is this prefix or lies under it (same bucket).
    pub fn contains(&self, other: &BucketPrefix) -> bool {
        self.scheme == other.scheme
            && self.bucket == other.bucket
            && (self.prefix.is_empty()
                || other.prefix == self.prefix
                || other.prefix.starts_with(&format!("{}/", self.prefix)))
    }
}

impl fmt::Display for BucketPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.root(), self.prefix)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(path) => write!(f, "{}", path.display()),
            Location::Bucket(bucket) => bucket.fmt(f),
        }
    }
}

impl Location {
    /// Reads a location as the user wrote it. `what` names it in errors (`input`, `output`).
    pub fn parse(text: &str, what: &str) -> Result<Location, String> {
        let Some((scheme, rest)) = url_scheme(text) else {
            return Ok(Location::Local(PathBuf::from(text)));
        };
        if scheme.eq_ignore_ascii_case("file") {
            // `file:///abs/path`; `file://host/...` names another machine.
            return match rest.strip_prefix('/') {
                Some(_) => Ok(Location::Local(PathBuf::from(rest))),
                None if rest.starts_with("localhost/") => {
                    Ok(Location::Local(PathBuf::from(&rest["localhost".len()..])))
                }
                None => Err(format!(
                    "{what} `{text}`: a file:// URL must name a local absolute path \
                     (file:///path/to/folder)"
                )),
            };
        }
        let Some(scheme) = Scheme::parse(scheme) else {
            return Err(format!(
                "{what} `{text}`: the scheme `{scheme}://` is not supported; use gs://BUCKET/PREFIX, \
                 s3://BUCKET/PREFIX, file:///PATH or a local path"
            ));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if !valid_bucket_name(bucket) {
            return Err(format!(
                "{what} `{text}`: `{bucket}` is not a bucket name (3 to 222 characters of \
                 a-z, 0-9, `.`, `-` and `_`, starting and ending with a letter or digit)"
            ));
        }
        let prefix = prefix.trim_matches('/');
        if !prefix.is_empty()
            && prefix
                .split('/')
                .any(|part| part.is_empty() || part == "." || part == "..")
        {
            return Err(format!(
                "{what} `{text}`: `.`, `..` and empty names (`//`) are not folders in a bucket"
            ));
        }
        Ok(Location::Bucket(BucketPrefix {
            scheme,
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        }))
    }

    /// The local path, if this is one.
    pub fn as_local(&self) -> Option<&Path> {
        match self {
            Location::Local(path) => Some(path),
            Location::Bucket(_) => None,
        }
    }

    /// The bucket prefix, if this is one.
    pub fn as_bucket(&self) -> Option<&BucketPrefix> {
        match self {
            Location::Local(_) => None,
            Location::Bucket(bucket) => Some(bucket),
        }
    }
}

/// The scheme and the rest of `text` when it is written as a URL: `scheme://…` with a scheme
/// of RFC 3986 characters. `in/x://y` is a file name, not a URL.
pub fn url_scheme(text: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = text.split_once("://")?;
    let mut chars = scheme.chars();
    let url = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    url.then_some((scheme, rest))
}

/// Bucket names as S3 and GCS both allow them (GCS's dotted names may reach 222 characters).
fn valid_bucket_name(name: &str) -> bool {
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (3..=222).contains(&name.len())
        && edge_ok(name.chars().next())
        && edge_ok(name.chars().last())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-._".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(text: &str) -> BucketPrefix {
        match Location::parse(text, "input").unwrap() {
            Location::Bucket(b) => b,
            other => panic!("{text} parsed as {other:?}"),
        }
    }

    #[test]
    fn bucket_urls_name_a_scheme_a_bucket_and_a_prefix() {
        let b = bucket("gs://ccaip-exports/tenant/metadata/");
        assert_eq!(b.scheme, Scheme::Gcs);
        assert_eq!(b.bucket, "ccaip-exports");
        assert_eq!(b.prefix, "tenant/metadata");
        assert_eq!(b.to_string(), "gs://ccaip-exports/tenant/metadata");
        assert_eq!(
            b.key_of("2026/call-1.json"),
            "tenant/metadata/2026/call-1.json"
        );
        let whole = bucket("s3://my-bucket");
        assert_eq!((whole.scheme, whole.prefix.as_str()), (Scheme::S3, ""));
        assert_eq!(whole.key_of("a.json"), "a.json");
        assert_eq!(bucket("S3A://my-bucket/x").scheme, Scheme::S3);
        assert!(bucket("s3://b1b/out").contains(&bucket("s3://b1b/out/_staging")));
        assert!(!bucket("s3://b1b/out").contains(&bucket("s3://b1b/output")));
        assert!(bucket("s3://b1b").contains(&bucket("s3://b1b/anything")));
        assert!(!bucket("s3://b1b/out").contains(&bucket("gs://b1b/out")));
    }

    #[test]
    fn local_paths_and_file_urls_are_local() {
        for (text, path) in [
            ("out", "out"),
            ("/data/x", "/data/x"),
            ("in/x://y", "in/x://y"),
            ("file:///data/x", "/data/x"),
            ("file://localhost/data/x", "/data/x"),
        ] {
            assert_eq!(
                Location::parse(text, "input").unwrap(),
                Location::Local(PathBuf::from(path)),
                "{text}"
            );
        }
    }

    #[test]
    fn other_schemes_and_bad_buckets_are_refused() {
        for text in [
            "http://example.com/x",
            "az://container/x",
            "ftp://host/x",
            "file://server/share",
            "gs://Upper/x",
            "gs://ab/x",
            "s3://-bucket/x",
            "gs://b1b/../x",
            "s3://b1b/a//b",
        ] {
            let err = Location::parse(text, "output").unwrap_err();
            assert!(err.starts_with(&format!("output `{text}`")), "{err}");
        }
    }
}
