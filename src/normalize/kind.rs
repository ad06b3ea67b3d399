//! Call or chat: decided from the document, falling back to the session type text and then
//! to the file name (`call-1418.json`, `chat-135.json`).

use crate::shared::reject::{FileError, RejectKind};
use crate::shared::vocab::SessionKind;

/// The top-level keys that say a document is a call or a chat: the one list of them. The
/// header pre-scan (`select`) matches keys with it; `RawSession::kind_evidence` reads the same
/// keys as typed fields, and a test holds the two together.
pub fn kind_of_key(key: &str) -> Option<SessionKind> {
    match key {
        "call_type" | "call_uuid" => Some(SessionKind::Call),
        "chat_type" | "chat_uuid" => Some(SessionKind::Chat),
        _ => None,
    }
}

/// What a document says about its own kind.
#[derive(Debug, Default, Clone, Copy)]
pub struct KindEvidence<'a> {
    /// `call_type` or `call_uuid` is present.
    pub call_keys: bool,
    /// `chat_type` or `chat_uuid` is present.
    pub chat_keys: bool,
    /// `session_type_v2`, else `session_type`, if present.
    pub session_type: Option<&'a str>,
}

impl KindEvidence<'_> {
    /// Decides the kind; `file_name` is the last resort.
    pub fn decide(&self, file_name: &str) -> Result<SessionKind, FileError> {
        match (self.call_keys, self.chat_keys) {
            (true, false) => return Ok(SessionKind::Call),
            (false, true) => return Ok(SessionKind::Chat),
            (true, true) => {
                return Err(FileError::file(
                    RejectKind::UnknownKind,
                    "the document has both call keys (call_type/call_uuid) and chat keys (chat_type/chat_uuid)",
                ))
            }
            (false, false) => {}
        }
        if let Some(kind) = self.session_type.and_then(kind_of_session_type) {
            return Ok(kind);
        }
        let name = file_name.to_ascii_lowercase();
        if name.starts_with("call-") || name.starts_with("call_") {
            Ok(SessionKind::Call)
        } else if name.starts_with("chat-") || name.starts_with("chat_") {
            Ok(SessionKind::Chat)
        } else {
            Err(FileError::file(
                RejectKind::UnknownKind,
                "cannot tell call from chat: no call_type/call_uuid/chat_type/chat_uuid key, no \
                 recognizable session_type, and the file name does not start with call- or chat-",
            ))
        }
    }
}

/// `Voice ...` session types are calls, `Messaging ...` ones chats.
fn kind_of_session_type(session_type: &str) -> Option<SessionKind> {
    let lower = session_type.trim_start().to_ascii_lowercase();
    if lower.starts_with("voice") {
        Some(SessionKind::Call)
    } else if lower.starts_with("messaging") {
        Some(SessionKind::Chat)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prescan_and_the_typed_document_read_the_same_kind_keys() {
        for key in [
            "call_type",
            "call_uuid",
            "chat_type",
            "chat_uuid",
            "session_type",
            "email",
        ] {
            let json = format!(r#"{{"id": 1, "{key}": "x"}}"#);
            let parsed = crate::parse::parse(json.as_bytes()).unwrap();
            let evidence = parsed.session.kind_evidence();
            let typed = match (evidence.call_keys, evidence.chat_keys) {
                (true, false) => Some(SessionKind::Call),
                (false, true) => Some(SessionKind::Chat),
                _ => None,
            };
            assert_eq!(kind_of_key(key), typed, "{key}");
        }
    }

    #[test]
    fn document_keys_win_over_the_file_name() {
        let call = KindEvidence {
            call_keys: true,
            ..Default::default()
        };
        assert_eq!(call.decide("chat-1.json").unwrap(), SessionKind::Call);
        let chat = KindEvidence {
            chat_keys: true,
            ..Default::default()
        };
        assert_eq!(chat.decide("metadata.json").unwrap(), SessionKind::Chat);
    }

    #[test]
    fn session_type_then_file_name_are_fallbacks() {
        let typed = KindEvidence {
            session_type: Some("Messaging (SMS)"),
            ..Default::default()
        };
        assert_eq!(typed.decide("x.json").unwrap(), SessionKind::Chat);
        let none = KindEvidence::default();
        assert_eq!(none.decide("chat-7004.json").unwrap(), SessionKind::Chat);
        assert_eq!(none.decide("CALL-1.json.gz").unwrap(), SessionKind::Call);
        assert_eq!(
            none.decide("metadata-5.json").unwrap_err().kind,
            RejectKind::UnknownKind
        );
    }

    #[test]
    fn contradicting_keys_are_refused() {
        let both = KindEvidence {
            call_keys: true,
            chat_keys: true,
            session_type: None,
        };
        assert_eq!(
            both.decide("call-1.json").unwrap_err().kind,
            RejectKind::UnknownKind
        );
    }
}
