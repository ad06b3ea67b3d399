//! Leaf value types that keep the JSON token as it was written.
//!
//! The export mixes representations for the same field (`"status": "finished"` or `8` or
//! `"8"`; `"call_duration": 245` or `"245"`; `"response_time_avg": "0.0"` or `0`), so the
//! source layer records *what was there* and leaves interpretation to `normalize`, which can
//! then name the field in its error. Strings borrow from the file buffer whenever the JSON text
//! has no escapes, so a typical document deserializes without a heap allocation per string.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A JSON string, borrowed from the input when it contains no escape sequences.
///
/// `Option<Cow<str>>` never borrows under serde's derive, which is why this newtype exists.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Str<'a>(pub Cow<'a, str>);

impl<'a> Str<'a> {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Str<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl<'de> Visitor<'de> for StrVisitor {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(StrVisitor)
    }
}

/// Any JSON scalar, kept as written: used where the platform is inconsistent about types
/// (status codes, durations, response times) or where the type is undocumented
/// (`adapter_fail_code`, SIP header and virtual-agent parameter values).
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    /// A JSON integer that fits in `i64`.
    Int(i64),
    /// Any other JSON number.
    Float(f64),
    /// A JSON string.
    Text(Str<'a>),
    /// A JSON boolean.
    Bool(bool),
}

impl Scalar<'_> {
    /// The value rendered as text, as it would appear in a report (`8`, `0.5`, `finished`).
    pub fn to_text(&self) -> Cow<'_, str> {
        match self {
            Scalar::Int(v) => Cow::Owned(v.to_string()),
            Scalar::Float(v) => Cow::Owned(v.to_string()),
            Scalar::Text(s) => Cow::Borrowed(s.as_str()),
            Scalar::Bool(v) => Cow::Borrowed(if *v { "true" } else { "false" }),
        }
    }

    /// The JSON type name, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Scalar::Int(_) | Scalar::Float(_) => "number",
            Scalar::Text(_) => "string",
            Scalar::Bool(_) => "boolean",
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, string or boolean")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Scalar::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(i64::try_from(v).map_or(Scalar::Float(v as f64), Scalar::Int))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Scalar::Float(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Str(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Str(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Str(Cow::Owned(v))))
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// A value whose shape is unknown or not used (`wait_time_sms[]` items, `teams[]`,
/// `pop_settings`): consumed and validated as JSON, but not kept.
///
/// Unlike `serde::de::IgnoredAny` it goes through `deserialize_any`, so the unknown-field
/// tracker does not mistake these *documented* fields for unknown ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Opaque;

impl<'de> Deserialize<'de> for Opaque {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OpaqueVisitor;
        impl<'de> Visitor<'de> for OpaqueVisitor {
            type Value = Opaque;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Opaque, E> {
                Ok(Opaque)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Opaque, E> {
                Ok(Opaque)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Opaque, E> {
                Ok(Opaque)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Opaque, E> {
                Ok(Opaque)
            }
            fn visit_str<E>(self, _: &str) -> Result<Opaque, E> {
                Ok(Opaque)
            }
            fn visit_none<E>(self) -> Result<Opaque, E> {
                Ok(Opaque)
            }
            fn visit_unit<E>(self) -> Result<Opaque, E> {
                Ok(Opaque)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Opaque, D::Error> {
                Opaque::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Opaque, A::Error> {
                while seq.next_element::<Opaque>()?.is_some() {}
                Ok(Opaque)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Opaque, A::Error> {
                while map.next_entry::<Opaque, Opaque>()?.is_some() {}
                Ok(Opaque)
            }
        }
        deserializer.deserialize_any(OpaqueVisitor)
    }
}

/// Deserializes `null` (or an absent key, with `#[serde(default)]`) as an empty list.
///
/// The platform writes `[]` for empty arrays, but a consumer must not reject a whole session
/// because one producer wrote `null` instead.
pub fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// Deserializes an optional JSON object into a map, refusing a key it has already seen.
///
/// A `BTreeMap` keeps the last of two equal keys, so `{"a": 1, "a": 2}` would silently lose a
/// value. serde's derive refuses that in a struct; this gives maps the same error, in the same
/// words (duplicate field, then the key in backticks), so `parse::json_error` names the key
/// below the map's path (`custom_data_not_secured.a`). Use with `#[serde(default)]`: absent
/// and `null` are `None`. The map keeps key order, the order of the `attributes` rows.
pub fn unique_keys<'de, D, K, V>(deserializer: D) -> Result<Option<BTreeMap<K, V>>, D::Error>
where
    D: Deserializer<'de>,
    K: Deserialize<'de> + Ord + fmt::Display,
    V: Deserialize<'de>,
{
    struct UniqueKeys<K, V>(BTreeMap<K, V>);

    impl<'de, K, V> Deserialize<'de> for UniqueKeys<K, V>
    where
        K: Deserialize<'de> + Ord + fmt::Display,
        V: Deserialize<'de>,
    {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct MapVisitor<K, V>(PhantomData<(K, V)>);
            impl<'de, K, V> Visitor<'de> for MapVisitor<K, V>
            where
                K: Deserialize<'de> + Ord + fmt::Display,
                V: Deserialize<'de>,
            {
                type Value = UniqueKeys<K, V>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a map")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                    let mut out = BTreeMap::new();
                    while let Some(key) = map.next_key::<K>()? {
                        // Refused at the key, before its value, as serde's derive does.
                        if out.contains_key(&key) {
                            return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
                        }
                        let value = map.next_value()?;
                        out.insert(key, value);
                    }
                    Ok(UniqueKeys(out))
                }
            }
            deserializer.deserialize_map(MapVisitor(PhantomData))
        }
    }

    Ok(Option::<UniqueKeys<K, V>>::deserialize(deserializer)?.map(|m| m.0))
}

/// Distinguishes an absent key (`None`) from an explicit `null` (`Some(None)`).
///
/// `agent_info` tells a virtual agent from a human by the *presence* of `va_alias`, which is
/// `null` in real exports.
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Some(Option::<T>::deserialize(deserializer)?))
}

/// The text of an optional string field.
pub fn text<'a>(value: &'a Option<Str<'_>>) -> Option<&'a str> {
    value.as_ref().map(Str::as_str)
}
