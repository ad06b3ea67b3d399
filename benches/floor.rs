//! The physical floor of a run: walk the input, read every `*.json` / `*.json.gz` file and parse
//! it with serde_json into `IgnoredAny`, in parallel, and nothing else. No real run can beat it;
//! `benches/throughput.sh` reports session-etl's files/s as a fraction of this.
//!
//! ```sh
//! cargo bench --bench floor -- --threads 2 CORPUS_DIR
//! ```
//! Prints one JSON line: files, bytes (on disk), parse errors, wall time, files/s, MB/s.
//! Without a corpus (as `cargo test --all-targets` runs it) it reads `fixtures/good` and fails
//! unless every file there parses.

use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

use rayon::prelude::*;
use serde::de::IgnoredAny;

fn main() {
    let mut threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut inputs = Vec::new();
    let mut benchmarking = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bench" => benchmarking = true, // added by `cargo bench`
            "--threads" => {
                threads = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| usage("--threads takes a number"));
            }
            _ => inputs.push(PathBuf::from(arg)),
        }
    }
    let smoke_test = inputs.is_empty() && !benchmarking;
    if smoke_test {
        inputs.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/good"));
    } else if inputs.is_empty() {
        usage("give a corpus folder");
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap_or_else(|e| usage(&e.to_string()));

    let clock = Instant::now();
    let mut files: Vec<PathBuf> = inputs
        .iter()
        .flat_map(|input| {
            walkdir::WalkDir::new(input)
                .into_iter()
                .filter_map(Result::ok)
        })
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| {
            let name = p.to_string_lossy();
            name.ends_with(".json") || name.ends_with(".json.gz")
        })
        .collect();
    files.sort_unstable();
    let (bytes, errors) = pool.install(|| {
        files
            .par_iter()
            .map_init(
                || (Vec::with_capacity(64 << 10), Vec::with_capacity(64 << 10)),
                |(raw, unzipped), path| parse(path, raw, unzipped),
            )
            .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    });
    let wall = clock.elapsed().as_secs_f64();
    println!(
        "{{\"files\": {}, \"bytes\": {bytes}, \"errors\": {errors}, \"threads\": {threads}, \"wall_s\": {wall:.3}, \"files_per_s\": {:.0}, \"mb_per_s\": {:.1}}}",
        files.len(),
        files.len() as f64 / wall,
        bytes as f64 / 1e6 / wall
    );
    if smoke_test && (files.is_empty() || errors > 0) {
        eprintln!("floor: the good fixtures must all parse ({errors} errors)");
        std::process::exit(1);
    }
}

/// Reads and parses one file; returns (bytes read from disk, 1 if it did not parse).
fn parse(path: &PathBuf, raw: &mut Vec<u8>, unzipped: &mut Vec<u8>) -> (u64, u64) {
    raw.clear();
    let Ok(mut file) = std::fs::File::open(path) else {
        return (0, 1);
    };
    if file.read_to_end(raw).is_err() {
        return (0, 1);
    }
    let bytes = raw.len() as u64;
    let json = if path.extension().is_some_and(|x| x == "gz") {
        unzipped.clear();
        if flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(unzipped)
            .is_err()
        {
            return (bytes, 1);
        }
        &unzipped[..]
    } else {
        &raw[..]
    };
    // Exports may start with a UTF-8 byte-order mark, which session-etl accepts too.
    let json = json.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(json);
    let ok = serde_json::from_slice::<IgnoredAny>(json).is_ok();
    (bytes, u64::from(!ok))
}

fn usage(problem: &str) -> ! {
    eprintln!("floor: {problem}\nusage: cargo bench --bench floor -- [--threads N] CORPUS_DIR...");
    std::process::exit(2)
}
