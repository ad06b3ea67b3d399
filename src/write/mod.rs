//! Stage 6 of the data flow: normalized sessions → Parquet tables and Exchange request bodies
//! in a staging folder, which `publish` then swaps into place.

pub mod columns;
pub mod exchange;
pub mod outbox;
pub mod partition;
pub mod tables;
pub mod writer;

use std::collections::BTreeMap;
use std::path::Path;

pub use crate::publish::Staging;
use crate::shared::error::Result;
use crate::shared::vocab::Day;
pub use exchange::{ExchangeCounts, ExchangeWriter, Publishable};
pub use partition::{DayRuns, PartitionBy};
pub use tables::{catalog, RejectsTable, SessionTables, SessionsTable, TableBatch, TableId};
pub use writer::{Codec, ParquetSettings, TableWriter, TimestampUnit};

/// One writer per table and the Exchange request-body writer, all in the same staging folder.
pub struct Sink {
    /// One per table, in [`TableId`] order.
    writers: Vec<TableWriter>,
    exchange: ExchangeWriter,
    /// Memory budget for rows waiting for their row group, over all tables.
    buffer_bytes: usize,
    /// Counts writes, to find the least recently written partition over all tables.
    clock: u64,
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
        let writers = TableId::ALL
            .iter()
            .map(|t| {
                TableWriter::new(
                    t.name(),
                    dir,
                    file_prefix,
                    t.schema(),
                    t.columns(),
                    settings,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let exchange = ExchangeWriter::create(
            dir,
            file_prefix,
            &exchange.channel,
            exchange.max_events_per_body,
            exchange.max_body_bytes,
        )?;
        Ok(Sink {
            writers,
            exchange,
            buffer_bytes: settings.buffer_bytes,
            clock: 0,
        })
    }

    /// Queues publishable events for the Exchange request bodies.
    pub fn write_exchange(&mut self, sessions: &[Publishable]) -> Result<()> {
        sessions.iter().try_for_each(|s| self.exchange.write(s))
    }

    /// Builds the Exchange outbox on the previous output's (`exchange/` folder `previous`):
    /// see [`ExchangeWriter::carry_outbox`].
    pub fn carry_outbox(&mut self, previous: &Path) -> Result<exchange::OutboxCarry> {
        self.exchange.carry_outbox(previous)
    }

    /// Writes pending rows to their table.
    pub fn write(&mut self, rows: &TableBatch) -> Result<()> {
        self.clock += 1;
        self.writers[rows.table.index()].write(&rows.batch, rows.days.as_ref(), self.clock)?;
        self.keep_within_budget()
    }

    /// Takes a previous output's file into `table` as it is (hard-linked, neither read nor
    /// rewritten): an incremental run keeps the partitions it does not rebuild.
    pub fn adopt(
        &mut self,
        table: TableId,
        partition: Option<Day>,
        file: &Path,
        rows: u64,
    ) -> Result<()> {
        self.writers[table.index()].adopt(partition, file, rows)
    }

    /// Counts a previous output's file that the new output lists where it is, without
    /// placing anything: a bucket output keeps its objects in place (see
    /// [`crate::incremental::carry`]).
    pub fn count_kept(&mut self, table: TableId, partition: Option<Day>, rows: u64) {
        self.writers[table.index()].count_kept(partition, rows)
    }

    /// Writes rows kept from a previous output's partition back into that partition.
    pub fn write_kept(
        &mut self,
        table: TableId,
        partition: Option<Day>,
        batch: &arrow::record_batch::RecordBatch,
    ) -> Result<()> {
        self.clock += 1;
        self.writers[table.index()].write_partition(partition, batch, self.clock)?;
        self.keep_within_budget()
    }

    /// Writes the least recently written waiting partitions, over all tables, until no more
    /// than `buffer_bytes` of rows wait. In dated input those are the days already complete,
    /// so each day still gets one row group per table.
    fn keep_within_budget(&mut self) -> Result<()> {
        while self
            .writers
            .iter()
            .map(|w| w.pending_bytes())
            .sum::<usize>()
            > self.buffer_bytes
        {
            let oldest = self
                .writers
                .iter_mut()
                .filter_map(|w| w.oldest_pending().map(|clock| (clock, w)))
                .min_by_key(|(clock, _)| *clock);
            match oldest {
                Some((_, writer)) => writer.write_oldest_pending()?,
                None => break,
            }
        }
        Ok(())
    }

    /// Closes every table and writes the request bodies.
    ///
    /// The tables' last row groups and the sorting of the request bodies are independent, so
    /// they run in parallel on the current rayon pool: at the end of a run this is most of
    /// what is left to do, and on one thread it left a core idle.
    pub fn close(self) -> Result<Written> {
        use rayon::prelude::*;
        let days: std::collections::BTreeSet<_> =
            self.writers.iter().flat_map(|w| w.partitions()).collect();
        let Sink {
            writers, exchange, ..
        } = self;
        let (rows, exchange) = rayon::join(
            || {
                writers
                    .into_par_iter()
                    .map(|w| Ok((w.table(), w.close()?)))
                    .collect::<Result<BTreeMap<_, _>>>()
            },
            || exchange.close(),
        );
        Ok(Written {
            rows: rows?,
            exchange: exchange?,
            partitions: days.into_iter().map(partition::folder).collect(),
        })
    }
}
