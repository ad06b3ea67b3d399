//! How a setting's value is read from a flag, an environment variable or a pipeline file,
//! and written back in the docs: one implementation per value type.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::derive::IdentifierRule;
use crate::storage::Location;
use crate::write::{Codec, PartitionBy, TimestampUnit};

/// How a value is given on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `--flag` / `--no-flag`; `true`/`false` in a file or variable.
    Switch,
    /// `--flag VALUE`.
    One,
    /// `--flag VALUE` repeated (or positional values); an array in a file. Values given on
    /// the command line replace the file's whole list.
    Many,
}

/// A type a setting can hold.
pub trait SettingValue: Sized + Clone {
    /// How it is given on the command line.
    const SHAPE: Shape;

    /// From the command line or an environment variable (one value, or several for a list).
    fn from_args(values: &[OsString]) -> Result<Self, String>;

    /// From a pipeline file.
    fn from_toml(value: toml::Value) -> Result<Self, String>;

    /// As written on the command line or in a pipeline file (the docs' default column).
    fn show(&self) -> String;

    /// Paths in a pipeline file are relative to the file's folder.
    fn relative_to(self, _base: &Path) -> Self {
        self
    }
}

/// The one value of a single-valued flag, as text.
fn one(values: &[OsString]) -> Result<&str, String> {
    match values {
        [value] => value
            .to_str()
            .ok_or_else(|| format!("{value:?} is not valid UTF-8")),
        _ => Err(format!("expected one value, got {}", values.len())),
    }
}

/// Types read with `FromStr` from a flag or a variable. In a pipeline file the `text` ones
/// also read a TOML string with `FromStr`, so `"ZSTD"` means the same in both; numbers and
/// switches take only their own TOML type (`threads = "4"` is a typo somewhere).
macro_rules! parsed {
    ($shape:ident, text: $text:literal, $($ty:ty),* $(,)?) => {$(
        impl SettingValue for $ty {
            const SHAPE: Shape = Shape::$shape;
            fn from_args(values: &[OsString]) -> Result<Self, String> {
                let text = one(values)?;
                text.parse::<$ty>().map_err(|e| format!("invalid value `{text}`: {e}"))
            }
            fn from_toml(value: toml::Value) -> Result<Self, String> {
                match value {
                    toml::Value::String(text) if $text => {
                        text.parse::<$ty>().map_err(|e| e.to_string())
                    }
                    other => other.try_into::<$ty>().map_err(|e| e.to_string().trim().to_owned()),
                }
            }
            fn show(&self) -> String {
                self.to_string()
            }
        }
    )*};
}

parsed!(One, text: true, Codec, TimestampUnit, PartitionBy, String);
parsed!(One, text: false, usize, u64, i32, f64);
parsed!(Switch, text: false, bool);

impl SettingValue for PathBuf {
    const SHAPE: Shape = Shape::One;
    fn from_args(values: &[OsString]) -> Result<Self, String> {
        match values {
            // Paths need not be UTF-8.
            [value] => Ok(PathBuf::from(value)),
            _ => Err(format!("expected one path, got {}", values.len())),
        }
    }
    fn from_toml(value: toml::Value) -> Result<Self, String> {
        String::from_toml(value).map(PathBuf::from)
    }
    fn show(&self) -> String {
        self.to_string_lossy().into_owned()
    }
    fn relative_to(self, base: &Path) -> Self {
        if self.is_absolute() {
            self
        } else {
            base.join(self)
        }
    }
}

impl SettingValue for Location {
    const SHAPE: Shape = Shape::One;
    /// A local path (need not be UTF-8), `file:///path`, `gs://…` or `s3://…`; any other
    /// `scheme://` is refused here, at start, never taken for a folder named `scheme:`.
    fn from_args(values: &[OsString]) -> Result<Self, String> {
        let [value] = values else {
            return Err(format!("expected one path, got {}", values.len()));
        };
        match value.to_str() {
            Some(text) => Location::parse(text, "path"),
            None => Ok(Location::Local(PathBuf::from(value))),
        }
    }
    fn from_toml(value: toml::Value) -> Result<Self, String> {
        Location::parse(&String::from_toml(value)?, "path")
    }
    fn show(&self) -> String {
        self.to_string()
    }
    fn relative_to(self, base: &Path) -> Self {
        match self {
            Location::Local(path) => Location::Local(path.relative_to(base)),
            bucket => bucket,
        }
    }
}

impl SettingValue for IdentifierRule {
    const SHAPE: Shape = Shape::One;
    /// `NAME=SOURCE[,SOURCE…]`, e.g. `crm=custom_data.CrmId,end_user.out_contact_id`.
    fn from_args(values: &[OsString]) -> Result<Self, String> {
        let text = one(values)?;
        let (name, sources) = text
            .split_once('=')
            .ok_or_else(|| format!("`{text}` is not NAME=SOURCE[,SOURCE…]"))?;
        let sources = sources
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().parse())
            .collect::<Result<_, String>>()?;
        Ok(IdentifierRule {
            name: name.trim().to_owned(),
            sources,
        })
    }
    fn from_toml(value: toml::Value) -> Result<Self, String> {
        value
            .try_into::<IdentifierRule>()
            .map_err(|e| e.to_string().trim().to_owned())
    }
    fn show(&self) -> String {
        let sources: Vec<String> = self.sources.iter().map(|s| s.to_string()).collect();
        format!("{}={}", self.name, sources.join(","))
    }
}

impl<T: SettingValue> SettingValue for Vec<T> {
    const SHAPE: Shape = Shape::Many;
    fn from_args(values: &[OsString]) -> Result<Self, String> {
        values
            .iter()
            .map(|v| T::from_args(std::slice::from_ref(v)))
            .collect()
    }
    fn from_toml(value: toml::Value) -> Result<Self, String> {
        match value {
            toml::Value::Array(items) => items.into_iter().map(T::from_toml).collect(),
            other => Err(format!("expected an array, got {}", other.type_str())),
        }
    }
    fn show(&self) -> String {
        let items: Vec<String> = self.iter().map(T::show).collect();
        items.join(" ")
    }
    fn relative_to(self, base: &Path) -> Self {
        self.into_iter().map(|v| v.relative_to(base)).collect()
    }
}

impl<T: SettingValue> SettingValue for Option<T> {
    const SHAPE: Shape = T::SHAPE;
    fn from_args(values: &[OsString]) -> Result<Self, String> {
        T::from_args(values).map(Some)
    }
    fn from_toml(value: toml::Value) -> Result<Self, String> {
        T::from_toml(value).map(Some)
    }
    fn show(&self) -> String {
        self.as_ref().map_or_else(|| "none".to_owned(), T::show)
    }
    fn relative_to(self, base: &Path) -> Self {
        self.map(|v| v.relative_to(base))
    }
}
