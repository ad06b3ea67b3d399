//! Stage 4 of the data flow: normalized sessions → Parquet tables in a staging folder,
//! published atomically.

pub mod columns;
pub mod exchange;
pub mod partition;
pub mod publish;
pub mod tables;
pub mod writer;

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};
pub use exchange::{ExchangeCounts, ExchangeWriter, Publishable};
pub use partition::{DayRuns, PartitionBy};
pub use publish::Staging;
pub use tables::{catalog, RejectsTable, SessionTables, TableBatch};
pub use writer::{Codec, ParquetSettings, TableWriter, TimestampUnit};

/// One writer per table and the Exchange request-body writer, all in the same staging folder.
pub struct Sink {
    writers: Vec<TableWriter>,
    exchange: ExchangeWriter,
}

/// What a closed [`Sink`] wrote.
#[derive(Debug)]
pub struct Written {
    /// Rows per table.
    pub rows: BTreeMap<&'static str, u64>,
    /// Exchange request bodies.
    pub exchange: ExchangeCounts,
    /// Date partition folders written (`date=YYYY-MM-DD`), over all tables, in order.
    pub partitions: Vec<String>,
}

impl Sink {
    /// Opens a writer for every table under `dir`; file names start with `file_prefix`
    /// (the run id), so files of two runs never collide.
    pub fn create(
        dir: &Path,
        file_prefix: &str,
        settings: &ParquetSettings,
        exchange: &crate::derive::ExchangeSettings,
    ) -> Result<Sink> {
        let schemas = table_schemas();
        let writers = catalog()
            .into_iter()
            .zip(schemas)
            .map(|((name, _, columns), schema)| {
                TableWriter::new(name, dir, file_prefix, schema, columns, settings)
            })
            .collect::<Result<Vec<_>>>()?;
        let exchange = ExchangeWriter::create(
            dir,
            file_prefix,
            &exchange.channel,
            exchange.max_events_per_body,
        )?;
        Ok(Sink { writers, exchange })
    }

    /// Queues publishable events for the Exchange request bodies.
    pub fn write_exchange(&mut self, sessions: &[Publishable]) -> Result<()> {
        sessions.iter().try_for_each(|s| self.exchange.write(s))
    }

    /// Writes pending rows to their table.
    pub fn write(&mut self, rows: &TableBatch) -> Result<()> {
        let writer = self
            .writers
            .iter_mut()
            .find(|w| w.table() == rows.table)
            .ok_or_else(|| Error::Config(format!("no table named {}", rows.table)))?;
        writer.write(&rows.batch, rows.days.as_ref())
    }

    /// Closes every table and writes the request bodies.
    pub fn close(self) -> Result<Written> {
        let days: std::collections::BTreeSet<_> =
            self.writers.iter().flat_map(|w| w.partitions()).collect();
        let rows = self
            .writers
            .into_iter()
            .map(|w| Ok((w.table(), w.close()?)))
            .collect::<Result<_>>()?;
        Ok(Written {
            rows,
            exchange: self.exchange.close()?,
            partitions: days.into_iter().map(|d| d.folder()).collect(),
        })
    }
}

/// Arrow schemas in [`catalog`] order.
pub fn table_schemas() -> Vec<arrow::datatypes::SchemaRef> {
    use tables::*;
    vec![
        SessionsTable::schema(),
        ParticipantsTable::schema(),
        TransfersTable::schema(),
        EscalationsTable::schema(),
        DeflectionsTable::schema(),
        SegmentsTable::schema(),
        DispositionsTable::schema(),
        RecordingsTable::schema(),
        RedactionsTable::schema(),
        OfferEventsTable::schema(),
        MediaTable::schema(),
        AttributesTable::schema(),
        AutomationRedirectionsTable::schema(),
        EventsTable::schema(),
        MilestonesTable::schema(),
        RejectsTable::schema(),
    ]
}
