//! Re-exports: the same session exported again later, with changed wrap-up data.

use super::dispositions::disposition;
use super::participants::survey_participant;
use super::tenant::{Agent, FEEDBACK};
use super::Built;
use crate::json::{s, V};
use crate::rng::Rng;

/// Turns the first export of a session into its re-export 15–20 minutes later: a newer
/// `updated_at` and changed wrap-up data (rating, feedback, a disposition, perhaps a survey
/// participant). Returns the re-export; `first` is left untouched.
pub(crate) fn reexport(rng: &mut Rng, first: &Built) -> V {
    let info = &first.info;
    let mut doc = first.doc.clone();
    let updated = info.updated_at + rng.range(900, 1200);
    doc.set("updated_at", V::Local(updated, info.offset));
    doc.set("rating", V::Int(rng.range(1, 5)));
    if rng.chance(0.5) {
        doc.set("has_feedback", V::Bool(true));
        doc.set("feedback", s(rng.pick(&FEEDBACK)));
    }
    if let Some(&(participant_id, agent, transfer_id)) = info.legs.last() {
        let has_room = doc.len_of("dispositions") < 3;
        if has_room {
            let extra = disposition(
                rng,
                participant_id,
                Agent { index: agent },
                transfer_id,
                info.list,
            );
            if let Some(V::Arr(items)) = doc.get_mut("dispositions") {
                items.push(extra);
            }
        }
    }
    let participants = doc.len_of("participants");
    if let Some(ends) = info.ends_at {
        if participants < 6 && rng.chance(0.3) {
            let survey = survey_participant(rng, info, ends, participants);
            if let Some(V::Arr(items)) = doc.get_mut("participants") {
                items.push(survey);
            }
        }
    }
    doc
}
