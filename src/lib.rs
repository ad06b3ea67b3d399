//! session-etl: CCAI Platform session metadata exports → normalized Parquet tables and
//! Acoustic Exchange request bodies.
//!
//! The data flows one way, through one module per stage:
//!
//! ```text
//! discover → select → parse → normalize → derive → write
//!   files     one export   serde     typed      Exchange    Parquet tables,
//!             per session  mirror    Session    events,     Exchange bodies
//!                                               milestones
//! ```
//!
//! Around the stages: [`commands`] (`run` wires the stages together, `commit` merges shards,
//! `publish` sends the Exchange outbox, `validate` checks files), [`incremental`] (the `_state/` of the last run and the
//! partitions carried over from it), [`publish`] (staging, lock, ownership, the atomic swap
//! and `_manifest.json`), [`delivery`] (sending the Exchange outbox the write stage left,
//! for `publish`), [`settings`] and [`report`] (progress, `_run.json`). Below them,
//! [`shared`]: the vocabulary every stage names (keys, days, call or chat), errors, reject
//! kinds, guards, paths and stopping; and [`storage`]: local paths and `gs://`/`s3://`
//! buckets, listed and read through `object_store`. `main.rs` only parses arguments.

pub mod commands;
pub mod delivery;
pub mod derive;
pub mod discover;
pub mod incremental;
pub mod normalize;
pub mod parse;
pub mod publish;
pub mod report;
pub mod select;
pub mod settings;
pub mod shared;
pub mod storage;
pub mod write;

pub use shared::error::{Error, Result};
