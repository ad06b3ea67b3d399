//! session-etl: CCAI Platform session metadata exports → normalized Parquet tables.
//!
//! The data flows one way through the modules, one per stage:
//!
//! ```text
//! discover → select → source (parse) → normalize → derive (Exchange events, milestones)
//!     → sink (tables, Parquet, Exchange request bodies, publish) ↘ report (progress, _run.json)
//! ```
//!
//! [`run::run`] wires the stages together; `main.rs` only parses arguments. The types every
//! stage names (session and file keys, days, call or chat, compression) live below the
//! stages, in [`vocab`], so that no stage depends on another for them.

pub mod commit;
pub mod derive;
pub mod discover;
pub mod error;
pub mod guard;
pub mod memory;
pub mod normalize;
pub mod paths;
pub mod reject;
pub mod report;
pub mod run;
pub mod select;
pub mod settings;
pub mod sink;
pub mod source;
pub mod stable_hash;
pub mod state;
pub mod stop;
pub mod validate;
pub mod vocab;

pub use error::{Error, Result};
