//! Writing one slot of the plan: its session (and the re-export), or its bad file, plain or
//! gzip-compressed, now and then a companion media file; and what it adds to the truth.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::bad::{self, BadKind};
use crate::json::{self, V};
use crate::plan::{Role, Slot, STREAM_SLOT};
use crate::rng::Rng;
use crate::session::{self, GenStatus};
use crate::truth::{facts_of, Facts};
use crate::{Error, GenerateOptions, SessionKind};

/// `YYYY/MM/DD` of a day number.
pub(crate) fn day_dir(day: i64) -> String {
    let (y, m, d) = json::civil_from_days(day);
    format!("{y:04}/{m:02}/{d:02}")
}

/// Reused buffers of one worker.
#[derive(Default)]
pub(crate) struct Scratch {
    pub(crate) text: String,
    pub(crate) bytes: Vec<u8>,
    pub(crate) gzip: Vec<u8>,
}

impl Scratch {
    /// Serializes `doc` into the reused text buffer and writes it as one session file.
    #[allow(clippy::too_many_arguments)]
    fn write_doc(
        &mut self,
        doc: &V,
        pretty: bool,
        root: &Path,
        day: i64,
        stem: &str,
        gzip: bool,
        out: &mut Emitted,
    ) -> Result<String, Error> {
        self.text.clear();
        json::write(doc, pretty, &mut self.text);
        write_file(
            root,
            day,
            stem,
            gzip,
            self.text.as_bytes(),
            &mut self.gzip,
            out,
        )
    }
}

/// What one slot wrote.
#[derive(Debug, Default)]
pub(crate) struct Emitted {
    pub(crate) files: u64,
    pub(crate) gzip: u64,
    pub(crate) ignored: u64,
    pub(crate) bytes: u64,
    pub(crate) session: Option<Facts>,
    pub(crate) superseded: Option<String>,
    pub(crate) bad: Option<(String, BadKind)>,
}

/// How a good session's files are named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Naming {
    /// `call-<id>` / `chat-<id>`.
    Prefix,
    /// `metadata-<id>` (calls only, so names never collide across the two id sequences).
    Metadata,
}

/// The file name without its extension.
fn stem(kind: SessionKind, id: i64, naming: Naming) -> String {
    match naming {
        Naming::Prefix => format!("{}-{id}", kind.as_str()),
        Naming::Metadata => format!("metadata-{id}"),
    }
}

/// Generates and writes one slot, drawing from the slot's own random stream.
pub(crate) fn emit(
    opts: &GenerateOptions,
    root: &Path,
    slot: &Slot,
    scratch: &mut Scratch,
) -> Result<Emitted, Error> {
    let mut rng = Rng::for_item(opts.seed, STREAM_SLOT, slot.index);
    let mut out = Emitted::default();
    match slot.role {
        Role::Bad(defect) => emit_bad(&mut rng, opts, root, slot, defect, scratch, &mut out)?,
        Role::Good { reexport } => {
            emit_good(&mut rng, opts, root, slot, reexport, scratch, &mut out)?
        }
    }
    Ok(out)
}

/// A bad file: a finished session given one defect.
fn emit_bad(
    rng: &mut Rng,
    opts: &GenerateOptions,
    root: &Path,
    slot: &Slot,
    defect: BadKind,
    scratch: &mut Scratch,
    out: &mut Emitted,
) -> Result<(), Error> {
    let day = json::local_day(slot.created, slot.offset);
    let built = session::build(
        rng,
        slot.kind,
        slot.id,
        slot.created,
        slot.offset,
        GenStatus::Finished,
    );
    let naming = if defect == BadKind::UnknownKind {
        Naming::Metadata
    } else {
        Naming::Prefix
    };
    bad::write_bad(
        rng,
        defect,
        built.doc,
        opts.pretty,
        &mut scratch.text,
        &mut scratch.bytes,
    );
    let gzip = defect.may_gzip() && rng.chance(opts.gzip_fraction);
    let path = write_file(
        root,
        day,
        &stem(slot.kind, slot.id, naming),
        gzip,
        &scratch.bytes,
        &mut scratch.gzip,
        out,
    )?;
    out.bad = Some((path, defect));
    Ok(())
}

/// A session: its export, or its older export and the newer re-export (`reexport` is
/// `Some(older_sorts_last)`), now and then with a companion media file.
fn emit_good(
    rng: &mut Rng,
    opts: &GenerateOptions,
    root: &Path,
    slot: &Slot,
    reexport: Option<bool>,
    scratch: &mut Scratch,
    out: &mut Emitted,
) -> Result<(), Error> {
    let day = json::local_day(slot.created, slot.offset);
    let status = GenStatus::draw(rng, slot.kind);
    let naming = if slot.kind == SessionKind::Call && rng.chance(0.03) {
        Naming::Metadata
    } else {
        Naming::Prefix
    };
    let kindless = naming == Naming::Prefix && rng.chance(0.005);
    let mut built = session::build(rng, slot.kind, slot.id, slot.created, slot.offset, status);
    if kindless {
        session::strip_kind_keys(&mut built.doc);
    }
    let name = stem(slot.kind, slot.id, naming);
    let (winner, winner_day) = match reexport {
        None => (built.doc, day),
        Some(older_sorts_last) => {
            let newer = session::reexport(rng, &built);
            let older_day = if older_sorts_last { day + 2 } else { day };
            let gzip = rng.chance(opts.gzip_fraction);
            let path =
                scratch.write_doc(&built.doc, opts.pretty, root, older_day, &name, gzip, out)?;
            out.superseded = Some(path);
            (newer, day + 1)
        }
    };
    let gzip = rng.chance(opts.gzip_fraction);
    scratch.write_doc(&winner, opts.pretty, root, winner_day, &name, gzip, out)?;
    if rng.chance(0.01) {
        write_companion(root, winner_day, slot, out)?;
    }
    out.session = Some(facts_of(&winner, slot.kind, status, slot.created));
    Ok(())
}

/// Writes one session file (gzip-compressed when asked); returns its corpus-relative path.
fn write_file(
    root: &Path,
    day: i64,
    stem: &str,
    gzip: bool,
    content: &[u8],
    gzip_buf: &mut Vec<u8>,
    out: &mut Emitted,
) -> Result<String, Error> {
    let mut relative = format!("{}/{stem}.json", day_dir(day));
    let path = root.join(&relative);
    let bytes = if gzip {
        relative.push_str(".gz");
        let path = root.join(&relative);
        gzip_buf.clear();
        let mut encoder =
            flate2::write::GzEncoder::new(std::mem::take(gzip_buf), flate2::Compression::default());
        encoder
            .write_all(content)
            .map_err(Error::io("compress", &path))?;
        *gzip_buf = encoder.finish().map_err(Error::io("compress", &path))?;
        std::fs::write(&path, &gzip_buf[..]).map_err(Error::io("write", &path))?;
        out.gzip += 1;
        gzip_buf.len()
    } else {
        std::fs::write(&path, content).map_err(Error::io("write", &path))?;
        content.len()
    };
    out.files += 1;
    out.bytes += bytes as u64;
    Ok(relative)
}

/// A file that is not session metadata: the call's recording or the chat's transcript.
fn write_companion(root: &Path, day: i64, slot: &Slot, out: &mut Emitted) -> Result<(), Error> {
    let dir = root.join(day_dir(day));
    let (path, content): (PathBuf, Vec<u8>) = match slot.kind {
        SessionKind::Call => {
            let mut bytes = b"ID3\x04\x00\x00\x00\x00\x00\x00".to_vec();
            bytes.extend_from_slice(&[0xFF, 0xFB, 0x90, 0x64, 0x00, 0x00, 0x00, 0x00]);
            (dir.join(format!("call-{}.mp3", slot.id)), bytes)
        }
        SessionKind::Chat => {
            let text = format!(
                "[agent] Hello, how can I help you today?\n[end_user] Hi, I have a question about order {}.\n[agent] Sure, let me check that for you.\n",
                slot.id
            );
            (dir.join(format!("chat-{}.txt", slot.id)), text.into_bytes())
        }
    };
    std::fs::write(&path, content).map_err(Error::io("write", &path))?;
    out.ignored += 1;
    Ok(())
}
