//! Session states: the platform writes a name (`"finished"`) or, in some feeds, the numeric
//! code (`8`, `"8"`). Both map to one [`Status`] carrying the canonical name *and* the code.

use std::borrow::Cow;

use crate::parse::Scalar;

/// Published states with their numeric codes (CCAI Platform session metadata overview; codes
/// 20–23, 80 and 81 from the French edition of that page).
const CODED: [(&str, i64); 24] = [
    ("scheduled", 0),
    ("queued", 1),
    ("assigned", 2),
    ("connecting", 3),
    ("switching", 4),
    ("connected", 5),
    ("finished", 8),
    ("failed", 9),
    ("recovered", 10),
    ("deflected", 11),
    ("selecting", 12),
    ("va_assigned", 13),
    ("va_connected", 14),
    ("preview_pending", 15),
    ("preview_ready", 16),
    ("campaign_connecting", 17),
    ("campaign_connected", 18),
    ("requeued", 19),
    ("predictive_waiting", 20),
    ("progressive_waiting", 21),
    ("preview_waiting", 22),
    ("campaign_dialing", 23),
    ("voicemail", 80),
    ("voicemail_received", 81),
];

/// Names the platform uses without a published code.
const UNCODED: [&str; 4] = [
    "canceled",
    "action_only",
    "action_only_finished",
    "voicemail_read",
];

/// A session state as a name and, where one is published, its numeric code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status<'a> {
    /// Canonical lower-case name for known states; the text as written for unknown ones.
    pub name: Cow<'a, str>,
    /// The published numeric code, if any.
    pub code: Option<i64>,
    /// False when the value is neither a known name nor a known code (kept, and counted).
    pub known: bool,
}

impl<'a> Status<'a> {
    /// Interprets a `status` value. Never fails: an unknown state is data, not an error.
    pub fn from_scalar(value: &'a Scalar<'a>) -> Status<'a> {
        match value {
            Scalar::Int(code) => {
                Status::from_code(*code).unwrap_or_else(|| Status::unknown(value.to_text()))
            }
            Scalar::Text(text) => {
                let text = text.as_str().trim();
                if let Ok(code) = text.parse::<i64>() {
                    return Status::from_code(code)
                        .unwrap_or_else(|| Status::unknown(Cow::Borrowed(text)));
                }
                Status::from_name(text).unwrap_or_else(|| Status::unknown(Cow::Borrowed(text)))
            }
            Scalar::Float(_) | Scalar::Bool(_) => Status::unknown(value.to_text()),
        }
    }

    fn from_code(code: i64) -> Option<Status<'a>> {
        CODED
            .iter()
            .find(|(_, c)| *c == code)
            .map(|(name, code)| Status {
                name: Cow::Borrowed(name),
                code: Some(*code),
                known: true,
            })
    }

    fn from_name(text: &str) -> Option<Status<'a>> {
        if let Some((name, code)) = CODED.iter().find(|(name, _)| same_name(name, text)) {
            return Some(Status {
                name: Cow::Borrowed(name),
                code: Some(*code),
                known: true,
            });
        }
        let text = if same_name("cancelled", text) {
            "canceled"
        } else {
            text
        };
        UNCODED
            .iter()
            .find(|name| same_name(name, text))
            .map(|name| Status {
                name: Cow::Borrowed(name),
                code: None,
                known: true,
            })
    }

    fn unknown(text: Cow<'a, str>) -> Status<'a> {
        Status {
            name: text,
            code: None,
            known: false,
        }
    }
}

/// True if `text` spells the canonical `name` up to ASCII case, with `' '` or `'-'` for `'_'`.
/// Compares in place: this runs once per session, so it does not allocate.
fn same_name(name: &str, text: &str) -> bool {
    name.len() == text.len()
        && name.bytes().zip(text.bytes()).all(|(n, t)| {
            let t = match t {
                b' ' | b'-' => b'_',
                t => t.to_ascii_lowercase(),
            };
            n == t
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::Str;

    fn text(s: &str) -> Scalar<'_> {
        Scalar::Text(Str(Cow::Borrowed(s)))
    }

    #[test]
    fn names_codes_and_numeric_strings_agree() {
        for value in [
            text("finished"),
            Scalar::Int(8),
            text("8"),
            text("Finished"),
        ] {
            let status = Status::from_scalar(&value);
            assert_eq!(
                (status.name.as_ref(), status.code, status.known),
                ("finished", Some(8), true)
            );
        }
        assert_eq!(
            Status::from_scalar(&Scalar::Int(81)).name,
            "voicemail_received"
        );
        assert_eq!(Status::from_scalar(&Scalar::Int(0)).name, "scheduled");
        let spelled = text("Voicemail-Received");
        assert_eq!(Status::from_scalar(&spelled).code, Some(81));
        let british = text("Cancelled");
        assert_eq!(Status::from_scalar(&british).name, "canceled");
    }

    #[test]
    fn every_published_code_round_trips() {
        for (name, code) in CODED {
            let code_value = Scalar::Int(code);
            let by_code = Status::from_scalar(&code_value);
            let by_name_value = text(name);
            let by_name = Status::from_scalar(&by_name_value);
            assert_eq!(by_code, by_name);
            assert_eq!(by_code.code, Some(code));
        }
    }

    #[test]
    fn uncoded_and_unknown_states_are_kept() {
        let canceled = Status::from_scalar(&Scalar::Text(Str(Cow::Borrowed("canceled"))));
        assert_eq!((canceled.code, canceled.known), (None, true));
        let odd = text("on_hold_custom");
        let unknown = Status::from_scalar(&odd);
        assert_eq!(
            (unknown.name.as_ref(), unknown.code, unknown.known),
            ("on_hold_custom", None, false)
        );
        let unknown_code = Status::from_scalar(&Scalar::Int(6));
        assert_eq!(
            (
                unknown_code.name.as_ref(),
                unknown_code.code,
                unknown_code.known
            ),
            ("6", None, false)
        );
    }
}
