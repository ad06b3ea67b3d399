//! Durations and decimal amounts, accepted as JSON numbers or numeric strings.

use crate::reject::{FileError, RejectKind};
use crate::source::Scalar;

/// Interprets a duration in whole seconds: `245`, `"245"`, `245.0`. A fractional value is
/// rounded to the nearest second. Negative or non-numeric values are errors on `field`.
pub fn seconds(value: &Scalar<'_>, field: impl FnOnce() -> String) -> Result<i64, FileError> {
    if let Scalar::Int(v) = value {
        if *v >= 0 {
            return Ok(*v);
        }
    }
    // `decimal` refuses negative and non-finite values, so the cast cannot wrap.
    decimal(value, field).map(|v| v.round() as i64)
}

/// Interprets a non-negative decimal amount of seconds: `2.94`, `"0.0"`, `0`.
pub fn decimal(value: &Scalar<'_>, field: impl FnOnce() -> String) -> Result<f64, FileError> {
    let number = match value {
        Scalar::Int(v) => *v as f64,
        Scalar::Float(v) => *v,
        Scalar::Text(text) => match text.as_str().trim().parse::<f64>() {
            Ok(v) if v.is_finite() => v,
            _ => {
                return Err(FileError::field(
                    RejectKind::InvalidDuration,
                    field(),
                    format!(
                        "expected a number of seconds, found the string {:?}",
                        text.as_str()
                    ),
                ))
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
    if number < 0.0 {
        return Err(FileError::field(
            RejectKind::InvalidDuration,
            field(),
            format!("a duration cannot be negative, found {}", value.to_text()),
        ));
    }
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Str;
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
}
