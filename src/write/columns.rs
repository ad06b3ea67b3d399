//! The column vocabulary every table is declared in, and the `table!` macro that turns a
//! declaration into a schema, a batch builder and its documentation in one place.
//!
//! One declaration per table means the Arrow type, the nullability, the description shown by
//! `session-etl schema` and the README, and the expression that fills the column can never
//! drift apart.

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{
    ArrayBuilder, BinaryBuilder, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder,
    StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, TimeUnit};

use crate::normalize::Instant;
use crate::shared::vocab::Day;

/// An output column type: its Arrow type and builder.
pub trait ColumnType {
    /// The Arrow builder that accumulates the column.
    type Builder: ArrayBuilder;
    /// The Arrow type written to Parquet.
    fn data_type() -> DataType;
    /// A builder with room for `capacity` rows.
    fn builder(capacity: usize) -> Self::Builder;
    /// A short name for docs: `int64`, `string`, `timestamp[us, UTC]`...
    const DOC_NAME: &'static str;
}

/// Signed 64-bit integer (ids, counts, seconds).
pub struct I64;
/// 64-bit float (fractional seconds).
pub struct F64;
/// Boolean.
pub struct Bool;
/// UTF-8 text.
pub struct Text;
/// UTC instant, microsecond precision.
pub struct Timestamp;
/// Raw bytes (file paths, which need not be UTF-8).
pub struct Bytes;
/// A calendar day (days since 1970-01-01).
pub struct Date;

/// The time zone written into timestamp columns: instants are always UTC.
pub const UTC: &str = "UTC";

impl ColumnType for I64 {
    type Builder = Int64Builder;
    const DOC_NAME: &'static str = "int64";
    fn data_type() -> DataType {
        DataType::Int64
    }
    fn builder(capacity: usize) -> Int64Builder {
        Int64Builder::with_capacity(capacity)
    }
}

impl ColumnType for F64 {
    type Builder = Float64Builder;
    const DOC_NAME: &'static str = "float64";
    fn data_type() -> DataType {
        DataType::Float64
    }
    fn builder(capacity: usize) -> Float64Builder {
        Float64Builder::with_capacity(capacity)
    }
}

impl ColumnType for Bool {
    type Builder = BooleanBuilder;
    const DOC_NAME: &'static str = "boolean";
    fn data_type() -> DataType {
        DataType::Boolean
    }
    fn builder(capacity: usize) -> BooleanBuilder {
        BooleanBuilder::with_capacity(capacity)
    }
}

impl ColumnType for Text {
    type Builder = StringBuilder;
    const DOC_NAME: &'static str = "string";
    fn data_type() -> DataType {
        DataType::Utf8
    }
    fn builder(capacity: usize) -> StringBuilder {
        StringBuilder::with_capacity(capacity, capacity * 16)
    }
}

impl ColumnType for Timestamp {
    type Builder = TimestampMicrosecondBuilder;
    const DOC_NAME: &'static str = "timestamp[us, UTC]";
    fn data_type() -> DataType {
        DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from(UTC)))
    }
    fn builder(capacity: usize) -> TimestampMicrosecondBuilder {
        TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone(UTC)
    }
}

impl ColumnType for Bytes {
    type Builder = BinaryBuilder;
    const DOC_NAME: &'static str = "binary";
    fn data_type() -> DataType {
        DataType::Binary
    }
    fn builder(capacity: usize) -> BinaryBuilder {
        BinaryBuilder::with_capacity(capacity, capacity * 64)
    }
}

impl ColumnType for Date {
    type Builder = Date32Builder;
    const DOC_NAME: &'static str = "date";
    fn data_type() -> DataType {
        DataType::Date32
    }
    fn builder(capacity: usize) -> Date32Builder {
        Date32Builder::with_capacity(capacity)
    }
}

/// A value that can be appended to a column of type `T`.
pub trait Cell<T: ColumnType> {
    /// Appends `self` (or a null) to the builder.
    fn append_to(self, builder: &mut T::Builder);
}

impl Cell<I64> for i64 {
    fn append_to(self, b: &mut Int64Builder) {
        b.append_value(self)
    }
}
impl Cell<I64> for Option<i64> {
    fn append_to(self, b: &mut Int64Builder) {
        b.append_option(self)
    }
}
impl Cell<I64> for usize {
    fn append_to(self, b: &mut Int64Builder) {
        b.append_value(i64::try_from(self).unwrap_or(i64::MAX))
    }
}
impl Cell<F64> for Option<f64> {
    fn append_to(self, b: &mut Float64Builder) {
        b.append_option(self)
    }
}
impl Cell<Bool> for bool {
    fn append_to(self, b: &mut BooleanBuilder) {
        b.append_value(self)
    }
}
impl Cell<Bool> for Option<bool> {
    fn append_to(self, b: &mut BooleanBuilder) {
        b.append_option(self)
    }
}
impl Cell<Text> for &str {
    fn append_to(self, b: &mut StringBuilder) {
        b.append_value(self)
    }
}
impl Cell<Text> for Option<&str> {
    fn append_to(self, b: &mut StringBuilder) {
        b.append_option(self)
    }
}
impl Cell<Text> for Option<&Cow<'_, str>> {
    fn append_to(self, b: &mut StringBuilder) {
        b.append_option(self.map(|c| c.as_ref()))
    }
}
impl Cell<Timestamp> for Instant {
    fn append_to(self, b: &mut TimestampMicrosecondBuilder) {
        b.append_value(self.micros)
    }
}
impl Cell<Timestamp> for Option<Instant> {
    fn append_to(self, b: &mut TimestampMicrosecondBuilder) {
        b.append_option(self.map(|t| t.micros))
    }
}

impl Cell<Bytes> for &[u8] {
    fn append_to(self, b: &mut BinaryBuilder) {
        b.append_value(self)
    }
}
impl Cell<Date> for Option<Day> {
    fn append_to(self, b: &mut Date32Builder) {
        b.append_option(self.map(Day::days_since_epoch))
    }
}

/// Documentation of one column, as declared.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct ColumnDoc {
    /// Column name.
    pub name: &'static str,
    /// Type, in words (`int64`, `string`, `timestamp[us, UTC]`...).
    #[serde(rename = "type")]
    pub type_name: &'static str,
    /// False for columns that are never null.
    pub nullable: bool,
    /// Dictionary-encoded in Parquet (low-cardinality text).
    pub dictionary: bool,
    /// One line about what the column holds.
    pub description: &'static str,
}

/// Evaluates to true if `$flag` is among the flags.
#[macro_export]
#[doc(hidden)]
macro_rules! __has_flag {
    ($want:ident;) => { false };
    (required; required $(, $rest:ident)*) => { true };
    (dict; dict $(, $rest:ident)*) => { true };
    ($want:ident; $other:ident $(, $rest:ident)*) => { $crate::__has_flag!($want; $($rest),*) };
}

/// Declares a table: name, the arguments its `append` takes, and its columns.
///
/// ```text
/// table! {
///     /// doc
///     pub struct ParticipantsTable("participants", s: &Session<'_>, p: &Participant<'_>) {
///         session_id: I64, "The session's id.", required => s.id;
///     }
/// }
/// ```
#[macro_export]
#[doc(hidden)]
macro_rules! table {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident($table:literal $(, $arg:ident : $argty:ty)*) {
            $( $col:ident : $ty:ident, $desc:literal $(, $flag:ident)* => $value:expr; )*
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            rows: usize,
            $( $col: <$crate::write::columns::$ty as $crate::write::columns::ColumnType>::Builder, )*
        }

        impl $name {
            /// The table (and folder) name.
            pub const NAME: &'static str = $table;

            /// Every column, in order, with its documentation.
            pub const COLUMNS: &'static [$crate::write::columns::ColumnDoc] = &[
                $( $crate::write::columns::ColumnDoc {
                    name: stringify!($col),
                    type_name: <$crate::write::columns::$ty as $crate::write::columns::ColumnType>::DOC_NAME,
                    nullable: !$crate::__has_flag!(required; $($flag),*),
                    dictionary: $crate::__has_flag!(dict; $($flag),*),
                    description: $desc,
                }, )*
            ];

            /// An empty builder with room for `capacity` rows.
            pub fn with_capacity(capacity: usize) -> Self {
                $name {
                    rows: 0,
                    $( $col: <$crate::write::columns::$ty as $crate::write::columns::ColumnType>::builder(capacity), )*
                }
            }

            /// The Arrow schema (built once), with each column's description as field metadata.
            pub fn schema() -> arrow::datatypes::SchemaRef {
                static SCHEMA: std::sync::OnceLock<arrow::datatypes::SchemaRef> = std::sync::OnceLock::new();
                SCHEMA
                    .get_or_init(|| {
                        let types = [$( <$crate::write::columns::$ty as $crate::write::columns::ColumnType>::data_type(), )*];
                        $crate::write::columns::schema_of(Self::COLUMNS, types.into_iter())
                    })
                    .clone()
            }

            /// Appends one row.
            #[allow(clippy::redundant_closure_call)]
            pub fn append(&mut self $(, $arg: $argty)*) {
                $( $crate::write::columns::Cell::<$crate::write::columns::$ty>::append_to($value, &mut self.$col); )*
                self.rows += 1;
            }

            /// Rows appended since the last `finish`.
            pub fn len(&self) -> usize {
                self.rows
            }

            /// True when no row is pending.
            pub fn is_empty(&self) -> bool {
                self.rows == 0
            }

            /// Takes the pending rows as a record batch; the builder is empty afterwards.
            pub fn finish(&mut self) -> Result<arrow::record_batch::RecordBatch, arrow::error::ArrowError> {
                use arrow::array::ArrayBuilder;
                self.rows = 0;
                arrow::record_batch::RecordBatch::try_new(Self::schema(), vec![$( ArrayBuilder::finish(&mut self.$col), )*])
            }
        }
    };
}

/// Builds an Arrow schema from column docs and types (used by `table!`).
pub fn schema_of(
    columns: &[ColumnDoc],
    types: impl Iterator<Item = DataType>,
) -> arrow::datatypes::SchemaRef {
    use arrow::datatypes::{Field, Schema};
    let fields: Vec<Field> = columns
        .iter()
        .zip(types)
        .map(|(doc, data_type)| {
            Field::new(doc.name, data_type, doc.nullable).with_metadata(
                std::collections::HashMap::from([(
                    "description".to_owned(),
                    doc.description.to_owned(),
                )]),
            )
        })
        .collect();
    Arc::new(Schema::new(fields))
}
