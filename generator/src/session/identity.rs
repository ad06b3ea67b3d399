//! Who the end user is, and the ids that name things: phone numbers, CRM ids, conversation
//! ids. Withheld caller ids and web chats without contact details leave about one session in
//! eight without any identifier.

use super::layout::Layout;
use crate::json::{obj, string, V};
use crate::rng::Rng;
use crate::SessionKind;

/// Share of inbound calls whose caller withheld the number: `phone_number` is `null` or
/// `"anonymous"`.
pub(super) const WITHHELD_CALLER_ID: f64 = 0.15;

/// Whether a chat type is addressed by phone number (SMS, WhatsApp).
pub(super) fn provider_phone(chat_type: &str) -> bool {
    chat_type.contains("SMS") || chat_type.contains("WhatsApp")
}

const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
pub(crate) const HEX: &[u8] = b"0123456789abcdef";
const DIGITS: &[u8] = b"0123456789";

/// A CRM-style 18-character id with the given 3-character prefix and suffix.
pub(super) fn crm_id(rng: &mut Rng, prefix: &str, suffix: &str) -> String {
    let mut out = String::with_capacity(18);
    out.push_str(prefix);
    out.push_str("ak");
    rng.push_chars(&mut out, ALNUM, 10);
    out.push_str(suffix);
    out
}

pub(crate) fn phone(rng: &mut Rng) -> String {
    let mut out = String::from("+1555010");
    rng.push_chars(&mut out, DIGITS, 4);
    out
}

pub(super) fn end_user_object(rng: &mut Rng, l: &Layout) -> V {
    let identifier = match (l.kind, rng.below(3)) {
        (SessionKind::Chat, 0) => string(format!("customer.{}@example.com", l.end_user_id)),
        (SessionKind::Chat, 1) if l.type_names.0 == "Messaging (WhatsApp)" => string(format!(
            "whatsapp:{}",
            l.end_user_phone.as_deref().unwrap_or("+15550100000")
        )),
        _ => string(rng.uuid()),
    };
    obj! {
        "id" => V::Int(l.end_user_id),
        "identifier" => identifier,
        "out_contact_id" => if rng.chance(0.7) { string(crm_id(rng, "003", "AAE")) } else { V::Null },
    }
}

pub(super) fn conversation_id(rng: &mut Rng) -> String {
    let mut out = String::from("103");
    rng.push_chars(&mut out, ALNUM, 22);
    out
}
