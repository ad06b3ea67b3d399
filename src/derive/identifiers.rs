//! Which session fields identify the individual an Exchange event is about.
//!
//! The mapping is configuration (`[exchange] identifiers` in the pipeline file) because the
//! fields a tenant fills in differ: one keeps e-mails in `email`, another puts a CRM id in
//! custom data. Each source validates its own value, so a redacted `<REDACTED>` phone number
//! or a UUID in `end_user.identifier` never reaches Exchange as an identity.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::derive::is_bidi_control;
use crate::normalize::{text, Scalar, Session};

/// A session field an identifier can be taken from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentifierSource {
    /// `email`, when it is an e-mail address (lower-cased).
    Email,
    /// `end_user.identifier`, when it is an e-mail address (lower-cased).
    EndUserIdentifierEmail,
    /// `end_user.identifier` as written.
    EndUserIdentifier,
    /// The first `end_user` participant's `phone_number`, when it is E.164.
    EndUserPhoneNumber,
    /// `end_user.out_contact_id` (CRM contact id).
    EndUserOutContactId,
    /// `end_user.id`.
    EndUserId,
    /// A custom-data value by key (`custom_data_not_secured`, else `custom_data_secured`).
    CustomData(String),
}

impl IdentifierSource {
    /// The names accepted in a pipeline file, for error messages and docs.
    pub const NAMES: &'static str = "email, end_user.identifier_email, end_user.identifier, \
        end_user.phone_number, end_user.out_contact_id, end_user.id, custom_data.<key>";

    /// The value this source gives for `session`, if it has a valid one. Every source goes
    /// through here: a value with a control character (NUL, a newline...) or a bidi control
    /// (`derive::is_bidi_control`) is not a valid value of any source, whatever its own rule
    /// says, so the rule's next source is tried. Exchange would store it as the individual's
    /// identity as it is, where it would never match the same person's clean value and would
    /// display as something it is not.
    pub fn value<'a>(&self, session: &'a Session<'a>) -> Option<Cow<'a, str>> {
        self.own_value(session)
            .filter(|v| !v.chars().any(|c| c.is_control() || is_bidi_control(c)))
    }

    /// The value by this source's own rule alone.
    fn own_value<'a>(&self, session: &'a Session<'a>) -> Option<Cow<'a, str>> {
        let raw = session.raw;
        let end_user = raw.end_user.as_ref();
        match self {
            IdentifierSource::Email => text(&raw.email).and_then(email),
            IdentifierSource::EndUserIdentifierEmail => {
                end_user.and_then(|u| text(&u.identifier)).and_then(email)
            }
            IdentifierSource::EndUserIdentifier => end_user
                .and_then(|u| text(&u.identifier))
                .and_then(non_empty),
            IdentifierSource::EndUserPhoneNumber => raw
                .participants
                .iter()
                .find(|p| text(&p.participant_type) == Some("end_user"))
                .and_then(|p| text(&p.phone_number))
                .filter(|n| is_phone(n))
                .map(Cow::Borrowed),
            IdentifierSource::EndUserOutContactId => end_user
                .and_then(|u| text(&u.out_contact_id))
                .and_then(non_empty),
            IdentifierSource::EndUserId => end_user
                .and_then(|u| u.id)
                .map(|id| Cow::Owned(id.to_string())),
            IdentifierSource::CustomData(key) => {
                [&raw.custom_data_not_secured, &raw.custom_data_secured]
                    .into_iter()
                    .flatten()
                    .find_map(|map| {
                        map.iter()
                            .find(|(k, _)| k.as_str() == key)
                            .and_then(|(_, datum)| datum.value.as_ref())
                    })
                    .map(Scalar::to_text)
                    .and_then(|v| match v {
                        Cow::Borrowed(s) => non_empty(s),
                        Cow::Owned(s) if !s.trim().is_empty() => {
                            Some(Cow::Owned(s.trim().to_owned()))
                        }
                        Cow::Owned(_) => None,
                    })
            }
        }
    }
}

impl std::str::FromStr for IdentifierSource {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        Ok(match name {
            "email" => IdentifierSource::Email,
            "end_user.identifier_email" => IdentifierSource::EndUserIdentifierEmail,
            "end_user.identifier" => IdentifierSource::EndUserIdentifier,
            "end_user.phone_number" => IdentifierSource::EndUserPhoneNumber,
            "end_user.out_contact_id" => IdentifierSource::EndUserOutContactId,
            "end_user.id" => IdentifierSource::EndUserId,
            other => match other.strip_prefix("custom_data.") {
                Some(key) if !key.is_empty() => IdentifierSource::CustomData(key.to_owned()),
                _ => {
                    return Err(format!(
                        "unknown identifier source `{other}` (expected one of: {})",
                        Self::NAMES
                    ))
                }
            },
        })
    }
}

impl fmt::Display for IdentifierSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentifierSource::Email => f.write_str("email"),
            IdentifierSource::EndUserIdentifierEmail => f.write_str("end_user.identifier_email"),
            IdentifierSource::EndUserIdentifier => f.write_str("end_user.identifier"),
            IdentifierSource::EndUserPhoneNumber => f.write_str("end_user.phone_number"),
            IdentifierSource::EndUserOutContactId => f.write_str("end_user.out_contact_id"),
            IdentifierSource::EndUserId => f.write_str("end_user.id"),
            IdentifierSource::CustomData(key) => write!(f, "custom_data.{key}"),
        }
    }
}

impl<'de> Deserialize<'de> for IdentifierSource {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for IdentifierSource {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// One Exchange identifier: its name and where its value comes from, first valid source wins.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IdentifierRule {
    /// The identifier name sent to Exchange (lower case: `email`, `phone`...).
    pub name: String,
    /// Sources, tried in order.
    pub sources: Vec<IdentifierSource>,
}

impl IdentifierRule {
    /// The documented defaults: `email` from `email` then an e-mail `end_user.identifier`;
    /// `phone` from the end user's phone number.
    pub fn defaults() -> Vec<IdentifierRule> {
        vec![
            IdentifierRule {
                name: "email".to_owned(),
                sources: vec![
                    IdentifierSource::Email,
                    IdentifierSource::EndUserIdentifierEmail,
                ],
            },
            IdentifierRule {
                name: "phone".to_owned(),
                sources: vec![IdentifierSource::EndUserPhoneNumber],
            },
        ]
    }
}

/// An identifier of one session: `{"name": "email", "value": "..."}` in a request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identifier<'a> {
    /// The configured name.
    pub name: &'a str,
    /// The value.
    pub value: Cow<'a, str>,
}

/// The identifiers of `session` under `rules`, in rule order; empty when it has none.
pub fn identify<'a>(session: &'a Session<'a>, rules: &'a [IdentifierRule]) -> Vec<Identifier<'a>> {
    rules
        .iter()
        .filter_map(|rule| {
            rule.sources
                .iter()
                .find_map(|source| source.value(session))
                .map(|value| Identifier {
                    name: &rule.name,
                    value,
                })
        })
        .collect()
}

fn non_empty(s: &str) -> Option<Cow<'_, str>> {
    let s = s.trim();
    (!s.is_empty()).then_some(Cow::Borrowed(s))
}

/// `local@domain.tld` with no whitespace, lower-cased (borrowed when already lower case).
fn email(s: &str) -> Option<Cow<'_, str>> {
    let s = s.trim();
    let (local, domain) = s.split_once('@')?;
    let valid = !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace);
    if !valid {
        return None;
    }
    Some(if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    })
}

/// E.164: `+` and 7–15 digits.
fn is_phone(s: &str) -> bool {
    s.strip_prefix('+').is_some_and(|digits| {
        (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_validated_and_lower_cased() {
        assert_eq!(email("a@example.com").as_deref(), Some("a@example.com"));
        assert_eq!(
            email(" A.B@Example.COM ").as_deref(),
            Some("a.b@example.com")
        );
        for bad in [
            "",
            "a",
            "@example.com",
            "a@",
            "a@example",
            "a b@example.com",
            "a@@x.com",
            "a@x.com.",
        ] {
            assert_eq!(email(bad), None, "{bad}");
        }
    }

    #[test]
    fn phones_must_be_e164() {
        assert!(is_phone("+15550100100"));
        for bad in [
            "15550100100",
            "+1555",
            "<REDACTED>",
            "+1 555 0100",
            "+1234567890123456",
        ] {
            assert!(!is_phone(bad), "{bad}");
        }
    }

    /// The identifiers `rules` give for a call whose document has the keys in `extra`.
    fn identifiers_of(extra: &str, rules: &[IdentifierRule]) -> Vec<(String, String)> {
        let json = format!(
            r#"{{"id": 1, "call_type": "Voice Inbound", "created_at": "2026-01-01T00:00:00Z",
                 "participants": [{{"type": "end_user", "phone_number": "+15550100100"}}]{extra}}}"#
        );
        let parsed = crate::parse::parse(json.as_bytes()).unwrap();
        let session = crate::normalize::normalize(&parsed.session, "call-1.json").unwrap();
        identify(&session, rules)
            .into_iter()
            .map(|i| (i.name.to_owned(), i.value.into_owned()))
            .collect()
    }

    fn rule(sources: &[&str]) -> Vec<IdentifierRule> {
        vec![IdentifierRule {
            name: "who".to_owned(),
            sources: sources.iter().map(|s| s.parse().unwrap()).collect(),
        }]
    }

    fn who(value: &str) -> Vec<(String, String)> {
        vec![("who".to_owned(), value.to_owned())]
    }

    #[test]
    fn a_value_with_a_control_or_bidi_character_is_no_value_and_the_next_source_is_tried() {
        // An e-mail address by its own rule, but U+202E shows `moc.elpmaxe@x` as `x@example.com`.
        let email = ", \"email\": \"x\u{202e}moc.elpmaxe@x.com\"";
        assert_eq!(
            identifiers_of(email, &rule(&["email", "end_user.phone_number"])),
            who("+15550100100")
        );
        assert_eq!(
            identifiers_of(email, &IdentifierRule::defaults()),
            [("phone".to_owned(), "+15550100100".to_owned())]
        );
        // Every source, escaped or raw: NUL, newline, tab, DEL, a C1 control, LRM, an isolate.
        let bad = [
            r#"\u0000"#,
            r#"\n"#,
            r#"\t"#,
            "\u{7f}",
            "\u{85}",
            "\u{200e}",
            "\u{2066}",
            r#"\u202A"#,
        ];
        for c in bad {
            for (source, doc) in [
                (
                    "end_user.identifier",
                    format!(r#", "end_user": {{"identifier": "ab{c}cd"}}"#),
                ),
                (
                    "end_user.out_contact_id",
                    format!(r#", "end_user": {{"out_contact_id": "003{c}AAE"}}"#),
                ),
                (
                    "custom_data.CrmId",
                    format!(r#", "custom_data_not_secured": {{"CrmId": {{"value": "crm{c}1"}}}}"#),
                ),
            ] {
                assert_eq!(
                    identifiers_of(&doc, &rule(&[source, "end_user.phone_number"])),
                    who("+15550100100"),
                    "{source} with {c:?}"
                );
            }
        }
        // Clean values of the same sources are kept.
        let doc = r#", "email": "A@Example.com", "end_user": {"id": 9, "identifier": "ab cd", "out_contact_id": "003AAE"},
                      "custom_data_not_secured": {"CrmId": {"value": "crm-1"}}"#;
        for (source, value) in [
            ("email", "a@example.com"),
            ("end_user.identifier", "ab cd"),
            ("end_user.out_contact_id", "003AAE"),
            ("custom_data.CrmId", "crm-1"),
            ("end_user.id", "9"),
        ] {
            assert_eq!(
                identifiers_of(doc, &rule(&[source])),
                who(value),
                "{source}"
            );
        }
    }

    #[test]
    fn sources_parse_and_print_back() {
        for name in IdentifierSource::NAMES.split(", ") {
            let name = name.replace("<key>", "CrmId");
            let source: IdentifierSource = name.parse().unwrap();
            assert_eq!(source.to_string(), name);
        }
        let err = "phone".parse::<IdentifierSource>().unwrap_err();
        assert!(err.contains("unknown identifier source `phone`"), "{err}");
        assert!("custom_data.".parse::<IdentifierSource>().is_err());
    }
}
