//! The statuses a generated session ends in, and how each is written.

use crate::json::{s, V};
use crate::rng::Rng;
use crate::SessionKind;

/// The statuses the generator writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GenStatus {
    Finished,
    Failed,
    Deflected,
    VoicemailReceived,
    Scheduled,
    Canceled,
}

impl GenStatus {
    /// The canonical name (the pipeline's `status` column).
    pub(crate) fn name(self) -> &'static str {
        match self {
            GenStatus::Finished => "finished",
            GenStatus::Failed => "failed",
            GenStatus::Deflected => "deflected",
            GenStatus::VoicemailReceived => "voicemail_received",
            GenStatus::Scheduled => "scheduled",
            GenStatus::Canceled => "canceled",
        }
    }

    /// Draws a status: calls and chats have different mixes (chats are never voicemail or
    /// scheduled).
    pub(crate) fn draw(rng: &mut Rng, kind: SessionKind) -> GenStatus {
        const CALL: [(GenStatus, u32); 6] = [
            (GenStatus::Finished, 820),
            (GenStatus::Failed, 60),
            (GenStatus::Deflected, 40),
            (GenStatus::VoicemailReceived, 30),
            (GenStatus::Scheduled, 20),
            (GenStatus::Canceled, 30),
        ];
        const CHAT: [(GenStatus, u32); 4] = [
            (GenStatus::Finished, 850),
            (GenStatus::Failed, 60),
            (GenStatus::Deflected, 40),
            (GenStatus::Canceled, 50),
        ];
        match kind {
            SessionKind::Call => rng.weighted(&CALL),
            SessionKind::Chat => rng.weighted(&CHAT),
        }
    }

    /// The `status` value as written: mostly the name, sometimes the numeric code (`8`, `"8"`).
    pub(super) fn value(self, rng: &mut Rng) -> V {
        match self {
            GenStatus::Finished => {
                let roll = rng.below(100);
                if roll < 3 {
                    V::Int(8)
                } else if roll < 5 {
                    s("8")
                } else {
                    s("finished")
                }
            }
            GenStatus::Failed if rng.chance(0.1) => V::Int(9),
            GenStatus::VoicemailReceived if rng.chance(0.2) => V::Int(81),
            other => s(other.name()),
        }
    }
}
