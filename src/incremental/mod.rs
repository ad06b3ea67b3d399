//! Incremental runs: what the last run knew of each input file ([`state`], kept in
//! `OUT/_state/` and published with the output it describes) and the partitions of the
//! previous output that a run keeps instead of rebuilding ([`carry`]).

pub mod carry;
pub mod state;
