//! Key-value data that becomes the `attributes` table: SIP headers and custom data.

use super::layout::Layout;
use crate::json::{obj, s, string, V};
use crate::rng::Rng;
use crate::SessionKind;

/// SIP headers of an inbound call's carrier.
pub(super) fn sip_headers(rng: &mut Rng) -> V {
    let mut pairs = vec![
        (
            "P-Attestation-Indicator",
            s(rng.pick(&["A", "A", "A", "B", "C"])),
        ),
        ("P-Origination-ID", string(rng.uuid())),
    ];
    if rng.chance(0.3) {
        pairs.push((
            "X-Customer-Tier",
            s(rng.pick(&["gold", "silver", "bronze"])),
        ));
    }
    V::Obj(pairs)
}

/// Custom data the tenant attached: account data (`secured`) or order and app data.
pub(super) fn custom_data(rng: &mut Rng, l: &Layout, secured: bool) -> V {
    let mut pairs = Vec::new();
    let entry = |label: &'static str, value: V| obj! { "label" => s(label), "value" => value };
    if secured {
        pairs.push((
            "AccountNumber",
            entry(
                "Account Number",
                string(format!("AC-{}", rng.range(100_000, 999_999))),
            ),
        ));
        if rng.chance(0.5) {
            pairs.push((
                "AccountTier",
                entry("Account Tier", s(rng.pick(&["gold", "silver", "bronze"]))),
            ));
        }
    } else {
        if rng.chance(0.6) {
            pairs.push((
                "OrderNumber",
                entry(
                    "Order Number",
                    string(format!("ORD-{}", rng.range(10_000, 99_999))),
                ),
            ));
        }
        if rng.chance(0.4) {
            pairs.push(("CartItems", entry("Cart Items", V::Int(rng.range(1, 9)))));
        }
        if rng.chance(0.4) {
            pairs.push((
                "Platform",
                entry(
                    "Platform",
                    s(if l.kind == SessionKind::Chat {
                        rng.pick(&["web", "ios", "android"])
                    } else {
                        rng.pick(&["ivr", "ios", "android"])
                    }),
                ),
            ));
        }
        pairs.push(("CustomAppID", entry("CustomAppID", s("ccaip-example-prod"))));
    }
    V::Obj(pairs)
}
