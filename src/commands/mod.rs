//! The commands, apart from the stages they run: each takes its resolved settings, calls the
//! stages and the publish machinery, and returns what `main.rs` turns into an exit code.

pub mod commit;
pub mod publish;
pub mod run;
pub mod validate;
