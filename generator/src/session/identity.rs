//! Who the end user is, and the ids that name things: phone numbers, CRM ids, conversation
//! and channel ids. Withheld caller ids and web chats without contact details leave about one
//! session in eight without any identifier.

use super::tenant::Route;
use crate::json::{obj, string, V};
use crate::rng::Rng;
use crate::SessionKind;

/// Share of inbound calls whose caller withheld the number: `phone_number` is `null` or
/// `"anonymous"`.
const WITHHELD_CALLER_ID: f64 = 0.15;

const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const HEX: &[u8] = b"0123456789abcdef";
const DIGITS: &[u8] = b"0123456789";

/// The end user's `phone_number`. Inbound callers may withhold their number (no phone
/// identifier); calls the platform places, SMS and WhatsApp always have one; web and app
/// chats rarely do.
pub(super) fn end_user_phone(
    rng: &mut Rng,
    kind: SessionKind,
    route: Route,
    type_name: &str,
) -> Option<String> {
    let is_call = kind == SessionKind::Call;
    match route {
        Route::Ivr | Route::Inbound if is_call && rng.chance(WITHHELD_CALLER_ID) => {
            rng.chance(0.3).then(|| "anonymous".to_owned())
        }
        _ if is_call || provider_phone(type_name) || rng.chance(0.1) => Some(phone(rng)),
        _ => None,
    }
}

/// Whether a chat type is addressed by phone number (SMS, WhatsApp).
fn provider_phone(chat_type: &str) -> bool {
    chat_type.contains("SMS") || chat_type.contains("WhatsApp")
}

/// A CRM-style 18-character id with the given 3-character prefix and suffix.
pub(super) fn crm_id(rng: &mut Rng, prefix: &str, suffix: &str) -> String {
    let mut out = String::with_capacity(18);
    out.push_str(prefix);
    out.push_str("ak");
    rng.push_chars(&mut out, ALNUM, 10);
    out.push_str(suffix);
    out
}

/// A number in the 555-01xx range reserved for fiction.
fn phone(rng: &mut Rng) -> String {
    let mut out = String::from("+1555010");
    rng.push_chars(&mut out, DIGITS, 4);
    out
}

/// The `end_user` object: its identifier is an e-mail address, a WhatsApp address or a UUID.
pub(super) fn end_user_object(
    rng: &mut Rng,
    kind: SessionKind,
    end_user_id: i64,
    type_name: &str,
    phone: Option<&str>,
) -> V {
    let identifier = match (kind, rng.below(3)) {
        (SessionKind::Chat, 0) => string(format!("customer.{end_user_id}@example.com")),
        (SessionKind::Chat, 1) if type_name == "Messaging (WhatsApp)" => {
            string(format!("whatsapp:{}", phone.unwrap_or("+15550100000")))
        }
        _ => string(rng.uuid()),
    };
    obj! {
        "id" => V::Int(end_user_id),
        "identifier" => identifier,
        "out_contact_id" => if rng.chance(0.7) { string(crm_id(rng, "003", "AAE")) } else { V::Null },
    }
}

/// A virtual agent's `conversation_id`.
pub(super) fn conversation_id(rng: &mut Rng) -> String {
    let mut out = String::from("103");
    rng.push_chars(&mut out, ALNUM, 22);
    out
}

/// A chat's `provider_channel_id`: `CH` and 32 hex digits.
pub(super) fn provider_channel_id(rng: &mut Rng) -> String {
    let mut out = String::from("CH");
    rng.push_chars(&mut out, HEX, 32);
    out
}
