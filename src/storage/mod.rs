//! Where inputs and outputs live: local paths, or prefixes of `gs://` and `s3://` buckets.
//!
//! Below the stages: discovery lists buckets through it, the pre-scan and the parse read
//! objects through it, and publishing writes through it. Reads of many objects run on the
//! storage runtime with at most `read_concurrency` requests in flight, while the rayon pool
//! parses what has arrived.

pub mod location;
pub mod objects;
pub mod store;

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use object_store::ObjectStore;

pub use location::{BucketPrefix, Location, Scheme};
pub use store::{redact, Storage, StorageOptions};

use crate::shared::error::{Error, Result};
use crate::shared::reject::FileError;
use crate::shared::stop::StopFlag;
use crate::shared::vocab::Compression;

/// One object to read.
#[derive(Debug, Clone)]
pub struct ObjectRequest {
    /// The file's index in the run's file list.
    pub index: u32,
    /// Its bucket's client.
    pub store: Arc<dyn ObjectStore>,
    /// Its key.
    pub key: String,
    /// Its size when listed.
    pub size: u64,
    /// Plain or gzip.
    pub compression: Compression,
}

/// What reading some objects gave, by file index.
#[derive(Debug, Default)]
pub struct Bodies {
    bodies: HashMap<u32, std::result::Result<Bytes, FileError>>,
}

impl Bodies {
    /// The body of the file `index`, or why it could not be read; `None` when it was not
    /// asked for (a local file).
    pub fn get(&self, index: u32) -> Option<std::result::Result<&[u8], &FileError>> {
        self.bodies
            .get(&index)
            .map(|r| r.as_ref().map(|b| b.as_ref()))
    }

    /// The bytes held.
    pub fn bytes(&self) -> u64 {
        self.bodies
            .values()
            .filter_map(|r| r.as_ref().ok())
            .map(|b| b.len() as u64)
            .sum()
    }
}

/// Bodies being read in the background.
#[derive(Debug)]
pub struct PendingBodies {
    handle: Option<tokio::task::JoinHandle<Bodies>>,
}

impl PendingBodies {
    /// Nothing to read.
    pub fn none() -> PendingBodies {
        PendingBodies { handle: None }
    }

    /// Waits for every body.
    pub fn wait(self, storage: &Storage) -> Result<Bodies> {
        match self.handle {
            None => Ok(Bodies::default()),
            Some(handle) => storage
                .block_on(handle)?
                .map_err(|e| Error::Internal(format!("an object read task failed: {e}"))),
        }
    }
}

impl Storage {
    /// Starts reading `objects` whole (each refused past `max_bytes`), at most
    /// `read_concurrency` at a time, and returns at once. Once `stop` is raised no request
    /// starts (the objects not read are missing from the bodies).
    pub fn read_objects(
        &self,
        objects: Vec<ObjectRequest>,
        max_bytes: u64,
        stop: &StopFlag,
    ) -> Result<PendingBodies> {
        if objects.is_empty() {
            return Ok(PendingBodies::none());
        }
        let concurrency = self.options().read_concurrency;
        let stop = stop.clone();
        let handle = self.spawn(async move {
            let objects = futures::stream::iter(objects)
                .take_while(move |_| std::future::ready(!stop.is_raised()));
            let reads = objects.map(|object| async move {
                let body =
                    objects::get_capped(object.store.as_ref(), &object.key, object.size, max_bytes)
                        .await;
                (object.index, body)
            });
            Bodies {
                bodies: reads.buffer_unordered(concurrency).collect().await,
            }
        })?;
        Ok(PendingBodies {
            handle: Some(handle),
        })
    }

    /// Reads the first `len` bytes of each object (one ranged GET each), at most
    /// `read_concurrency` at a time, and hands each to `scan` as it arrives; returns what
    /// `scan` made of each, by index. `scan` runs on the storage runtime: it must be quick.
    /// Once `stop` is raised no request starts, and the scan returns [`Error::Interrupted`].
    pub fn scan_prefixes<T, F>(
        &self,
        objects: Vec<ObjectRequest>,
        len: u64,
        stop: &StopFlag,
        scan: F,
    ) -> Result<Vec<(u32, T)>>
    where
        T: Send + 'static,
        F: Fn(&ObjectRequest, std::result::Result<Bytes, FileError>) -> T + Send + Sync + 'static,
    {
        let concurrency = self.options().read_concurrency;
        let scan = Arc::new(scan);
        let stopping = stop.clone();
        let scanned = self.block_on(async move {
            let objects = futures::stream::iter(objects)
                .take_while(move |_| std::future::ready(!stopping.is_raised()));
            let reads = objects.map(|object| {
                let scan = Arc::clone(&scan);
                async move {
                    let prefix = if object.size == 0 {
                        Ok(Bytes::new())
                    } else {
                        objects::get_prefix(
                            object.store.as_ref(),
                            &object.key,
                            len.min(object.size),
                        )
                        .await
                    };
                    (object.index, scan(&object, prefix))
                }
            });
            reads.buffer_unordered(concurrency).collect().await
        })?;
        if stop.is_raised() {
            return Err(Error::Interrupted);
        }
        Ok(scanned)
    }
}
