//! `session-etl publish OUT`: sends the Exchange outbox of a published output
//! ([`crate::write::outbox`]) with [`crate::delivery`], under the output's lock so that no
//! run replaces the outbox while its bodies are being answered.
//!
//! (Publishing the *output* itself, the atomic swap, is [`crate::publish`]: that module's
//! name predates this command.)

use std::path::Path;

use crate::delivery::{self, ApiKey, Delivery, Pending, Report, Request, Sending};
use crate::publish::{inspect_output, new_run_id, resolved, Existing, OutputLock};
use crate::shared::error::{Error, Result};
use crate::shared::stop::StopFlag;
use crate::storage::Location;
use crate::write::exchange::EXCHANGE_DIR;

/// What `publish` did.
#[derive(Debug)]
pub enum Published {
    /// `--dry-run`: what would be sent.
    DryRun(Pending),
    /// The publish's report (also in `OUT/exchange/_ledger/<publish-id>.json`).
    Sent(Report),
}

/// Sends (or, with `dry_run`, counts) what `output`'s outbox holds (or its dead letters).
pub fn publish(
    output: &Location,
    delivery: &Delivery,
    sending: Sending,
    dry_run: bool,
    stop: &StopFlag,
) -> Result<Published> {
    let Some(path) = output.as_local() else {
        return Err(Error::Config(format!(
            "{output}: publish reads a local output for now; a bucket output's outbox is \
             kept by its runs, to be sent once publishing from buckets lands"
        )));
    };
    let output = resolved(path)?;
    require_ours(&output)?;
    let exchange = output.join(EXCHANGE_DIR);
    if dry_run {
        return Ok(Published::DryRun(delivery::pending(
            &exchange,
            &delivery.endpoint,
            sending,
        )?));
    }
    // The key before the lock: a missing key is a usage error, found at once.
    let key = ApiKey::load(delivery.key_file.as_deref())?;
    let publish_id = new_run_id(chrono::Utc::now(), "-publish");
    let _lock = OutputLock::acquire(&output, &publish_id)?;
    // Looked at again under the lock: a run may have replaced the output meanwhile.
    require_ours(&output)?;
    let request = Request {
        exchange: &exchange,
        publish_id: &publish_id,
        delivery,
        sending,
    };
    let report = delivery::publish(&request, &key, stop)?;
    Ok(Published::Sent(report))
}

fn require_ours(output: &Path) -> Result<()> {
    match inspect_output(output)? {
        Existing::Ours(_) => Ok(()),
        _ => Err(Error::Config(format!(
            "{} is not a session-etl output (no _run.json of a run): nothing to publish",
            output.display()
        ))),
    }
}
