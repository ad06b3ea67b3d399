//! Photos, videos and recordings (with their redactions).

use super::layout::Layout;
use crate::json::{obj, s, string, V};
use crate::rng::Rng;

/// Photos or screenshots the end user shared with an agent (rare).
pub(super) fn photos(rng: &mut Rng, l: &Layout) -> V {
    if l.legs.is_empty() || !rng.chance(0.03) {
        return V::Arr(vec![]);
    }
    let n = rng.range(1, 2);
    V::Arr(
        (0..n)
            .map(|i| {
                let media_id = l.id * 100 + 90 + i;
                obj! {
                    "id" => V::Int(media_id),
                    "photo_type" => s(if i == 0 { "photo" } else { "screenshot" }),
                    "url" => string(format!("https://media.example.com/v1/photos/{media_id}.jpg")),
                }
            })
            .collect(),
    )
}

/// A video the end user shared with an agent (rarer).
pub(super) fn videos(rng: &mut Rng, l: &Layout) -> V {
    if l.legs.is_empty() || !rng.chance(0.01) {
        return V::Arr(vec![]);
    }
    let media_id = l.id * 100 + 95;
    V::Arr(vec![obj! {
        "id" => V::Int(media_id),
        "url" => string(format!("https://media.example.com/v1/videos/{media_id}.mp4")),
    }])
}

/// The call's recording (from the first leg) with its redactions, or the voicemail.
pub(super) fn recordings(rng: &mut Rng, l: &Layout) -> V {
    let ts = |t| V::Local(t, l.offset);
    let (start, end, agent) = match (l.voicemail, l.legs.first(), l.ends_at) {
        (Some((start, end)), _, _) => (start, end, None),
        (None, Some(leg), Some(ends)) => (leg.start + rng.range(1, 4), ends + 1, Some(leg.agent)),
        _ => return V::Arr(vec![]),
    };
    let duration = end - start;
    let mut redactions = Vec::new();
    if let Some(agent) = agent {
        let count = rng.weighted(&[(0usize, 60), (1, 30), (2, 10)]);
        for _ in 0..count {
            if duration < 20 {
                break;
            }
            let at_ms = start * 1000 + rng.below(((duration - 12) * 1000) as u64) as i64;
            let cents = rng.range(80, 900);
            redactions.push(obj! {
                "start" => V::UtcMs(at_ms),
                "start_agent_id" => V::Int(agent.id()),
                "end" => V::UtcMs(at_ms + cents * 10),
                "duration" => V::Cents(cents),
                "end_agent_id" => V::Int(agent.id()),
            });
        }
    }
    let conference = if rng.chance(0.5) {
        rng.uuid()
    } else {
        format!("CON-{}", rng.uuid())
    };
    V::Arr(vec![obj! {
        "id" => V::Int(l.id * 100 + 81),
        "call_id" => V::Int(l.id),
        "conference_sid" => string(conference),
        "duration" => V::Int(duration),
        "recording_type" => s(if agent.is_some() { "default" } else { "voicemail" }),
        "redaction_times" => V::Arr(redactions),
        "started_at" => ts(start),
    }])
}
