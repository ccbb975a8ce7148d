//! Opening a database: lock, control area, identity checks, extents, BI, the AI extents
//! (reconciled and aligned with the BI), crash recovery.
//!
//! Invariants: nothing is written before every check passed (lock, master block, catalogue,
//! `control_path` equal to the control area's real path, every extent present and naming this
//! database); a read-only open writes nothing and refuses a database that is not clean; an
//! open for update cuts the BI at the end of its valid stream before appending to it, and with
//! after-imaging on aligns the AI with the BI before anything new is written, so that crash
//! recovery's notes reach the AI like any other.

use std::sync::Arc;

use aiextent::NoteKind;
use btree::BTree;
use masterblock::{DbState, ExtentKind, MasterBlockFile, NoteSeq};
use parking_lot::Mutex;
use storage::{OpenMode, Storage, StorageRef};
use structure::{Catalogue, CatalogueFile};

use crate::ai::{self, AiPipe, AiPlan, AiShared};
use crate::bi::{BI_HEADER_BYTES, BiFile};
use crate::checkpoint;
use crate::db::{AccessMode, OpenOptions, Parts, Shared, state_name};
use crate::error::{Error, Result};
use crate::extent::{DataFiles, check_header, open_extent};
use crate::lockfile::LockFile;
use crate::log::{BiSink, LogManager, NoteSink};
use crate::path::DbPath;
use crate::recovery;
use crate::store::{ReadStore, tree_error};
use crate::tables::{CATALOGUE_ROOT, SCHEMA_AREA};

impl NoteSink for Arc<BiSink> {
    fn append(&self, frames: &[u8]) -> Result<()> {
        self.as_ref().append(frames)
    }
    fn sync(&self) -> Result<()> {
        self.as_ref().sync()
    }
}

/// Reads the master block and catalogue of `db` and checks that the control area is where
/// the catalogue says it was written.
pub(crate) fn read_control(
    storage: &dyn Storage,
    db: &DbPath,
    writable: bool,
) -> Result<(MasterBlockFile, CatalogueFile)> {
    let ctl = db.control_path();
    if !storage.exists(&ctl) {
        return Err(Error::NoDatabase { path: ctl });
    }
    let mode = if writable {
        OpenMode::ReadWrite
    } else {
        OpenMode::Read
    };
    let file = storage.open(&ctl, mode).map_err(Error::io("open", &ctl))?;
    let master = MasterBlockFile::open(file.clone())?;
    let cat = CatalogueFile::open(file, master.get().db_id)?;
    Ok((master, cat))
}

/// `Err(CopiedDatabase)` unless the catalogue records the control area's real path.
pub(crate) fn check_identity(storage: &dyn Storage, db: &DbPath, cat: &Catalogue) -> Result<()> {
    let ctl = db.control_path();
    let actual = storage
        .canonicalize(&ctl)
        .map_err(Error::io("resolve", &ctl))?;
    if cat.control_path != actual {
        return Err(Error::CopiedDatabase {
            recorded: cat.control_path.clone(),
            actual,
        });
    }
    Ok(())
}

/// Refuses what roll forward forbids: any open of a database whose roll forward was
/// interrupted, a read of one left with transactions in flight, and an open for update of one
/// held by `roll forward oplock`.
fn check_open_state(db: &DbPath, mb: &masterblock::MasterBlock, read_only: bool) -> Result<()> {
    let path_stem = db.to_string();
    match mb.state {
        DbState::RollForwardInProgress => Err(Error::RollForwardInterrupted { path_stem }),
        DbState::RolledForwardInFlight if read_only => {
            Err(Error::RolledForwardInFlight { path_stem })
        }
        _ if !read_only && mb.flags.rf_oplock => Err(Error::RollForwardLocked { path_stem }),
        _ => Ok(()),
    }
}

/// Checks the BI extents after the first and the presence of every AI extent.
fn check_other_extents(
    storage: &dyn Storage,
    cat: &Catalogue,
    db_id: masterblock::DbId,
    block_size: u32,
) -> Result<()> {
    let bi = cat.bi_area();
    for ext in bi.extents.iter().skip(1) {
        let file = open_extent(storage, &ext.path, false)?;
        check_header(
            &file,
            &ext.path,
            0,
            (ExtentKind::Bi, db_id, bi.number, ext.number, block_size),
        )?;
    }
    for ai in cat.ai_extents() {
        check_ai_extent(
            storage,
            &ai.extent.path,
            db_id,
            ai.area,
            ai.extent.number,
            block_size,
        )?;
    }
    Ok(())
}

/// Opens an AI extent and checks that its header names this database, area and extent.
pub(crate) fn check_ai_extent(
    storage: &dyn Storage,
    path: &std::path::Path,
    db_id: masterblock::DbId,
    area: masterblock::AreaNo,
    extent_number: u32,
    block_size: u32,
) -> Result<()> {
    let file = open_extent(storage, path, false)?;
    let ai = aiextent::AiExtentFile::open(file, path).map_err(|e| Error::ForeignExtent {
        path: path.to_path_buf(),
        expected_db: db_id,
        reason: e.to_string(),
    })?;
    let h = ai.header().ext;
    let foreign = |reason: String| Error::ForeignExtent {
        path: path.to_path_buf(),
        expected_db: db_id,
        reason,
    };
    h.check_identity(db_id, area, extent_number)
        .map_err(|e| foreign(e.to_string()))?;
    if h.block_size != block_size {
        return Err(foreign(format!(
            "its block size is {}, the database's is {block_size}",
            h.block_size
        )));
    }
    Ok(())
}

pub(crate) fn open(storage: StorageRef, db: &DbPath, opts: OpenOptions) -> Result<Shared> {
    let read_only = opts.access == AccessMode::ReadOnly;
    let lock_file = LockFile::acquire(&storage, &db.lock_path())?;
    let (master, catf) = read_control(storage.as_ref(), db, !read_only)?;
    let catalogue = catf.get().clone();
    check_identity(storage.as_ref(), db, &catalogue)?;
    let mb = *master.get();
    if mb.state == DbState::Restoring {
        return Err(Error::Restoring {
            path: db.control_path(),
            path_stem: db.to_string(),
        });
    }
    check_open_state(db, &mb, read_only)?;
    if read_only && mb.state != DbState::Clean {
        return Err(Error::NotClean {
            path: db.control_path(),
            path_stem: db.to_string(),
            state: state_name(mb.state).to_string(),
        });
    }
    let bs = mb.block_size;
    let files = DataFiles::open(storage.as_ref(), &catalogue, mb.db_id, bs, !read_only)?;
    check_other_extents(storage.as_ref(), &catalogue, mb.db_id, bs)?;
    let bi_area = catalogue.bi_area();
    let bi_path = bi_area.extents[0].path.clone();
    let bi = BiFile::open(
        storage.as_ref(),
        &bi_path,
        !read_only,
        mb.db_id,
        bi_area.number,
        bs,
    )?;
    let generation = bi.header.generation;
    let master = Arc::new(Mutex::new(master));
    if read_only {
        let next = NoteSeq(mb.next_note_seq.0.max(bi.header.start_note_seq.0));
        let parts = Parts {
            storage,
            path: db.clone(),
            read_only,
            catalogue,
            master,
            files,
            bi: None,
            bi_sink: None,
            log: LogManager::new(next, generation, 0, None, None),
            opts,
            next_txn: mb.next_txn_id.0,
            lock_file,
        };
        return Ok(Shared::assemble(parts));
    }
    let mut stream = bi.read_stream()?;
    let file_len = bi.file.len().map_err(Error::io("inspect", &bi_path))?;
    if file_len != BI_HEADER_BYTES + stream.end as u64 {
        bi.truncate_notes(stream.end as u64)?;
    }
    let ai = if mb.ai_enabled {
        open_ai(
            &storage,
            db,
            &catalogue,
            &master,
            &opts,
            (&bi, &files, bs),
            &mut stream,
        )?
    } else {
        None
    };
    let in_bi = bi.header.start_note_seq.0 + stream.notes.len() as u64;
    let next_seq = NoteSeq(mb.next_note_seq.0.max(in_bi));
    let max_txn = stream.notes.iter().map(|(_, h)| h.txn.0).max().unwrap_or(0);
    let next_txn = mb.next_txn_id.0.max(max_txn + 1);
    let sink = Arc::new(BiSink::new(bi.file.clone(), bi_path, stream.end as u64));
    let log = LogManager::new(
        next_seq,
        generation,
        stream.end as u64,
        Some(Box::new(Arc::clone(&sink))),
        ai,
    );
    log.set_ai_stall(opts.ai_stall);
    let mode = if opts.server_socket.is_some() {
        "server"
    } else {
        "single-user"
    };
    let shared = Shared::assemble(Parts {
        storage,
        path: db.clone(),
        read_only,
        catalogue,
        master,
        files,
        bi: Some(bi),
        bi_sink: Some(sink),
        log,
        opts,
        next_txn,
        lock_file,
    });
    let stamp = checkpoint::mark_open(&shared)?;
    // The stream marks the change of stamp before any note written under it.
    shared
        .log
        .append_marker(NoteKind::OpenStamp, masterblock::TxnId(0), stamp.0)?;
    let needs_recovery = stream
        .notes
        .iter()
        .any(|(_, h)| !matches!(h.kind, NoteKind::OpenStamp | NoteKind::AiSwitch));
    if needs_recovery {
        let report = recovery::recover(&shared, &stream, generation)?;
        shared.pool.forget_damaged();
        *shared.recovery.lock() = Some(report);
        checkpoint::checkpoint(&shared, false)?;
        shared.log_event(
            "engine",
            &format!(
                "crash recovery: {} notes read, {} redone, {} transactions rolled back",
                report.notes_read, report.notes_redone, report.txns_rolled_back
            ),
            None,
        );
    }
    shared.log_event(
        "engine",
        &format!("database opened for update ({mode})"),
        None,
    );
    Ok(shared)
}

/// With after-imaging on: opens and reconciles the AI extents, aligns them with the BI (which
/// may gain the first extent's switch note: `stream` is then read again) and returns the AI
/// writer and plan for the log; `None` if reconcile found after-imaging to be off after all.
fn open_ai(
    storage: &StorageRef,
    db: &DbPath,
    catalogue: &Catalogue,
    master: &Arc<Mutex<MasterBlockFile>>,
    opts: &OpenOptions,
    (bi, files, block_size): (&BiFile, &DataFiles, u32),
    stream: &mut crate::bi::BiStream,
) -> Result<Option<(AiPipe, AiPlan)>> {
    let set = {
        let mut mb = master.lock();
        ai::open_set(
            storage,
            db,
            catalogue,
            &mut mb,
            opts.ai_variable_limit_bytes,
        )?
    };
    if set.writer().is_none() {
        return Ok(None);
    }
    let shared = Arc::new(AiShared {
        set: Mutex::new(Some(set)),
        master: Arc::clone(master),
        storage: storage.clone(),
        path: db.clone(),
    });
    if ai::align(&shared, bi, stream, files, block_size)? {
        *stream = bi.read_stream()?;
    }
    let seq = master.lock().get().ai_seq_current;
    let plan = AiPlan::new(
        shared.set.lock().as_ref().expect("the AI extents are open"),
        seq,
    );
    Ok(Some((AiPipe::new(shared, opts.ai_parallel_sync), plan)))
}

/// Checks the table catalogue and every table's B+tree.
pub(crate) fn check_trees(db: &Shared) -> Result<()> {
    let mut store = ReadStore {
        db,
        area: SCHEMA_AREA,
    };
    BTree::check(&mut store, CATALOGUE_ROOT)
        .map_err(|e| tree_error("_catalogue", db.block_size, e))?;
    let mut tables = Vec::new();
    BTree::scan(&mut store, CATALOGUE_ROOT, b"", |k, v| {
        tables.push((String::from_utf8_lossy(k).into_owned(), v.to_vec()));
        true
    })
    .map_err(|e| tree_error("_catalogue", db.block_size, e))?;
    for (name, v) in tables {
        let area = masterblock::AreaNo(u32::from_le_bytes(v[..4].try_into().expect("4")));
        let root = u32::from_le_bytes(v[4..8].try_into().expect("4"));
        let mut store = ReadStore { db, area };
        BTree::check(&mut store, root).map_err(|e| tree_error(&name, db.block_size, e))?;
    }
    Ok(())
}
