//! Stage 5 of the data flow: a normalized [`Session`] → what is *derived* from it: Acoustic
//! Exchange events (with the identifiers of the individual they are about) and the lifecycle
//! timeline (milestones).
//!
//! Derivation reads the normalized session: its typed instants, durations and segments, and,
//! through `session.raw`, the parsed values that need no interpretation (menu paths,
//! dispositions, deflection names). It produces plain records; turning them into Parquet rows
//! and `POST v1/event` bodies is the job of `write`.

pub mod catalog;
pub mod exchange;
pub mod identifiers;
pub mod milestones;

pub use catalog::{Attr, DataType, EventCode};
pub use exchange::{Attributes, ExchangeEvent};
pub use identifiers::{identify, Identifier, IdentifierRule, IdentifierSource};
pub use milestones::Milestone;

use crate::normalize::Session;

/// How events are addressed and batched (the `[exchange]` settings).
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeSettings {
    /// The envelope's `channel`.
    pub channel: String,
    /// Events per `POST v1/event` body.
    pub max_events_per_body: usize,
    /// About this many bytes per body at most (an event larger alone gets its own body).
    pub max_body_bytes: usize,
    /// Identifier names and their sources, in order.
    pub identifiers: Vec<IdentifierRule>,
}

impl ExchangeSettings {
    /// Checks what a range cannot: a channel, names, and no duplicate names.
    pub fn validate(&self) -> Result<(), String> {
        if self.channel.trim().is_empty() {
            return Err("exchange.channel must not be empty".into());
        }
        if self.identifiers.is_empty() {
            return Err(
                "exchange.identifiers must name at least one identifier: without one no \
                 event can be published (use `derive = false` to skip events altogether)"
                    .into(),
            );
        }
        for (i, rule) in self.identifiers.iter().enumerate() {
            if rule.name.is_empty() || rule.name != rule.name.to_lowercase() {
                return Err(format!(
                    "exchange.identifiers[{i}].name `{}` must be a non-empty lower-case name",
                    rule.name
                ));
            }
            if rule.sources.is_empty() {
                return Err(format!(
                    "exchange.identifiers[{i}] (`{}`) has no sources",
                    rule.name
                ));
            }
            if self.identifiers[..i].iter().any(|r| r.name == rule.name) {
                return Err(format!(
                    "exchange.identifiers: `{}` is listed twice",
                    rule.name
                ));
            }
        }
        Ok(())
    }
}

/// Everything derived from one session.
#[derive(Debug, Default)]
pub struct Derived<'a> {
    /// Exchange events, by code in catalogue order.
    pub events: Vec<ExchangeEvent<'a>>,
    /// The individual the events are about; empty = not addressable.
    pub identifiers: Vec<Identifier<'a>>,
    /// The lifecycle timeline, in time order.
    pub milestones: Vec<Milestone<'a>>,
}

impl Derived<'_> {
    /// Events can be published only for a session with at least one identifier.
    pub fn addressable(&self) -> bool {
        !self.identifiers.is_empty()
    }
}

/// A Unicode bidirectional formatting character: ALM (U+061C), LRM and RLM (U+200E, U+200F),
/// the embeddings and overrides U+202A–U+202E and the isolates U+2066–U+2069. Invisible, they
/// reorder the text around them (`moc.elpmaxe@…` shown as `…@example.com`), so a value
/// carrying one is not shown or sent as what it reads like.
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Text an event attribute may carry: no control character other than tab and newline (a
/// disposition note has lines), no bidi control.
pub fn is_clean_text(text: &str) -> bool {
    !text
        .chars()
        .any(|c| (c.is_control() && !matches!(c, '\t' | '\n')) || is_bidi_control(c))
}

/// Derives events, identifiers and milestones from one session.
pub fn derive<'a>(session: &'a Session<'a>, settings: &'a ExchangeSettings) -> Derived<'a> {
    Derived {
        events: exchange::events(session),
        identifiers: identify(session, &settings.identifiers),
        milestones: milestones::milestones(session),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_controls_are_the_listed_ones() {
        let bidi: Vec<u32> = (0..=0x10FFFF)
            .filter_map(char::from_u32)
            .filter(|&c| is_bidi_control(c))
            .map(u32::from)
            .collect();
        assert_eq!(
            bidi,
            [
                0x061C, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067,
                0x2068, 0x2069
            ]
        );
    }

    #[test]
    fn clean_text_allows_tab_and_newline_only() {
        for ok in [
            "",
            "Support/Returns",
            "line one\nline two",
            "a\tb",
            "café 東京 🙂",
        ] {
            assert!(is_clean_text(ok), "{ok:?}");
        }
        for bad in [
            "nul\0",
            "cr\r",
            "esc\u{1b}[31m",
            "del\u{7f}",
            "c1\u{85}",
            "rlo\u{202e}moc",
            "lrm\u{200e}",
            "alm\u{61c}",
            "isolate\u{2067}",
        ] {
            assert!(!is_clean_text(bad), "{bad:?}");
        }
    }
}
