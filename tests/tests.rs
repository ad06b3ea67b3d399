//! The integration tests: one binary, one module per topic (as ripgrep's `tests/tests.rs`),
//! each running the real `session-etl` binary on `fixtures/` and reading its output back.

mod buckets;
mod compat;
mod derived;
mod docs;
mod failures;
mod generator;
mod incremental;
mod layout;
mod publish;
mod rejects;
mod s3;
mod safety;
mod settings;
mod sharding;
mod summary;
mod tables;
mod util;
