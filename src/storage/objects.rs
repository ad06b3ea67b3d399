//! Listing a bucket prefix and reading its objects, with a bound on the requests in flight.
//!
//! Every request goes through `object_store`, which retries transient failures itself; what
//! still fails here is permanent for this run (404, 403, retries exhausted) and becomes the
//! object's reject row, never the end of the batch.

use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};

use super::location::BucketPrefix;
use super::store::redact;
use crate::shared::error::{Error, Result};
use crate::shared::reject::{FileError, RejectKind};

/// One object found under a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The key, as the store spells it.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification, nanoseconds since the epoch.
    pub modified_ns: Option<i64>,
    /// The store's version of the content (ETag, or GCS generation), when it gives one.
    pub version: Option<String>,
}

impl From<ObjectMeta> for Listed {
    fn from(meta: ObjectMeta) -> Listed {
        Listed {
            key: meta.location.as_ref().to_owned(),
            size: meta.size,
            modified_ns: meta.last_modified.timestamp_nanos_opt(),
            version: meta.version.or(meta.e_tag),
        }
    }
}

/// The store path of `key`, which came from a listing (so it is already valid).
pub fn object_path(key: &str) -> std::result::Result<ObjectPath, FileError> {
    ObjectPath::parse(key).map_err(|e| {
        FileError::file(
            RejectKind::Unreadable,
            format!("the object key cannot be used: {e}"),
        )
    })
}

/// Lists every object under `prefix` (recursively, page by page), calling `found` for each.
/// A prefix that is itself an object (`s3://b/x/call-1.json`) lists as that one object.
pub async fn list(
    store: Arc<dyn ObjectStore>,
    prefix: &BucketPrefix,
    mut found: impl FnMut(Listed) -> Result<()>,
) -> Result<()> {
    let mut any = false;
    list_under(store.as_ref(), prefix, |object| {
        any = true;
        found(object)
    })
    .await?;
    if any || prefix.prefix.is_empty() {
        return Ok(());
    }
    let path = prefix_path(prefix)?;
    match store.head(&path).await {
        Ok(meta) => found(meta.into()),
        Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(list_failed(prefix, e)),
    }
}

/// Lists every object under `prefix` (recursively, page by page; the whole bucket for an
/// empty prefix), calling `found` for each.
pub async fn list_under(
    store: &dyn ObjectStore,
    prefix: &BucketPrefix,
    mut found: impl FnMut(Listed) -> Result<()>,
) -> Result<()> {
    let path = (!prefix.prefix.is_empty())
        .then(|| prefix_path(prefix))
        .transpose()?;
    let mut objects = store.list(path.as_ref());
    while let Some(meta) = objects
        .try_next()
        .await
        .map_err(|e| list_failed(prefix, e))?
    {
        found(meta.into())?;
    }
    Ok(())
}

/// The store path of a non-empty prefix.
fn prefix_path(prefix: &BucketPrefix) -> Result<ObjectPath> {
    ObjectPath::parse(&prefix.prefix).map_err(|e| Error::Storage {
        url: prefix.to_string(),
        message: format!("not a valid object prefix: {e}"),
    })
}

fn list_failed(prefix: &BucketPrefix, e: object_store::Error) -> Error {
    Error::Storage {
        url: prefix.to_string(),
        message: redact(&format!("cannot list: {e}")),
    }
}

/// The first `len` bytes of the object `key` (one ranged GET).
pub async fn get_prefix(
    store: &dyn ObjectStore,
    key: &str,
    len: u64,
) -> std::result::Result<Bytes, FileError> {
    let path = object_path(key)?;
    store.get_range(&path, 0..len).await.map_err(read_error)
}

/// The whole object `key` (one GET), refusing more than `max_bytes`: the object may have
/// grown since it was listed, so the body is streamed and dropped past the limit.
pub async fn get_capped(
    store: &dyn ObjectStore,
    key: &str,
    size_hint: u64,
    max_bytes: u64,
) -> std::result::Result<Bytes, FileError> {
    let path = object_path(key)?;
    let result = store.get(&path).await.map_err(read_error)?;
    let mut body = Vec::with_capacity(size_hint.min(max_bytes) as usize);
    let mut stream = result.into_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(read_error)?;
        if (body.len() + chunk.len()) as u64 > max_bytes {
            return Err(too_large(max_bytes));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}

/// The reject of an object larger than the limit.
pub fn too_large(max_bytes: u64) -> FileError {
    FileError::file(
        RejectKind::FileTooLarge,
        format!("object holds more than {max_bytes} bytes (the max_file_bytes limit)"),
    )
}

/// What a failed read of one object becomes.
fn read_error(e: object_store::Error) -> FileError {
    let (kind, what) = match &e {
        object_store::Error::NotFound { .. } => (
            RejectKind::ObjectNotFound,
            "the object was listed but is gone",
        ),
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => (
            RejectKind::ObjectForbidden,
            "the credentials may not read the object",
        ),
        _ => (RejectKind::Unreadable, "cannot read the object"),
    };
    FileError::file(kind, redact(&format!("{what}: {e}")))
}
