//! Durations and decimal amounts, accepted as JSON numbers or numeric strings.

use crate::normalize::instant::SPAN_MICROS;
use crate::parse::Scalar;
use crate::shared::reject::{quote, FileError, RejectKind};

/// The longest duration accepted, in whole seconds: the time between the first and the last
/// instant the timestamp columns hold (`instant::MIN_MICROS` ..= `instant::MAX_MICROS`), about
/// 10,000 years. Anything longer cannot be the time between two instants of a session: it is
/// a corrupt value, and clamping it (to `i64::MAX`, as a saturating cast would) would write a
/// wrong number instead of rejecting the file.
pub const MAX_SECONDS: i64 = SPAN_MICROS / 1_000_000;

/// Interprets a duration in whole seconds: `245`, `"245"`, `245.0`. A fractional value is
/// rounded to the nearest second. Negative, non-numeric, non-finite values and values above
/// [`MAX_SECONDS`] are errors on `field`.
pub fn seconds(value: &Scalar<'_>, field: impl FnOnce() -> String) -> Result<i64, FileError> {
    if let Scalar::Int(v) = value {
        if (0..=MAX_SECONDS).contains(v) {
            return Ok(*v);
        }
    }
    // `decimal` refuses negative, non-finite and too large values (an integer bound, so the
    // rounded value stays within it too): the cast can neither wrap nor saturate.
    decimal(value, field).map(|v| v.round() as i64)
}

/// Interprets a non-negative decimal amount of seconds: `2.94`, `"0.0"`, `0`. Negative,
/// non-numeric, non-finite values and values above [`MAX_SECONDS`] are errors on `field`.
pub fn decimal(value: &Scalar<'_>, field: impl FnOnce() -> String) -> Result<f64, FileError> {
    let invalid = |field: String, detail: String| {
        Err(FileError::field(RejectKind::InvalidDuration, field, detail))
    };
    let number = match value {
        Scalar::Int(v) => *v as f64,
        Scalar::Float(v) => *v,
        Scalar::Text(text) => match text.as_str().trim().parse::<f64>() {
            Ok(v) if v.is_finite() => v,
            _ => {
                return invalid(
                    field(),
                    format!(
                        "expected a number of seconds, found the string {}",
                        quote(text.as_str())
                    ),
                )
            }
        },
        Scalar::Bool(v) => {
            return Err(FileError::field(
                RejectKind::InvalidType,
                field(),
                format!("expected a number of seconds, found the boolean {v}"),
            ))
        }
    };
    if !number.is_finite() {
        return invalid(
            field(),
            format!(
                "expected a finite number of seconds, found {}",
                shown(value)
            ),
        );
    }
    if number < 0.0 {
        return invalid(
            field(),
            format!("a duration cannot be negative, found {}", shown(value)),
        );
    }
    if number > MAX_SECONDS as f64 {
        return invalid(
            field(),
            format!(
                "a duration cannot exceed {MAX_SECONDS} seconds (the time the timestamp \
                 columns span), found {}",
                shown(value)
            ),
        );
    }
    Ok(number)
}

/// `value` as a message shows it: short whatever was written (a string is quoted and cut,
/// a huge number is shown in exponent form: `1e30`, not 31 digits).
fn shown(value: &Scalar<'_>) -> String {
    match value {
        Scalar::Int(v) => v.to_string(),
        Scalar::Float(v) if v.abs() < 1e16 => v.to_string(),
        Scalar::Float(v) => format!("{v:e}"),
        Scalar::Text(text) => quote(text.as_str()),
        Scalar::Bool(v) => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::Str;
    use std::borrow::Cow;

    fn text(s: &str) -> Scalar<'_> {
        Scalar::Text(Str(Cow::Borrowed(s)))
    }

    #[test]
    fn numbers_and_numeric_strings_are_seconds() {
        let f = || "d".to_owned();
        assert_eq!(seconds(&Scalar::Int(245), f).unwrap(), 245);
        assert_eq!(seconds(&text(" 245 "), f).unwrap(), 245);
        assert_eq!(seconds(&Scalar::Float(12.0), f).unwrap(), 12);
        assert_eq!(seconds(&text("2.6"), f).unwrap(), 3);
        assert_eq!(decimal(&text("0.0"), f).unwrap(), 0.0);
    }

    #[test]
    fn negative_and_non_numeric_values_name_the_field() {
        let err = seconds(&Scalar::Int(-5), || "call_duration".to_owned()).unwrap_err();
        assert_eq!(
            (err.kind, err.field.as_deref()),
            (RejectKind::InvalidDuration, Some("call_duration"))
        );
        let err = seconds(&text("abc"), || "x".to_owned()).unwrap_err();
        assert_eq!(err.kind, RejectKind::InvalidDuration);
        let err = seconds(&text("NaN"), || "x".to_owned()).unwrap_err();
        assert_eq!(err.kind, RejectKind::InvalidDuration);
        let err = seconds(&Scalar::Bool(true), || "x".to_owned()).unwrap_err();
        assert_eq!(err.kind, RejectKind::InvalidType);
    }

    #[test]
    fn the_bound_is_the_span_of_the_timestamp_columns() {
        use crate::normalize::instant::{MAX_MICROS, MIN_MICROS};
        assert_eq!(MAX_SECONDS, (MAX_MICROS - MIN_MICROS) / 1_000_000);
        assert_eq!(MAX_SECONDS, 315_537_897_599);
        let f = || "d".to_owned();
        assert_eq!(seconds(&Scalar::Int(MAX_SECONDS), f).unwrap(), MAX_SECONDS);
        assert_eq!(
            seconds(&Scalar::Float(MAX_SECONDS as f64), f).unwrap(),
            MAX_SECONDS
        );
        assert_eq!(seconds(&text("315537897598.6"), f).unwrap(), MAX_SECONDS);
        assert_eq!(
            decimal(&Scalar::Int(MAX_SECONDS), f).unwrap(),
            MAX_SECONDS as f64
        );
    }

    #[test]
    fn durations_above_the_bound_are_refused_not_clamped() {
        let cases = [
            (Scalar::Int(MAX_SECONDS + 1), "315537897600"),
            (Scalar::Int(i64::MAX), "9223372036854775807"),
            // serde_json gives `1e30` and `99999999999999999999` (above u64) as floats.
            (Scalar::Float(1e30), "1e30"),
            (Scalar::Float(99_999_999_999_999_999_999.0), "1e20"),
            // The bound is in whole seconds.
            (Scalar::Float(315_537_897_599.4), "315537897599.4"),
            (text("1e30"), "\"1e30\""),
            (text("99999999999999999999"), "\"99999999999999999999\""),
        ];
        for (value, shown) in cases {
            for err in [
                seconds(&value, || "handle_durations[0].call_duration".to_owned()).unwrap_err(),
                decimal(&value, || "handle_durations[0].call_duration".to_owned()).unwrap_err(),
            ] {
                assert_eq!(err.kind, RejectKind::InvalidDuration, "{value:?}: {err}");
                assert_eq!(
                    err.field.as_deref(),
                    Some("handle_durations[0].call_duration")
                );
                assert_eq!(
                    err.detail,
                    format!(
                        "a duration cannot exceed 315537897599 seconds (the time the \
                         timestamp columns span), found {shown}"
                    ),
                    "{value:?}"
                );
            }
        }
    }

    #[test]
    fn non_finite_values_are_refused() {
        for value in [
            Scalar::Float(f64::INFINITY),
            Scalar::Float(f64::NAN),
            Scalar::Float(f64::NEG_INFINITY),
            text("inf"),
            text("-infinity"),
            text("1e400"),
        ] {
            for err in [
                seconds(&value, || "x".to_owned()).unwrap_err(),
                decimal(&value, || "x".to_owned()).unwrap_err(),
            ] {
                assert_eq!(err.kind, RejectKind::InvalidDuration, "{value:?}: {err}");
            }
        }
        let err = decimal(&Scalar::Float(f64::INFINITY), || "x".to_owned()).unwrap_err();
        assert_eq!(err.detail, "expected a finite number of seconds, found inf");
    }

    #[test]
    fn a_long_string_is_not_repeated_whole() {
        let long = "9".repeat(300);
        let err = seconds(&text(&long), || "x".to_owned()).unwrap_err();
        assert_eq!(
            err.detail,
            format!(
                "a duration cannot exceed 315537897599 seconds (the time the timestamp \
                 columns span), found \"{}…\"",
                "9".repeat(39)
            )
        );
        let long = format!("abc{}", "z".repeat(400));
        let err = seconds(&text(&long), || "x".to_owned()).unwrap_err();
        assert!(err.detail.len() < 100, "{}", err.detail);
    }
}
