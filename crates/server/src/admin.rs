//! The online utilities that do more than one engine call: `probkup online`, `rfutil aimage
//! aioff`, and the archiver commands (`aiarchiver enable | disable | setdir | setinterval`,
//! `aiarchive extent`).
//!
//! Invariants: each runs outside any transaction of its connection; the archiver daemon runs
//! exactly while the master block says the archiver is enabled and after-imaging is on (it is
//! started by `enable`, stopped by `disable` and `aioff`); an online backup or `aioff` that
//! fails changes nothing the caller did not ask for (the engine and backup crates guarantee
//! it).

use std::path::Path;

use backup::{BackupKind, BackupOptions};
use engine::Database;

use crate::broker::Shared;
use crate::error::{Error, Result};
use crate::protocol::{ArchiverCommand, BackupReport, Response};

/// `probkup online db FILE [incremental] [-com]`.
pub(crate) fn probkup_online(
    shared: &Shared,
    db: &Database,
    file: &str,
    incremental: bool,
    compress: bool,
) -> Result<Response> {
    let mut progress = Vec::new();
    let opts = BackupOptions {
        incremental,
        compress,
    };
    let summary = backup::backup_online(db, Path::new(file), opts, &mut |line| {
        progress.push(line.to_owned());
    })?;
    // The switch left a Full extent behind.
    shared.wake_archiver();
    Ok(Response::BackupDone(BackupReport {
        incremental: summary.kind == BackupKind::Incremental,
        file: summary.file.display().to_string(),
        blocks: summary.blocks,
        block_bytes: summary.block_bytes,
        stored_stream_bytes: summary.stored_stream_bytes,
        raw_stream_bytes: summary.raw_stream_bytes,
        file_bytes: summary.file_bytes,
        backup_counter: summary.backup_counter,
        ai_switched_to: summary.ai_switched_to.map_or(0, |s| s.0),
        elapsed_micros: summary.elapsed_micros,
        progress,
    }))
}

/// `rfutil aimage aioff`: after-imaging off online; the archiver stops with it.
pub(crate) fn ai_off(shared: &Shared, db: &Database) -> Result<Response> {
    db.ai_off()?;
    shared.stop_archiver();
    db.set_ai_stall(shared.aistall);
    Ok(Response::Report(vec![format!(
        "After-imaging disabled for {} (online); every after-image extent is now Empty.",
        shared.path
    )]))
}

/// `rfutil aiarchiver ...` and `aiarchive extent` through the server.
pub(crate) fn archiver(shared: &Shared, command: ArchiverCommand) -> Result<Response> {
    let db = shared.database().ok_or(Error::ShuttingDown)?;
    let lines = match command {
        ArchiverCommand::Enable {
            dirs,
            interval_secs,
            dir_create,
        } => {
            let settings = aiarchiver::Settings::new(&dirs, interval_secs, dir_create)?;
            aiarchiver::enable_online(&db, &settings)?;
            shared.start_archiver(&db, settings.clone())?;
            vec![
                format!("AI archiver enabled for {}.", shared.path),
                settings.summary(),
                "The archiver daemon is running (-aistall is on while it is enabled).".into(),
            ]
        }
        ArchiverCommand::Disable => {
            aiarchiver::disable_online(&db)?;
            shared.stop_archiver();
            db.set_ai_stall(shared.aistall);
            vec![format!(
                "AI archiver disabled for {}; the daemon stopped.",
                shared.path
            )]
        }
        ArchiverCommand::SetDir { dirs, dir_create } => {
            let settings = with_daemon(shared, |daemon| {
                aiarchiver::set_dirs_online(&db, &dirs, dir_create, daemon)
            })?;
            vec![settings.summary()]
        }
        ArchiverCommand::SetInterval { secs } => {
            let settings = with_daemon(shared, |daemon| {
                aiarchiver::set_interval_online(&db, secs, daemon)
            })?;
            vec![settings.summary()]
        }
        ArchiverCommand::ArchiveExtent { extent, target } => {
            let archived = with_daemon(shared, |daemon| {
                aiarchiver::archive_extent_online(
                    &db,
                    Path::new(&extent),
                    Path::new(&target),
                    daemon,
                )
            })?;
            vec![format!(
                "After-image extent {} (sequence {}) archived to {} and marked Empty.",
                archived.extent.display(),
                archived.ai_seq.0,
                archived.target.display()
            )]
        }
    };
    Ok(Response::Report(lines))
}

/// Runs `f` with the running daemon's handle, if any.
fn with_daemon<T>(
    shared: &Shared,
    f: impl FnOnce(Option<&aiarchiver::ArchiverHandle>) -> std::result::Result<T, aiarchiver::Error>,
) -> Result<T> {
    let slot = shared.archiver.lock();
    Ok(f(slot.as_ref())?)
}
