//! What every stage and command shares, below all of them: nothing here imports a stage.
//!
//! [`vocab`] holds the keys and types every stage names (session and file keys, days, call or
//! chat, compression), so that no stage depends on another for them; the rest are the
//! cross-cutting pieces: errors, reject kinds, the guards, paths as text and identities,
//! stopping on signals, stable hashes, giving memory back.

pub mod error;
pub mod guard;
pub mod memory;
pub mod paths;
pub mod reject;
pub mod stable_hash;
pub mod stop;
pub mod vocab;
