//! Per-stage benchmarks on a realistic export (`fixtures/good/2026/03/24/call-5001.json`,
//! modelled on a real 16 KB call): parse, normalize, derive the Exchange events and milestones
//! (and render the request-body JSON), build the Arrow batches, encode them to Parquet with
//! each codec. Throughput reads as MB/s of JSON or sessions/s.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use session_etl::derive::derive;
use session_etl::normalize::normalize;
use session_etl::parse;
use session_etl::settings::Settings;
use session_etl::write::exchange::{event_json, identifiers_json};
use session_etl::write::{Codec, ParquetSettings, SessionTables};

fn export() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/good/2026/03/24/call-5001.json"
    ))
    .expect("fixture present")
}

fn parse_and_normalize(c: &mut Criterion) {
    let bytes = export();
    let mut group = c.benchmark_group("session");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("parse", |b| {
        b.iter(|| parse::parse(black_box(&bytes)).map(|p| p.session.id))
    });
    let parsed = parse::parse(&bytes).expect("fixture parses");
    group.bench_function("normalize", |b| {
        b.iter(|| {
            normalize(black_box(&parsed.session), "call-5001.json").map(|s| s.participants.len())
        })
    });
    let session = normalize(&parsed.session, "call-5001.json").expect("fixture normalizes");
    let settings = Settings::default().exchange();
    group.bench_function("derive", |b| {
        b.iter(|| {
            let derived = derive(black_box(&session), &settings);
            let identifiers = identifiers_json(&derived.identifiers);
            let bodies: usize = derived.events.iter().map(|e| event_json(e).len()).sum();
            (
                derived.milestones.len(),
                identifiers.map(|i| i.len()),
                bodies,
            )
        })
    });
    group.finish();
}

fn tables_and_parquet(c: &mut Criterion) {
    const SESSIONS: usize = 1000;
    let bytes = export();
    let parsed = parse::parse(&bytes).expect("fixture parses");
    let session = normalize(&parsed.session, "call-5001.json").expect("fixture normalizes");
    let settings = Settings::default().exchange();
    let derived = derive(&session, &settings);
    let identifiers = identifiers_json(&derived.identifiers);
    let append = |tables: &mut SessionTables| {
        tables.append(
            &session,
            &derived,
            &settings.channel,
            identifiers.as_deref(),
            1,
            "call-5001.json",
        )
    };
    let mut group = c.benchmark_group("batch_of_1000_sessions");
    group.throughput(Throughput::Elements(SESSIONS as u64));
    group.bench_function("build_arrow", |b| {
        b.iter(|| {
            let mut tables = SessionTables::with_capacity(SESSIONS);
            for _ in 0..SESSIONS {
                append(&mut tables);
            }
            tables.finish().map(|batches| batches.len())
        })
    });
    let mut tables = SessionTables::with_capacity(SESSIONS);
    for _ in 0..SESSIONS {
        append(&mut tables);
    }
    let batches = tables.finish().expect("batches");
    for codec in [Codec::Zstd, Codec::Snappy, Codec::None] {
        let settings = ParquetSettings {
            codec,
            ..Settings::default().parquet()
        };
        group.bench_with_input(
            BenchmarkId::new("encode_parquet", format!("{codec:?}")),
            &settings,
            |b, settings| {
                b.iter(|| {
                    let mut bytes = 0;
                    for rows in &batches {
                        let props = settings
                            .properties(rows.table.columns())
                            .expect("valid settings");
                        let mut writer = parquet::arrow::ArrowWriter::try_new(
                            Vec::new(),
                            rows.table.schema(),
                            Some(props),
                        )
                        .expect("writer");
                        writer.write(&rows.batch).expect("write");
                        bytes += writer.into_inner().expect("close").len();
                    }
                    bytes
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, parse_and_normalize, tables_and_parquet);
criterion_main!(benches);
